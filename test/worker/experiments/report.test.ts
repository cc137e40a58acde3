// GET /admin/experiments/{id}/report on a seeded decision log: every statistic is recomputed here,
// independently of worker/analytics (its own Wilson and Newcombe formulas, and Student's t quantile
// by numerical integration of the t density rather than the incomplete beta function), from the
// rows the report must count; rows it must not count (other tenant, other pool, route-only, before
// the start, after the stop, another tenant's feedback) are seeded beside them.
import { beforeAll, describe, expect, it } from 'vitest';
import { call } from '../support/call';
import { seedPool, seedTenant, testEnv } from '../support/seed';

let key: string;
let tenantId: string;
let other: { tenantId: string; key: string };

/** Deterministic pseudo-random numbers. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

interface Row {
  id: string;
  tenant: string;
  pool: string;
  arm: string;
  status: string;
  routing_ms: number;
  upstream_ms: number | null;
  cost_usd: number | null;
  attempts: string;
  created_at?: string;
  score?: number;
}

const FAILED_THEN_OK = JSON.stringify([
  { target: 'a', status: 503, ok: false, reason: 'upstream_5xx', ms: 4 },
  { target: 'b', status: 200, ok: true, ms: 9 },
]);
const SKIPPED_THEN_OK = JSON.stringify([
  { target: 'a', status: 0, ok: false, reason: 'circuit_open', ms: 0 },
  { target: 'b', status: 200, ok: true, ms: 9 },
]);
const OK = JSON.stringify([{ target: 'a', status: 200, ok: true, ms: 9 }]);
const ALL_FAILED = JSON.stringify([
  { target: 'a', status: 503, ok: false, reason: 'upstream_5xx', ms: 4 },
]);

/** One arm's rows: statuses, fallbacks, costs, latencies and scores drawn from `seed`. */
function armRows(arm: string, pool: string, n: number, seed: number, costScale: number): Row[] {
  const r = rng(seed);
  return Array.from({ length: n }, (_, i) => {
    const u = r();
    const status =
      u < 0.08 ? 'upstream_error' : u < 0.12 ? 'stream_cut' : u < 0.15 ? 'client_closed' : 'ok';
    const v = r();
    const attempts =
      status === 'upstream_error'
        ? ALL_FAILED
        : i === 3
          ? 'not json'
          : v < 0.15
            ? FAILED_THEN_OK
            : v < 0.2
              ? SKIPPED_THEN_OK
              : OK;
    const answered = status === 'ok' || status === 'stream_cut';
    const row: Row = {
      id: `d-${arm}-${seed}-${i}-${crypto.randomUUID().slice(0, 8)}`,
      tenant: tenantId,
      pool,
      arm,
      status,
      routing_ms: Math.round(r() * 4000) / 1000,
      upstream_ms: answered && r() < 0.9 ? Math.round(200 + r() * 3000) : null,
      cost_usd: answered && r() < 0.85 ? costScale * (0.5 + r()) * 1e-4 : null,
      attempts,
    };
    if (status !== 'upstream_error' && r() < 0.6) row.score = Math.round(r() * 10) / 10;
    return row;
  });
}

async function insertRows(rows: readonly Row[]): Promise<void> {
  const stmts: D1PreparedStatement[] = [];
  for (const x of rows) {
    stmts.push(
      testEnv.DB.prepare(
        `INSERT INTO decision_log (id, tenant_id, pool, arm, model, status, routing_ms, upstream_ms, cost_usd, attempts, created_at)
         VALUES (?1, ?2, ?3, ?4, 'm', ?5, ?6, ?7, ?8, ?9, COALESCE(?10, strftime('%Y-%m-%dT%H:%M:%fZ', 'now')))`,
      ).bind(
        x.id,
        x.tenant,
        x.pool,
        x.arm,
        x.status,
        x.routing_ms,
        x.upstream_ms,
        x.cost_usd,
        x.attempts,
        x.created_at ?? null,
      ),
    );
    if (x.score !== undefined)
      stmts.push(
        testEnv.DB.prepare(
          'INSERT INTO feedback (tenant_id, decision_id, pool, model, score) VALUES (?1, ?2, ?3, ?4, ?5)',
        ).bind(x.tenant, x.id, x.pool, 'm', x.score),
      );
  }
  for (let i = 0; i < stmts.length; i += 50) await testEnv.DB.batch(stmts.slice(i, i + 50));
}

// --- the statistics, written again here -------------------------------------------------------

const Z = 1.959963984540054;

/** Student's t density up to its constant, after x = tan(theta) (so the range is finite). */
function tIntegrand(theta: number, df: number): number {
  const x = Math.tan(theta);
  const c = Math.cos(theta);
  return (1 + (x * x) / df) ** (-(df + 1) / 2) / (c * c);
}

function simpson(f: (x: number) => number, a: number, b: number, n = 4000): number {
  const h = (b - a) / n;
  let s = f(a) + f(b);
  for (let i = 1; i < n; i++) s += f(a + i * h) * (i % 2 ? 4 : 2);
  return (s * h) / 3;
}

/** t quantile at 0.975 by bisection on a CDF from Simpson's rule (no gamma function needed). */
function t975(df: number): number {
  const f = (th: number): number => tIntegrand(th, df);
  const half = simpson(f, 0, Math.PI / 2 - 1e-9);
  let lo = 0;
  let hi = 20;
  for (let i = 0; i < 60; i++) {
    const mid = (lo + hi) / 2;
    if (0.5 + simpson(f, 0, Math.atan(mid)) / (2 * half) < 0.975) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

function wilsonCi(k: number, n: number): [number, number] {
  const p = k / n;
  const d = 1 + (Z * Z) / n;
  const c = (p + (Z * Z) / (2 * n)) / d;
  const h = (Z * Math.sqrt((p * (1 - p)) / n + (Z * Z) / (4 * n * n))) / d;
  return [Math.max(0, c - h), Math.min(1, c + h)];
}

function newcombeCi(k1: number, n1: number, k2: number, n2: number): [number, number] {
  const [l1, u1] = wilsonCi(k1, n1);
  const [l2, u2] = wilsonCi(k2, n2);
  const p1 = k1 / n1;
  const p2 = k2 / n2;
  return [p1 - p2 - Math.hypot(p1 - l1, u2 - p2), p1 - p2 + Math.hypot(u1 - p1, p2 - l2)];
}

function describeSample(xs: number[]): { n: number; mean: number; variance: number } {
  const n = xs.length;
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  const variance = xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1);
  return { n, mean, variance };
}

function tCi(xs: number[]): [number, number] {
  const { n, mean, variance } = describeSample(xs);
  const h = t975(n - 1) * Math.sqrt(variance / n);
  return [mean - h, mean + h];
}

function welchCi(a: number[], b: number[]): { diff: number; ci: [number, number]; df: number } {
  const A = describeSample(a);
  const B = describeSample(b);
  const va = A.variance / A.n;
  const vb = B.variance / B.n;
  const df = (va + vb) ** 2 / (va ** 2 / (A.n - 1) + vb ** 2 / (B.n - 1));
  const h = t975(df) * Math.sqrt(va + vb);
  const diff = A.mean - B.mean;
  return { diff, ci: [diff - h, diff + h], df };
}

function nearestRank(xs: number[], p: number): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.ceil(p * sorted.length) - 1]!;
}

interface Expected {
  requests: number;
  errors: number;
  fallbacks: number;
  costs: number[];
  scores: number[];
  routing: number[];
  upstream: number[];
}

function expected(rows: Row[]): Expected {
  const answered = (x: Row): boolean => x.status === 'ok';
  return {
    requests: rows.length,
    errors: rows.filter((x) => x.status === 'upstream_error' || x.status === 'stream_cut').length,
    fallbacks: rows.filter(
      (x) => answered(x) && (x.attempts === FAILED_THEN_OK || x.attempts === SKIPPED_THEN_OK),
    ).length,
    costs: rows.flatMap((x) => (x.cost_usd === null ? [] : [x.cost_usd])),
    scores: rows.flatMap((x) => (x.score === undefined ? [] : [x.score])),
    routing: rows.map((x) => x.routing_ms),
    upstream: rows.flatMap((x) => (x.upstream_ms === null ? [] : [x.upstream_ms])),
  };
}

// --- the report -------------------------------------------------------------------------------

interface Interval95 {
  ci95: [number, number] | null;
}
interface ArmJson {
  name: string;
  weight: number;
  control: boolean;
  config: Record<string, unknown>;
  requests: number;
  error_rate: { count: number; rate: number | null } & Interval95;
  fallback_rate: { count: number; rate: number | null } & Interval95;
  cost_per_request_usd: { n: number; mean: number | null } & Interval95;
  routing_ms: { n: number; p50: number | null; p95: number | null };
  upstream_ms: { n: number; p50: number | null; p95: number | null };
  feedback: { n: number; mean: number | null } & Interval95;
  vs_control: Record<
    'error_rate' | 'fallback_rate' | 'cost_per_request_usd' | 'feedback',
    { diff: number; ci95: [number, number]; df?: number | null } | null
  > | null;
}
interface ReportJson {
  object: string;
  control: string;
  arms: ArmJson[];
  experiment: { id: string; active: boolean };
}

const close = (got: number | null | undefined, want: number, digits = 9): void => {
  expect(got).not.toBeNull();
  expect(got).toBeCloseTo(want, digits);
};

function closeCi(got: [number, number] | null | undefined, want: [number, number], digits = 9) {
  expect(got).not.toBeNull();
  close(got![0], want[0], digits);
  close(got![1], want[1], digits);
}

let expId: string;
let control: Row[];
let candidate: Row[];

beforeAll(async () => {
  ({ tenantId, key } = await seedTenant('rp'));
  other = await seedTenant('rp');
  await seedPool(tenantId, 'rp', 'test-v1', []);
  await seedPool(tenantId, 'rp-alt', 'test-v1', []);
  await seedPool(other.tenantId, 'rp', 'test-v1', []);

  const res = await call('/admin/experiments', {
    key,
    body: {
      pool: 'rp',
      name: 'report',
      arms: [
        { name: 'cand', weight: 1, pool: 'rp-alt' },
        { name: 'ctl', weight: 1, control: true },
      ],
    },
  });
  expect(res.status).toBe(201);
  expId = (await res.json<{ id: string }>()).id;

  control = armRows('ctl', 'rp', 60, 1, 1);
  candidate = armRows('cand', 'rp-alt', 45, 2, 0.6);
  const noise: Row[] = [
    // route-only decisions call no model
    { ...armRows('ctl', 'rp', 1, 3, 1)[0]!, status: 'route_only' },
    // the candidate's name, but in the experiment's own pool: not where that arm routes
    ...armRows('cand', 'rp', 5, 4, 9),
    // before the experiment started
    ...armRows('ctl', 'rp', 5, 5, 9).map((x) => ({ ...x, created_at: '2000-01-01T00:00:00.000Z' })),
  ];
  // another tenant's rows under the same pool and arm names
  const theirs = armRows('ctl', 'rp', 5, 6, 9).map((x) => ({ ...x, tenant: other.tenantId }));
  await insertRows([...control, ...candidate, ...noise, ...theirs]);
  // another tenant's feedback on one of our decision ids must not count
  const target = control.find((x) => x.score === undefined && x.status === 'ok')!;
  await testEnv.DB.prepare(
    "INSERT INTO feedback (tenant_id, decision_id, pool, model, score) VALUES (?1, ?2, 'rp', 'm', 0)",
  )
    .bind(other.tenantId, target.id)
    .run();

  const stop = await call(`/admin/experiments/${expId}/stop`, { key, method: 'POST' });
  expect(stop.status).toBe(200);
  // after the stop
  await insertRows(
    armRows('ctl', 'rp', 5, 7, 9).map((x) => ({ ...x, created_at: '2999-01-01T00:00:00.000Z' })),
  );
});

describe('GET /admin/experiments/{id}/report', () => {
  it('reports every arm exactly as the seeded rows say', async () => {
    const res = await call(`/admin/experiments/${expId}/report`, { key });
    expect(res.status).toBe(200);
    const report = await res.json<ReportJson>();
    expect(report.object).toBe('experiment.report');
    expect(report.control).toBe('ctl');
    expect(report.experiment).toMatchObject({ id: expId, active: false });
    expect(report.arms.map((a) => [a.name, a.control])).toEqual([
      ['cand', false],
      ['ctl', true],
    ]);
    expect(report.arms[0]!.config).toEqual({ pool: 'rp-alt' });

    const want = { cand: expected(candidate), ctl: expected(control) };
    // the seed must exercise what is tested
    for (const w of Object.values(want)) {
      expect(w.errors).toBeGreaterThan(0);
      expect(w.fallbacks).toBeGreaterThan(0);
      expect(w.costs.length).toBeLessThan(w.requests);
      expect(w.scores.length).toBeGreaterThan(10);
    }
    for (const arm of report.arms) {
      const w = want[arm.name as 'cand' | 'ctl'];
      expect(arm.requests).toBe(w.requests);
      expect(arm.error_rate.count).toBe(w.errors);
      close(arm.error_rate.rate, w.errors / w.requests);
      closeCi(arm.error_rate.ci95, wilsonCi(w.errors, w.requests));
      expect(arm.fallback_rate.count).toBe(w.fallbacks);
      closeCi(arm.fallback_rate.ci95, wilsonCi(w.fallbacks, w.requests));

      const cost = describeSample(w.costs);
      expect(arm.cost_per_request_usd.n).toBe(cost.n);
      close(arm.cost_per_request_usd.mean, cost.mean, 15);
      closeCi(arm.cost_per_request_usd.ci95, tCi(w.costs), 12);

      const fb = describeSample(w.scores);
      expect(arm.feedback.n).toBe(fb.n);
      close(arm.feedback.mean, fb.mean);
      closeCi(arm.feedback.ci95, tCi(w.scores), 6);

      expect(arm.routing_ms).toEqual({
        n: w.requests,
        p50: nearestRank(w.routing, 0.5),
        p95: nearestRank(w.routing, 0.95),
      });
      expect(arm.upstream_ms).toEqual({
        n: w.upstream.length,
        p50: nearestRank(w.upstream, 0.5),
        p95: nearestRank(w.upstream, 0.95),
      });
    }

    const [cand, ctl] = [want.cand, want.ctl];
    const vs = report.arms[0]!.vs_control!;
    expect(report.arms[1]!.vs_control).toBeNull();
    close(vs.error_rate!.diff, cand.errors / cand.requests - ctl.errors / ctl.requests);
    closeCi(vs.error_rate!.ci95, newcombeCi(cand.errors, cand.requests, ctl.errors, ctl.requests));
    closeCi(
      vs.fallback_rate!.ci95,
      newcombeCi(cand.fallbacks, cand.requests, ctl.fallbacks, ctl.requests),
    );
    const costDiff = welchCi(cand.costs, ctl.costs);
    close(vs.cost_per_request_usd!.diff, costDiff.diff, 15);
    close(vs.cost_per_request_usd!.df, costDiff.df, 6);
    closeCi(vs.cost_per_request_usd!.ci95, costDiff.ci, 12);
    const fbDiff = welchCi(cand.scores, ctl.scores);
    close(vs.feedback!.diff, fbDiff.diff);
    close(vs.feedback!.df, fbDiff.df, 6);
    closeCi(vs.feedback!.ci95, fbDiff.ci, 6);
  });

  it("answers another tenant's key with 404 and an unknown id with 404", async () => {
    const theirs = await call(`/admin/experiments/${expId}/report`, { key: other.key });
    expect(theirs.status).toBe(404);
    expect((await theirs.json<{ error: { code: string } }>()).error.code).toBe(
      'experiment_not_found',
    );
    const unknown = await call('/admin/experiments/exp_nope/report', { key });
    expect(unknown.status).toBe(404);
  });

  it('reports an arm without rows as zeros and nulls, with no difference', async () => {
    await seedPool(tenantId, 'rp-empty', 'test-v1', []);
    const res = await call('/admin/experiments', {
      key,
      body: {
        pool: 'rp-empty',
        name: 'empty',
        arms: [
          { name: 'x', weight: 1 },
          { name: 'y', weight: 1 },
        ],
      },
    });
    const { id } = await res.json<{ id: string }>();
    const report = await (
      await call(`/admin/experiments/${id}/report`, { key })
    ).json<ReportJson>();
    expect(report.arms[1]).toMatchObject({
      name: 'y',
      requests: 0,
      error_rate: { count: 0, rate: null, ci95: null },
      cost_per_request_usd: { n: 0, mean: null, ci95: null },
      routing_ms: { n: 0, p50: null, p95: null },
      feedback: { n: 0, mean: null, ci95: null },
      vs_control: {
        error_rate: null,
        fallback_rate: null,
        cost_per_request_usd: null,
        feedback: null,
      },
    });
    await call(`/admin/experiments/${id}/stop`, { key, method: 'POST' });
  });
});
