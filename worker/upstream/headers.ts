import type { Attempt } from './types';

/**
 * Header values that tell the caller how the upstream call went:
 * `x-router-attempts` = number of targets called, and `x-router-fallback` = `none` when the first
 * target answered, else the targets that failed or were skipped (`circuit_open`, ms=0: no call was
 * made) before the one that answered, as `name=reason;ms=N` joined by `, `.
 *
 * @example
 * attemptHeaders([{ target: 'gpt-4o', status: 503, ok: false, reason: 'http_503', ms: 12 },
 *                 { target: 'Mixtral-8x7B-Instruct-v0.1', status: 200, ok: true, ms: 340 }]);
 * // { 'x-router-attempts': '2', 'x-router-fallback': 'gpt-4o=http_503;ms=12' }
 */
export function attemptHeaders(
  attempts: Attempt[],
): Record<'x-router-attempts' | 'x-router-fallback', string> {
  const failed = attempts.flatMap((a) => (a.ok ? [] : [a]));
  const fallback = failed
    .map((a) => `${headerSafe(a.target)}=${a.reason};ms=${Math.round(a.ms)}`)
    .join(', ');
  const called = attempts.filter((a) => a.reason !== 'circuit_open').length;
  return {
    'x-router-attempts': String(called),
    'x-router-fallback': fallback === '' ? 'none' : fallback,
  };
}

/** Model names are ASCII in practice; anything else (or a separator) must not break the header. */
function headerSafe(name: string): string {
  return name.replace(/[^\x21-\x7e]|[,;=]/g, '_');
}
