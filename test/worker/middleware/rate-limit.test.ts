// Rate limits per key and per tenant (D1, migration 0009): a tenant over its limit gets 429 with
// Retry-After and OpenAI's x-ratelimit-* headers while another tenant is served as before; tokens
// are counted before the call; a refused request never reaches the body parser, the router or the
// upstream; the rate-limiting binding caps a tenant across isolates.
import { afterEach, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { call } from '../support/call';
import { seedBundle, seedModel, seedPool, seedTenant, testEnv } from '../support/seed';

const upstream = inject('upstreamUrl');
const messages = [{ role: 'user', content: 'Name three prime numbers.' }]; // 25 chars: 7 prompt tokens

interface Limits {
  rpm?: number | null;
  tpm?: number | null;
}

async function sha256Hex(text: string): Promise<string> {
  const d = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
  return [...new Uint8Array(d)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/** A tenant with a routable pool on the loopback upstream, and the given tenant-level limits. */
async function tenant(
  limits: Limits = {},
): Promise<{ tenantId: string; key: string; upstreamTag: string }> {
  const t = await seedTenant('default');
  const upstreamTag = `rl-${crypto.randomUUID().slice(0, 8)}`;
  const ids = [
    await seedModel({
      name: `${upstreamTag}-tiny`,
      bundleModel: 'test-tiny',
      upstreamModel: `${upstreamTag}-tiny`,
      inputUsd: 0.05,
      outputUsd: 0.1,
      outputTokens: 300,
      baseUrl: `${upstream}/v1`,
      tenantId: t.tenantId,
    }),
    await seedModel({
      name: `${upstreamTag}-large`,
      bundleModel: 'test-large',
      upstreamModel: `${upstreamTag}-large`,
      inputUsd: 10,
      outputUsd: 30,
      outputTokens: 600,
      baseUrl: `${upstream}/v1`,
      tenantId: t.tenantId,
    }),
  ];
  await seedPool(t.tenantId, 'default', 'test-v1', ids);
  await testEnv.DB.prepare('UPDATE tenants SET rpm_limit = ?2, tpm_limit = ?3 WHERE id = ?1')
    .bind(t.tenantId, limits.rpm ?? null, limits.tpm ?? null)
    .run();
  return { ...t, upstreamTag };
}

/** A second key of `tenantId` with its own limits. */
async function extraKey(tenantId: string, limits: Limits): Promise<string> {
  const key = `sk-test-${crypto.randomUUID()}`;
  await testEnv.DB.prepare(
    'INSERT INTO api_keys (key_hash, tenant_id, rpm_limit, tpm_limit) VALUES (?1, ?2, ?3, ?4)',
  )
    .bind(await sha256Hex(key), tenantId, limits.rpm ?? null, limits.tpm ?? null)
    .run();
  return key;
}

const route = (key: string, extra: Parameters<typeof call>[1] = {}) =>
  call('/v1/route', { key, body: { model: 'router', messages }, ...extra });
const chat = (key: string, body: Record<string, unknown> = {}) =>
  call('/v1/chat/completions', { key, body: { model: 'router', messages, ...body } });

async function expect429(
  res: Response,
  type: 'requests' | 'tokens',
  code = 'rate_limit_exceeded',
): Promise<void> {
  expect(res.status).toBe(429);
  expect(res.headers.get('x-request-id')).toBeTruthy();
  const body = await res.json<{ error: Record<string, unknown> }>();
  expect(Object.keys(body.error).sort()).toEqual(['code', 'message', 'param', 'type']);
  expect(body.error).toMatchObject({ type, code, param: null });
}

async function upstreamCalls(model: string): Promise<number> {
  return (
    (await (
      await fetch(`${upstream}/__requests?model=${encodeURIComponent(model)}`)
    ).json()) as unknown[]
  ).length;
}

async function logRows(tenantId: string): Promise<number> {
  return (await testEnv.DB.prepare('SELECT count(*) AS n FROM decision_log WHERE tenant_id = ?1')
    .bind(tenantId)
    .first<{ n: number }>())!.n;
}

beforeAll(async () => {
  await seedBundle('test-v1');
});

afterEach(() => {
  vi.useRealTimers();
});

describe('requests per minute', () => {
  it('tenant A over its limit gets 429s with Retry-After; tenant B is served as before', async () => {
    const a = await tenant({ rpm: 3 });
    const b = await tenant({ rpm: 3 });
    const statuses: number[] = [];
    let refused: Response | undefined;
    for (let i = 0; i < 6; i++) {
      const res = await route(a.key);
      statuses.push(res.status);
      if (res.status === 429) refused ??= res;
      else await res.arrayBuffer();
    }
    expect(statuses).toEqual([200, 200, 200, 429, 429, 429]);
    // 3 per minute refill one per 20 s: the next one is due in 20 s at most.
    const retryAfter = Number(refused!.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(20);
    expect(refused!.headers.get('x-ratelimit-limit-requests')).toBe('3');
    expect(refused!.headers.get('x-ratelimit-remaining-requests')).toBe('0');
    expect(refused!.headers.get('x-ratelimit-reset-requests')).toMatch(/^(\d+m)?[\d.]+s$/);
    await expect429(refused!, 'requests');

    for (let i = 0; i < 3; i++) expect((await route(b.key)).status).toBe(200);
  });

  it('an admitted answer carries the same headers, counting down', async () => {
    const a = await tenant({ rpm: 10 });
    const first = await route(a.key);
    const second = await route(a.key);
    expect(first.headers.get('x-ratelimit-limit-requests')).toBe('10');
    expect(first.headers.get('x-ratelimit-remaining-requests')).toBe('9');
    expect(second.headers.get('x-ratelimit-remaining-requests')).toBe('8');
    expect(first.headers.get('x-ratelimit-reset-requests')).toMatch(/^[\d.]+(ms|s)$/);
    expect(first.headers.get('x-ratelimit-limit-tokens')).toBeNull();
  });

  it('without limits, no x-ratelimit headers', async () => {
    const a = await tenant();
    const res = await route(a.key);
    expect(res.status).toBe(200);
    expect([...res.headers.keys()].filter((h) => h.startsWith('x-ratelimit'))).toEqual([]);
  });

  it('a key limit binds that key only; the tenant limit binds all its keys', async () => {
    const a = await tenant({ rpm: 4 });
    const limitedKey = await extraKey(a.tenantId, { rpm: 1 });
    expect((await route(limitedKey)).status).toBe(200);
    const refused = await route(limitedKey);
    await expect429(refused, 'requests');
    expect(refused.headers.get('x-ratelimit-limit-requests')).toBe('1');
    expect((await route(a.key)).status).toBe(200);
    expect((await route(a.key)).status).toBe(200);
    expect((await route(a.key)).status).toBe(200);
    await expect429(await route(a.key), 'requests'); // the tenant's 4: 1 by the limited key, 3 by this one
  });

  it('a refused request is not read: a malformed body over the limit is a 429, not a 400', async () => {
    const a = await tenant({ rpm: 1 });
    expect((await route(a.key)).status).toBe(200);
    await expect429(await call('/v1/route', { key: a.key, rawBody: '{"model": ' }), 'requests');
  });

  it('the budget refills with time', async () => {
    const a = await tenant({ rpm: 2 });
    expect((await route(a.key)).status).toBe(200);
    expect((await route(a.key)).status).toBe(200);
    expect((await route(a.key)).status).toBe(429);
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + 30_000);
    expect((await route(a.key)).status).toBe(200);
    expect((await route(a.key)).status).toBe(429);
  });

  it('admin endpoints count too', async () => {
    const a = await tenant({ rpm: 1 });
    expect((await call('/admin/models/none', { key: a.key })).status).toBe(404);
    await expect429(await call('/admin/models/none', { key: a.key }), 'requests');
  });
});

describe('tokens per minute (chat completions)', () => {
  it('counts prompt tokens plus max_tokens per choice before the call; a refused one reaches neither router nor upstream', async () => {
    const a = await tenant({ tpm: 100 });
    const ok = await chat(a.key, { max_tokens: 40, n: 2 }); // 7 + 40 * 2 = 87
    expect(ok.status).toBe(200);
    expect(ok.headers.get('x-ratelimit-limit-tokens')).toBe('100');
    expect(ok.headers.get('x-ratelimit-remaining-tokens')).toBe('13');
    await ok.arrayBuffer();
    const calls =
      (await upstreamCalls(`${a.upstreamTag}-tiny`)) +
      (await upstreamCalls(`${a.upstreamTag}-large`));
    const rows = await logRows(a.tenantId);

    const refused = await chat(a.key, { max_tokens: 40 }); // 47 > 13 left
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    await expect429(refused, 'tokens');
    expect(
      (await upstreamCalls(`${a.upstreamTag}-tiny`)) +
        (await upstreamCalls(`${a.upstreamTag}-large`)),
    ).toBe(calls);
    expect(await logRows(a.tenantId)).toBe(rows);
  });

  it("without max_tokens, the pool's largest expected output is counted", async () => {
    const a = await tenant({ tpm: 1000 });
    const res = await chat(a.key);
    expect(res.status).toBe(200);
    expect(res.headers.get('x-ratelimit-remaining-tokens')).toBe(String(1000 - 7 - 600));
  });

  it('a request larger than the whole limit is request_too_large, with no Retry-After', async () => {
    const a = await tenant({ tpm: 100 });
    const res = await chat(a.key, { max_tokens: 500 });
    expect(res.headers.get('retry-after')).toBeNull();
    await expect429(res, 'tokens', 'request_too_large');
  });

  it('/v1/route spends no tokens', async () => {
    const a = await tenant({ tpm: 10 });
    for (let i = 0; i < 3; i++) expect((await route(a.key)).status).toBe(200);
  });
});

describe('rate-limiting binding (Miniflare simulation, 2 per minute per key)', () => {
  it('caps each tenant, keyed by tenant, without D1 limits; other tenants keep their own count', async () => {
    const env = { TENANT_RATE_LIMITER: testEnv.TEST_RATE_LIMITER };
    const a = await tenant();
    const b = await tenant();
    expect((await route(a.key, { env })).status).toBe(200);
    expect((await route(a.key, { env })).status).toBe(200);
    const refused = await route(a.key, { env });
    expect(refused.headers.get('retry-after')).toBe('60');
    await expect429(refused, 'requests');
    expect((await route(b.key, { env })).status).toBe(200);
  });

  it('a request the binding refuses gives its local budget back', async () => {
    const env = { TENANT_RATE_LIMITER: testEnv.TEST_RATE_LIMITER };
    const a = await tenant({ rpm: 5 });
    for (let i = 0; i < 2; i++) expect((await route(a.key, { env })).status).toBe(200);
    for (let i = 0; i < 3; i++) expect((await route(a.key, { env })).status).toBe(429);
    const local = await route(a.key); // no binding: only the local bucket, which the refusals did not spend
    expect(local.status).toBe(200);
    expect(local.headers.get('x-ratelimit-remaining-requests')).toBe('2');
  });
});
