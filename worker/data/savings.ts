/**
 * The decision-log aggregates behind `GET /admin/pools/{pool}/savings` (D1 `decision_log`,
 * migrations 0010 and 0012): per time bucket, what the pool's answered requests cost and what the
 * same token counts would have cost on one baseline model, with the predicted quality of both.
 * Every query is bound to the tenant's id. The composition (which baseline, totals, cumulative
 * savings) is analytics/savings.ts.
 */

/** A window of decision rows: `since` inclusive, `until` exclusive (ISO timestamps). */
export interface Window {
  since: string;
  until: string;
}

/** A model's name and prices (USD per million tokens). */
export interface PricedModel {
  name: string;
  input_usd_per_mtok: number;
  output_usd_per_mtok: number;
}

/** One bucket's sums, as D1 returns them (SUM over no rows is null). */
export interface BucketSums {
  /** The bucket's key: `YYYY-MM-DD` (day) or `YYYY-MM-DDTHH` (hour). */
  bucket: string;
  requests: number;
  priced_requests: number;
  prompt_tokens: number | null;
  completion_tokens: number | null;
  cost_usd: number | null;
  baseline_cost_usd: number | null;
  quality_requests: number;
  predicted_quality_sum: number | null;
  baseline_quality_sum: number | null;
}

/**
 * The pool's current members with their prices (empty when the tenant has no such pool).
 *
 * @example
 * await memberPrices(env.DB, 'acme', 'main'); // [{ name: 'gpt-4o', input_usd_per_mtok: 5, ... }]
 */
export async function memberPrices(
  db: D1Database,
  tenantId: string,
  pool: string,
): Promise<PricedModel[]> {
  const { results } = await db
    .prepare(
      `SELECT m.name, m.input_usd_per_mtok, m.output_usd_per_mtok FROM pools p
       JOIN pool_members pm ON pm.pool_id = p.id JOIN models m ON m.id = pm.model_id
       WHERE p.tenant_id = ?1 AND p.name = ?2 ORDER BY m.name`,
    )
    .bind(tenantId, pool)
    .all<PricedModel>();
  return results;
}

/** Rows of the pool in the window that were answered or attempted (a route-only decision costs nothing). */
const WHERE = `d.tenant_id = ?1 AND d.pool = ?2 AND d.created_at >= ?3 AND d.created_at < ?4
  AND d.status <> 'route_only'`;
/** A row's candidates for json_each: a malformed value reads as none instead of failing the query. */
const CANDIDATES = `CASE WHEN json_valid(d.candidates) THEN d.candidates ELSE '[]' END`;

/**
 * Each candidate's mean predicted quality over the window's rows that recorded per-candidate
 * qualities, and how many rows that mean is over.
 *
 * @example
 * await candidateQualities(env.DB, 'acme', 'main', w); // [{ model: 'gpt-4o', quality: 0.81, rows: 420 }]
 */
export async function candidateQualities(
  db: D1Database,
  tenantId: string,
  pool: string,
  w: Window,
): Promise<Array<{ model: string; quality: number; rows: number }>> {
  const { results } = await db
    .prepare(
      `SELECT c.value AS model, AVG(json_extract(d.predicted_qualities, '$[' || c.key || ']')) AS quality,
              COUNT(*) AS rows
       FROM decision_log d, json_each(${CANDIDATES}) c
       WHERE ${WHERE} AND d.predicted_qualities IS NOT NULL AND json_valid(d.predicted_qualities)
       GROUP BY c.value`,
    )
    .bind(tenantId, pool, w.since, w.until)
    .all<{ model: string; quality: number | null; rows: number }>();
  return results.flatMap((r) =>
    typeof r.quality === 'number' ? [{ model: r.model, quality: r.quality, rows: r.rows }] : [],
  );
}

/**
 * Per bucket (`keyLength` characters of the timestamp: 10 = day, 13 = hour): requests, those with
 * an upstream usage report (priced), their actual cost, the same token counts at the baseline's
 * prices, and over the rows where both are known the routed model's and the baseline's predicted
 * quality.
 *
 * @example
 * await savingsBuckets(env.DB, 'acme', 'main', w, gpt4o, 10);
 */
export async function savingsBuckets(
  db: D1Database,
  tenantId: string,
  pool: string,
  w: Window,
  baseline: PricedModel,
  keyLength: 10 | 13,
): Promise<BucketSums[]> {
  const { results } = await db
    .prepare(
      `SELECT bucket, COUNT(*) AS requests, SUM(priced) AS priced_requests,
              SUM(CASE WHEN priced THEN prompt_tokens END) AS prompt_tokens,
              SUM(CASE WHEN priced THEN completion_tokens END) AS completion_tokens,
              SUM(CASE WHEN priced THEN cost_usd END) AS cost_usd,
              SUM(CASE WHEN priced THEN (prompt_tokens * ?6 + completion_tokens * ?7) / 1e6 END) AS baseline_cost_usd,
              SUM(rated) AS quality_requests,
              SUM(CASE WHEN rated THEN predicted_quality END) AS predicted_quality_sum,
              SUM(CASE WHEN rated THEN baseline_quality END) AS baseline_quality_sum
       FROM (SELECT substr(created_at, 1, ?8) AS bucket, prompt_tokens, completion_tokens, cost_usd,
                    predicted_quality, baseline_quality,
                    (cost_usd IS NOT NULL AND prompt_tokens IS NOT NULL AND completion_tokens IS NOT NULL) AS priced,
                    (predicted_quality IS NOT NULL AND baseline_quality IS NOT NULL) AS rated
             FROM (SELECT d.*, (SELECT json_extract(d.predicted_qualities, '$[' || c.key || ']')
                                FROM json_each(${CANDIDATES}) c
                                WHERE c.value = ?5 AND json_valid(d.predicted_qualities) LIMIT 1) AS baseline_quality
                   FROM decision_log d WHERE ${WHERE}))
       GROUP BY bucket ORDER BY bucket`,
    )
    .bind(
      tenantId,
      pool,
      w.since,
      w.until,
      baseline.name,
      baseline.input_usd_per_mtok,
      baseline.output_usd_per_mtok,
      keyLength,
    )
    .all<BucketSums>();
  return results;
}
