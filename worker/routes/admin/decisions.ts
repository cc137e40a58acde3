/**
 * `GET /admin/decisions`: the tenant's own decision log, newest first, filtered by pool, model,
 * status and time (`since` inclusive, `until` exclusive), a page of `limit` rows at a time; the
 * answer's `next_cursor` fetches the next page (`?cursor=...` with the same filters).
 */
import type { Context } from 'hono';
import { listDecisions, type DecisionCursor, type DecisionRecord } from '../../data/decisions';
import type { AppEnv } from '../../env';
import { badRequest } from '../../errors';
import type { DecisionsQuery, Valid } from './schemas';

/**
 * The cursor of a page that ends with `row` (opaque to callers: base64url of its time and id).
 *
 * @example
 * encodeCursor({ created_at: '2026-12-05T21:40:01.000Z', id: 'f74d...' }); // 'WyIyMDI2LTEy...'
 */
export function encodeCursor(row: Pick<DecisionRecord, 'created_at' | 'id'>): string {
  const bytes = new TextEncoder().encode(JSON.stringify([row.created_at, row.id]));
  return btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');
}

/**
 * The position a cursor names; 400 `invalid_cursor` for anything `encodeCursor` did not make.
 *
 * @example
 * decodeCursor(encodeCursor(row)); // { createdAt: row.created_at, id: row.id }
 */
export function decodeCursor(text: string): DecisionCursor {
  try {
    const bin = atob(text.replace(/-/g, '+').replace(/_/g, '/'));
    const value: unknown = JSON.parse(
      new TextDecoder().decode(Uint8Array.from(bin, (ch) => ch.charCodeAt(0))),
    );
    if (
      Array.isArray(value) &&
      value.length === 2 &&
      typeof value[0] === 'string' &&
      typeof value[1] === 'string'
    )
      return { createdAt: value[0], id: value[1] };
  } catch {
    // reported below
  }
  throw badRequest('cursor is not one this endpoint returned', 'cursor', 'invalid_cursor');
}

/** JSON text from D1, or null when it is missing or does not parse (a bad row never fails a page). */
function json(text: string | null): unknown {
  if (text === null) return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/**
 * The public JSON form of a decision row (JSON columns parsed).
 *
 * @example
 * decisionView(row).candidates; // ['gpt-4o', 'mistral-7b']
 */
export function decisionView(r: DecisionRecord): Record<string, unknown> {
  return {
    object: 'decision',
    ...r,
    candidates: json(r.candidates),
    probs: json(r.probs),
    shown: json(r.shown),
    predicted_qualities: json(r.predicted_qualities),
    attempts: json(r.attempts),
  };
}

/**
 * Handler of `GET /admin/decisions`.
 *
 * @example
 * admin.get('/decisions', validQuery(decisionsQuerySchema), listDecisionsRoute);
 * // GET /admin/decisions?pool=main&status=ok&since=2026-12-01&limit=100
 */
export async function listDecisionsRoute(
  c: Context<AppEnv, string, Valid<{ query: DecisionsQuery }>>,
): Promise<Response> {
  const { limit, cursor, ...filter } = c.req.valid('query');
  const after = cursor === undefined ? null : decodeCursor(cursor);
  const rows = await listDecisions(c.env.DB, c.get('tenant').id, filter, after, limit + 1);
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  const more = rows.length > limit;
  return c.json({
    object: 'list',
    data: page.map(decisionView),
    has_more: more,
    next_cursor: more && last ? encodeCursor(last) : null,
  });
}
