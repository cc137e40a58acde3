// Issue 21, hole 3: the per-isolate embedding cache was shared between tenants and /v1/route
// reports `embedding.cacheHit`, so tenant B could test whether tenant A had sent a prompt. The
// cache is keyed by tenant: B sending A's prompt is a miss; A sending it again is a hit.
import { beforeAll, describe, expect, it } from 'vitest';
import { call } from '../support/call';
import { seedBundle, seedBundleModels, seedPool, seedTenant } from '../support/seed';

let a: { tenantId: string; key: string };
let b: { tenantId: string; key: string };

async function cacheHit(key: string, prompt: string): Promise<boolean> {
  const res = await call('/v1/route', {
    key,
    body: { model: 'router', messages: [{ role: 'user', content: prompt }] },
  });
  expect(res.status).toBe(200);
  return (await res.json<{ embedding: { cacheHit: boolean } }>()).embedding.cacheHit;
}

beforeAll(async () => {
  await seedBundle('test-v1');
  a = await seedTenant('default');
  b = await seedTenant('default');
  for (const t of [a, b])
    await seedPool(
      t.tenantId,
      'default',
      'test-v1',
      Object.values(await seedBundleModels(t.tenantId, 'http://127.0.0.1:9/v1')),
    );
});

describe('embedding cache across tenants', () => {
  it('tenant B cannot learn from cacheHit that tenant A sent a prompt', async () => {
    const secret = `A's confidential merger memo ${crypto.randomUUID()}`;
    expect(await cacheHit(a.key, secret)).toBe(false);
    expect(await cacheHit(a.key, secret)).toBe(true);
    expect(await cacheHit(b.key, secret)).toBe(false);
    expect(await cacheHit(b.key, secret)).toBe(true);
  });
});
