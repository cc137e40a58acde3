// Issue 21, hole 1: a tenant could name any worker secret or plain var as a model's secret_name and
// point the model at its own server; the router then sent `Authorization: Bearer <that value>`
// there. The loopback stand-in upstream (globalSetup) plays the tenant's capture server: it
// records, per upstream model id, every request with its Authorization header.
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { call } from '../support/call';
import { seedBundle, seedGrant, seedModel, seedPool, seedTenant, testEnv } from '../support/seed';

const capture = inject('upstreamUrl');
const captureHost = new URL(capture).host;
const otherHost = new URL(inject('fakeProvidersUrl')).host;
/** The secrets the worker holds in these tests (values the capture server must never see). */
const secrets = {
  STANDIN_API_KEY: 'sk-standin-secret-value',
  A_ONLY_KEY: 'sk-a-only-secret-value',
};
const env = secrets as never;
const messages = [{ role: 'user', content: 'Say hello.' }];
const tag = crypto.randomUUID().slice(0, 8);

let a: { tenantId: string; key: string };
let b: { tenantId: string; key: string };

interface ErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

async function received(
  upstreamModel: string,
  base = capture,
): Promise<Array<{ authorization?: string | null; headers?: Record<string, string> }>> {
  return (await fetch(`${base}/__requests?model=${encodeURIComponent(upstreamModel)}`)).json();
}

function register(key: string, body: Record<string, unknown>): Promise<Response> {
  return call('/admin/models', {
    key,
    env,
    body: { provider: 'openai', input_usd_per_mtok: 1, output_usd_per_mtok: 1, ...body },
  });
}

beforeAll(async () => {
  await seedBundle('test-v1');
  a = await seedTenant('main');
  b = await seedTenant('main');
  // A may send A_ONLY_KEY to the capture host, and call the other loopback host without a secret;
  // B may call the capture host, without any secret.
  await seedGrant(a.tenantId, captureHost, 'A_ONLY_KEY', { allowHttp: true, allowPrivate: true });
  await seedGrant(a.tenantId, otherHost, '', { allowHttp: true, allowPrivate: true });
  await seedGrant(b.tenantId, captureHost, '', { allowHttp: true, allowPrivate: true });
  await seedPool(a.tenantId, 'main', 'test-v1', []);
  await seedPool(b.tenantId, 'main', 'test-v1', []);
});

describe('registering a model (POST /admin/models)', () => {
  it.each([
    'STANDIN_API_KEY',
    'A_ONLY_KEY',
    'DEFAULT_BUNDLE',
    'UPSTREAM_TIMEOUT_MS',
    'MAX_TRIES',
    'DB',
    'OPERATOR_TOKEN',
  ])(
    'tenant B cannot name %s: 403 secret_not_granted, no row, and the capture server receives nothing',
    async (secret) => {
      const upstreamModel = `capture-${tag}-${secret}`;
      const res = await register(b.key, {
        name: `steal-${secret}`,
        upstream_model: upstreamModel,
        base_url: `${capture}/v1`,
        secret_name: secret,
        pools: ['main'],
      });
      expect(res.status).toBe(403);
      expect((await res.json<ErrorBody>()).error).toMatchObject({
        type: 'invalid_request_error',
        code: 'secret_not_granted',
        param: 'secret_name',
      });
      const row = await testEnv.DB.prepare(
        'SELECT count(*) AS n FROM models WHERE tenant_id = ?1 AND name = ?2',
      )
        .bind(b.tenantId, `steal-${secret}`)
        .first<{ n: number }>();
      expect(row?.n).toBe(0);
      const chat = await call('/v1/chat/completions', {
        key: b.key,
        env,
        body: { model: `steal-${secret}`, messages },
      });
      expect(chat.status).toBe(404);
      expect(await received(upstreamModel)).toEqual([]);
    },
  );

  it('a secret granted for one host cannot be sent to another host the tenant may call', async () => {
    const upstreamModel = `ok-elsewhere-${tag}`;
    const res = await register(a.key, {
      name: 'a-elsewhere',
      upstream_model: upstreamModel,
      base_url: `http://${otherHost}/openai/v1`,
      secret_name: 'A_ONLY_KEY',
    });
    expect(res.status).toBe(403);
    expect((await res.json<ErrorBody>()).error).toMatchObject({
      code: 'secret_not_granted',
      param: 'secret_name',
    });
    expect(await received(upstreamModel, `http://${otherHost}`)).toEqual([]);
  });

  it('a host the tenant was not granted is refused (403 host_not_granted)', async () => {
    const res = await register(b.key, {
      name: 'b-elsewhere',
      upstream_model: `ok-b-${tag}`,
      base_url: `http://${otherHost}/openai/v1`,
    });
    expect(res.status).toBe(403);
    expect((await res.json<ErrorBody>()).error).toMatchObject({
      code: 'host_not_granted',
      param: 'base_url',
    });
  });

  it('what was granted works: the secret reaches the granted host, and a secret-less grant sends none', async () => {
    const modelA = `granted-a-${tag}`;
    const resA = await register(a.key, {
      name: 'a-granted',
      upstream_model: modelA,
      base_url: `${capture}/v1`,
      secret_name: 'A_ONLY_KEY',
    });
    expect(resA.status).toBe(201);
    const chatA = await call('/v1/chat/completions', {
      key: a.key,
      env,
      body: { model: 'a-granted', messages },
    });
    expect(chatA.status).toBe(200);
    expect((await received(modelA)).map((r) => r.authorization)).toEqual([
      `Bearer ${secrets.A_ONLY_KEY}`,
    ]);

    const modelB = `granted-b-${tag}`;
    expect(
      (
        await register(b.key, {
          name: 'b-granted',
          upstream_model: modelB,
          base_url: `${capture}/v1`,
        })
      ).status,
    ).toBe(201);
    const chatB = await call('/v1/chat/completions', {
      key: b.key,
      env,
      body: { model: 'b-granted', messages },
    });
    expect(chatB.status).toBe(200);
    expect((await received(modelB)).map((r) => r.authorization)).toEqual([null]);
  });
});

describe('rows already in D1 without a grant (written before grants existed, or revoked)', () => {
  const leaks = ['STANDIN_API_KEY', 'DEFAULT_BUNDLE', 'A_ONLY_KEY'] as const;
  let ids: Record<string, string> = {};

  beforeAll(async () => {
    // The pool's three dearest members leak, the cheapest is B's honest model: at w = 1 the
    // router tries the leaking ones first.
    const bundleModels = ['test-large', 'test-medium', 'test-small'];
    ids = {};
    for (const [i, secret] of leaks.entries()) {
      ids[secret] = await seedModel({
        name: `pre-${secret}`,
        upstreamModel: `pre-${tag}-${secret}`,
        bundleModel: bundleModels[i]!,
        inputUsd: 10 - i,
        outputUsd: 30 - i,
        baseUrl: `${capture}/v1`,
        secretName: secret,
        tenantId: b.tenantId,
        grant: false,
      });
    }
    ids.honest = await seedModel({
      name: 'pre-honest',
      upstreamModel: `pre-${tag}-honest`,
      bundleModel: 'test-tiny',
      inputUsd: 0.05,
      outputUsd: 0.1,
      baseUrl: `${capture}/v1`,
      tenantId: b.tenantId,
    });
    await seedPool(b.tenantId, 'leaky', 'test-v1', Object.values(ids));
  });

  it('a routed request skips them (attempt reason not_granted) without calling them, and the honest model answers', async () => {
    const res = await call('/v1/chat/completions', {
      key: b.key,
      env: { ...secrets, MAX_TRIES: '4' } as never,
      body: { model: 'router/leaky', messages, router: { preference: 1 } },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-router-model')).toBe('pre-honest');
    const fallback = res.headers.get('x-router-fallback') ?? '';
    for (const secret of leaks) {
      if (fallback.includes(`pre-${secret}=`))
        expect(fallback).toContain(`pre-${secret}=not_granted`);
      expect(await received(`pre-${tag}-${secret}`)).toEqual([]);
    }
    expect(fallback).toMatch(/=not_granted/);
  });

  it('a direct request to one of them fails cleanly (503, OpenAI-style) and sends nothing', async () => {
    for (const secret of leaks) {
      const res = await call('/v1/chat/completions', {
        key: b.key,
        env,
        body: { model: `pre-${secret}`, messages },
      });
      expect(res.status).toBe(503);
      const body = await res.json<ErrorBody>();
      expect(body.error.type).toBe('upstream_error');
      expect(body.error.message).toContain('not_granted');
      expect(JSON.stringify(body)).not.toContain(secrets.STANDIN_API_KEY);
      expect(res.headers.get('x-router-fallback')).toMatch(
        new RegExp(`^pre-${secret}=not_granted;ms=\\d+$`),
      );
      expect(await received(`pre-${tag}-${secret}`)).toEqual([]);
    }
  });

  it('the worker-run quiz refuses them up front (403) and sends nothing', async () => {
    const res = await call(`/admin/models/${ids.STANDIN_API_KEY}/quiz`, {
      key: b.key,
      env,
      body: { run: { n: 3 } },
    });
    expect(res.status).toBe(403);
    expect((await res.json<ErrorBody>()).error).toMatchObject({
      code: 'secret_not_granted',
      param: 'secret_name',
    });
    expect(await received(`pre-${tag}-STANDIN_API_KEY`)).toEqual([]);
  });

  it('revoking a grant takes effect: the model is skipped from then on', async () => {
    const id = await seedModel({
      name: 'revoked',
      upstreamModel: `revoked-${tag}`,
      inputUsd: 1,
      outputUsd: 1,
      baseUrl: `${capture}/v1`,
      secretName: 'A_ONLY_KEY',
      tenantId: a.tenantId,
    });
    expect(id).toBeTruthy();
    expect(
      (
        await call('/v1/chat/completions', {
          key: a.key,
          env,
          body: { model: 'revoked', messages },
        })
      ).status,
    ).toBe(200);
    await testEnv.DB.prepare(
      "DELETE FROM upstream_grants WHERE tenant_id = ?1 AND secret_name = 'A_ONLY_KEY'",
    )
      .bind(a.tenantId)
      .run();
    // An admin write clears the isolate's grant cache (other isolates: within POOL_CACHE_SECONDS).
    await call('/admin/models', {
      key: a.key,
      body: {
        name: 'nudge',
        provider: 'workers-ai',
        upstream_model: '@cf/x',
        input_usd_per_mtok: 0,
        output_usd_per_mtok: 0,
      },
    });
    const after = await call('/v1/chat/completions', {
      key: a.key,
      env,
      body: { model: 'revoked', messages },
    });
    expect(after.status).toBe(503);
    expect(await received(`revoked-${tag}`)).toHaveLength(1);
    await seedGrant(a.tenantId, captureHost, 'A_ONLY_KEY', { allowHttp: true, allowPrivate: true });
  });
});

describe('operator (global) rows', () => {
  it("never send the operator's own token, even from an operator row", async () => {
    const name = `global-operator-${tag}`;
    const id = await seedModel({
      name,
      upstreamModel: `global-${tag}-operator`,
      inputUsd: 1,
      outputUsd: 1,
      baseUrl: `${capture}/v1`,
      secretName: 'OPERATOR_TOKEN',
      tenantId: null,
    });
    try {
      const res = await call('/v1/chat/completions', {
        key: b.key,
        env: { ...secrets, OPERATOR_TOKEN: 'op-secret-value-0123456789abcdef0123' } as never,
        body: { model: name, messages },
      });
      expect(res.status).toBe(503);
      expect(res.headers.get('x-router-fallback')).toMatch(
        new RegExp(`^${name}=not_granted;ms=\\d+$`),
      );
      expect(await received(`global-${tag}-operator`)).toEqual([]);
    } finally {
      await testEnv.DB.prepare('DELETE FROM models WHERE id = ?1').bind(id).run();
    }
  });

  it('may use any secret without a grant, but never a plain var', async () => {
    const name = `global-var-${tag}`;
    const id = await seedModel({
      name,
      upstreamModel: `global-${tag}-var`,
      inputUsd: 1,
      outputUsd: 1,
      baseUrl: `${capture}/v1`,
      secretName: 'DEFAULT_BUNDLE',
      tenantId: null,
    });
    const okName = `global-secret-${tag}`;
    const okId = await seedModel({
      name: okName,
      upstreamModel: `global-${tag}-secret`,
      inputUsd: 1,
      outputUsd: 1,
      baseUrl: `${capture}/v1`,
      secretName: 'STANDIN_API_KEY',
      tenantId: null,
    });
    try {
      const res = await call('/v1/chat/completions', {
        key: b.key,
        env,
        body: { model: name, messages },
      });
      expect(res.status).toBe(503);
      expect(res.headers.get('x-router-fallback')).toMatch(
        new RegExp(`^${name}=not_granted;ms=\\d+$`),
      );
      expect(await received(`global-${tag}-var`)).toEqual([]);
      const ok = await call('/v1/chat/completions', {
        key: b.key,
        env,
        body: { model: okName, messages },
      });
      expect(ok.status).toBe(200);
      expect((await received(`global-${tag}-secret`)).map((r) => r.authorization)).toEqual([
        `Bearer ${secrets.STANDIN_API_KEY}`,
      ]);
    } finally {
      await testEnv.DB.prepare('DELETE FROM models WHERE id IN (?1, ?2)').bind(id, okId).run();
    }
  });
});
