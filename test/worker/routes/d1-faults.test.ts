// D1 faults (a table missing, the database locked, the connection lost): a request that needs D1
// gets 503 + Retry-After (never 500); keys and pools this isolate read recently keep routing from
// the cache (bounded staleness); decision-log rows written during the fault are kept and written
// once D1 answers again.
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { asDatabaseUnavailable } from '../../../worker/data/d1-fault';
import { decisionLogBacklog } from '../../../worker/data/decision-log';
import { call } from '../support/call';
import { D1_FAULTS, faultyD1 } from '../support/faulty-d1';
import { seedBundle, seedBundleModels, seedPool, seedTenant, testEnv } from '../support/seed';

const messages = [{ role: 'user', content: 'What is the capital of France?' }];
const route = (key: string, DB: D1Database) =>
  call('/v1/route', { key, body: { model: 'router', messages }, env: { DB } });

async function tenantWithPool(): Promise<{ key: string; tenantId: string }> {
  const t = await seedTenant('default');
  await seedPool(
    t.tenantId,
    'default',
    'test-v1',
    Object.values(await seedBundleModels(t.tenantId, 'http://127.0.0.1:9/v1')),
  );
  return t;
}

async function logRows(tenantId: string): Promise<string[]> {
  const { results } = await testEnv.DB.prepare('SELECT id FROM decision_log WHERE tenant_id = ?1')
    .bind(tenantId)
    .all<{ id: string }>();
  return results.map((r) => r.id).sort();
}

beforeAll(async () => {
  await seedBundle('test-v1');
});

afterEach(() => {
  vi.useRealTimers();
});

describe('D1 faults', () => {
  for (const [name, message] of Object.entries(D1_FAULTS)) {
    it(`${name}: a key never seen gets 503 database_unavailable with Retry-After, not 500`, async () => {
      const { key } = await tenantWithPool();
      const db = faultyD1(testEnv.DB);
      db.fail(message);
      const res = await route(key, db.db);
      expect(res.status).toBe(503);
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(res.headers.get('x-request-id')).toBeTruthy();
      const body = await res.json<{ error: Record<string, unknown> }>();
      expect(body.error).toMatchObject({
        type: 'service_unavailable',
        code: 'database_unavailable',
        param: null,
      });
      expect(JSON.stringify(body)).not.toMatch(/SQLITE|no such table|at .*\.ts/);
    });
  }

  it("the real D1 binding's own errors are told apart the same way", async () => {
    const missing = await testEnv.DB.prepare('SELECT * FROM no_such_table')
      .all()
      .catch((e: unknown) => e);
    expect(String(missing)).toMatch(/no such table/);
    expect(asDatabaseUnavailable(missing)).not.toBeNull();
    const { tenantId } = await seedTenant(null);
    const duplicate = await testEnv.DB.prepare('INSERT INTO tenants (id, name) VALUES (?1, ?1)')
      .bind(tenantId)
      .run()
      .catch((e: unknown) => e);
    expect(String(duplicate)).toMatch(/SQLITE_CONSTRAINT/);
    expect(asDatabaseUnavailable(duplicate)).toBeNull();
  });

  it('a constraint violation is not an outage: it stays a 500 (a bug to fix, not a retry)', async () => {
    const { key } = await tenantWithPool();
    const db = faultyD1(testEnv.DB);
    db.fail('D1_ERROR: UNIQUE constraint failed: tenants.id: SQLITE_CONSTRAINT');
    const res = await route(key, db.db);
    expect(res.status).toBe(500);
    expect(res.headers.get('retry-after')).toBeNull();
  });

  it('routes from the cached key and pool while D1 is down, and writes every decision row once it is back', async () => {
    const { key, tenantId } = await tenantWithPool();
    const db = faultyD1(testEnv.DB);
    const warm = await route(key, db.db);
    expect(warm.status).toBe(200);
    const before = decisionLogBacklog().pending;

    // Past the key and pool TTLs (5 s), well inside the staleness bound.
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + 60_000);
    db.fail(D1_FAULTS.locked);
    const during: string[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await route(key, db.db);
      expect(res.status).toBe(200);
      during.push(res.headers.get('x-router-decision-id')!);
    }
    expect(db.failedCalls).toBeGreaterThan(0);
    expect(decisionLogBacklog().pending).toBe(before + 5);
    expect(await logRows(tenantId)).toEqual([warm.headers.get('x-router-decision-id')!].sort());

    // Beyond the staleness bound the cache no longer answers for D1.
    vi.setSystemTime(Date.now() + 16 * 60_000);
    const tooOld = await route(key, db.db);
    expect(tooOld.status).toBe(503);

    db.fail(null);
    const after = await route(key, db.db);
    expect(after.status).toBe(200);
    const expected = [warm, after]
      .map((r) => r.headers.get('x-router-decision-id')!)
      .concat(during)
      .sort();
    expect(await logRows(tenantId)).toEqual(expected);
    expect(decisionLogBacklog().pending).toBe(before);
  });
});
