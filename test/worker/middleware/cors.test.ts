// CORS is off by default and per tenant when on: only the origins a tenant lists get
// Access-Control-* headers, on that tenant's answers only; a preflight (no key) gets a 204 with the
// allowed methods and headers when some tenant allows the origin, else a 403 without them.
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { call } from '../support/call';
import { seedBundle, seedModel, seedPool, seedTenant, testEnv } from '../support/seed';

const upstream = inject('upstreamUrl');
const messages = [{ role: 'user', content: 'hello' }];
const tag = crypto.randomUUID().slice(0, 8);
const allowedOrigin = `https://app-${tag}.example`;
const otherOrigin = `https://evil-${tag}.example`;

async function tenant(origins: string[] | null, rpm: number | null = null): Promise<string> {
  const { tenantId, key } = await seedTenant('default');
  const mid = await seedModel({
    name: `cors-${crypto.randomUUID().slice(0, 8)}`,
    bundleModel: 'test-tiny',
    upstreamModel: `cors-tiny-${tag}`,
    inputUsd: 0.05,
    outputUsd: 0.1,
    baseUrl: `${upstream}/v1`,
    tenantId,
  });
  await seedPool(tenantId, 'default', 'test-v1', [mid]);
  await testEnv.DB.prepare('UPDATE tenants SET cors_origins = ?2, rpm_limit = ?3 WHERE id = ?1')
    .bind(tenantId, origins === null ? null : JSON.stringify(origins), rpm)
    .run();
  return key;
}

const corsHeaders = (res: Response) =>
  [...res.headers.keys()].filter((h) => h.startsWith('access-control-'));

let plainKey: string;
let corsKey: string;

/** The origin list is cached a minute per isolate: tests move a fake clock past it, never back. */
let clock = Date.now();
function advance(ms: number): void {
  clock += ms;
  vi.setSystemTime(clock);
}

beforeAll(async () => {
  await seedBundle('test-v1');
  plainKey = await tenant(null);
  corsKey = await tenant([allowedOrigin]);
  vi.useFakeTimers({ toFake: ['Date'] });
  advance(61_000); // past the origin list any earlier test file in this runtime cached
});

afterAll(() => {
  vi.useRealTimers();
});

describe('CORS on actual requests', () => {
  it('is off by default: no Access-Control-* header, whatever the origin', async () => {
    for (const origin of [allowedOrigin, otherOrigin]) {
      const res = await call('/v1/route', {
        key: plainKey,
        body: { model: 'router', messages },
        headers: { origin },
      });
      expect(res.status).toBe(200);
      expect(corsHeaders(res)).toEqual([]);
    }
  });

  it('answers an origin the tenant lists, exposing the router headers; not another origin', async () => {
    const res = await call('/v1/route', {
      key: corsKey,
      body: { model: 'router', messages },
      headers: { origin: allowedOrigin },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBe(allowedOrigin);
    expect(res.headers.get('vary')).toMatch(/origin/i);
    const exposed = res.headers.get('access-control-expose-headers')!.split(',');
    expect(exposed).toEqual(
      expect.arrayContaining([
        'x-request-id',
        'x-router-model',
        'x-router-cost-usd',
        'retry-after',
        'x-ratelimit-remaining-requests',
        'x-router-explored',
        'x-router-propensity',
      ]),
    );
    const other = await call('/v1/route', {
      key: corsKey,
      body: { model: 'router', messages },
      headers: { origin: otherOrigin },
    });
    expect(corsHeaders(other)).toEqual([]);
  });

  it("another tenant's key from that origin gets no CORS header", async () => {
    const res = await call('/v1/route', {
      key: plainKey,
      body: { model: 'router', messages },
      headers: { origin: allowedOrigin },
    });
    expect(corsHeaders(res)).toEqual([]);
  });

  it('a passed-through chat completion and an error answer carry it too', async () => {
    const chat = await call('/v1/chat/completions', {
      key: corsKey,
      body: { model: 'router', messages },
      headers: { origin: allowedOrigin },
    });
    expect(chat.status).toBe(200);
    expect(chat.headers.get('access-control-allow-origin')).toBe(allowedOrigin);
    const bad = await call('/v1/route', {
      key: corsKey,
      rawBody: '{',
      headers: { origin: allowedOrigin },
    });
    expect(bad.status).toBe(400);
    expect(bad.headers.get('access-control-allow-origin')).toBe(allowedOrigin);
  });

  it('a 429 carries it, so the page can read Retry-After', async () => {
    const key = await tenant([allowedOrigin], 1);
    await call('/v1/route', {
      key,
      body: { model: 'router', messages },
      headers: { origin: allowedOrigin },
    });
    const res = await call('/v1/route', {
      key,
      body: { model: 'router', messages },
      headers: { origin: allowedOrigin },
    });
    expect(res.status).toBe(429);
    expect(res.headers.get('access-control-allow-origin')).toBe(allowedOrigin);
    expect(res.headers.get('retry-after')).toBeTruthy();
  });
});

describe('CORS preflight (no key)', () => {
  const preflight = (path: string, origin?: string) =>
    call(path, {
      method: 'OPTIONS',
      headers: {
        ...(origin ? { origin } : {}),
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization, content-type',
      },
    });

  it('204 with methods, headers and max-age for an origin some tenant allows', async () => {
    for (const path of ['/v1/chat/completions', '/v1/route', '/admin/models']) {
      const res = await preflight(path, allowedOrigin);
      expect(res.status).toBe(204);
      expect(res.headers.get('access-control-allow-origin')).toBe(allowedOrigin);
      expect(res.headers.get('access-control-allow-methods')!.split(',')).toEqual(
        expect.arrayContaining(['POST', 'GET']),
      );
      expect(res.headers.get('access-control-allow-headers')!.split(',')).toEqual(
        expect.arrayContaining(['authorization', 'content-type']),
      );
      expect(res.headers.get('access-control-max-age')).toBe('600');
      expect(res.headers.get('x-request-id')).toBeTruthy();
    }
  });

  it('403 without allow headers for an origin no tenant allows, and without an Origin', async () => {
    for (const origin of [otherOrigin, undefined]) {
      const res = await preflight('/v1/chat/completions', origin);
      expect(res.status).toBe(403);
      expect(corsHeaders(res)).toEqual([]);
      expect((await res.json<{ error: { code: string } }>()).error.code).toBe('origin_not_allowed');
    }
  });

  it('an origin a tenant adds is answered within a minute', async () => {
    const late = `https://late-${tag}.example`;
    expect((await preflight('/v1/route', late)).status).toBe(403);
    await tenant([late]);
    expect((await preflight('/v1/route', late)).status).toBe(403); // the cached list
    advance(61_000);
    expect((await preflight('/v1/route', late)).status).toBe(204);
  });
});

// Last: once a tenant allows `*`, every origin passes the preflight (its actual request is still
// checked against its own tenant).
describe('CORS with `*`', () => {
  it('allows any origin (echoed back), in the preflight too; other tenants stay closed', async () => {
    const key = await tenant(['*']);
    const res = await call('/v1/route', {
      key,
      body: { model: 'router', messages },
      headers: { origin: otherOrigin },
    });
    expect(res.headers.get('access-control-allow-origin')).toBe(otherOrigin);
    advance(61_000);
    const pre = await call('/v1/route', {
      method: 'OPTIONS',
      headers: { origin: otherOrigin, 'access-control-request-method': 'POST' },
    });
    expect(pre.status).toBe(204);
    const closed = await call('/v1/route', {
      key: plainKey,
      body: { model: 'router', messages },
      headers: { origin: otherOrigin },
    });
    expect(corsHeaders(closed)).toEqual([]);
  });
});
