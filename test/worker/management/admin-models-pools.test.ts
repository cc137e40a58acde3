/**
 * The tenant's own models and pools through the admin API inside workerd (real D1 and R2): list,
 * read, update, delete; grants re-checked on every model change; and every endpoint blind to
 * another tenant's rows (two tenants, each trying the other's ids and names).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { seedBundle, seedGrant, seedModel, seedTenant, testEnv } from '../support/seed';
import { as, errorOf, fresh, type Answer } from './support';

const BASE = 'https://api.example.com/v1';
const model = (name: string, extra: Record<string, unknown> = {}) => ({
  name,
  provider: 'openai',
  upstream_model: `${name}-upstream`,
  base_url: BASE,
  secret_name: 'EXAMPLE_KEY',
  input_usd_per_mtok: 1,
  output_usd_per_mtok: 2,
  ...extra,
});

let a: { tenantId: string; key: string };
let b: { tenantId: string; key: string };
let globalName: string;

beforeAll(async () => {
  await seedBundle('test-v1');
  a = await seedTenant('main');
  b = await seedTenant('main');
  for (const t of [a, b]) await seedGrant(t.tenantId, 'api.example.com', 'EXAMPLE_KEY');
  globalName = fresh('global');
  await seedModel({ name: globalName, inputUsd: 3, outputUsd: 9, tenantId: null });
});

async function row(id: string): Promise<Record<string, unknown> | null> {
  return testEnv.DB.prepare('SELECT * FROM models WHERE id = ?1').bind(id).first();
}

describe('models', () => {
  it('GET /admin/models lists only the tenant’s own models, with their pools', async () => {
    const mine = await as(a.key, 'POST', '/admin/models', model(fresh('list-a')));
    const theirs = await as(b.key, 'POST', '/admin/models', model(fresh('list-b')));
    expect([mine.status, theirs.status]).toEqual([201, 201]);
    const list = await as(a.key, 'GET', '/admin/models');
    expect(list.status).toBe(200);
    const names = (list.json.data as Array<{ name: string }>).map((m) => m.name);
    expect(names).toContain(mine.json.name);
    expect(names).not.toContain(theirs.json.name);
    expect(names).not.toContain(globalName);
    const listed = (list.json.data as Array<Record<string, unknown>>).find(
      (m) => m.id === mine.json.id,
    )!;
    const { identities: _identities, ...fields } = mine.json;
    expect(listed).toEqual(fields);
  });

  it('PATCH changes the given fields only and keeps the canonical base URL', async () => {
    const made = await as(a.key, 'POST', '/admin/models', model(fresh('patch')));
    const id = made.json.id as string;
    const patched = await as(a.key, 'PATCH', `/admin/models/${id}`, {
      input_usd_per_mtok: 0.5,
      base_url: 'HTTPS://API.example.com:443/v2/',
      bundle_model: null,
    });
    expect(patched.status).toBe(200);
    expect(patched.json).toMatchObject({
      input_usd_per_mtok: 0.5,
      output_usd_per_mtok: 2,
      base_url: 'https://api.example.com/v2',
      secret_name: 'EXAMPLE_KEY',
      bundle_model: null,
      name: made.json.name,
    });
    expect(await row(id)).toMatchObject({
      input_usd_per_mtok: 0.5,
      base_url: BASE.replace('v1', 'v2'),
    });
  });

  it('PATCH is checked against the grants exactly as a registration: nothing changes when refused', async () => {
    const made = await as(a.key, 'POST', '/admin/models', model(fresh('grant')));
    const id = made.json.id as string;
    const before = await row(id);
    const cases: Array<[Record<string, unknown>, number, string, string]> = [
      [{ base_url: 'https://evil.example.com/v1' }, 403, 'host_not_granted', 'base_url'],
      [{ secret_name: 'OTHER_KEY' }, 403, 'secret_not_granted', 'secret_name'],
      [{ secret_name: 'DEFAULT_BUNDLE' }, 403, 'secret_not_granted', 'secret_name'],
      [{ base_url: 'http://api.example.com/v1' }, 403, 'host_not_granted', 'base_url'],
      [{ base_url: 'https://127.0.0.1/v1' }, 403, 'host_not_granted', 'base_url'],
      [{ base_url: 'https://api.example.com/../x' }, 400, 'invalid_base_url', 'base_url'],
      [{ base_url: null }, 403, 'secret_not_granted', 'secret_name'],
      [{ provider: 'anthropic', base_url: null }, 403, 'host_not_granted', 'base_url'],
    ];
    for (const [patch, status, code, param] of cases) {
      const r = await as(a.key, 'PATCH', `/admin/models/${id}`, {
        ...patch,
        input_usd_per_mtok: 99,
      });
      expect(r.status, JSON.stringify(patch)).toBe(status);
      expect(errorOf(r)).toMatchObject({ code, param });
      expect(await row(id)).toEqual(before);
    }
  });

  it('400 for bad fields, 409 for a name the tenant already uses', async () => {
    const one = await as(a.key, 'POST', '/admin/models', model(fresh('dup-1')));
    const two = await as(a.key, 'POST', '/admin/models', model(fresh('dup-2')));
    const taken = await as(a.key, 'PATCH', `/admin/models/${two.json.id}`, { name: one.json.name });
    expect(taken.status).toBe(409);
    expect(errorOf(taken).code).toBe('model_exists');
    for (const body of [
      { input_usd_per_mtok: -1 },
      { expected_output_tokens: 0 },
      { provider: 'gopher' },
      { tenant_id: b.tenantId },
      { id: 'x' },
    ]) {
      const r = await as(a.key, 'PATCH', `/admin/models/${two.json.id}`, body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(errorOf(r).code).toBe('invalid_value');
    }
  });

  it('DELETE removes the model with its identities and memberships; 409 while it is a fallback', async () => {
    const made = await as(a.key, 'POST', '/admin/models', model(fresh('del')));
    const id = made.json.id as string;
    const pool = fresh('pool');
    await as(a.key, 'POST', '/admin/pools', {
      name: pool,
      bundle_version: 'test-v1',
      members: [id],
      fallback_model: made.json.name,
    });
    await testEnv.DB.prepare(
      `INSERT INTO model_identities (model_id, bundle_version, vector, source) VALUES (?1, 'test-v1', '[0]', 'manual')`,
    )
      .bind(id)
      .run();
    const used = await as(a.key, 'DELETE', `/admin/models/${id}`);
    expect(used.status).toBe(409);
    expect(errorOf(used).code).toBe('model_in_use');
    await as(a.key, 'PATCH', `/admin/pools/${pool}`, { fallback_model: null });
    const gone = await as(a.key, 'DELETE', `/admin/models/${id}`);
    expect(gone.json).toEqual({ object: 'model', id, name: made.json.name, deleted: true });
    expect(await row(id)).toBeNull();
    const left = await testEnv.DB.batch<{ n: number }>([
      testEnv.DB.prepare('SELECT COUNT(*) AS n FROM pool_members WHERE model_id = ?1').bind(id),
      testEnv.DB.prepare('SELECT COUNT(*) AS n FROM model_identities WHERE model_id = ?1').bind(id),
    ]);
    expect(left.map((r) => r.results[0]!.n)).toEqual([0, 0]);
    expect((await as(a.key, 'GET', `/admin/pools/${pool}`)).json.members).toEqual([]);
  });
});

describe('pools', () => {
  it('create, read, list, update (members replaced, preset or number), delete', async () => {
    const m1 = await as(a.key, 'POST', '/admin/models', model(fresh('pm1')));
    const m2 = await as(a.key, 'POST', '/admin/models', model(fresh('pm2')));
    const name = fresh('pool');
    const made = await as(a.key, 'POST', '/admin/pools', {
      name,
      bundle_version: 'test-v1',
      default_preference: 'balanced',
      uncertainty_penalty: 0.5,
      members: [m1.json.name, m2.json.id, globalName],
      fallback_model: globalName,
    });
    expect(made.status).toBe(201);
    expect(made.json).toMatchObject({
      object: 'pool',
      name,
      bundle_version: 'test-v1',
      embedding_provider: null,
      default_preference: 'balanced',
      uncertainty_penalty: 0.5,
      fallback_model: globalName,
      members: [m1.json.name, m2.json.name, globalName].sort(),
    });
    const stored = await testEnv.DB.prepare(
      'SELECT default_preference, default_preset FROM pools WHERE id = ?1',
    )
      .bind(made.json.id)
      .first();
    expect(stored).toEqual({ default_preference: 0.5, default_preset: 'balanced' });
    expect((await as(a.key, 'GET', `/admin/pools/${name}`)).json).toEqual(made.json);
    const list = await as(a.key, 'GET', '/admin/pools');
    expect((list.json.data as Array<{ name: string }>).map((p) => p.name)).toContain(name);

    const patched = await as(a.key, 'PATCH', `/admin/pools/${name}`, {
      default_preference: 0.3,
      members: [m2.json.name],
      uncertainty_penalty: null,
    });
    expect(patched.json).toMatchObject({
      default_preference: 0.3,
      uncertainty_penalty: null,
      members: [m2.json.name],
      fallback_model: globalName,
    });
    const gone = await as(a.key, 'DELETE', `/admin/pools/${name}`);
    expect(gone.json).toMatchObject({ name, deleted: true });
    expect((await as(a.key, 'GET', `/admin/pools/${name}`)).status).toBe(404);
  });

  it('the learning settings of migration 0011: defaults, set, cleared, stored as D1 has them', async () => {
    const name = fresh('learn');
    const made = await as(a.key, 'POST', '/admin/pools', { name, bundle_version: 'test-v1' });
    expect(made.status).toBe(201);
    expect(made.json).toMatchObject({
      online_learning: true,
      exploration_temperature: null,
      keep_prompts: false,
    });
    const patched = await as(a.key, 'PATCH', `/admin/pools/${name}`, {
      online_learning: false,
      exploration_temperature: 0.7,
      keep_prompts: true,
    });
    expect(patched.status).toBe(200);
    expect(patched.json).toMatchObject({
      online_learning: false,
      exploration_temperature: 0.7,
      keep_prompts: true,
      bundle_version: 'test-v1',
      default_preference: 0.5,
    });
    const columns =
      'SELECT online_learning, exploration_temperature, keep_prompts FROM pools WHERE id = ?1';
    expect(await testEnv.DB.prepare(columns).bind(made.json.id).first()).toEqual({
      online_learning: 0,
      exploration_temperature: 0.7,
      keep_prompts: 1,
    });
    // a PATCH of one setting leaves the others as they are; null switches exploration off
    const off = await as(a.key, 'PATCH', `/admin/pools/${name}`, { exploration_temperature: null });
    expect(off.json).toMatchObject({
      online_learning: false,
      exploration_temperature: null,
      keep_prompts: true,
    });
    expect((await as(a.key, 'GET', '/admin/pools')).json.data).toContainEqual(off.json);
    // out of the column's CHECK range, or not a boolean: 400 naming the field, nothing stored
    const bad: Array<[Record<string, unknown>, string]> = [
      [{ exploration_temperature: 0.01 }, 'exploration_temperature'],
      [{ exploration_temperature: 11 }, 'exploration_temperature'],
      [{ online_learning: 1 }, 'online_learning'],
      [{ keep_prompts: 'yes' }, 'keep_prompts'],
    ];
    for (const [body, param] of bad) {
      const r = await as(a.key, 'PATCH', `/admin/pools/${name}`, body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(errorOf(r)).toMatchObject({ code: 'invalid_value', param });
    }
    expect(await testEnv.DB.prepare(columns).bind(made.json.id).first()).toEqual({
      online_learning: 0,
      exploration_temperature: null,
      keep_prompts: 1,
    });
  });

  it('refuses what could not route: unknown bundle, member or fallback, bad preference; 409s', async () => {
    const name = fresh('bad');
    const cases: Array<[Record<string, unknown>, number, string, string | null]> = [
      [{ bundle_version: 'no-such-bundle' }, 404, 'bundle_not_found', 'bundle_version'],
      [{ members: ['no-such-model'] }, 404, 'model_not_found', 'members'],
      [{ fallback_model: 'no-such-model' }, 404, 'model_not_found', 'fallback_model'],
      [{ default_preference: 1.5 }, 400, 'invalid_value', 'default_preference'],
      [{ default_preference: 'fast' }, 400, 'invalid_value', 'default_preference'],
      [{ uncertainty_penalty: 6 }, 400, 'invalid_value', 'uncertainty_penalty'],
      [{ embedding_provider: 'remote' }, 400, 'invalid_value', 'embedding_provider'],
      [{ bundle_version: '../x' }, 400, 'invalid_value', 'bundle_version'],
    ];
    for (const [body, status, code, param] of cases) {
      const r = await as(a.key, 'POST', '/admin/pools', {
        name,
        bundle_version: 'test-v1',
        ...body,
      });
      expect(r.status, JSON.stringify(body)).toBe(status);
      expect(errorOf(r)).toMatchObject({ code, param });
    }
    expect((await as(a.key, 'GET', `/admin/pools/${name}`)).status).toBe(404);
    expect(
      (await as(a.key, 'POST', '/admin/pools', { name, bundle_version: 'test-v1' })).status,
    ).toBe(201);
    expect(
      (await as(a.key, 'POST', '/admin/pools', { name, bundle_version: 'test-v1' })).status,
    ).toBe(409);
    const rename = await as(a.key, 'PATCH', `/admin/pools/${name}`, { name: 'other' });
    expect(rename.status).toBe(400);
    // the tenant's default pool ("main") cannot be deleted while it is the default
    await as(a.key, 'POST', '/admin/pools', { name: 'main', bundle_version: 'test-v1' });
    const inUse = await as(a.key, 'DELETE', '/admin/pools/main');
    expect(inUse.status).toBe(409);
    expect(errorOf(inUse).code).toBe('pool_in_use');
  });

  it('a pool change routes at once in this isolate (the tenant’s cached pool is expired)', async () => {
    const t = await seedTenant('p');
    const ids: string[] = [];
    for (const n of ['test-large', 'test-small']) {
      ids.push(
        await seedModel({
          name: n,
          inputUsd: 1,
          outputUsd: 1,
          tenantId: t.tenantId,
          baseUrl: 'http://127.0.0.1:9/v1',
        }),
      );
    }
    await as(t.key, 'POST', '/admin/pools', { name: 'p', bundle_version: 'test-v1', members: ids });
    const route = async (): Promise<string[]> => {
      const r = await as(t.key, 'POST', '/v1/route', {
        model: 'router',
        messages: [{ role: 'user', content: 'hi' }],
      });
      return (r.json.candidates as Array<{ model: string }>).map((c) => c.model).sort();
    };
    expect(await route()).toEqual(['test-large', 'test-small']);
    await as(t.key, 'PATCH', '/admin/pools/p', { members: ['test-small'] });
    expect(await route()).toEqual(['test-small']);
  });
});

describe("one tenant never reaches another's models and pools", () => {
  it('every model and pool endpoint answers 404 for the other tenant’s ids and names, and changes nothing', async () => {
    const m = await as(a.key, 'POST', '/admin/models', model(fresh('iso')));
    const p = fresh('iso-pool');
    await as(a.key, 'POST', '/admin/pools', {
      name: p,
      bundle_version: 'test-v1',
      members: [m.json.id],
    });
    const id = m.json.id as string;
    const name = m.json.name as string;
    const before = [await row(id), (await as(a.key, 'GET', `/admin/pools/${p}`)).json];
    const attempts: Array<[string, string, unknown?]> = [
      ['GET', `/admin/models/${id}`],
      ['GET', `/admin/models/${name}`],
      ['PATCH', `/admin/models/${id}`, { input_usd_per_mtok: 0 }],
      ['PATCH', `/admin/models/${name}`, { input_usd_per_mtok: 0 }],
      ['DELETE', `/admin/models/${id}`],
      ['GET', `/admin/pools/${p}`],
      ['PATCH', `/admin/pools/${p}`, { default_preference: 0 }],
      ['PATCH', `/admin/pools/${p}`, { keep_prompts: true, exploration_temperature: 2 }],
      ['DELETE', `/admin/pools/${p}`],
      ['GET', `/admin/pools/${p}/savings`],
      ['PUT', `/admin/pools/${p}/members/${id}`],
      ['DELETE', `/admin/pools/${p}/members/${id}`],
    ];
    for (const [method, path, body] of attempts) {
      const r: Answer = await as(b.key, method, path, body);
      expect(r.status, `${method} ${path}`).toBe(404);
      expect(['model_not_found', 'pool_not_found']).toContain(errorOf(r).code);
    }
    // B cannot put A's model into its own pool either
    await as(b.key, 'POST', '/admin/pools', { name: p, bundle_version: 'test-v1' });
    const steal = await as(b.key, 'PATCH', `/admin/pools/${p}`, { members: [id] });
    expect(steal.status).toBe(404);
    expect(errorOf(steal)).toMatchObject({ code: 'model_not_found', param: 'members' });
    const bPools = (await as(b.key, 'GET', '/admin/pools')).json.data as Array<{
      name: string;
      members: string[];
    }>;
    expect(bPools.find((x) => x.name === p)?.members).toEqual([]);
    expect([await row(id), (await as(a.key, 'GET', `/admin/pools/${p}`)).json]).toEqual(before);
  });
});
