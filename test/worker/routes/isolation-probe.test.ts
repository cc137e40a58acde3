// Attack probes of the production-loop endpoints (feedback, online identities, pools, experiments,
// decisions, savings): tenant A must never read, change or count what is tenant B's, and bad input
// gets a 4xx in the router's error shape. Each test is one probe that found nothing or one bug.
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { call } from '../support/call';
import {
  seedBundle,
  seedBundleModels,
  seedModel,
  seedPool,
  seedTenant,
  testEnv,
} from '../support/seed';
import { feedbackRows, servedChat } from '../support/served';

const upstream = inject('upstreamUrl');
const messages = [{ role: 'user', content: 'Explain quicksort and its worst case.' }];

interface ErrorJson {
  error: { message: string; type: string; param: string | null; code: string | null };
}
interface Arm {
  name: string;
  weight?: number;
  pool?: string;
}
interface ExperimentJson {
  id: string;
  arms: Arm[];
  active: boolean;
}

let a: { tenantId: string; key: string };
let b: { tenantId: string; key: string };
let aIds: string[];
let bModelId: string;
let bModelName: string;

async function req<T>(
  method: string,
  path: string,
  key: string,
  body?: unknown,
  rawBody?: string,
): Promise<{ status: number; json: T }> {
  const res = await call(path, {
    key,
    method,
    ...(body === undefined ? {} : { body }),
    ...(rawBody === undefined ? {} : { rawBody }),
  });
  expect(res.headers.get('content-type'), `${method} ${path}`).toMatch(/application\/json/);
  const json = await res.json<T>();
  return { status: res.status, json };
}

/** B's online identity row as stored (the tenant's own posterior of its model). */
async function bOnlineRows(): Promise<number> {
  const row = await testEnv.DB.prepare(
    'SELECT COUNT(*) AS n FROM online_identities WHERE tenant_id = ?1 AND model_id = ?2',
  )
    .bind(b.tenantId, bModelId)
    .first<{ n: number }>();
  return row!.n;
}

function expectError(res: { status: number; json: unknown }, status: number, code?: string): void {
  expect(res.status).toBe(status);
  const err = (res.json as ErrorJson).error;
  expect(typeof err.message).toBe('string');
  expect(err.message).not.toMatch(/\bat .*\.(ts|js):\d+/); // no stack trace
  if (code) expect(err.code).toBe(code);
}

/** Starts an experiment of A's (201 asserted); returns its path, `/admin/experiments/{id}`. */
async function startExperiment(pool: string, name: string, arms: Arm[]): Promise<string> {
  const created = await req<ExperimentJson>('POST', '/admin/experiments', a.key, {
    pool,
    name,
    arms,
  });
  expect(created.status).toBe(201);
  return `/admin/experiments/${created.json.id}`;
}

beforeAll(async () => {
  await seedBundle('test-v1');
  a = await seedTenant('main');
  b = await seedTenant('main');
  aIds = Object.values(await seedBundleModels(a.tenantId, `${upstream}/v1`));
  for (const name of ['main', 'alt', 'names']) await seedPool(a.tenantId, name, 'test-v1', aIds);
  bModelName = `b-only-${crypto.randomUUID().slice(0, 8)}`;
  bModelId = await seedModel({
    name: bModelName,
    tenantId: b.tenantId,
    bundleModel: 'test-tiny',
    upstreamModel: `b-tiny-${crypto.randomUUID().slice(0, 8)}`,
    inputUsd: 1,
    outputUsd: 1,
    baseUrl: `${upstream}/v1`,
  });
  await seedPool(b.tenantId, 'main', 'test-v1', [bModelId]);
  await seedPool(b.tenantId, 'b-secret-pool', 'test-v1', [bModelId]);
  await testEnv.DB.prepare(
    `INSERT INTO online_identities (tenant_id, model_id, bundle_version, vector, cov_factor, std, base_source)
     VALUES (?1, ?2, 'test-v1', '[0.1]', '[[0.1]]', '[0.1]', 'manifest')`,
  )
    .bind(b.tenantId, bModelId)
    .run();
});

describe("another tenant's models, pools and online identities", () => {
  it("A cannot read or roll back B's online identity, by id or by name", async () => {
    for (const ref of [bModelId, bModelName]) {
      expectError(
        await req('GET', `/admin/models/${ref}/online-identity`, a.key),
        404,
        'model_not_found',
      );
      expectError(
        await req('DELETE', `/admin/models/${ref}/online-identity`, a.key),
        404,
        'model_not_found',
      );
      expectError(await req('GET', `/admin/models/${ref}`, a.key), 404, 'model_not_found');
    }
    expect(await bOnlineRows()).toBe(1);
  });

  it("A's rollback of a global model's online identity leaves B's posterior of it alone", async () => {
    const globalName = `global-${crypto.randomUUID().slice(0, 8)}`;
    const globalId = await seedModel({
      name: globalName,
      inputUsd: 1,
      outputUsd: 1,
      tenantId: null,
    });
    for (const t of [a.tenantId, b.tenantId])
      await testEnv.DB.prepare(
        `INSERT INTO online_identities (tenant_id, model_id, bundle_version, vector, cov_factor, std, base_source)
         VALUES (?1, ?2, 'test-v1', '[0.1]', '[[0.1]]', '[0.1]', 'manifest')`,
      )
        .bind(t, globalId)
        .run();
    const mine = await req<{ identities: unknown[] }>(
      'GET',
      `/admin/models/${globalName}/online-identity`,
      a.key,
    );
    expect(mine.json.identities).toHaveLength(1);
    const rolled = await req<{ rolled_back: string[] }>(
      'DELETE',
      `/admin/models/${globalId}/online-identity`,
      a.key,
    );
    expect(rolled.status).toBe(200);
    expect(rolled.json.rolled_back).toEqual(['test-v1']);
    const left = await testEnv.DB.prepare(
      'SELECT tenant_id FROM online_identities WHERE model_id = ?1',
    )
      .bind(globalId)
      .all<{ tenant_id: string }>();
    expect(left.results).toEqual([{ tenant_id: b.tenantId }]);
    // and the global row itself stays read-only to a tenant key
    expectError(
      await req('PATCH', `/admin/models/${globalId}`, a.key, { input_usd_per_mtok: 0 }),
      404,
      'model_not_found',
    );
  });

  it("A cannot add B's model to its pool, nor name it a member or fallback", async () => {
    expectError(
      await req('PUT', `/admin/pools/main/members/${bModelId}`, a.key),
      404,
      'model_not_found',
    );
    expectError(
      await req('PATCH', '/admin/pools/main', a.key, { members: [bModelId] }),
      404,
      'model_not_found',
    );
    expectError(
      await req('PATCH', '/admin/pools/main', a.key, { fallback_model: bModelName }),
      404,
      'model_not_found',
    );
    expectError(await req('GET', `/admin/pools/main/savings?baseline=${bModelName}`, a.key), 404);
  });

  it("A's PATCH of a pool named like B's changes only A's", async () => {
    const res = await req<{ exploration_temperature: number }>(
      'PATCH',
      '/admin/pools/main',
      a.key,
      {
        exploration_temperature: 2,
      },
    );
    expect(res.status).toBe(200);
    const theirs = await req<{ exploration_temperature: number | null }>(
      'GET',
      '/admin/pools/main',
      b.key,
    );
    expect(theirs.json.exploration_temperature).toBeNull();
    await req('PATCH', '/admin/pools/main', a.key, { exploration_temperature: null });
    expectError(await req('GET', '/admin/pools/b-secret-pool', a.key), 404);
  });

  it("A's decision list filtered by B's pool or model shows nothing of B's", async () => {
    const { id: bDecision } = await servedChat(b.key, 'router', messages);
    const list = await req<{ data: { id: string }[] }>(
      'GET',
      `/admin/decisions?pool=main&model=${bModelName}&limit=500`,
      a.key,
    );
    expect(list.status).toBe(200);
    expect(list.json.data.map((d) => d.id)).not.toContain(bDecision);
    // and A's feedback on B's decision is the same 404 as an unknown id, and stores nothing
    const fb = await req('POST', '/v1/feedback', a.key, { decision_id: bDecision, score: 0 });
    expectError(fb, 404, 'decision_not_found');
    expect(await feedbackRows(bDecision)).toBe(0);
  });

  it("an experiment arm naming B's pool or model (by name or id) is a 404", async () => {
    const cases: [Arm & { model?: string }, string][] = [
      [{ name: 'x', weight: 1, pool: 'b-secret-pool' }, 'pool_not_found'],
      [{ name: 'x', weight: 1, model: bModelName } as Arm, 'model_not_found'],
      [{ name: 'x', weight: 1, model: bModelId } as Arm, 'model_not_found'],
    ];
    for (const [arm, code] of cases) {
      const res = await req('POST', '/admin/experiments', a.key, {
        pool: 'main',
        name: 'probe',
        arms: [{ name: 'c', weight: 1 }, arm],
      });
      expectError(res, 404, code);
    }
    expectError(
      await req('POST', '/admin/experiments', a.key, {
        pool: 'b-secret-pool',
        name: 'probe',
        arms: [
          { name: 'c', weight: 1 },
          { name: 'd', weight: 1 },
        ],
      }),
      404,
      'pool_not_found',
    );
  });
});

describe('experiments: bad input', () => {
  it('bad ids, queries and bodies get a 4xx in the error shape', async () => {
    const long = 'e'.repeat(65);
    const probes: [string, string, unknown, string | undefined, number][] = [
      ['GET', `/admin/experiments/${long}`, undefined, undefined, 400],
      ['GET', '/admin/experiments/exp_nope', undefined, undefined, 404],
      ['GET', '/admin/experiments/%00', undefined, undefined, 404],
      ['GET', '/admin/experiments?active=maybe', undefined, undefined, 400],
      ['GET', '/admin/experiments?pool=a%20b', undefined, undefined, 400],
      ['GET', '/admin/experiments?extra=1', undefined, undefined, 400],
      ['PATCH', '/admin/experiments/exp_nope', undefined, '{"weights":', 400],
      ['PATCH', '/admin/experiments/exp_nope', { weights: { a: '1' } }, undefined, 400],
      ['PATCH', '/admin/experiments/exp_nope', { weights: {} }, undefined, 400],
      ['PATCH', '/admin/experiments/exp_nope', {}, undefined, 400],
      ['PATCH', '/admin/experiments/exp_nope', { weights: null }, undefined, 400],
      ['PATCH', '/admin/experiments/exp_nope', { weights: [1] }, undefined, 400],
      ['PATCH', '/admin/experiments/exp_nope', { weights: { a: 1 } }, undefined, 404],
      ['POST', '/admin/experiments', { pool: 'main', name: 'x', arms: 'ab' }, undefined, 400],
      ['DELETE', `/admin/models/${aIds[0]}/online-identity?bundle=../x`, undefined, undefined, 400],
      ['DELETE', `/admin/models/${aIds[0]}/online-identity?extra=1`, undefined, undefined, 400],
    ];
    for (const [method, path, body, raw, status] of probes) {
      const res = await req(method, path, a.key, body, raw);
      expect(res.status, `${method} ${path}`).toBe(status);
      expectError(res, status);
    }
  });

  it('a PATCH keeps the weights of the arms it does not name, whatever their names', async () => {
    // Arm names are free text ([\w.:/@+-]+): names of Object.prototype's members are valid names.
    const path = await startExperiment('names', 'prototype names', [
      { name: 'constructor', weight: 3 },
      { name: 'toString', weight: 2 },
      { name: 'b', weight: 1 },
    ]);
    const patched = await req<ExperimentJson>('PATCH', path, a.key, {
      weights: { b: 4 },
    });
    expect(patched.status).toBe(200);
    const want = [
      { name: 'constructor', weight: 3 },
      { name: 'toString', weight: 2 },
      { name: 'b', weight: 4 },
    ];
    expect(patched.json.arms).toEqual(want);
    const shown = await req<ExperimentJson>('GET', path, a.key);
    expect(shown.json.arms).toEqual(want);
    await req('POST', `${path}/stop`, a.key);
  });
});

describe('experiments: an arm named __proto__', () => {
  // A PATCH names arms as JSON object keys, and a plain object cannot carry a "__proto__" key (it
  // sets the prototype), so such an arm could never get a new weight: the name is refused, and a
  // PATCH naming it is a 400 rather than a 200 that silently changed nothing.
  it('is refused on creation, and a PATCH naming it is a 400 that changes nothing', async () => {
    const refused = await req('POST', '/admin/experiments', a.key, {
      pool: 'names',
      name: 'proto arm',
      arms: [
        { name: '__proto__', weight: 1 },
        { name: 'b', weight: 1 },
      ],
    });
    expectError(refused, 400, 'invalid_value');
    expect((refused.json as ErrorJson).error.param).toBe('arms.0.name');
    const path = await startExperiment('names', 'plain arms', [
      { name: 'a', weight: 1 },
      { name: 'b', weight: 1 },
    ]);
    // raw text: a JS object literal would set the prototype instead of a "__proto__" key
    for (const raw of ['{"weights":{"__proto__":5}}', '{"weights":{"__proto__":5,"b":2}}']) {
      const res = await req('PATCH', path, a.key, undefined, raw);
      expectError(res, 400, 'invalid_value');
    }
    const shown = await req<ExperimentJson>('GET', path, a.key);
    expect(shown.json.arms).toEqual([
      { name: 'a', weight: 1 },
      { name: 'b', weight: 1 },
    ]);
    await req('POST', `${path}/stop`, a.key);
  });
});

describe('experiments: an arm pool deleted under a running experiment', () => {
  it('routing and the report keep working (no 500)', async () => {
    const path = await startExperiment('main', 'arm pool goes away', [
      { name: 'c', weight: 1 },
      { name: 'other', weight: 1000000, pool: 'alt' },
    ]);
    const del = await req('DELETE', '/admin/pools/alt', a.key);
    expect(del.status).toBe(200);
    const res = await call('/v1/chat/completions', {
      key: a.key,
      body: { model: 'router/main', messages, user: 'u-1' },
    });
    expect(res.status).toBeLessThan(500);
    const report = await req('GET', `${path}/report`, a.key);
    expect(report.status).toBe(200);
    await req('POST', `${path}/stop`, a.key);
  });
});

describe("B's traffic is never counted for A", () => {
  /** A decision row of `tenantId` in pool `main`, arm `arm`, as the decision log writes it. */
  async function logRow(tenantId: string, arm: string | null): Promise<string> {
    const id = crypto.randomUUID();
    await testEnv.DB.prepare(
      `INSERT INTO decision_log (id, tenant_id, pool, arm, bundle_version, model, status, cost_usd, routing_ms,
         upstream_ms, answered_by, candidates)
       VALUES (?1, ?2, 'main', ?3, 'test-v1', ?4, 'ok', 1.5, 2, 30, ?4, '[]')`,
    )
      .bind(id, tenantId, arm, bModelName)
      .run();
    return id;
  }

  it("A's report counts none of B's rows with the same pool and arm names, nor B's feedback", async () => {
    const path = await startExperiment('main', 'counted', [
      { name: 'shared-c', weight: 1 },
      { name: 'shared-d', weight: 1 },
    ]);
    for (const arm of ['shared-c', 'shared-d']) {
      const id = await logRow(b.tenantId, arm);
      const fb = await req('POST', '/v1/feedback', b.key, { decision_id: id, score: 1 });
      expect(fb.status).toBe(201);
    }
    const report = await req<{
      arms: { name: string; requests: number; feedback: { n: number } }[];
    }>('GET', `${path}/report`, a.key);
    expect(report.status).toBe(200);
    expect(report.json.arms.map((r) => [r.name, r.requests, r.feedback.n])).toEqual([
      ['shared-c', 0, 0],
      ['shared-d', 0, 0],
    ]);
    await req('POST', `${path}/stop`, a.key);
  });

  it("A's savings of its pool `main` do not move with B's rows in B's pool `main`", async () => {
    const path = '/admin/pools/main/savings?since=2020-01-01&until=2100-01-01&bucket=day';
    const before = await req<{ totals: unknown }>('GET', path, a.key);
    expect(before.status).toBe(200);
    for (let i = 0; i < 3; i++) await logRow(b.tenantId, null);
    const after = await req<{ totals: unknown }>('GET', path, a.key);
    expect(after.status).toBe(200);
    expect(after.json).toEqual(before.json);
    // B's own view counts them (so the rows are where a savings query looks): its 3 + the 1 served
    const theirs = await req<{ totals: { requests: number } }>('GET', path, b.key);
    expect(theirs.status).toBe(200);
    expect(theirs.json.totals.requests).toBeGreaterThanOrEqual(3);
  });
});

describe('bad input on the production-loop endpoints', () => {
  it('numbers that overflow, odd content types, odd paths: 4xx in the error shape', async () => {
    const cases: [string, string, string, Record<string, string>, number][] = [
      ['POST', '/v1/feedback', '{"decision_id":"x","score":1e400}', {}, 400],
      ['POST', '/v1/feedback', '{"decision_id":"x","score":-0.0000001}', {}, 400],
      ['POST', '/v1/feedback', '{"decision_id":"x","thumbs":"up","score":1}', {}, 400],
      ['POST', '/v1/feedback', 'decision_id=x&score=1', { 'content-type': 'text/plain' }, 400],
      ['PATCH', '/admin/pools/main', '{"exploration_temperature":1e400}', {}, 400],
      ['PATCH', '/admin/pools/main', '{"exploration_temperature":0.01}', {}, 400],
      ['PATCH', '/admin/pools/main', '{"exploration_temperature":"1"}', {}, 400],
      ['PATCH', '/admin/pools/main', '{"online_learning":"yes"}', {}, 400],
      ['PATCH', '/admin/experiments/exp_nope', '{"weights":{"a":1e400}}', {}, 400],
      ['PATCH', '/admin/experiments/exp_nope', '{"weights":{"a":0}}', {}, 400],
    ];
    for (const [method, path, raw, headers, status] of cases) {
      const res = await call(path, { key: a.key, method, rawBody: raw, headers });
      expect(res.status, `${method} ${path} ${raw}`).toBe(status);
      expect(res.headers.get('content-type')).toMatch(/application\/json/);
      expectError({ status: res.status, json: await res.json() }, status);
    }
    const paths = [
      '/admin/experiments/a%2Fb/report',
      '/admin/experiments/%E0%A4%A/report',
      `/admin/models/${'x'.repeat(5000)}/online-identity`,
      '/admin/decisions?since=2026-13-45',
      '/admin/decisions?cursor=not-a-cursor',
      '/admin/decisions?limit=0',
    ];
    for (const path of paths) {
      const res = await call(path, { key: a.key });
      expect(res.status, path).toBeGreaterThanOrEqual(400);
      expect(res.status, path).toBeLessThan(500);
      expect(res.headers.get('content-type'), path).toMatch(/application\/json/);
      expectError({ status: res.status, json: await res.json() }, res.status);
    }
    // the pool is as it was
    const pool = await req<{ exploration_temperature: number | null; online_learning: boolean }>(
      'GET',
      '/admin/pools/main',
      a.key,
    );
    expect(pool.json).toMatchObject({ exploration_temperature: null, online_learning: true });
  });
});

describe('text the JSON parser accepts but storage may not', () => {
  it('lone surrogates and NULs in a feedback comment and an experiment name: never a 5xx', async () => {
    const { id } = await servedChat(a.key, 'router/names', messages);
    const fb = await call('/v1/feedback', {
      key: a.key,
      rawBody: `{"decision_id":"${id}","score":1,"comment":"a\\ud800b\\u0000c"}`,
    });
    expect(fb.status, await fb.clone().text()).toBeLessThan(500);
    const exp = await call('/admin/experiments', {
      key: a.key,
      rawBody:
        '{"pool":"names","name":"x\\udfff\\u0000y","arms":[{"name":"a","weight":1},{"name":"b","weight":1}]}',
    });
    expect(exp.status, await exp.clone().text()).toBeLessThan(500);
    if (exp.status === 201) {
      const made = await exp.json<ExperimentJson>();
      const listed = await req<{ data: ExperimentJson[] }>('GET', '/admin/experiments', a.key);
      expect(listed.status).toBe(200);
      await req('POST', `/admin/experiments/${made.id}/stop`, a.key);
    }
  });
});

describe('experiments: concurrent weight changes', () => {
  it('two PATCHes naming different arms, sent together, both take effect', async () => {
    const path = await startExperiment('names', 'racing patches', [
      { name: 'a', weight: 1 },
      { name: 'b', weight: 1 },
      { name: 'c', weight: 1 },
    ]);
    const [first, second] = await Promise.all([
      call(path, { key: a.key, method: 'PATCH', body: { weights: { a: 5 } } }),
      call(path, { key: a.key, method: 'PATCH', body: { weights: { b: 7 } } }),
    ]);
    expect([first.status, second.status]).toEqual([200, 200]);
    const shown = await req<ExperimentJson>('GET', path, a.key);
    expect(shown.json.arms).toEqual([
      { name: 'a', weight: 5 },
      { name: 'b', weight: 7 },
      { name: 'c', weight: 1 },
    ]);
    // a weight keeps every digit it was sent with
    const exact = await req<ExperimentJson>('PATCH', path, a.key, { weights: { c: 1 / 3 } });
    expect(exact.json.arms[2]).toEqual({ name: 'c', weight: 1 / 3 });
    await req('POST', `${path}/stop`, a.key);
  });
});
