// The experiment endpoints end to end through the worker's fetch handler (real D1, R2 and the
// generated bundle): create, list, show, change weights, stop; validation; tenant isolation; and
// the routing path honouring what an arm sets (preference, fixed model, pool, bundle).
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { clearPoolCache } from '../../../worker/data/pools';
import { call } from '../support/call';
import {
  seedBundle,
  seedBundleModels,
  seedModel,
  seedPool,
  seedTenant,
  testEnv,
} from '../support/seed';

const upstream = inject('upstreamUrl');
const messages = [{ role: 'user', content: 'Explain quicksort and its worst case.' }];

let key: string;
let tenantId: string;
let other: { tenantId: string; key: string };
let otherModel: string;
let ids: string[];

interface ErrorJson {
  error: { message: string; type: string; param: string | null; code: string | null };
}
interface ExperimentJson {
  object: string;
  id: string;
  pool: string;
  name: string;
  arms: { name: string; weight: number }[];
  control: string;
  active: boolean;
  created_at: string;
  stopped_at: string | null;
}

async function admin<T>(
  method: string,
  path: string,
  body?: unknown,
  as = key,
): Promise<{ status: number; json: T }> {
  const res = await call(path, { key: as, method, ...(body === undefined ? {} : { body }) });
  expect(res.headers.get('content-type')).toMatch(/application\/json/);
  return { status: res.status, json: await res.json<T>() };
}

const create = (body: unknown, as = key) =>
  admin<ExperimentJson & ErrorJson>('POST', '/admin/experiments', body, as);

beforeAll(async () => {
  await seedBundle('test-v1');
  await seedBundle('test-v1', 0, 'test-v1-exp');
  ({ tenantId, key } = await seedTenant('main'));
  ids = Object.values(await seedBundleModels(tenantId, `${upstream}/v1`));
  for (const name of ['main', 'alt', 'second', 'third', 'solo', 'armed', 'lost', 'hand'])
    await seedPool(tenantId, name, 'test-v1', ids, { defaultPreference: 0.5 });
  other = await seedTenant('theirs');
  otherModel = `their-model-${crypto.randomUUID().slice(0, 8)}`;
  await seedModel({ name: otherModel, tenantId: other.tenantId, inputUsd: 1, outputUsd: 1 });
  await seedPool(other.tenantId, 'theirs', 'test-v1', []);
  await seedModel({ name: `global-${tenantId}`, inputUsd: 1, outputUsd: 1, tenantId: null });
});

describe('POST /admin/experiments', () => {
  it('creates an experiment (201 with its id), shows and lists it; stop keeps it readable', async () => {
    const created = await create({
      pool: 'main',
      name: 'cheap vs balanced',
      arms: [
        { name: 'control', weight: 1 },
        { name: 'thrifty', weight: 1, preference: 'cheap' },
      ],
    });
    expect(created.status).toBe(201);
    const exp = created.json;
    expect(exp.id).toMatch(/^exp_[0-9a-f]{32}$/);
    expect(exp).toMatchObject({
      object: 'experiment',
      pool: 'main',
      name: 'cheap vs balanced',
      control: 'control',
      active: true,
      stopped_at: null,
    });
    expect(exp.arms).toEqual([
      { name: 'control', weight: 1 },
      { name: 'thrifty', weight: 1, preference: 'cheap' },
    ]);

    const shown = await admin<ExperimentJson>('GET', `/admin/experiments/${exp.id}`);
    expect(shown.status).toBe(200);
    expect(shown.json).toEqual(exp);
    const list = await admin<{ object: string; data: ExperimentJson[] }>(
      'GET',
      '/admin/experiments?pool=main',
    );
    expect(list.json.object).toBe('list');
    expect(list.json.data.map((e) => e.id)).toEqual([exp.id]);

    // a second active experiment on the same pool is refused
    const again = await create({
      pool: 'main',
      name: 'another',
      arms: [
        { name: 'x', weight: 1 },
        { name: 'y', weight: 1 },
      ],
    });
    expect(again.status).toBe(409);
    expect(again.json.error.code).toBe('experiment_active');

    const stopped = await admin<ExperimentJson>('POST', `/admin/experiments/${exp.id}/stop`);
    expect(stopped.status).toBe(200);
    expect(stopped.json.active).toBe(false);
    expect(stopped.json.stopped_at).toMatch(/^\d{4}-\d\d-\d\dT/);
    const stoppedTwice = await admin<ExperimentJson>('POST', `/admin/experiments/${exp.id}/stop`);
    expect(stoppedTwice.json.stopped_at).toBe(stopped.json.stopped_at);
    const report = await admin<{ arms: { name: string }[] }>(
      'GET',
      `/admin/experiments/${exp.id}/report`,
    );
    expect(report.status).toBe(200);
    expect(report.json.arms.map((a) => a.name)).toEqual(['control', 'thrifty']);

    const active = await admin<{ data: ExperimentJson[] }>('GET', '/admin/experiments?active=true');
    expect(active.json.data.map((e) => e.id)).not.toContain(exp.id);
    // once stopped, the pool can run a new one
    const next = await create({
      pool: 'main',
      name: 'next',
      arms: [
        { name: 'x', weight: 1 },
        { name: 'y', weight: 1 },
      ],
    });
    expect(next.status).toBe(201);
    await admin('POST', `/admin/experiments/${next.json.id}/stop`);
  });

  const arms2 = [
    { name: 'a', weight: 1 },
    { name: 'b', weight: 1 },
  ];
  it.each([
    [
      'a weight of 0',
      { pool: 'solo', name: 'n', arms: [{ name: 'a', weight: 0 }, arms2[1]] },
      'arms.0.weight',
    ],
    [
      'a negative weight',
      { pool: 'solo', name: 'n', arms: [{ name: 'a', weight: -1 }, arms2[1]] },
      'arms.0.weight',
    ],
    [
      'a weight that is not a number',
      { pool: 'solo', name: 'n', arms: [{ name: 'a', weight: '1' }, arms2[1]] },
      'arms.0.weight',
    ],
    [
      'duplicate arm names',
      { pool: 'solo', name: 'n', arms: [arms2[0], { name: 'a', weight: 2 }] },
      'arms.1.name',
    ],
    ['a single arm', { pool: 'solo', name: 'n', arms: [arms2[0]] }, 'arms'],
    [
      'two controls',
      {
        pool: 'solo',
        name: 'n',
        arms: [
          { ...arms2[0], control: true },
          { ...arms2[1], control: true },
        ],
      },
      'arms',
    ],
    [
      'a fixed model with a preference',
      {
        pool: 'solo',
        name: 'n',
        arms: [arms2[0], { name: 'b', weight: 1, model: 'test-tiny', preference: 0.2 }],
      },
      'arms.1',
    ],
    [
      'a preference above 1',
      { pool: 'solo', name: 'n', arms: [arms2[0], { name: 'b', weight: 1, preference: 1.5 }] },
      'arms.1.preference',
    ],
    [
      'an unknown preset',
      { pool: 'solo', name: 'n', arms: [arms2[0], { name: 'b', weight: 1, preference: 'frugal' }] },
      'arms.1.preference',
    ],
    [
      'an unknown field',
      { pool: 'solo', name: 'n', arms: [arms2[0], { name: 'b', weight: 1, temperature: 2 }] },
      'arms.1',
    ],
    ['no pool', { name: 'n', arms: arms2 }, 'pool'],
  ])('400 for %s', async (_what, body, param) => {
    const res = await create(body);
    expect(res.status).toBe(400);
    expect(res.json.error).toMatchObject({ type: 'invalid_request_error', param });
  });

  it('400 for a body that is not JSON', async () => {
    const res = await call('/admin/experiments', { key, rawBody: '{"pool": ' });
    expect(res.status).toBe(400);
    expect((await res.json<ErrorJson>()).error.code).toBe('invalid_json');
  });

  it('404 for a pool, arm pool, model or bundle the tenant has not got', async () => {
    const cases: [unknown, string, string][] = [
      [{ pool: 'theirs', name: 'n', arms: arms2 }, 'pool', 'pool_not_found'],
      [
        { pool: 'solo', name: 'n', arms: [arms2[0], { name: 'b', weight: 1, pool: 'theirs' }] },
        'arms.1.pool',
        'pool_not_found',
      ],
      [
        { pool: 'solo', name: 'n', arms: [arms2[0], { name: 'b', weight: 1, model: otherModel }] },
        'arms.1.model',
        'model_not_found',
      ],
      [
        {
          pool: 'solo',
          name: 'n',
          arms: [arms2[0], { name: 'b', weight: 1, bundle_version: 'no-such-bundle' }],
        },
        'arms.1.bundle_version',
        'bundle_not_found',
      ],
    ];
    for (const [body, param, code] of cases) {
      const res = await create(body);
      expect(res.status, code).toBe(404);
      expect(res.json.error).toMatchObject({ param, code, type: 'not_found_error' });
    }
    const none = await admin<ExperimentJson[]>('GET', '/admin/experiments?pool=solo');
    expect(none.json).toMatchObject({ data: [] });
  });

  it('accepts a global model as a fixed arm', async () => {
    const res = await create({
      pool: 'solo',
      name: 'global control',
      arms: [{ name: 'fixed', weight: 1, model: `global-${tenantId}` }, arms2[1]],
    });
    expect(res.status).toBe(201);
    await admin('POST', `/admin/experiments/${res.json.id}/stop`);
  });

  it("409 when an arm's rows would mix with another active experiment's", async () => {
    const first = await create({
      pool: 'second',
      name: 'first',
      arms: [
        { name: 'control', weight: 1 },
        { name: 'via-third', weight: 1, pool: 'third' },
      ],
    });
    expect(first.status).toBe(201);
    // an experiment on pool `third` with an arm of the same name would log the same rows
    const clash = await create({
      pool: 'third',
      name: 'clash',
      arms: [
        { name: 'via-third', weight: 1 },
        { name: 'other', weight: 1 },
      ],
    });
    expect(clash.status).toBe(409);
    expect(clash.json.error.code).toBe('arm_conflict');
    const fine = await create({
      pool: 'third',
      name: 'fine',
      arms: [
        { name: 'c', weight: 1 },
        { name: 'd', weight: 1 },
      ],
    });
    expect(fine.status).toBe(201);
    for (const e of [first.json.id, fine.json.id])
      await admin('POST', `/admin/experiments/${e}/stop`);
  });
});

describe('PATCH /admin/experiments/{id}', () => {
  it("changes the named arms' weights, refuses unknown arms and stopped experiments", async () => {
    const { json: exp } = await create({
      pool: 'alt',
      name: 'w',
      arms: [
        { name: 'a', weight: 1 },
        { name: 'b', weight: 1, bundle_version: 'test-v1-exp' },
      ],
    });
    const patched = await admin<ExperimentJson>('PATCH', `/admin/experiments/${exp.id}`, {
      weights: { b: 3 },
    });
    expect(patched.status).toBe(200);
    expect(patched.json.arms).toEqual([
      { name: 'a', weight: 1 },
      { name: 'b', weight: 3, bundle_version: 'test-v1-exp' },
    ]);
    expect(
      (await admin<ExperimentJson>('GET', `/admin/experiments/${exp.id}`)).json.arms[1]!.weight,
    ).toBe(3);

    const unknown = await admin<ErrorJson>('PATCH', `/admin/experiments/${exp.id}`, {
      weights: { zz: 1 },
    });
    expect(unknown.status).toBe(400);
    expect(unknown.json.error.param).toBe('weights.zz');
    const zero = await admin<ErrorJson>('PATCH', `/admin/experiments/${exp.id}`, {
      weights: { a: 0 },
    });
    expect(zero.status).toBe(400);
    const empty = await admin<ErrorJson>('PATCH', `/admin/experiments/${exp.id}`, { weights: {} });
    expect(empty.status).toBe(400);

    await admin('POST', `/admin/experiments/${exp.id}/stop`);
    const late = await admin<ErrorJson>('PATCH', `/admin/experiments/${exp.id}`, {
      weights: { a: 2 },
    });
    expect(late.status).toBe(409);
    expect(late.json.error.code).toBe('experiment_stopped');
  });
});

describe('tenant isolation', () => {
  it("another tenant's key gets 404 on every endpoint and does not see it in its list", async () => {
    const { json: exp } = await create({ pool: 'alt', name: 'mine', arms: arms() });
    const paths: [string, string, unknown?][] = [
      ['GET', `/admin/experiments/${exp.id}`],
      ['GET', `/admin/experiments/${exp.id}/report`],
      ['PATCH', `/admin/experiments/${exp.id}`, { weights: { a: 5 } }],
      ['POST', `/admin/experiments/${exp.id}/stop`],
    ];
    for (const [method, path, body] of paths) {
      const res = await admin<ErrorJson>(method, path, body, other.key);
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(res.json.error.code).toBe('experiment_not_found');
    }
    const theirs = await admin<{ data: ExperimentJson[] }>(
      'GET',
      '/admin/experiments',
      undefined,
      other.key,
    );
    expect(theirs.json.data).toEqual([]);
    // nothing changed
    const mine = await admin<ExperimentJson>('GET', `/admin/experiments/${exp.id}`);
    expect(mine.json).toMatchObject({ active: true, arms: arms() });
    const noKey = await call(`/admin/experiments/${exp.id}`);
    expect(noKey.status).toBe(401);
    await admin('POST', `/admin/experiments/${exp.id}/stop`);
  });
});

function arms() {
  return [
    { name: 'a', weight: 1 },
    { name: 'b', weight: 1 },
  ];
}

interface LogRow {
  arm: string | null;
  pool: string | null;
  model: string;
  status: string;
  preference: number | null;
  routing_ms: number;
}

async function logRow(id: string): Promise<LogRow> {
  const row = await testEnv.DB.prepare(
    'SELECT arm, pool, model, status, preference, routing_ms FROM decision_log WHERE id = ?1',
  )
    .bind(id)
    .first<LogRow>();
  expect(row).not.toBeNull();
  return row!;
}

describe('routing honours the arms', () => {
  it("a preference arm routes with its preference, over the caller's; a model arm serves its model unrouted", async () => {
    const { json: exp, status } = await create({
      pool: 'armed',
      name: 'arms',
      arms: [
        { name: 'fixed', weight: 1, model: 'test-medium', control: true },
        { name: 'cheap', weight: 1, preference: 0.25 },
      ],
    });
    expect(status).toBe(201);
    const seen = new Map<string, string>();
    for (let u = 0; u < 24; u++) {
      const res = await call('/v1/chat/completions', {
        key,
        body: { model: 'router/armed', messages, user: `u${u}`, router: { preference: 0.9 } },
      });
      expect(res.status).toBe(200);
      const arm = res.headers.get('x-router-arm')!;
      seen.set(`u${u}`, arm);
      const id = res.headers.get('x-router-decision-id')!;
      const row = await logRow(id);
      expect(row).toMatchObject({ arm, pool: 'armed', status: 'ok' });
      if (arm === 'fixed') {
        expect(res.headers.get('x-router-model')).toBe('test-medium');
        expect(res.headers.get('x-router-preference')).toBeNull();
        expect(row.model).toBe('test-medium');
        expect(row.preference).toBeNull();
        expect(row.routing_ms).toBeGreaterThanOrEqual(0);
      } else {
        expect(arm).toBe('cheap');
        expect(res.headers.get('x-router-preference')).toBe('0.25');
        expect(row.preference).toBe(0.25);
      }
    }
    expect(new Set(seen.values())).toEqual(new Set(['fixed', 'cheap']));
    // sticky: the same unit, sent again (by header this time), lands on the same arm
    for (const u of ['u1', 'u2', 'u3', 'u4']) {
      const res = await call('/v1/route', {
        key,
        body: { model: 'router/armed', messages },
        headers: { 'x-router-user': u },
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('x-router-arm')).toBe(seen.get(u));
      const body = await res.json<{ model: string; arm: string }>();
      expect(body.arm).toBe(seen.get(u));
      if (body.arm === 'fixed') expect(body.model).toBe('test-medium');
    }

    // stopped: the pool routes as if there were no experiment
    await admin('POST', `/admin/experiments/${exp.id}/stop`);
    const after = await call('/v1/route', {
      key,
      body: { model: 'router/armed', messages, user: 'u1' },
    });
    expect(after.headers.get('x-router-arm')).toBe('none');
  });

  it("an arm written by hand that names another tenant's model is ignored, never called", async () => {
    const poolId = (await testEnv.DB.prepare(
      "SELECT id FROM pools WHERE tenant_id = ?1 AND name = 'hand'",
    )
      .bind(tenantId)
      .first<{ id: string }>())!.id;
    await testEnv.DB.prepare(
      "INSERT INTO experiments (id, tenant_id, pool_id, name, arms, active) VALUES (?1, ?2, ?3, 'by hand', ?4, 1)",
    )
      .bind(
        `exp-hand-${tenantId}`,
        tenantId,
        poolId,
        JSON.stringify([
          { name: 'theirs', weight: 1, model: otherModel },
          { name: 'tiny', weight: 1e-6 },
        ]),
      )
      .run();
    const res = await call('/v1/route', {
      key,
      body: { model: 'router/hand', messages, user: 'x' },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-router-arm')).toBe('none');
    expect(res.headers.get('x-router-model')).not.toBe(otherModel);
  });

  it('a fixed-model arm whose model was deleted routes as if there were no experiment', async () => {
    const gone = await seedModel({
      name: `gone-${crypto.randomUUID().slice(0, 6)}`,
      tenantId,
      inputUsd: 1,
      outputUsd: 1,
      baseUrl: `${upstream}/v1`,
    });
    const name = (await testEnv.DB.prepare('SELECT name FROM models WHERE id = ?1')
      .bind(gone)
      .first<{ name: string }>())!.name;
    const { json: exp } = await create({
      pool: 'lost',
      name: 'lost',
      arms: [
        { name: 'only', weight: 1, model: name },
        { name: 'tiny', weight: 1e-6 },
      ],
    });
    await testEnv.DB.prepare('DELETE FROM models WHERE id = ?1').bind(gone).run();
    clearPoolCache();
    const res = await call('/v1/route', {
      key,
      body: { model: 'router/lost', messages, user: 'x' },
    });
    expect(res.status).toBe(200);
    // (the other arm's weight is a millionth of the lost one's: this unit was the lost arm's)
    expect(res.headers.get('x-router-arm')).toBe('none');
    await admin('POST', `/admin/experiments/${exp.id}/stop`);
  });
});
