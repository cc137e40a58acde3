/**
 * GET /admin/pools/{pool}/savings inside workerd: actual cost against the same token counts on the
 * pool's best model, with the predicted quality of both, in total and per bucket, over decision
 * rows as the router writes them. Rows of another pool, another tenant, route-only decisions and
 * rows outside the window do not count; rows without usage are counted as unpriced.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { seedBundle, seedModel, seedPool, seedTenant } from '../support/seed';
import { insertRows, type Row } from './decision-rows';
import { as, errorOf } from './support';

let a: { tenantId: string; key: string };
let b: { tenantId: string; key: string };
const W = 'since=2026-11-01&until=2026-11-03';

/** USD of tokens at per-million prices. */
const usd = (p: number, c: number, inPrice: number, outPrice: number) =>
  (p * inPrice + c * outPrice) / 1e6;

beforeAll(async () => {
  await seedBundle('test-v1');
  a = await seedTenant('main');
  b = await seedTenant('main');
  for (const t of [a, b]) {
    const big = await seedModel({ name: 'big', inputUsd: 5, outputUsd: 15, tenantId: t.tenantId });
    const small = await seedModel({
      name: 'small',
      inputUsd: 0.5,
      outputUsd: 1.5,
      tenantId: t.tenantId,
    });
    await seedPool(t.tenantId, 'main', 'test-v1', [big, small]);
    await seedPool(t.tenantId, 'plain', 'test-v1', [big, small]);
  }
  const c = ['big', 'small'];
  const rows: Row[] = [
    // day 1
    {
      id: 'r1',
      model: 'small',
      at: '2026-11-01T10:00:00.000Z',
      candidates: c,
      qualities: [0.9, 0.6],
      quality: 0.6,
      promptTokens: 1000,
      completionTokens: 200,
      costUsd: usd(1000, 200, 0.5, 1.5),
    },
    {
      id: 'r2',
      model: 'big',
      at: '2026-11-01T11:30:00.000Z',
      candidates: c,
      qualities: [0.8, 0.5],
      quality: 0.8,
      promptTokens: 2000,
      completionTokens: 100,
      costUsd: usd(2000, 100, 5, 15),
    },
    // day 2: one priced, one upstream error without usage (unpriced), one route-only (not counted)
    {
      id: 'r3',
      model: 'small',
      at: '2026-11-02T00:00:00.000Z',
      candidates: ['small', 'big'],
      qualities: [0.7, 0.95],
      quality: 0.7,
      promptTokens: 500,
      completionTokens: 500,
      costUsd: usd(500, 500, 0.5, 1.5),
    },
    {
      id: 'r4',
      model: 'small',
      status: 'upstream_error',
      at: '2026-11-02T05:00:00.000Z',
      candidates: c,
      qualities: [0.9, 0.6],
      quality: 0.6,
    },
    {
      id: 'r5',
      model: 'big',
      status: 'route_only',
      at: '2026-11-02T06:00:00.000Z',
      candidates: c,
      qualities: [0.1, 0.1],
      quality: 0.1,
    },
    // not counted: another pool, outside the window
    {
      id: 'r6',
      model: 'big',
      pool: 'plain',
      at: '2026-11-01T12:00:00.000Z',
      candidates: c,
      qualities: [0.2, 0.1],
      quality: 0.2,
      promptTokens: 9,
      completionTokens: 9,
      costUsd: 1,
    },
    {
      id: 'r7',
      model: 'big',
      at: '2026-11-03T00:00:00.000Z',
      candidates: c,
      qualities: [0.2, 0.1],
      quality: 0.2,
      promptTokens: 9,
      completionTokens: 9,
      costUsd: 1,
    },
  ].map((r) => ({ ...r, id: `${a.tenantId}-${r.id}`, tenant: a.tenantId }));
  // B: same pool and model names, its own traffic (one request on small, quality rows saying small is best)
  rows.push({
    id: `${b.tenantId}-r1`,
    tenant: b.tenantId,
    model: 'small',
    at: '2026-11-01T10:00:00.000Z',
    candidates: c,
    qualities: [0.1, 0.99],
    quality: 0.99,
    promptTokens: 7,
    completionTokens: 7,
    costUsd: 123,
  });
  await insertRows(rows);
});

type Point = Record<string, number | null | string>;

describe('GET /admin/pools/{pool}/savings', () => {
  it('totals and a day series: actual cost vs the best model’s, with both predicted qualities', async () => {
    const r = await as(a.key, 'GET', `/admin/pools/main/savings?${W}`);
    expect(r.status, JSON.stringify(r.json)).toBe(200);
    expect(r.json).toMatchObject({
      object: 'pool.savings',
      pool: 'main',
      since: '2026-11-01T00:00:00.000Z',
      until: '2026-11-03T00:00:00.000Z',
      bucket: 'day',
      baseline: {
        name: 'big',
        chosen_by: 'predicted_quality',
        input_usd_per_mtok: 5,
        output_usd_per_mtok: 15,
      },
    });
    expect((r.json.baseline as Point).mean_predicted_quality).toBeCloseTo(
      (0.9 + 0.8 + 0.95 + 0.9) / 4,
      12,
    );
    const cost = usd(1000, 200, 0.5, 1.5) + usd(2000, 100, 5, 15) + usd(500, 500, 0.5, 1.5);
    const baseline = usd(3500, 800, 5, 15);
    const t = r.json.totals as Point;
    expect(t).toMatchObject({
      requests: 4,
      priced_requests: 3,
      unpriced_requests: 1,
      prompt_tokens: 3500,
      completion_tokens: 800,
      quality_requests: 4,
    });
    expect(t.cost_usd).toBeCloseTo(cost, 12);
    expect(t.baseline_cost_usd).toBeCloseTo(baseline, 12);
    expect(t.savings_usd).toBeCloseTo(baseline - cost, 12);
    expect(t.savings_ratio).toBeCloseTo((baseline - cost) / baseline, 12);
    expect(t.predicted_quality).toBeCloseTo((0.6 + 0.8 + 0.7 + 0.6) / 4, 12);
    expect(t.baseline_predicted_quality).toBeCloseTo((0.9 + 0.8 + 0.95 + 0.9) / 4, 12);

    const series = r.json.series as Point[];
    expect(series.map((p) => [p.start, p.requests, p.priced_requests])).toEqual([
      ['2026-11-01T00:00:00.000Z', 2, 2],
      ['2026-11-02T00:00:00.000Z', 2, 1],
    ]);
    const day1 = usd(3000, 300, 5, 15) - usd(1000, 200, 0.5, 1.5) - usd(2000, 100, 5, 15);
    expect(series[0]!.savings_usd).toBeCloseTo(day1, 12);
    expect(series[0]!.cumulative_savings_usd).toBeCloseTo(day1, 12);
    expect(series[1]!.cumulative_savings_usd).toBeCloseTo(baseline - cost, 12);
    expect(series[1]!.baseline_predicted_quality).toBeCloseTo((0.95 + 0.9) / 2, 12);
  });

  it('hour buckets, a named baseline, and the dearest member when no row has qualities', async () => {
    const hours = await as(a.key, 'GET', `/admin/pools/main/savings?${W}&bucket=hour`);
    expect((hours.json.series as Point[]).map((p) => p.start)).toEqual([
      '2026-11-01T10:00:00.000Z',
      '2026-11-01T11:00:00.000Z',
      '2026-11-02T00:00:00.000Z',
      '2026-11-02T05:00:00.000Z',
    ]);
    const named = await as(a.key, 'GET', `/admin/pools/main/savings?${W}&baseline=small`);
    expect(named.json.baseline).toMatchObject({ name: 'small', chosen_by: 'requested' });
    expect((named.json.totals as Point).baseline_cost_usd).toBeCloseTo(
      usd(3500, 800, 0.5, 1.5),
      12,
    );
    const empty = await as(
      a.key,
      'GET',
      '/admin/pools/main/savings?since=2025-01-01&until=2025-02-01',
    );
    expect(empty.json.baseline).toMatchObject({
      name: 'big',
      chosen_by: 'price',
      mean_predicted_quality: null,
    });
    expect(empty.json.totals).toMatchObject({
      requests: 0,
      cost_usd: 0,
      savings_ratio: null,
      predicted_quality: null,
    });
    expect(empty.json.series).toEqual([]);
  });

  it("counts only the tenant's own rows, whatever the names", async () => {
    const r = await as(b.key, 'GET', `/admin/pools/main/savings?${W}`);
    expect(r.json.baseline).toMatchObject({ name: 'small', chosen_by: 'predicted_quality' });
    expect(r.json.totals).toMatchObject({
      requests: 1,
      priced_requests: 1,
      cost_usd: 123,
      prompt_tokens: 7,
    });
  });

  it('400 for an empty or too long window and bad parameters; 404 for unknown pools and baselines', async () => {
    const cases: Array<[string, number, string, string | null]> = [
      ['since=2026-11-02&until=2026-11-01', 400, 'invalid_window', 'since'],
      ['since=2026-01-01&until=2026-11-01&bucket=hour', 400, 'window_too_large', 'since'],
      ['bucket=week', 400, 'invalid_value', 'bucket'],
      ['since=last-week', 400, 'invalid_value', 'since'],
      ['baseline=nope', 404, 'model_not_found', 'baseline'],
    ];
    for (const [q, status, code, param] of cases) {
      const r = await as(a.key, 'GET', `/admin/pools/main/savings?${q}`);
      expect(r.status, q).toBe(status);
      expect(errorOf(r)).toMatchObject({ code, param });
    }
    const none = await as(a.key, 'GET', '/admin/pools/nope/savings');
    expect(none.status).toBe(404);
    expect(errorOf(none).code).toBe('pool_not_found');
  });
});
