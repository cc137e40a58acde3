/**
 * Reading a tenant's own decision log (D1 `decision_log`), newest first, a page at a time, for
 * `GET /admin/decisions`. Every query is bound to the tenant's id: no filter, cursor or parameter
 * can reach another tenant's rows.
 */

/** A decision row as D1 stores it (JSON columns still text). */
export interface DecisionRecord {
  id: string;
  created_at: string;
  pool: string | null;
  arm: string | null;
  bundle_version: string | null;
  model: string;
  status: string;
  degraded: string | null;
  preference: number | null;
  preset: string | null;
  uncertainty_penalty: number | null;
  candidates: string | null;
  probs: string | null;
  shown: string | null;
  predicted_qualities: string | null;
  expected_cost_usd: number | null;
  predicted_quality: number | null;
  routing_ms: number | null;
  attempts: string | null;
  prompt_tokens: number | null;
  completion_tokens: number | null;
  cost_usd: number | null;
  ttfb_ms: number | null;
  upstream_ms: number | null;
  /** Migration 0011: the model whose answer reached the client (differs from `model` after a fallback). */
  answered_by: string | null;
  /** Migration 0011: the probability the served model was chosen with (1 = the top choice). */
  propensity: number | null;
}

const COLUMNS = `id, created_at, pool, arm, bundle_version, model, status, degraded, preference, preset,
  uncertainty_penalty, candidates, probs, shown, predicted_qualities, expected_cost_usd, predicted_quality,
  routing_ms, attempts, prompt_tokens, completion_tokens, cost_usd, ttfb_ms, upstream_ms, answered_by,
  propensity`;

/** Filters of a listing; absent = any. `since` inclusive, `until` exclusive (ISO timestamps). */
export interface DecisionFilter {
  pool?: string;
  model?: string;
  status?: string;
  since?: string;
  until?: string;
}

/** Where a page starts: strictly after this row in (created_at, id) descending order. */
export interface DecisionCursor {
  createdAt: string;
  id: string;
}

/**
 * Up to `limit` of the tenant's rows matching `filter`, newest first (ties by id), after `cursor`.
 *
 * @example
 * const rows = await listDecisions(env.DB, 'acme', { pool: 'main', status: 'ok' }, null, 51);
 */
export async function listDecisions(
  db: D1Database,
  tenantId: string,
  filter: DecisionFilter,
  cursor: DecisionCursor | null,
  limit: number,
): Promise<DecisionRecord[]> {
  const { results } = await db
    .prepare(
      `SELECT ${COLUMNS} FROM decision_log
       WHERE tenant_id = ?1
         AND (?2 IS NULL OR pool = ?2) AND (?3 IS NULL OR model = ?3) AND (?4 IS NULL OR status = ?4)
         AND (?5 IS NULL OR created_at >= ?5) AND (?6 IS NULL OR created_at < ?6)
         AND (?7 IS NULL OR created_at < ?7 OR (created_at = ?7 AND id < ?8))
       ORDER BY created_at DESC, id DESC LIMIT ?9`,
    )
    .bind(
      tenantId,
      filter.pool ?? null,
      filter.model ?? null,
      filter.status ?? null,
      filter.since ?? null,
      filter.until ?? null,
      cursor?.createdAt ?? null,
      cursor?.id ?? null,
      limit,
    )
    .all<DecisionRecord>();
  return results;
}
