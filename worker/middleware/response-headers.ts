/**
 * Sets headers on the response leaving a middleware, whatever built it.
 */
import type { Context } from 'hono';

/**
 * Sets `headers` on `c.res`; a response with immutable headers (a fetch() answer passed through)
 * is re-wrapped first, keeping its body stream.
 *
 * @example
 * await next();
 * setResponseHeaders(c, { 'x-ratelimit-limit-requests': '60' });
 */
export function setResponseHeaders(c: Context, headers: Record<string, string>): void {
  const entries = Object.entries(headers);
  if (entries.length === 0) return;
  try {
    for (const [k, v] of entries) c.res.headers.set(k, v);
  } catch {
    c.res = new Response(c.res.body, c.res);
    for (const [k, v] of entries) c.res.headers.set(k, v);
  }
}
