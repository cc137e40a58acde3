/**
 * GET /admin/decisions inside workerd: a tenant's own decision log, newest first, filtered and paged
 * with a cursor; two tenants with the same pool and model names never see each other's rows, with
 * any filter or cursor. A routed request's row carries every candidate's predicted quality.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { seedBundle, seedBundleModels, seedPool, seedTenant, testEnv } from '../support/seed';
import { insertRows } from './decision-rows';
import { as, errorOf } from './support';

let a: { tenantId: string; key: string };
let b: { tenantId: string; key: string };
const aIds: string[] = [];
const bIds: string[] = [];

beforeAll(async () => {
  a = await seedTenant('main');
  b = await seedTenant('main');
  const day = (h: number) =>
    `2026-11-0${1 + Math.floor(h / 24)}T${String(h % 24).padStart(2, '0')}:00:00.000Z`;
  // A: 7 rows, two pairs sharing a timestamp (ties ordered by id); B: 3 rows with the same names
  const rowsA = [0, 1, 1, 5, 30, 30, 50].map((h, i) => ({
    id: `${a.tenantId}-r${i}`,
    tenant: a.tenantId,
    model: i % 2 ? 'gpt-4o' : 'mistral-7b',
    pool: i === 6 ? 'other' : 'main',
    status: i === 3 ? 'upstream_error' : 'ok',
    at: day(h),
  }));
  const rowsB = [1, 30, 50].map((h, i) => ({
    id: `${b.tenantId}-r${i}`,
    tenant: b.tenantId,
    model: 'gpt-4o',
    at: day(h),
  }));
  await insertRows([...rowsA, ...rowsB]);
  aIds.push(...rowsA.map((r) => r.id));
  bIds.push(...rowsB.map((r) => r.id));
});

/** Every page of a listing, following next_cursor. */
async function pages(key: string, query: string): Promise<Array<Array<Record<string, unknown>>>> {
  const out: Array<Array<Record<string, unknown>>> = [];
  let cursor: string | null = null;
  for (let i = 0; i < 100; i++) {
    const r = await as(key, 'GET', `/admin/decisions?${query}${cursor ? `&cursor=${cursor}` : ''}`);
    expect(r.status, JSON.stringify(r.json)).toBe(200);
    out.push(r.json.data as Array<Record<string, unknown>>);
    cursor = r.json.next_cursor as string | null;
    expect(r.json.has_more).toBe(cursor !== null);
    if (!cursor) return out;
  }
  throw new Error('no end of pages');
}

describe('GET /admin/decisions', () => {
  it('pages through all of the tenant’s rows newest first, each once, ties by id', async () => {
    const all = await pages(a.key, 'limit=3');
    expect(all.map((p) => p.length)).toEqual([3, 3, 1]);
    const rows = all.flat();
    expect(rows.map((r) => r.id)).toEqual(
      [...aIds].sort((x, y) => {
        const rx = rows.find((r) => r.id === x)!.created_at as string;
        const ry = rows.find((r) => r.id === y)!.created_at as string;
        return ry.localeCompare(rx) || y.localeCompare(x);
      }),
    );
    expect(new Set(rows.map((r) => r.id)).size).toBe(7);
    expect(rows[0]).toMatchObject({ object: 'decision', candidates: ['mistral-7b'], attempts: [] });
  });

  it('filters by pool, model, status and time (since inclusive, until exclusive)', async () => {
    const ids = async (q: string) =>
      (await pages(a.key, q))
        .flat()
        .map((r) => r.id)
        .sort();
    expect(await ids('pool=other')).toEqual([aIds[6]]);
    expect(await ids('model=gpt-4o')).toEqual([aIds[1], aIds[3], aIds[5]].sort());
    expect(await ids('status=upstream_error')).toEqual([aIds[3]]);
    // r6 is at 2026-11-03T02:00:00.000Z: `until` is exclusive
    expect(await ids('since=2026-11-02&until=2026-11-03T02:00:00Z')).toEqual(
      [aIds[4], aIds[5]].sort(),
    );
    expect(await ids('since=2026-11-02&until=2026-11-03T02:00:00.001Z')).toEqual(
      [aIds[4], aIds[5], aIds[6]].sort(),
    );
    expect(await ids('since=2026-11-01T01:00:00%2B00:00&until=2026-11-01T05:00:00Z')).toEqual(
      [aIds[1], aIds[2]].sort(),
    );
    expect(await ids('pool=main&model=gpt-4o&status=ok&limit=1')).toEqual(
      [aIds[1], aIds[5]].sort(),
    );
  });

  it("never shows another tenant's rows, with any filter or cursor", async () => {
    const rowsB = (await pages(b.key, 'limit=2')).flat().map((r) => r.id);
    expect(rowsB.sort()).toEqual([...bIds].sort());
    for (const q of ['pool=main', 'model=gpt-4o', 'status=ok', 'since=2026-01-01', 'limit=500']) {
      const seen = (await pages(b.key, q)).flat().map((r) => r.id as string);
      expect(
        seen.filter((id) => aIds.includes(id)),
        q,
      ).toEqual([]);
    }
    // A's cursor, replayed by B, pages B's rows only
    const first = await as(a.key, 'GET', '/admin/decisions?limit=1');
    const replay = await as(b.key, 'GET', `/admin/decisions?cursor=${first.json.next_cursor}`);
    expect((replay.json.data as Array<{ id: string }>).every((r) => bIds.includes(r.id))).toBe(
      true,
    );
  });

  it('400 for a bad cursor, limit, status or time', async () => {
    const cases: Array<[string, string, string]> = [
      ['cursor=not-a-cursor', 'invalid_cursor', 'cursor'],
      [`cursor=${btoa('{"a":1}')}`, 'invalid_cursor', 'cursor'],
      ['limit=0', 'invalid_value', 'limit'],
      ['limit=501', 'invalid_value', 'limit'],
      ['status=bogus', 'invalid_value', 'status'],
      ['since=yesterday', 'invalid_value', 'since'],
      ['tenant_id=x', 'invalid_value', ''],
    ];
    for (const [q, code, param] of cases) {
      const r = await as(a.key, 'GET', `/admin/decisions?${q}`);
      expect(r.status, q).toBe(400);
      expect(errorOf(r).code).toBe(code);
      if (param) expect(errorOf(r).param).toBe(param);
    }
    expect((await as(a.key, 'GET', '/admin/decisions', undefined)).status).toBe(200);
  });

  it('a row says which model answered and with what propensity it was chosen (migration 0011)', async () => {
    const t = await seedTenant('main');
    await testEnv.DB.prepare(
      `INSERT INTO decision_log (id, tenant_id, pool, model, status, created_at, answered_by, propensity, prompt)
       VALUES (?1, ?2, 'main', 'gpt-4o', 'ok', '2026-11-20T00:00:00.000Z', 'mistral-7b', 0.25, '[]')`,
    )
      .bind(`${t.tenantId}-fb`, t.tenantId)
      .run();
    const [row] = (await as(t.key, 'GET', '/admin/decisions')).json.data as Array<
      Record<string, unknown>
    >;
    expect(row).toMatchObject({ model: 'gpt-4o', answered_by: 'mistral-7b', propensity: 0.25 });
    // kept prompt text is not part of the listing
    expect(row).not.toHaveProperty('prompt');
  });

  it('a routed request’s row lists every candidate’s predicted quality, aligned with candidates', async () => {
    await seedBundle('test-v1');
    const t = await seedTenant('default');
    const ids = await seedBundleModels(t.tenantId, 'http://127.0.0.1:9/v1');
    await seedPool(t.tenantId, 'default', 'test-v1', Object.values(ids));
    const routed = await as(t.key, 'POST', '/v1/route', {
      model: 'router',
      messages: [{ role: 'user', content: 'What is 2+2?' }],
    });
    expect(routed.status).toBe(200);
    const [row] = (await as(t.key, 'GET', '/admin/decisions')).json.data as Array<{
      candidates: string[];
      predicted_qualities: number[];
      predicted_quality: number;
      model: string;
    }>;
    const byModel = Object.fromEntries(
      (routed.json.candidates as Array<{ model: string; predicted_quality: number }>).map((c) => [
        c.model,
        c.predicted_quality,
      ]),
    );
    expect(row!.candidates).toHaveLength(4);
    expect(row!.predicted_qualities).toHaveLength(4);
    row!.candidates.forEach((m, i) =>
      expect(row!.predicted_qualities[i]).toBeCloseTo(byModel[m]!, 6),
    );
    expect(row!.predicted_quality).toBe(
      row!.predicted_qualities[row!.candidates.indexOf(row!.model)],
    );
    const stored = await testEnv.DB.prepare(
      'SELECT predicted_qualities FROM decision_log WHERE tenant_id = ?1',
    )
      .bind(t.tenantId)
      .first<{ predicted_qualities: string }>();
    expect(JSON.parse(stored!.predicted_qualities)).toEqual(row!.predicted_qualities);
  });
});
