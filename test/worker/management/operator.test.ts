/**
 * The operator API (/operator/*) inside workerd with real D1: who may call it (the operator token,
 * never a tenant key; off without the secret), tenants, API keys (shown once, stored hashed,
 * revocable) and upstream grants, and the caches a write must reach at once.
 */
import { describe, expect, it } from 'vitest';
import { sha256Hex } from '../../../worker/data/hash';
import { seedModel, seedTenant, testEnv } from '../support/seed';
import { OPERATOR_TOKEN, as, errorOf, fresh, op, send } from './support';

describe('operator auth', () => {
  it('is off (503) without the secret or with a short one, and never open', async () => {
    for (const token of [undefined, '', 'short-token']) {
      const a = await send('GET', '/operator/tenants', {
        token: OPERATOR_TOKEN,
        env: { OPERATOR_TOKEN: token },
      });
      expect(a.status).toBe(503);
      expect(errorOf(a).code).toBe('operator_api_disabled');
    }
  });

  it('401 without a bearer, with a wrong token, and with a tenant key', async () => {
    const { key } = await seedTenant();
    const cases: Array<[string | null, string]> = [
      [null, 'missing_operator_token'],
      [`${OPERATOR_TOKEN}x`, 'invalid_operator_token'],
      [OPERATOR_TOKEN.slice(0, -1), 'invalid_operator_token'],
      [key, 'invalid_operator_token'],
    ];
    for (const [token, code] of cases) {
      const a = await send('GET', '/operator/tenants', { token });
      expect(a.status, String(token)).toBe(401);
      expect(errorOf(a).code).toBe(code);
      expect(errorOf(a).type).toBe('authentication_error');
    }
    expect((await op('GET', '/operator/tenants')).status).toBe(200);
  });

  it('the operator token is not a tenant key on /v1, /admin or /healthz?detail=1', async () => {
    for (const path of ['/v1/models', '/admin/models', '/healthz?detail=1']) {
      const a = await send('GET', path, { token: OPERATOR_TOKEN });
      expect(a.status, path).toBe(401);
      expect(errorOf(a).code).toBe('invalid_api_key');
    }
  });

  it('a model can never name the operator token as its secret', async () => {
    const { key } = await seedTenant();
    const a = await as(key, 'POST', '/admin/models', {
      name: 'leak',
      provider: 'openai',
      upstream_model: 'x',
      base_url: 'https://api.example.com/v1',
      secret_name: 'OPERATOR_TOKEN',
      input_usd_per_mtok: 1,
      output_usd_per_mtok: 1,
    });
    expect(a.status).toBe(403);
    expect(errorOf(a)).toMatchObject({ code: 'secret_not_granted', param: 'secret_name' });
  });
});

describe('tenants', () => {
  it('create, read, list (paged), update; 409 on a taken id; 404 for none', async () => {
    const id = fresh('acme');
    const created = await op('POST', '/operator/tenants', {
      id,
      name: 'Acme',
      default_pool: 'main',
      rpm_limit: 600,
      cors_origins: ['https://app.acme.example'],
    });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({
      object: 'tenant',
      id,
      name: 'Acme',
      default_pool: 'main',
      rpm_limit: 600,
      tpm_limit: null,
      cors_origins: ['https://app.acme.example'],
      disabled: false,
    });
    expect((await op('POST', '/operator/tenants', { id, name: 'again' })).status).toBe(409);
    expect((await op('GET', `/operator/tenants/${id}`)).json).toEqual(created.json);
    const patched = await op('PATCH', `/operator/tenants/${id}`, {
      rpm_limit: null,
      tpm_limit: 50_000,
      cors_origins: null,
      name: 'Acme Inc.',
    });
    expect(patched.status).toBe(200);
    expect(patched.json).toMatchObject({
      name: 'Acme Inc.',
      rpm_limit: null,
      tpm_limit: 50_000,
      cors_origins: null,
      default_pool: 'main',
    });
    const missing = await op('GET', `/operator/tenants/${fresh('nobody')}`);
    expect(missing.status).toBe(404);
    expect(errorOf(missing).code).toBe('tenant_not_found');

    // every tenant appears exactly once across pages
    const ids: string[] = [];
    let after: string | null = null;
    for (let pages = 0; pages < 1000; pages++) {
      const page = await op('GET', `/operator/tenants?limit=2${after ? `&after=${after}` : ''}`);
      const data = page.json.data as Array<{ id: string }>;
      expect(data.length).toBeLessThanOrEqual(2);
      ids.push(...data.map((t) => t.id));
      after = page.json.next_cursor as string | null;
      if (!page.json.has_more) break;
    }
    const all = await testEnv.DB.prepare('SELECT id FROM tenants ORDER BY id').all<{
      id: string;
    }>();
    expect(ids).toEqual(all.results.map((r) => r.id));
  });

  it('400 naming the field for bad input', async () => {
    const cases: Array<[unknown, string]> = [
      [{ id: 'a b', name: 'x' }, 'id'],
      [{ id: fresh('t'), name: '' }, 'name'],
      [{ id: fresh('t'), name: 'x', rpm_limit: 0 }, 'rpm_limit'],
      [{ id: fresh('t'), name: 'x', cors_origins: ['https://a.example/path'] }, 'cors_origins.0'],
      [{ id: fresh('t'), name: 'x', extra: 1 }, ''],
    ];
    for (const [body, param] of cases) {
      const a = await op('POST', '/operator/tenants', body);
      expect(a.status, JSON.stringify(body)).toBe(400);
      expect(errorOf(a).code).toBe('invalid_value');
      if (param) expect(errorOf(a).param).toBe(param);
    }
    const bad = await op('POST', '/operator/tenants', '{"id":');
    expect(bad.status).toBe(400);
  });

  it('disabling refuses the tenant key at once (403), enabling lets it back in', async () => {
    const { tenantId, key } = await seedTenant();
    expect((await as(key, 'GET', '/v1/models')).status).toBe(200); // the key is now cached
    expect(
      (await op('PATCH', `/operator/tenants/${tenantId}`, { disabled: true })).json,
    ).toMatchObject({ disabled: true });
    const refused = await as(key, 'GET', '/v1/models');
    expect(refused.status).toBe(403);
    expect(errorOf(refused).code).toBe('tenant_disabled');
    await op('PATCH', `/operator/tenants/${tenantId}`, { disabled: false });
    expect((await as(key, 'GET', '/v1/models')).status).toBe(200);
  });

  it('a limit change reaches the cached key at once', async () => {
    const { tenantId, key } = await seedTenant();
    expect(
      (await as(key, 'GET', '/v1/models')).headers.get('x-ratelimit-limit-requests'),
    ).toBeNull();
    await op('PATCH', `/operator/tenants/${tenantId}`, { rpm_limit: 7 });
    const a = await as(key, 'GET', '/v1/models');
    expect(a.headers.get('x-ratelimit-limit-requests')).toBe('7');
  });

  it('delete: only a disabled tenant, and then all that is its own and nothing of another', async () => {
    const doomed = await seedTenant();
    const other = await seedTenant();
    const globalModel = await seedModel({
      name: fresh('g'),
      inputUsd: 1,
      outputUsd: 1,
      tenantId: null,
    });
    for (const t of [doomed, other]) {
      await op('POST', `/operator/tenants/${t.tenantId}/grants`, { host: 'api.example.com' });
      await testEnv.DB.batch([
        testEnv.DB.prepare(
          `INSERT INTO models (id, tenant_id, name, provider, upstream_model, input_usd_per_mtok, output_usd_per_mtok)
           VALUES (?1, ?2, 'm', 'openai', 'm', 1, 1)`,
        ).bind(`${t.tenantId}-m`, t.tenantId),
        testEnv.DB.prepare(
          `INSERT INTO pools (id, tenant_id, name, bundle_version) VALUES (?1, ?2, 'default', 'test-v1')`,
        ).bind(`${t.tenantId}-p`, t.tenantId),
        testEnv.DB.prepare('INSERT INTO pool_members (pool_id, model_id) VALUES (?1, ?2)').bind(
          `${t.tenantId}-p`,
          `${t.tenantId}-m`,
        ),
        testEnv.DB.prepare(
          `INSERT INTO decision_log (id, tenant_id, pool, model, status) VALUES (?1, ?2, 'default', 'm', 'ok')`,
        ).bind(`${t.tenantId}-d`, t.tenantId),
        // migration 0011: feedback and the tenant's online identities (of a global model too)
        testEnv.DB.prepare(
          `INSERT INTO feedback (tenant_id, decision_id, pool, model, score) VALUES (?1, ?1 || '-d', 'default', 'm', 1)`,
        ).bind(t.tenantId),
        testEnv.DB.prepare(
          `INSERT INTO online_identities (tenant_id, model_id, bundle_version, vector, cov_factor, std, base_source)
           VALUES (?1, ?2, 'test-v1', '[0]', '[]', '[1]', 'manifest')`,
        ).bind(t.tenantId, globalModel),
      ]);
    }
    const active = await op('DELETE', `/operator/tenants/${doomed.tenantId}`);
    expect(active.status).toBe(409);
    expect(errorOf(active).code).toBe('tenant_active');
    await op('PATCH', `/operator/tenants/${doomed.tenantId}`, { disabled: true });
    const gone = await op('DELETE', `/operator/tenants/${doomed.tenantId}`);
    expect(gone.status).toBe(200);
    expect(gone.json).toEqual({ object: 'tenant', id: doomed.tenantId, deleted: true });
    const count = async (tenantId: string): Promise<number[]> => {
      const rows = await testEnv.DB.batch<{ n: number }>(
        [
          'SELECT COUNT(*) AS n FROM tenants WHERE id = ?1',
          'SELECT COUNT(*) AS n FROM api_keys WHERE tenant_id = ?1',
          'SELECT COUNT(*) AS n FROM upstream_grants WHERE tenant_id = ?1',
          'SELECT COUNT(*) AS n FROM models WHERE tenant_id = ?1',
          'SELECT COUNT(*) AS n FROM pools WHERE tenant_id = ?1',
          "SELECT COUNT(*) AS n FROM pool_members WHERE pool_id = ?1 || '-p'",
          'SELECT COUNT(*) AS n FROM decision_log WHERE tenant_id = ?1',
          'SELECT COUNT(*) AS n FROM feedback WHERE tenant_id = ?1',
          'SELECT COUNT(*) AS n FROM online_identities WHERE tenant_id = ?1',
        ].map((sql) => testEnv.DB.prepare(sql).bind(tenantId)),
      );
      return rows.map((r) => r.results[0]!.n);
    };
    expect(await count(doomed.tenantId)).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0]);
    expect(await count(other.tenantId)).toEqual([1, 1, 1, 1, 1, 1, 1, 1, 1]);
    expect((await as(doomed.key, 'GET', '/v1/models')).status).toBe(401);
    expect((await as(other.key, 'GET', '/v1/models')).status).toBe(200);
  });
});

describe('API keys', () => {
  it('the key is shown once, stored only as its sha256, listed by label and prefix', async () => {
    const { tenantId } = await seedTenant();
    const made = await op('POST', `/operator/tenants/${tenantId}/keys`, {
      label: 'ci',
      rpm_limit: 60,
    });
    expect(made.status).toBe(201);
    expect(made.headers.get('cache-control')).toBe('no-store');
    const key = made.json.key as string;
    expect(key).toMatch(/^sk-router-[0-9a-f]{48}$/);
    expect(made.json).toMatchObject({
      object: 'api_key',
      tenant: tenantId,
      label: 'ci',
      prefix: key.slice(0, 16),
      rpm_limit: 60,
      revoked: false,
    });
    const id = made.json.id as string;
    expect(id).toMatch(/^key_[0-9a-f]{24}$/);

    // stored hashed: the row holds the sha256, and no column holds the key
    const row = await testEnv.DB.prepare('SELECT * FROM api_keys WHERE id = ?1')
      .bind(id)
      .first<Record<string, unknown>>();
    expect(row!.key_hash).toBe(await sha256Hex(key));
    expect(Object.values(row!).some((v) => typeof v === 'string' && v.includes(key))).toBe(false);

    // listed without the key or its hash
    const list = await op('GET', `/operator/tenants/${tenantId}/keys`);
    const listed = (list.json.data as Array<Record<string, unknown>>).find((k) => k.id === id)!;
    expect(listed).toEqual({ ...made.json, key: undefined });
    expect(JSON.stringify(list.json)).not.toContain(key.slice(16));
    expect(JSON.stringify(list.json)).not.toContain(row!.key_hash as string);

    // the key works, with its own limit
    const used = await as(key, 'GET', '/v1/models');
    expect(used.status).toBe(200);
    expect(used.headers.get('x-ratelimit-limit-requests')).toBe('60');
  });

  it('a revoked key is refused at once, even when cached; revoking again changes nothing', async () => {
    const { tenantId } = await seedTenant();
    const made = await op('POST', `/operator/tenants/${tenantId}/keys`, {});
    const key = made.json.key as string;
    expect((await as(key, 'GET', '/v1/models')).status).toBe(200);
    const revoked = await op('DELETE', `/operator/tenants/${tenantId}/keys/${made.json.id}`);
    expect(revoked.status).toBe(200);
    expect(revoked.json).toMatchObject({ revoked: true });
    expect((await as(key, 'GET', '/v1/models')).status).toBe(401);
    const again = await op('DELETE', `/operator/tenants/${tenantId}/keys/${made.json.id}`);
    expect(again.json.revoked_at).toBe(revoked.json.revoked_at);
  });

  it("one tenant's key cannot be listed or revoked through another tenant's path", async () => {
    const a = await seedTenant();
    const b = await seedTenant();
    const made = await op('POST', `/operator/tenants/${a.tenantId}/keys`, { label: 'a' });
    const wrong = await op('DELETE', `/operator/tenants/${b.tenantId}/keys/${made.json.id}`);
    expect(wrong.status).toBe(404);
    expect(errorOf(wrong).code).toBe('api_key_not_found');
    const listed = await op('GET', `/operator/tenants/${b.tenantId}/keys`);
    expect((listed.json.data as Array<{ id: string }>).map((k) => k.id)).not.toContain(
      made.json.id,
    );
    expect((await as(made.json.key as string, 'GET', '/v1/models')).status).toBe(200);
  });

  it('keys of an unknown tenant: 404', async () => {
    const a = await op('POST', `/operator/tenants/${fresh('nobody')}/keys`, {});
    expect(a.status).toBe(404);
    expect(errorOf(a).code).toBe('tenant_not_found');
  });
});

describe('grants', () => {
  it('add (201), change flags (200), list, remove (then 404)', async () => {
    const { tenantId } = await seedTenant();
    const path = `/operator/tenants/${tenantId}/grants`;
    const g = { host: 'api.openai.com', secret_name: 'OPENAI_API_KEY' };
    const added = await op('POST', path, g);
    expect(added.status).toBe(201);
    expect(added.json).toMatchObject({ ...g, allow_http: false, allow_private: false });
    const changed = await op('POST', path, { ...g, allow_http: true });
    expect(changed.status).toBe(200);
    expect(changed.json).toMatchObject({ allow_http: true });
    await op('POST', path, { host: '10.0.0.7:8000', allow_http: true, allow_private: true });
    const list = await op('GET', path);
    expect(
      (list.json.data as Array<Record<string, unknown>>).map((r) => [r.host, r.secret_name]),
    ).toEqual([
      ['10.0.0.7:8000', ''],
      ['api.openai.com', 'OPENAI_API_KEY'],
    ]);
    const del = `${path}?host=api.openai.com&secret_name=OPENAI_API_KEY`;
    expect((await op('DELETE', del)).json).toMatchObject({ deleted: true });
    const again = await op('DELETE', del);
    expect(again.status).toBe(404);
    expect(errorOf(again).code).toBe('grant_not_found');
  });

  it('refuses hosts a base URL could never match and secrets that are worker settings', async () => {
    const { tenantId } = await seedTenant();
    const path = `/operator/tenants/${tenantId}/grants`;
    const bad: Array<[Record<string, unknown>, string]> = [
      [{ host: 'API.openai.com' }, 'host'],
      [{ host: 'api.openai.com:443' }, 'host'],
      [{ host: 'https://api.openai.com' }, 'host'],
      [{ host: 'api.openai.com/v1' }, 'host'],
      [{ host: '127.1' }, 'host'],
      [{ host: 'a b' }, 'host'],
      [{ host: 'api.openai.com', secret_name: 'OPERATOR_TOKEN' }, 'secret_name'],
      [{ host: 'api.openai.com', secret_name: 'DEFAULT_BUNDLE' }, 'secret_name'],
      [{ host: 'api.openai.com', secret_name: 'lower' }, 'secret_name'],
    ];
    for (const [body, param] of bad) {
      const a = await op('POST', path, body);
      expect(a.status, JSON.stringify(body)).toBe(400);
      expect(errorOf(a).param).toBe(param);
    }
    expect(((await op('GET', path)).json.data as unknown[]).length).toBe(0);
  });

  it('a grant lets the tenant register a model at once; removing it refuses the next change', async () => {
    const { tenantId, key } = await seedTenant();
    const model = {
      name: 'gpt',
      provider: 'openai',
      upstream_model: 'gpt-4o',
      base_url: 'https://api.openai.com/v1',
      secret_name: 'OPENAI_API_KEY',
      input_usd_per_mtok: 5,
      output_usd_per_mtok: 15,
    };
    expect((await as(key, 'POST', '/admin/models', model)).status).toBe(403);
    await op('POST', `/operator/tenants/${tenantId}/grants`, {
      host: 'api.openai.com',
      secret_name: 'OPENAI_API_KEY',
    });
    expect((await as(key, 'POST', '/admin/models', model)).status).toBe(201);
    await op(
      'DELETE',
      `/operator/tenants/${tenantId}/grants?host=api.openai.com&secret_name=OPENAI_API_KEY`,
    );
    const patched = await as(key, 'PATCH', '/admin/models/gpt', { input_usd_per_mtok: 4 });
    expect(patched.status).toBe(403);
    expect(errorOf(patched).code).toBe('host_not_granted');
  });
});
