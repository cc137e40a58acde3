/**
 * The experiment report (`GET /admin/experiments/{id}/report`, `npm run report -- --experiment`):
 * per arm its requests, error and fallback rates, mean actual cost per request, routing overhead
 * and upstream latency percentiles, feedback count and mean, each with a 95% interval, and its
 * difference from the control arm with an interval (methods in ./intervals.ts).
 */
import type { ArmRows, Moments, Percentiles } from '../data/experiment-rows';
import type { ExperimentArm } from '../data/pools';
import { meanInterval, newcombe, welch, wilson, type Interval } from './intervals';

/** A rate with its Wilson interval (null rate and interval without requests). */
export interface Rate {
  count: number;
  rate: number | null;
  ci95: Interval | null;
}

/** A mean with its t interval (null without values; null interval with fewer than 2). */
export interface Mean {
  n: number;
  mean: number | null;
  ci95: Interval | null;
}

/** An arm minus the control, with a 95% interval (null where either side lacks the data). */
export interface Difference {
  diff: number;
  ci95: Interval;
  /** Welch-Satterthwaite degrees of freedom (means only; null for a difference without variance). */
  df?: number | null;
}

/** One arm of the report. */
export interface ArmReport {
  name: string;
  weight: number;
  control: boolean;
  /** What the arm routes with: its pool, bundle version, preference or fixed model, where set. */
  config: Omit<ExperimentArm, 'name' | 'weight' | 'control'>;
  requests: number;
  error_rate: Rate;
  fallback_rate: Rate;
  cost_per_request_usd: Mean;
  routing_ms: Percentiles;
  upstream_ms: Percentiles;
  feedback: Mean;
  /** Null for the control itself. */
  vs_control: {
    error_rate: Difference | null;
    fallback_rate: Difference | null;
    cost_per_request_usd: Difference | null;
    feedback: Difference | null;
  } | null;
}

/** How the numbers are computed, stated in the report itself. */
export const REPORT_METHODS = {
  rows: 'decision rows with the arm name in the arm pool, written between created_at and stopped_at; route-only decisions excluded',
  error_rate: 'status upstream_error or stream_cut over requests; Wilson score 95% interval',
  fallback_rate:
    'answered requests where a target failed or was skipped before the one that answered, over requests; Wilson score 95% interval',
  cost_per_request_usd:
    'mean decision_log.cost_usd over requests that know it; Student t 95% interval',
  percentiles: 'nearest rank: the value at rank ceil(p * n) of the n sorted values',
  feedback: 'mean feedback score of the arm decisions that have feedback; Student t 95% interval',
  vs_control:
    'arm minus control: rates by Newcombe hybrid score interval (method 10), means by Welch t interval',
} as const;

function rate(count: number, n: number): Rate {
  return { count, rate: n > 0 ? count / n : null, ci95: wilson(count, n) };
}

function mean(m: Moments): Mean {
  return { n: m.n, mean: m.n > 0 ? m.mean : null, ci95: meanInterval(m) };
}

function meanDiff(a: Moments, b: Moments): Difference | null {
  const w = welch(a, b);
  return w ? { diff: w.diff, ci95: w.ci, df: w.df } : null;
}

function rateDiff(k1: number, n1: number, k2: number, n2: number): Difference | null {
  const d = newcombe(k1, n1, k2, n2);
  return d ? { diff: d.diff, ci95: d.ci } : null;
}

/**
 * The control arm's name: the arm marked `control`, else the first.
 *
 * @example
 * controlArm([{ name: 'a', weight: 1 }, { name: 'b', weight: 1, control: true }]); // 'b'
 */
export function controlArm(arms: readonly ExperimentArm[]): string {
  return (arms.find((a) => a.control) ?? arms[0])?.name ?? '';
}

/**
 * The per-arm report from each arm's aggregates (arms without rows report zeros).
 *
 * @example
 * const arms = armReports(exp.arms, await armRows(env.DB, tenant, keys, from, to));
 */
export function armReports(
  arms: readonly ExperimentArm[],
  rows: ReadonlyMap<string, ArmRows>,
): ArmReport[] {
  const control = controlArm(arms);
  const empty: ArmRows = {
    requests: 0,
    errors: 0,
    fallbacks: 0,
    cost: { n: 0, mean: null, m2: 0 },
    feedback: { n: 0, mean: null, m2: 0 },
    routing: { n: 0, p50: null, p95: null },
    upstream: { n: 0, p50: null, p95: null },
  };
  const c = rows.get(control) ?? empty;
  return arms.map((arm) => {
    const r = rows.get(arm.name) ?? empty;
    const { name, weight, control: _c, ...config } = arm;
    const isControl = name === control;
    return {
      name,
      weight,
      control: isControl,
      config,
      requests: r.requests,
      error_rate: rate(r.errors, r.requests),
      fallback_rate: rate(r.fallbacks, r.requests),
      cost_per_request_usd: mean(r.cost),
      routing_ms: r.routing,
      upstream_ms: r.upstream,
      feedback: mean(r.feedback),
      vs_control: isControl
        ? null
        : {
            error_rate: rateDiff(r.errors, r.requests, c.errors, c.requests),
            fallback_rate: rateDiff(r.fallbacks, r.requests, c.fallbacks, c.requests),
            cost_per_request_usd: meanDiff(r.cost, c.cost),
            feedback: meanDiff(r.feedback, c.feedback),
          },
    };
  });
}
