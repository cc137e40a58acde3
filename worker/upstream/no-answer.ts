/** The router's own error when no upstream target answered (docs/worker.md, "Errors"). */
import { ApiError } from '../errors';
import { exhaustedStatus } from './classify';
import type { Attempt } from './types';

/** What the fallback loop learned from the tries that did not answer. */
export interface Tally {
  attempts: Attempt[];
  /** `name: reason (message)` per failed or skipped target, for the error message. */
  failures: string[];
  /** The upstreams' Retry-After on their 429s, in seconds. */
  retryAfterS: number[];
  /** Why it stopped before running out of targets or tries, if it did. */
  stopped: 'client_closed' | 'deadline' | null;
}

/**
 * The error for a request no target answered: 499 `client_closed` (nobody reads it; the usual log
 * status for a client that hung up), 504 `deadline_exceeded`, 429 `upstream_rate_limited` (every
 * try rate limited; the smallest upstream Retry-After), 503 `no_candidates` or
 * `upstream_unavailable` when no target could be called, else 502 (504 when the last try timed
 * out) `upstream_unavailable`.
 * The message lists every try.
 *
 * @example
 * const failures = ['gpt-4o: http_503 (down)'];
 * noAnswerError({ attempts, failures, retryAfterS: [], stopped: null }).status; // 502
 */
export function noAnswerError(tally: Tally): ApiError {
  const { attempts, stopped } = tally;
  const tried = attempts.filter((a) => a.reason !== 'circuit_open');
  const list = tally.failures.join('; ');
  const tries = `${tried.length} ${tried.length === 1 ? 'try' : 'tries'}`;
  if (stopped === 'client_closed') {
    return new ApiError(499, 'the client closed the request before an upstream answered', {
      type: 'upstream_error',
      code: 'client_closed',
    });
  }
  if (stopped === 'deadline') {
    const which = `${tries}${list ? `: ${list}` : ''}`;
    const message = `the request deadline passed before an upstream answered (${which})`;
    return new ApiError(504, message, { type: 'upstream_error', code: 'deadline_exceeded' });
  }
  const status = exhaustedStatus(tried.flatMap((a) => (a.ok ? [] : [a.reason])));
  const message =
    attempts.length === 0
      ? 'no upstream target to call'
      : `no upstream answered after ${tries}: ${list}`;
  if (status === 429) {
    const retry: Record<string, string> =
      tally.retryAfterS.length > 0 ? { 'retry-after': String(Math.min(...tally.retryAfterS)) } : {};
    return new ApiError(429, message, {
      type: 'rate_limit_error',
      code: 'upstream_rate_limited',
      headers: retry,
    });
  }
  return new ApiError(status, message, {
    type: 'upstream_error',
    code: attempts.length === 0 ? 'no_candidates' : 'upstream_unavailable',
  });
}
