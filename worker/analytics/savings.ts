/**
 * What a pool's routing saved: the composition behind `GET /admin/pools/{pool}/savings` (the sums
 * come from data/savings.ts).
 *
 * - Actual cost: each answered request's `cost_usd` (its upstream's usage report at the served
 *   model's prices, migration 0010). Rows without usage (an upstream that reported none, a stream cut
 *   before its usage chunk, an upstream error, rows older than 0010) are counted as unpriced and left
 *   out of both costs, never estimated, so the two totals always cover the same requests.
 * - Baseline cost: the same requests' prompt and completion tokens at the baseline model's current
 *   prices (what always sending them to that model would have cost, had it used as many tokens).
 * - Baseline: the model the caller names (`chosen_by: "requested"`), else the pool member with the
 *   highest mean predicted quality over the window's requests (`"predicted_quality"`: the model a
 *   quality-only router would have used), else, when no request recorded per-candidate qualities,
 *   the member with the highest output then input price (`"price"`).
 * - Predicted quality: the routed model's (the row's `predicted_quality`) and the baseline's (its
 *   entry in the row's `predicted_qualities`, migration 0012), averaged over the requests that
 *   recorded both.
 */
import type { BucketSums, PricedModel } from '../data/savings';

export type BaselineReason = 'requested' | 'predicted_quality' | 'price';

/** The model the pool's costs are compared with, and why it is the one. */
export interface Baseline extends PricedModel {
  chosen_by: BaselineReason;
  /** Its mean predicted quality over the window (null: no row recorded it). */
  mean_predicted_quality: number | null;
}

/**
 * The baseline: `requested` when given, else the member predicted best, else the dearest member;
 * null for a pool without members.
 *
 * @example
 * chooseBaseline(members, [{ model: 'gpt-4o', quality: 0.8, rows: 10 }], null)?.name; // 'gpt-4o'
 */
export function chooseBaseline(
  members: readonly PricedModel[],
  qualities: ReadonlyArray<{ model: string; quality: number }>,
  requested: PricedModel | null,
): Baseline | null {
  const quality = new Map(qualities.map((q) => [q.model, q.quality]));
  const meanOf = (m: PricedModel): number | null => quality.get(m.name) ?? null;
  if (requested)
    return { ...requested, chosen_by: 'requested', mean_predicted_quality: meanOf(requested) };
  const rated = members.filter((m) => meanOf(m) !== null);
  const dearer = (a: PricedModel, b: PricedModel): number =>
    b.output_usd_per_mtok - a.output_usd_per_mtok || b.input_usd_per_mtok - a.input_usd_per_mtok;
  if (rated.length > 0) {
    const best = [...rated].sort((a, b) => meanOf(b)! - meanOf(a)! || dearer(a, b))[0]!;
    return { ...best, chosen_by: 'predicted_quality', mean_predicted_quality: meanOf(best) };
  }
  const dearest = [...members].sort(dearer)[0];
  return dearest ? { ...dearest, chosen_by: 'price', mean_predicted_quality: null } : null;
}

/** One bucket (or the totals) as the endpoint answers. */
export interface SavingsPoint {
  requests: number;
  priced_requests: number;
  unpriced_requests: number;
  prompt_tokens: number;
  completion_tokens: number;
  cost_usd: number;
  baseline_cost_usd: number;
  savings_usd: number;
  /** savings / baseline cost; null when the baseline cost is 0. */
  savings_ratio: number | null;
  /** Requests with both predicted qualities, over which the two means below are taken. */
  quality_requests: number;
  predicted_quality: number | null;
  baseline_predicted_quality: number | null;
}

const mean = (sum: number | null, n: number): number | null =>
  n > 0 && sum !== null ? sum / n : null;

/** A point from sums (one bucket, or all buckets added up). */
function point(s: Omit<BucketSums, 'bucket'>): SavingsPoint {
  const cost = s.cost_usd ?? 0;
  const baseline = s.baseline_cost_usd ?? 0;
  return {
    requests: s.requests,
    priced_requests: s.priced_requests,
    unpriced_requests: s.requests - s.priced_requests,
    prompt_tokens: s.prompt_tokens ?? 0,
    completion_tokens: s.completion_tokens ?? 0,
    cost_usd: cost,
    baseline_cost_usd: baseline,
    savings_usd: baseline - cost,
    savings_ratio: baseline > 0 ? (baseline - cost) / baseline : null,
    quality_requests: s.quality_requests,
    predicted_quality: mean(s.predicted_quality_sum, s.quality_requests),
    baseline_predicted_quality: mean(s.baseline_quality_sum, s.quality_requests),
  };
}

const add = (a: number | null, b: number | null): number | null =>
  a === null && b === null ? null : (a ?? 0) + (b ?? 0);

/**
 * Totals and the per-bucket series (each bucket with its start time and the cumulative savings up
 * to its end). `bucketStart` turns a bucket key into its ISO start.
 *
 * @example
 * const { totals, series } = summarize(await savingsBuckets(...), (k) => `${k}T00:00:00.000Z`);
 */
export function summarize(
  buckets: readonly BucketSums[],
  bucketStart: (key: string) => string,
): {
  totals: SavingsPoint;
  series: Array<SavingsPoint & { start: string; cumulative_savings_usd: number }>;
} {
  let cumulative = 0;
  const series = buckets.map((b) => {
    const p = point(b);
    cumulative += p.savings_usd;
    return { start: bucketStart(b.bucket), ...p, cumulative_savings_usd: cumulative };
  });
  const sum = buckets.reduce<Omit<BucketSums, 'bucket'>>(
    (t, b) => ({
      requests: t.requests + b.requests,
      priced_requests: t.priced_requests + b.priced_requests,
      prompt_tokens: add(t.prompt_tokens, b.prompt_tokens),
      completion_tokens: add(t.completion_tokens, b.completion_tokens),
      cost_usd: add(t.cost_usd, b.cost_usd),
      baseline_cost_usd: add(t.baseline_cost_usd, b.baseline_cost_usd),
      quality_requests: t.quality_requests + b.quality_requests,
      predicted_quality_sum: add(t.predicted_quality_sum, b.predicted_quality_sum),
      baseline_quality_sum: add(t.baseline_quality_sum, b.baseline_quality_sum),
    }),
    {
      requests: 0,
      priced_requests: 0,
      prompt_tokens: null,
      completion_tokens: null,
      cost_usd: null,
      baseline_cost_usd: null,
      quality_requests: 0,
      predicted_quality_sum: null,
      baseline_quality_sum: null,
    },
  );
  return { totals: point(sum), series };
}
