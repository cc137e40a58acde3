import type { ApiError } from '../errors';
import type { ChatRequest, UpstreamTarget, WorkersAiBinding } from '../providers/types';
import { verdictOf } from './classify';
import { globalFetch, tryTarget, type AttemptOptions, type AttemptOutcome } from './attempt';
import { noAnswerError, type Tally } from './no-answer';
import type { StreamEnd } from './stream-guard';
import type { FallbackOptions, FallbackResult, UpstreamOutcome } from './types';

const OUTCOME_OF_END: Record<StreamEnd, UpstreamOutcome> = {
  complete: 'answered',
  cut: 'stream_cut',
  cancelled: 'client_closed',
};
const VERDICT_OF_END = { complete: 'healthy', cut: 'unhealthy', cancelled: 'neutral' } as const;

/** The result for a try that answered (a completion, or the upstream's error about the request). */
function answered(
  out: Exclude<AttemptOutcome, { kind: 'failed' }>,
  i: number,
  tally: Tally,
  opts: FallbackOptions,
): FallbackResult {
  if (out.kind === 'caller_error') {
    opts.health?.report(i, 'neutral');
    return failure(out.error, i, tally, 'upstream_error');
  }
  const settled = out.ended.then(({ end }) => {
    opts.health?.report(i, VERDICT_OF_END[end], end === 'cut' ? 'stream_cut' : undefined);
    return OUTCOME_OF_END[end];
  });
  const measured = out.ended.then(({ measure }) => measure);
  return {
    response: out.response,
    error: null,
    used: i,
    attempts: tally.attempts,
    settled,
    measured,
  };
}

/** The result for an error answer (`used` -1: the router's own, no target answered). */
function failure(
  error: ApiError,
  used: number,
  tally: Tally,
  outcome: UpstreamOutcome,
): FallbackResult {
  return {
    response: error.getResponse(),
    error,
    used,
    attempts: tally.attempts,
    settled: Promise.resolve(outcome),
    measured: Promise.resolve(null),
  };
}

/** The router's own error when no target answered. */
function exhausted(tally: Tally): FallbackResult {
  return failure(
    noAnswerError(tally),
    -1,
    tally,
    tally.stopped === 'client_closed' ? 'client_closed' : 'upstream_error',
  );
}

/**
 * Calls the targets in order (best first) until one answers, trying at most `maxTries` of them.
 * A target that fails before its first byte (connection error, timeout, 408/429/5xx, a 200 that is
 * not a completion or not an event stream, or a misconfigured target: 401/403/404, no binding, no
 * base URL) hands over to the next; a request the upstream rejects as invalid (other 4xx) goes
 * straight back to the caller as a clean OpenAI-style error. With `health`, targets whose circuit
 * breaker is open are skipped without a call (`circuit_open`, not counted as a try); when every one
 * is open, the best is tried anyway. No try starts after `deadlineAt` (504 `deadline_exceeded`),
 * and none once the client has gone (`signal`). When no target answers, the response is an
 * OpenAI-style error listing every try; on a 429 it keeps the smallest upstream Retry-After.
 *
 * `result.response` has mutable headers: the caller adds its `x-router-*` headers to it
 * (see `attemptHeaders` in ./headers). `result.settled` says how the answer ended.
 *
 * @example
 * const { response, used, attempts, settled } = await callWithFallback(targets, req, { timeoutMs: 15000, maxTries: 3, ai: env.AI });
 * for (const [k, v] of Object.entries(attemptHeaders(attempts))) response.headers.set(k, v);
 * ctx.waitUntil(settled.then((outcome) => log(outcome)));
 */
export async function callWithFallback(
  targets: UpstreamTarget[],
  req: ChatRequest,
  opts: FallbackOptions,
): Promise<FallbackResult> {
  const tally: Tally = { attempts: [], failures: [], retryAfterS: [], stopped: null };
  const maxTries = Math.max(1, Math.floor(opts.maxTries));
  const attemptOpts: AttemptOptions = {
    timeoutMs: opts.timeoutMs,
    completionTimeoutMs: opts.completionTimeoutMs ?? opts.timeoutMs,
    idleTimeoutMs: opts.idleTimeoutMs ?? opts.timeoutMs,
    fetch: opts.fetch ?? globalFetch,
    // The real binding satisfies the narrow shape at run time; its generated type overloads `run` per model.
    ai: opts.ai as WorkersAiBinding | undefined,
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(opts.deadlineAt !== undefined ? { deadlineAt: opts.deadlineAt } : {}),
  };

  /** Tries target `i`: its result when it answered, else undefined (the tally has the failure). */
  const attemptAt = async (
    i: number,
    target: UpstreamTarget,
  ): Promise<FallbackResult | undefined> => {
    const out = await tryTarget(target, req, attemptOpts);
    tally.attempts.push(out.attempt);
    if (out.kind !== 'failed') return answered(out, i, tally, opts);
    opts.health?.report(i, verdictOf(out.attempt), out.attempt.reason);
    tally.failures.push(`${target.name}: ${out.attempt.reason ?? 'failed'} (${out.message})`);
    if (out.retryAfterS !== undefined) tally.retryAfterS.push(out.retryAfterS);
    if (out.attempt.reason === 'client_abort') tally.stopped = 'client_closed';
    if (out.attempt.reason === 'deadline') tally.stopped = 'deadline';
    return undefined;
  };
  /** Whether the loop must end before the next try. */
  const mustStop = (): boolean => {
    if (opts.signal?.aborted) tally.stopped = 'client_closed';
    else if (opts.deadlineAt !== undefined && Date.now() >= opts.deadlineAt)
      tally.stopped = 'deadline';
    return tally.stopped !== null;
  };

  let tried = 0;
  for (const [i, target] of targets.entries()) {
    if (tried >= maxTries || mustStop()) break;
    if (opts.health && !opts.health.admit(i)) {
      tally.attempts.push({
        target: target.name,
        status: 0,
        ok: false,
        reason: 'circuit_open',
        ms: 0,
      });
      tally.failures.push(`${target.name}: circuit_open (skipped after repeated failures)`);
      continue;
    }
    tried++;
    const result = await attemptAt(i, target);
    if (result) return result;
  }
  // Every candidate's breaker is open: a refusal helps nobody, so the best one gets a try anyway.
  const best = targets[0];
  if (tried === 0 && best && !mustStop()) {
    const result = await attemptAt(0, best);
    if (result) return result;
  }
  return exhausted(tally);
}

export { attemptHeaders } from './headers';
