// Property-based tests (fast-check) of the experiment endpoints with random and hostile bodies and
// path parameters: never a 5xx or a stack trace, a 4xx always in the error shape, nothing stored
// by a refused creation, and the endpoints still answer normally after.
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { call } from '../support/call';
import { seedPool, seedTenant, testEnv } from '../support/seed';

const RUNS = 60;
let key: string;
let tenantId: string;
let expId: string;

function expectErrorShape(text: string): void {
  const body = JSON.parse(text) as { error?: Record<string, unknown> };
  expect(Object.keys(body)).toEqual(['error']);
  expect(typeof body.error!.message).toBe('string');
  expect(text).not.toMatch(/\n\s+at |\.ts:\d+|\.js:\d+/);
}

async function expectNoServerError(res: Response): Promise<number> {
  const text = await res.text();
  expect(res.status, text).toBeLessThan(500);
  if (res.status >= 400) expectErrorShape(text);
  return res.status;
}

async function experimentCount(): Promise<number> {
  return (await testEnv.DB.prepare('SELECT count(*) AS n FROM experiments WHERE tenant_id = ?1')
    .bind(tenantId)
    .first<{ n: number }>())!.n;
}

const junk = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.double(),
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
  fc.constantFrom(1e308, -0, 'NaN', 'Infinity', '__proto__', 'a'.repeat(300), '../../x', 'ö\u0000'),
);
const armArb = fc.record(
  {
    name: fc.oneof(fc.constantFrom('a', 'b', 'control'), junk),
    weight: fc.oneof(fc.double({ min: -2, max: 2 }), junk),
    preference: fc.oneof(fc.constantFrom('cheap', 0.3, 'frugal', 2), junk),
    pool: fc.oneof(fc.constantFrom('fz', 'nope'), junk),
    model: fc.oneof(fc.constantFrom('test-tiny', 'nope'), junk),
    bundle_version: fc.oneof(fc.constantFrom('test-v1', 'nope', '../x'), junk),
    control: fc.oneof(fc.boolean(), junk),
    extra: junk,
  },
  { requiredKeys: [] },
);
const bodyArb = fc.oneof(
  fc.record(
    {
      pool: fc.oneof(fc.constantFrom('fz', 'nope'), junk),
      name: fc.oneof(fc.constant('n'), junk),
      arms: fc.oneof(fc.array(armArb, { maxLength: 20 }), junk),
    },
    { requiredKeys: [] },
  ),
  fc.jsonValue(),
);

beforeAll(async () => {
  ({ tenantId, key } = await seedTenant('fz'));
  await seedPool(tenantId, 'fz', 'test-v1', []);
  const res = await call('/admin/experiments', {
    key,
    body: {
      pool: 'fz',
      name: 'kept',
      arms: [
        { name: 'a', weight: 1 },
        { name: 'b', weight: 1 },
      ],
    },
  });
  expect(res.status).toBe(201);
  expId = (await res.json<{ id: string }>()).id;
});

describe('experiment endpoints under random and hostile input', () => {
  it('POST /admin/experiments: never a 5xx; a refused body stores nothing', async () => {
    await fc.assert(
      fc.asyncProperty(bodyArb, async (body) => {
        const before = await experimentCount();
        const status = await expectNoServerError(await call('/admin/experiments', { key, body }));
        // the pool `fz` already runs `kept`, so nothing here can be created
        expect(status).toBeGreaterThanOrEqual(400);
        expect(await experimentCount()).toBe(before);
      }),
      { numRuns: RUNS },
    );
  });

  it('PATCH weights and random ids on every endpoint: never a 5xx; the experiment keeps valid weights', async () => {
    const patchArb = fc.oneof(
      fc.record({ weights: fc.dictionary(fc.constantFrom('a', 'b', 'c', '__proto__'), junk) }),
      fc.jsonValue(),
    );
    await fc.assert(
      fc.asyncProperty(patchArb, async (body) => {
        await expectNoServerError(
          await call(`/admin/experiments/${expId}`, { key, method: 'PATCH', body }),
        );
      }),
      { numRuns: RUNS },
    );
    const idArb = fc.string({ maxLength: 80 }).map(encodeURIComponent);
    await fc.assert(
      fc.asyncProperty(idArb, async (id) => {
        for (const path of [`/admin/experiments/${id}`, `/admin/experiments/${id}/report`])
          await expectNoServerError(await call(path, { key }));
      }),
      { numRuns: RUNS },
    );
    const shown = await call(`/admin/experiments/${expId}`, { key });
    expect(shown.status).toBe(200);
    const { arms } = await shown.json<{ arms: { name: string; weight: number }[] }>();
    expect(arms.map((a) => a.name)).toEqual(['a', 'b']);
    for (const a of arms) expect(a.weight).toBeGreaterThan(0);
    expect((await call(`/admin/experiments/${expId}/report`, { key })).status).toBe(200);
  });
});
