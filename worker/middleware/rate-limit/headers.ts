/**
 * OpenAI's rate-limit headers: `x-ratelimit-{limit,remaining,reset}-{requests,tokens}`, and the
 * 429 error that carries them with `Retry-After`.
 */
import { ApiError } from '../../errors';
import type { BucketState, Demand } from './buckets';

export type LimitKind = 'requests' | 'tokens';

/**
 * A duration as OpenAI writes it in `x-ratelimit-reset-*`: `250ms`, `1.5s`, `6m0s`.
 *
 * @example
 * formatReset(360_000); // '6m0s'
 */
export function formatReset(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.ceil(ms))}ms`;
  const minutes = Math.floor(ms / 60_000);
  const seconds = Number(((ms % 60_000) / 1000).toFixed(3));
  return minutes > 0 ? `${minutes}m${seconds}s` : `${seconds}s`;
}

/**
 * The headers for one kind, from the bucket that binds hardest (fewest units left; key or tenant).
 *
 * @example
 * limitHeaders('requests', states); // { 'x-ratelimit-limit-requests': '60', 'x-ratelimit-remaining-requests': '59', ... }
 */
export function limitHeaders(
  kind: LimitKind,
  states: readonly BucketState[],
): Record<string, string> {
  const tightest = states.reduce<BucketState | null>(
    (best, s) =>
      !best ||
      s.remaining < best.remaining ||
      (s.remaining === best.remaining && s.demand.limit < best.demand.limit)
        ? s
        : best,
    null,
  );
  if (!tightest) return {};
  return {
    [`x-ratelimit-limit-${kind}`]: String(tightest.demand.limit),
    [`x-ratelimit-remaining-${kind}`]: String(tightest.remaining),
    [`x-ratelimit-reset-${kind}`]: formatReset(tightest.resetMs),
  };
}

const SCOPE_NAMES: Record<string, string> = { key: 'this API key', tenant: 'this tenant' };
const UNIT: Record<LimitKind, string> = {
  requests: 'requests per minute (RPM)',
  tokens: 'tokens per minute (TPM)',
};

/**
 * The 429 for a refused request: OpenAI's body (`type` = the kind, `code` rate_limit_exceeded, or
 * request_too_large when no wait can help) with `Retry-After` in whole seconds.
 *
 * @example
 * throw rateLimited('requests', demand, 1200, headers);
 */
export function rateLimited(
  kind: LimitKind,
  blocking: Demand,
  retryAfterMs: number | null,
  headers: Record<string, string>,
): ApiError {
  const scope = SCOPE_NAMES[blocking.key.split(':')[0] ?? ''] ?? 'this caller';
  const asked = `limit ${blocking.limit}, requested ${blocking.cost}`;
  if (retryAfterMs === null) {
    const message = `Request too large for ${UNIT[kind]} on ${scope}: ${asked}. Send a shorter prompt or a lower max_tokens.`;
    return new ApiError(429, message, { type: kind, code: 'request_too_large', headers });
  }
  const message = `Rate limit reached for ${UNIT[kind]} on ${scope}: ${asked}. Please try again in ${formatReset(retryAfterMs)}.`;
  const retryAfter = String(Math.max(1, Math.ceil(retryAfterMs / 1000)));
  return new ApiError(429, message, {
    type: kind,
    code: 'rate_limit_exceeded',
    headers: { ...headers, 'retry-after': retryAfter },
  });
}

/**
 * The 429 when the rate-limiting binding (the per-location ceiling every tenant shares) refuses.
 *
 * @example
 * throw ceilingReached(60_000, headers);
 */
export function ceilingReached(retryAfterMs: number, headers: Record<string, string>): ApiError {
  const message =
    'Rate limit reached for requests per minute (RPM) on this tenant across the service. ' +
    `Please try again in ${formatReset(retryAfterMs)}.`;
  const retryAfter = String(Math.ceil(retryAfterMs / 1000));
  return new ApiError(429, message, {
    type: 'requests',
    code: 'rate_limit_exceeded',
    headers: { ...headers, 'retry-after': retryAfter },
  });
}
