/**
 * What the decision log and feedback say about each arm of an experiment, aggregated in D1 so a
 * report never reads the rows themselves. A request belongs to an arm when its decision row has
 * the arm's name and the pool the arm routes in (its own `pool`, else the experiment's), was
 * written while the experiment ran (from `created_at` to `stopped_at`), and is not a route-only
 * decision (`/v1/route` calls no model: no cost, no answer, no feedback).
 */

/** Count, mean and sum of squared deviations from the mean of the known values of one quantity. */
export interface Moments {
  n: number;
  mean: number | null;
  /** Sum over the values of (value - mean)^2; 0 when n < 2. */
  m2: number;
}

/** Nearest-rank percentiles of one quantity over an arm's rows that have it. */
export interface Percentiles {
  n: number;
  p50: number | null;
  p95: number | null;
}

/** One arm's aggregates. */
export interface ArmRows {
  requests: number;
  /** Requests no model answered in full: status `upstream_error` or `stream_cut`. */
  errors: number;
  /** Answered requests where a target failed or was skipped before the one that answered. */
  fallbacks: number;
  /** `decision_log.cost_usd`: what the answer cost (rows that know it). */
  cost: Moments;
  /** Feedback scores of the arm's decisions (one per decision: the latest). */
  feedback: Moments;
  /** `decision_log.routing_ms` (every row). */
  routing: Percentiles;
  /** `decision_log.upstream_ms` (rows that know it). */
  upstream: Percentiles;
}

/** Where an arm's rows are: the pool they are logged under and the arm's name. */
export interface ArmKey {
  pool: string;
  arm: string;
}

/** The rows of the experiment's arms, one CTE shared by the statements below (?1..?4). */
const ROWS = `WITH keys AS (
    SELECT json_extract(value, '$.pool') AS pool, json_extract(value, '$.arm') AS arm FROM json_each(?2)
  ), r AS (
    SELECT d.arm, d.status, d.cost_usd, d.routing_ms, d.upstream_ms, f.score,
      CASE WHEN d.status IN ('ok', 'direct') AND json_valid(d.attempts) AND EXISTS (
        SELECT 1 FROM json_each(d.attempts) a WHERE json_extract(a.value, '$.ok') = 0
      ) THEN 1 ELSE 0 END AS fell_back
    FROM decision_log d JOIN keys k ON d.pool = k.pool AND d.arm = k.arm
    LEFT JOIN feedback f ON f.tenant_id = d.tenant_id AND f.decision_id = d.id
    WHERE d.tenant_id = ?1 AND d.status <> 'route_only' AND d.created_at >= ?3 AND d.created_at <= ?4
  )`;

const COUNTS = `${ROWS}, m AS (SELECT arm, AVG(cost_usd) AS mc, AVG(score) AS ms FROM r GROUP BY arm)
  SELECT r.arm, COUNT(*) AS requests,
    SUM(r.status IN ('upstream_error', 'stream_cut')) AS errors, SUM(r.fell_back) AS fallbacks,
    COUNT(r.cost_usd) AS cost_n, m.mc AS cost_mean,
    COALESCE(SUM((r.cost_usd - m.mc) * (r.cost_usd - m.mc)), 0) AS cost_m2,
    COUNT(r.score) AS fb_n, m.ms AS fb_mean,
    COALESCE(SUM((r.score - m.ms) * (r.score - m.ms)), 0) AS fb_m2
  FROM r JOIN m ON m.arm = r.arm GROUP BY r.arm`;

// Nearest rank: the p-th percentile of n sorted values is the one at rank ceil(p * n) (1-based);
// (n * P + 99) / 100 is that ceiling in integers for P in percent.
const PERCENTILES = `${ROWS}, v AS (
    SELECT arm, 'routing' AS metric, routing_ms AS value FROM r WHERE routing_ms IS NOT NULL
    UNION ALL SELECT arm, 'upstream', upstream_ms FROM r WHERE upstream_ms IS NOT NULL
  ), ranked AS (
    SELECT arm, metric, value, ROW_NUMBER() OVER (PARTITION BY arm, metric ORDER BY value) AS rn,
      COUNT(*) OVER (PARTITION BY arm, metric) AS n FROM v
  )
  SELECT arm, metric, n, rn = (n * 50 + 99) / 100 AS is_p50, rn = (n * 95 + 99) / 100 AS is_p95, value
  FROM ranked WHERE rn = (n * 50 + 99) / 100 OR rn = (n * 95 + 99) / 100`;

interface CountRow {
  arm: string;
  requests: number;
  errors: number;
  fallbacks: number;
  cost_n: number;
  cost_mean: number | null;
  cost_m2: number;
  fb_n: number;
  fb_mean: number | null;
  fb_m2: number;
}

interface PercentileRow {
  arm: string;
  metric: 'routing' | 'upstream';
  n: number;
  is_p50: number;
  is_p95: number;
  value: number;
}

const noPercentiles = (): Percentiles => ({ n: 0, p50: null, p95: null });

/** An arm with no rows. */
function emptyArm(): ArmRows {
  return {
    requests: 0,
    errors: 0,
    fallbacks: 0,
    cost: { n: 0, mean: null, m2: 0 },
    feedback: { n: 0, mean: null, m2: 0 },
    routing: noPercentiles(),
    upstream: noPercentiles(),
  };
}

/**
 * Per arm name, the aggregates of its rows between `from` and `to` (decision-log timestamps,
 * inclusive); every key's arm is present, with zeros when it has no rows.
 *
 * @example
 * const rows = await armRows(env.DB, 'acme', [{ pool: 'main', arm: 'control' }], exp.created_at, '9999');
 * rows.get('control')?.requests;
 */
export async function armRows(
  db: D1Database,
  tenantId: string,
  keys: readonly ArmKey[],
  from: string,
  to: string,
): Promise<Map<string, ArmRows>> {
  const args = [tenantId, JSON.stringify(keys), from, to];
  const [counts, percentiles] = await db.batch([
    db.prepare(COUNTS).bind(...args),
    db.prepare(PERCENTILES).bind(...args),
  ]);
  const out = new Map(keys.map((k) => [k.arm, emptyArm()]));
  for (const r of (counts?.results ?? []) as CountRow[]) {
    const arm = out.get(r.arm);
    if (!arm) continue;
    Object.assign(arm, {
      requests: r.requests,
      errors: r.errors,
      fallbacks: r.fallbacks,
      cost: { n: r.cost_n, mean: r.cost_mean, m2: r.cost_m2 },
      feedback: { n: r.fb_n, mean: r.fb_mean, m2: r.fb_m2 },
    });
  }
  for (const r of (percentiles?.results ?? []) as PercentileRow[]) {
    const arm = out.get(r.arm);
    if (!arm) continue;
    const p = arm[r.metric];
    p.n = r.n;
    if (r.is_p50) p.p50 = r.value;
    if (r.is_p95) p.p95 = r.value;
  }
  return out;
}
