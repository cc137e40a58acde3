import type { FailureReason } from './reasons';
import type { Attempt } from './types';

/**
 * Which upstream HTTP statuses move on to the next candidate.
 *
 * Retried: 408, 429 and 5xx (the upstream is busy or broken), and 401/403/404: those say the
 * router's own configuration of that target is wrong (its secret, or its upstream model id), which
 * the caller cannot cause or fix, and another target may well answer. Every other 4xx is about the
 * request itself (bad parameters, too long a prompt) and would fail on the next target as well, so
 * it goes back to the caller as is.
 *
 * @example
 * isRetryableStatus(503); // true
 * isRetryableStatus(400); // false
 */
export function isRetryableStatus(status: number): boolean {
  return (
    status >= 500 ||
    status === 408 ||
    status === 429 ||
    status === 401 ||
    status === 403 ||
    status === 404
  );
}

/**
 * The HTTP status a caller gets when no target answered: 429 when every try was rate limited,
 * 503 when no target could even be called (missing binding or base URL, or not granted), 504 when the last try
 * timed out, else 502.
 *
 * @example
 * exhaustedStatus(['http_429', 'http_429']); // 429
 */
export function exhaustedStatus(reasons: readonly FailureReason[]): number {
  if (reasons.length === 0) return 503;
  if (reasons.every((r) => r === 'http_429')) return 429;
  if (reasons.every((r) => r === 'no_ai_binding' || r === 'no_base_url' || r === 'not_granted'))
    return 503;
  return reasons[reasons.length - 1] === 'timeout' ? 504 : 502;
}

/** What one try says about its target's health (for the circuit breaker). */
export type Verdict = 'healthy' | 'unhealthy' | 'neutral';

/** Failure reasons that say the target itself is unwell, whatever the request. */
const UNHEALTHY = new Set<FailureReason>([
  'timeout',
  'connect',
  'empty_stream',
  'not_sse',
  'bad_response',
  'ai_error',
]);

/**
 * Whether a try counts for or against its target: an answer is healthy; 5xx, timeouts, connection
 * errors and answers that are not one are unhealthy (so is a stream that breaks after it began,
 * reported when it ends); everything else is neutral: the caller's own
 * 4xx, a 429 (the target is busy, not broken), the client going away, the caller's deadline, a
 * target that could not even be called (no base URL or binding), a skipped one.
 *
 * @example
 * verdictOf({ target: 'gpt-4o', status: 503, ok: false, reason: 'http_503', ms: 12 }); // 'unhealthy'
 */
export function verdictOf(attempt: Attempt): Verdict {
  if (attempt.ok) return 'healthy';
  const { reason } = attempt;
  if (/^http_5\d\d$/.test(reason) || UNHEALTHY.has(reason)) return 'unhealthy';
  return 'neutral';
}
