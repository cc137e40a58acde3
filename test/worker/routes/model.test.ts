// GET /v1/models/{id}: one entry of /v1/models, for the tenant's own names only; a 404 in OpenAI's
// shape otherwise (the official openai client raises NotFoundError), another tenant's model included.
import { SELF } from 'cloudflare:test';
import OpenAI, { NotFoundError } from 'openai';
import { beforeAll, describe, expect, it } from 'vitest';
import { call } from '../support/call';
import { seedModel, seedPool, seedTenant } from '../support/seed';

const tag = crypto.randomUUID().slice(0, 8);
let key: string;
let otherKey: string;
const own = `own-model-${tag}`;
const theirs = `their-model-${tag}`;

beforeAll(async () => {
  const t = await seedTenant(`pool-${tag}`);
  key = t.key;
  const m = await seedModel({ name: own, inputUsd: 1, outputUsd: 2, tenantId: t.tenantId });
  await seedPool(t.tenantId, `pool-${tag}`, 'test-v1', [m]);
  const other = await seedTenant(null);
  otherKey = other.key;
  await seedModel({ name: theirs, inputUsd: 1, outputUsd: 2, tenantId: other.tenantId });
});

describe('GET /v1/models/{id}', () => {
  it.each([
    ['router', { id: 'router', owned_by: 'router', pool: `pool-${tag}` }],
    [`router/pool-${tag}`, { id: `router/pool-${tag}`, owned_by: 'router', pool: `pool-${tag}` }],
    [`router%2Fpool-${tag}`, { id: `router/pool-${tag}`, owned_by: 'router', pool: `pool-${tag}` }],
    [own, { id: own, owned_by: 'openai' }],
  ])('answers the entry of %s', async (path, entry) => {
    const res = await call(`/v1/models/${path}`, { key });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ object: 'model', created: 0, ...entry });
  });

  it('is the same entry /v1/models lists', async () => {
    const list = await (await call('/v1/models', { key })).json<{ data: { id: string }[] }>();
    for (const entry of list.data) {
      const res = await call(`/v1/models/${encodeURIComponent(entry.id)}`, { key });
      expect(await res.json()).toEqual(entry);
    }
  });

  it.each([
    ['an unknown name', `no-such-${tag}`, () => key],
    ["another tenant's model", theirs, () => key],
    ['"router" without a default pool', 'router', () => otherKey],
    ['an unknown pool', `router/nope-${tag}`, () => key],
  ])('answers 404 model_not_found for %s', async (_, id, keyOf) => {
    const res = await call(`/v1/models/${encodeURIComponent(id)}`, { key: keyOf() });
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({
      error: {
        message: `model ${JSON.stringify(id)} does not exist`,
        type: 'invalid_request_error',
        param: 'model',
        code: 'model_not_found',
      },
    });
  });

  it('needs a key', async () => {
    expect((await call(`/v1/models/${own}`)).status).toBe(401);
  });

  it('works with client.models.retrieve', async () => {
    const client = new OpenAI({
      baseURL: 'http://router.test/v1',
      apiKey: key,
      maxRetries: 0,
      fetch: (url, init) => SELF.fetch(url, init),
    });
    expect(await client.models.retrieve(`router/pool-${tag}`)).toMatchObject({
      id: `router/pool-${tag}`,
      object: 'model',
    });
    await expect(client.models.retrieve(theirs)).rejects.toBeInstanceOf(NotFoundError);
  });
});
