/**
 * `GET /admin/pools/{pool}/savings?since=&until=&bucket=day|hour&baseline=`: what routing the pool
 * cost against what the same requests would have cost on its best model, with the predicted
 * quality of both, in total and per day or hour (definitions: analytics/savings.ts). The window
 * defaults to the 30 days before now; `since` is inclusive, `until` exclusive.
 */
import type { Context } from 'hono';
import { chooseBaseline, summarize } from '../../analytics/savings';
import { findModel } from '../../data/models';
import { requirePoolRecord } from '../../data/pool-records';
import { candidateQualities, memberPrices, savingsBuckets, type Window } from '../../data/savings';
import type { AppEnv } from '../../env';
import { ApiError, badRequest } from '../../errors';
import type { PoolParams, SavingsQuery, Valid } from './schemas';

const DAY_MS = 86_400_000;
/** Default window, and the longest window cut into hours (2,232 buckets). */
const DEFAULT_DAYS = 30;
const MAX_HOURLY_DAYS = 93;

/** The window the query asks for; 400 when it is empty or too long for hourly buckets. */
function windowOf(q: SavingsQuery): Window {
  const until = q.until ?? new Date().toISOString();
  const since = q.since ?? new Date(Date.parse(until) - DEFAULT_DAYS * DAY_MS).toISOString();
  if (since >= until) throw badRequest('since must be before until', 'since', 'invalid_window');
  if (q.bucket === 'hour' && Date.parse(until) - Date.parse(since) > MAX_HOURLY_DAYS * DAY_MS)
    throw badRequest(
      `hourly buckets cover at most ${MAX_HOURLY_DAYS} days; use bucket=day`,
      'since',
      'window_too_large',
    );
  return { since, until };
}

/** The model named by `baseline=`, priced; 404 when the tenant cannot call it. */
async function requestedBaseline(c: Context<AppEnv>, name: string | undefined) {
  if (name === undefined) return null;
  const row = await findModel(c.env.DB, c.get('tenant').id, name);
  if (!row)
    throw new ApiError(404, `baseline ${JSON.stringify(name)} names no model you can call`, {
      code: 'model_not_found',
      param: 'baseline',
    });
  return {
    name: row.name,
    input_usd_per_mtok: row.inputUsdPerMtok,
    output_usd_per_mtok: row.outputUsdPerMtok,
  };
}

/**
 * Handler of `GET /admin/pools/{pool}/savings`.
 *
 * @example
 * admin.get('/pools/:pool/savings', validParams(poolParams), validQuery(savingsQuerySchema), poolSavings);
 */
export async function poolSavings(
  c: Context<AppEnv, string, Valid<{ param: PoolParams; query: SavingsQuery }>>,
): Promise<Response> {
  const tenantId = c.get('tenant').id;
  const query = c.req.valid('query');
  const w = windowOf(query);
  const pool = await requirePoolRecord(c.env.DB, tenantId, c.req.valid('param').pool);
  const [requested, members, qualities] = await Promise.all([
    requestedBaseline(c, query.baseline),
    memberPrices(c.env.DB, tenantId, pool.name),
    candidateQualities(c.env.DB, tenantId, pool.name, w),
  ]);
  const baseline = chooseBaseline(members, qualities, requested);
  if (!baseline)
    throw badRequest(
      `pool ${JSON.stringify(pool.name)} has no members to compare with; name a baseline`,
      'baseline',
      'no_baseline',
    );
  const keyLength = query.bucket === 'day' ? 10 : 13;
  const buckets = await savingsBuckets(c.env.DB, tenantId, pool.name, w, baseline, keyLength);
  const start = (key: string): string =>
    query.bucket === 'day' ? `${key}T00:00:00.000Z` : `${key}:00:00.000Z`;
  const { totals, series } = summarize(buckets, start);
  return c.json({
    object: 'pool.savings',
    pool: pool.name,
    since: w.since,
    until: w.until,
    bucket: query.bucket,
    baseline,
    totals,
    series,
  });
}
