// A bad bundle must not take down routed traffic: a pool whose bundle version is missing, corrupt
// or fails in ONNX Runtime routes with the last bundle it routed with in this isolate; without one,
// its requests go to the pool's fallback model (x-router-degraded: bundle_unavailable); without
// that, 503 as before. /healthz names the failed versions.
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { clearPoolCache } from '../../../worker/data/pools';
import { degradedState, RECENT_FAULT_MS } from '../../../worker/health/degraded-state';
import { call, callNoWait } from '../support/call';
import { seedBundle, seedModel, seedPool, seedTenant, testEnv } from '../support/seed';

const upstream = inject('upstreamUrl');
const messages = [{ role: 'user', content: 'Write a haiku about the sea.' }];
const tag = crypto.randomUUID().slice(0, 8);
const good = `good-${tag}`;
const corrupt = `corrupt-${tag}`;
const swapped = `swapped-${tag}`;
const missing = `missing-${tag}`;

let key: string;
let tenantId: string;
let members: string[];

async function received(model: string): Promise<number> {
  return (
    (await (
      await fetch(`${upstream}/__requests?model=${encodeURIComponent(model)}`)
    ).json()) as unknown[]
  ).length;
}

async function logRow(id: string | null): Promise<Record<string, unknown> | null> {
  return testEnv.DB.prepare(
    'SELECT status, model, bundle_version, degraded, pool FROM decision_log WHERE id = ?1',
  )
    .bind(id)
    .first();
}

async function pool(
  name: string,
  bundle: string,
  fallbackModel: string | null = null,
): Promise<void> {
  await seedPool(tenantId, name, bundle, members);
  await testEnv.DB.prepare(
    'UPDATE pools SET fallback_model = ?3 WHERE tenant_id = ?1 AND name = ?2',
  )
    .bind(tenantId, name, fallbackModel)
    .run();
}

async function setBundle(name: string, bundle: string): Promise<void> {
  await testEnv.DB.prepare(
    'UPDATE pools SET bundle_version = ?3 WHERE tenant_id = ?1 AND name = ?2',
  )
    .bind(tenantId, name, bundle)
    .run();
  clearPoolCache();
}

beforeAll(async () => {
  await seedBundle('test-v1', 0, good);
  const bad = (await seedBundle('test-v1', 0, corrupt)) as { files: { policy: { key: string } } };
  const bytes = new Uint8Array(
    await (await testEnv.ASSETS.get(bad.files.policy.key))!.arrayBuffer(),
  );
  bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 0xff;
  await testEnv.ASSETS.put(bad.files.policy.key, bytes);
  // Loads (every file passes its size and sha256 check) but cannot decide: the IRT slot holds the
  // policy graph and the policy slot the IRT graph, so ONNX Runtime rejects the first run.
  const m = (await seedBundle('test-v1', 0, swapped)) as Record<string, unknown> & {
    files: Record<string, unknown>;
  };
  await testEnv.ASSETS.put(
    `bundles/${swapped}/manifest.json`,
    JSON.stringify({ ...m, files: { ...m.files, irt: m.files.policy, policy: m.files.irt } }),
  );

  ({ tenantId, key } = await seedTenant('default'));
  members = [
    await seedModel({
      name: `dg-tiny-${tag}`,
      bundleModel: 'test-tiny',
      upstreamModel: `dg-tiny-${tag}`,
      inputUsd: 0.05,
      outputUsd: 0.1,
      baseUrl: `${upstream}/v1`,
      tenantId,
    }),
    await seedModel({
      name: `dg-large-${tag}`,
      bundleModel: 'test-large',
      upstreamModel: `dg-large-${tag}`,
      inputUsd: 10,
      outputUsd: 30,
      baseUrl: `${upstream}/v1`,
      tenantId,
    }),
  ];
  await seedModel({
    name: `dg-fallback-${tag}`,
    bundleModel: null,
    upstreamModel: `dg-fallback-${tag}`,
    inputUsd: 1,
    outputUsd: 2,
    baseUrl: `${upstream}/v1`,
    tenantId,
  });
});

describe('a pool whose bundle breaks after it routed', () => {
  for (const [what, broken] of [
    ['missing from R2', missing],
    ['corrupt (sha256)', corrupt],
    ['failing in ONNX Runtime', swapped],
  ] as const) {
    it(`${what}: routes with the last good bundle and says so`, async () => {
      const name = `lastgood-${broken}`;
      await pool(name, good);
      const before = await call('/v1/route', { key, body: { model: `router/${name}`, messages } });
      expect(before.status).toBe(200);
      expect(before.headers.get('x-router-degraded')).toBeNull();

      await setBundle(name, broken);
      const routed = await call('/v1/route', { key, body: { model: `router/${name}`, messages } });
      expect(routed.status).toBe(200);
      expect(routed.headers.get('x-router-bundle')).toBe(good);
      expect(routed.headers.get('x-router-degraded')).toBe('bundle_unavailable');
      expect((await routed.json<{ degraded: string; model: string }>()).degraded).toBe(
        'bundle_unavailable',
      );

      const chat = await call('/v1/chat/completions', {
        key,
        body: { model: `router/${name}`, messages },
      });
      expect(chat.status).toBe(200);
      expect(chat.headers.get('x-router-degraded')).toBe('bundle_unavailable');
      expect(await logRow(chat.headers.get('x-router-decision-id'))).toMatchObject({
        status: 'ok',
        bundle_version: good,
        degraded: 'bundle_unavailable',
      });
    });
  }
});

describe('a pool with no good bundle in this isolate', () => {
  it('sends chat completions to its fallback model, unrouted, and logs the row as degraded', async () => {
    await pool('fb-chat', missing, `dg-fallback-${tag}`);
    const calls = await received(`dg-fallback-${tag}`);
    const res = await call('/v1/chat/completions', {
      key,
      body: { model: 'router/fb-chat', messages },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-router-degraded')).toBe('bundle_unavailable');
    expect(res.headers.get('x-router-model')).toBe(`dg-fallback-${tag}`);
    expect(res.headers.get('x-router-pool')).toBe('fb-chat');
    expect(
      (await res.json<{ choices: { message: { content: string } }[] }>()).choices[0]!.message
        .content,
    ).toBe(`Hello from dg-fallback-${tag}`);
    expect(await received(`dg-fallback-${tag}`)).toBe(calls + 1);
    expect(await logRow(res.headers.get('x-router-decision-id'))).toMatchObject({
      status: 'ok',
      model: `dg-fallback-${tag}`,
      bundle_version: null,
      degraded: 'bundle_unavailable',
      pool: 'fb-chat',
    });
  });

  it('streams from the fallback model too', async () => {
    await pool('fb-stream', corrupt, `dg-fallback-${tag}`);
    // A streamed answer's row is written after its last byte: read it before waiting on waitUntil.
    const { response: res, settled } = await callNoWait('/v1/chat/completions', {
      key,
      body: { model: 'router/fb-stream', messages, stream: true },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    expect(res.headers.get('x-router-degraded')).toBe('bundle_unavailable');
    expect(await res.text()).toContain('data: [DONE]');
    await settled;
    expect(await logRow(res.headers.get('x-router-decision-id'))).toMatchObject({
      status: 'ok',
      degraded: 'bundle_unavailable',
      pool: 'fb-stream',
    });
  });

  it('an ORT failure takes the same path', async () => {
    await pool('fb-ort', swapped, `dg-fallback-${tag}`);
    const res = await call('/v1/chat/completions', {
      key,
      body: { model: 'router/fb-ort', messages },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-router-model')).toBe(`dg-fallback-${tag}`);
  });

  it('/v1/route says where the request would go', async () => {
    await pool('fb-route', missing, `dg-fallback-${tag}`);
    const res = await call('/v1/route', { key, body: { model: 'router/fb-route', messages } });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-router-degraded')).toBe('bundle_unavailable');
    const body = await res.json<Record<string, unknown>>();
    expect(body).toMatchObject({
      object: 'router.decision',
      model: `dg-fallback-${tag}`,
      pool: 'fb-route',
      degraded: 'bundle_unavailable',
      bundle: null,
    });
    expect(await logRow(body.id as string)).toMatchObject({
      status: 'route_only',
      degraded: 'bundle_unavailable',
    });
  });

  it('without a fallback model: 503 bundle_unavailable, as before', async () => {
    await pool('no-fb', missing);
    const res = await call('/v1/chat/completions', {
      key,
      body: { model: 'router/no-fb', messages },
    });
    expect(res.status).toBe(503);
    expect((await res.json<{ error: { code: string } }>()).error.code).toBe('bundle_unavailable');
  });

  it("a fallback_model naming another tenant's model is not used", async () => {
    const other = await seedTenant('default');
    await seedModel({
      name: `dg-private-${tag}`,
      upstreamModel: `dg-private-${tag}`,
      inputUsd: 1,
      outputUsd: 1,
      baseUrl: `${upstream}/v1`,
      tenantId: other.tenantId,
    });
    await pool('fb-foreign', missing, `dg-private-${tag}`);
    const res = await call('/v1/chat/completions', {
      key,
      body: { model: 'router/fb-foreign', messages },
    });
    expect(res.status).toBe(503);
    expect(await received(`dg-private-${tag}`)).toBe(0);
  });
});

describe('a bundle that loaded stays usable', () => {
  it('keeps routing when its objects in R2 are later corrupted', async () => {
    const version = `kept-${tag}`;
    const m = (await seedBundle('test-v1', 0, version)) as { files: { irt: { key: string } } };
    await pool('kept', version);
    expect(
      (await call('/v1/route', { key, body: { model: 'router/kept', messages } })).status,
    ).toBe(200);
    await testEnv.ASSETS.put(m.files.irt.key, 'garbage');
    await testEnv.ASSETS.delete(`bundles/${version}/manifest.json`);
    const res = await call('/v1/route', { key, body: { model: 'router/kept', messages } });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-router-degraded')).toBeNull();
  });
});

describe('/healthz', () => {
  it('reports the versions that failed, when, and why, without tenant data', async () => {
    const res = await call('/healthz');
    expect(res.status).toBe(200);
    const body = await res.json<{
      status: string;
      degraded: {
        bundles: { version: string; error: string; last_failed_at: string; failures: number }[];
      };
    }>();
    expect(body.status).toBe('degraded');
    const versions = body.degraded.bundles.map((b) => b.version);
    expect(versions).toEqual(expect.arrayContaining([missing, corrupt, swapped]));
    const swappedFailure = body.degraded.bundles.find((b) => b.version === swapped)!;
    expect(swappedFailure.error).toMatch(/ONNX Runtime/);
    expect(Number.isNaN(Date.parse(swappedFailure.last_failed_at))).toBe(false);
    expect(swappedFailure.failures).toBeGreaterThan(0);
    const text = JSON.stringify(body);
    expect(text).not.toContain(tenantId);
    expect(text).not.toContain('dg-');
  });

  it('stops calling the isolate degraded once the failures are old, and keeps listing the versions', () => {
    const later = degradedState(Date.now() + RECENT_FAULT_MS + 1000);
    expect(later.detail.bundles.map((b) => b.version)).toEqual(
      expect.arrayContaining([missing, corrupt, swapped]),
    );
    expect(later.degraded).toBe(later.detail.decision_log.pending > 0);
  });
});
