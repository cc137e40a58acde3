/** Upstream `Retry-After` values, so a caller that only got rate limits learns when to come back. */

/** Longest wait passed on (a day): the header is a hint, and an odd upstream must not set a silly one. */
const MAX_SECONDS = 86_400;

/**
 * Seconds from a `Retry-After` header (delta-seconds or an HTTP date); undefined when absent or
 * unreadable. Dates in the past give 0; values are capped at a day.
 *
 * @example
 * retryAfterSeconds('7');                              // 7
 * retryAfterSeconds('Wed, 21 Oct 2015 07:28:00 GMT');  // 0 (in the past)
 */
export function retryAfterSeconds(
  header: string | null,
  now: number = Date.now(),
): number | undefined {
  if (header === null) return undefined;
  const text = header.trim();
  if (/^\d+$/.test(text)) return Math.min(Number(text), MAX_SECONDS);
  const at = Date.parse(text);
  if (!Number.isFinite(at) || !/[a-z]/i.test(text)) return undefined;
  return Math.min(Math.max(0, Math.ceil((at - now) / 1000)), MAX_SECONDS);
}
