// Issue 21, hole 2 (cap): one admin request could make the worker call the model's upstream 200
// times (`run.n` up to MAX_QUIZ). A worker-run quiz now makes at most MAX_QUIZ_CALLS (50) calls.
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { call } from '../support/call';
import { seedBundle, seedModel, seedTenant, testEnv } from '../support/seed';

const upstream = inject('upstreamUrl');
const tag = crypto.randomUUID().slice(0, 8);
let tenant: { tenantId: string; key: string };
let id = '';

/** A bank of 120 gradable items the loopback upstream answers right ("Hello"). */
function bank(): Record<string, unknown> {
  const items = Array.from({ length: 120 }, (_, i) => ({
    id: `c${i}`,
    a: Array.from({ length: 8 }, (__, k) => Math.sin(i * 8 + k)),
    c: Math.cos(i) / 2,
    prompt: `question ${i}`,
    reference: 'Hello',
  }));
  return { format: 1, name: 'capbank', bundle_version: 'test-v1', identity_dim: 8, items };
}

async function calls(model: string): Promise<number> {
  return (
    (await (
      await fetch(`${upstream}/__requests?model=${encodeURIComponent(model)}`)
    ).json()) as unknown[]
  ).length;
}

beforeAll(async () => {
  await seedBundle('test-v1');
  await testEnv.ASSETS.put('banks/test-v1/capbank.json', JSON.stringify(bank()));
  tenant = await seedTenant(null);
  id = await seedModel({
    name: 'cap-model',
    upstreamModel: `cap-${tag}`,
    inputUsd: 1,
    outputUsd: 1,
    baseUrl: `${upstream}/v1`,
    tenantId: tenant.tenantId,
  });
});

describe('quiz run cap', () => {
  it('refuses run.n = 51 (400, param run.n) without calling the model', async () => {
    for (const method of ['i-optimal', 'adaptive']) {
      const res = await call(`/admin/models/${id}/quiz`, {
        key: tenant.key,
        body: { bank: 'capbank', run: { n: 51, method } },
      });
      expect(res.status).toBe(400);
      expect((await res.json<{ error: { param: string } }>()).error.param).toBe('run.n');
    }
    expect(await calls(`cap-${tag}`)).toBe(0);
  });

  it('n = 50 runs, with exactly 50 calls; selecting 200 items without calling anyone still works', async () => {
    const res = await call(`/admin/models/${id}/quiz`, {
      key: tenant.key,
      body: { bank: 'capbank', run: { n: 50 } },
    });
    expect(res.status).toBe(200);
    expect(await calls(`cap-${tag}`)).toBe(50);
    const quiz = await call(`/admin/models/${id}/quiz?n=100&bank=capbank`, { key: tenant.key });
    expect(quiz.status).toBe(200);
  });
});
