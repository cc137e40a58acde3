// Property: /v1/chat/completions and /v1/route answer random and hostile bodies and headers with a
// 4xx in the OpenAI error shape (a valid body with 200), never a 5xx or a stack trace, and the
// service routes normally afterwards.
import fc from 'fast-check';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { call } from '../support/call';
import { headerValue, hostileBody, hostileText, validBody } from '../support/hostile';
import { seedBundle, seedModel, seedPool, seedTenant } from '../support/seed';

const upstream = inject('upstreamUrl');
const paths = ['/v1/chat/completions', '/v1/route'] as const;
let key: string;

const headers = fc.record(
  {
    'x-router-preference': headerValue,
    'x-router-user': headerValue,
    'x-request-id': headerValue,
    'content-type': fc.constantFrom(
      'application/json',
      'text/plain',
      'application/x-www-form-urlencoded',
      '',
    ),
    origin: headerValue,
  },
  { requiredKeys: [] },
);

async function expectClientError(res: Response, what: string): Promise<void> {
  const text = await res.text();
  expect(res.status, `${what} -> ${res.status} ${text.slice(0, 200)}`).toBeGreaterThanOrEqual(400);
  expect(res.status, what).toBeLessThan(500);
  const body = JSON.parse(text) as { error: Record<string, unknown> };
  expect(Object.keys(body.error).sort()).toEqual(['code', 'message', 'param', 'type']);
  expect(typeof body.error.message).toBe('string');
  expect(text).not.toMatch(/\n\s+at |\.ts:\d+/);
  expect(res.headers.get('x-request-id')).toBeTruthy();
}

async function expectHealthy(): Promise<void> {
  for (const path of paths) {
    const res = await call(path, {
      key,
      body: { model: 'router', messages: [{ role: 'user', content: 'Is the service still up?' }] },
    });
    expect(res.status).toBe(200);
    await res.arrayBuffer();
  }
  expect((await call('/healthz')).status).toBe(200);
}

beforeAll(async () => {
  await seedBundle('test-v1');
  let tenantId: string;
  ({ tenantId, key } = await seedTenant('default'));
  const tag = crypto.randomUUID().slice(0, 8);
  const ids = [
    await seedModel({
      name: `pb-tiny-${tag}`,
      bundleModel: 'test-tiny',
      upstreamModel: `pb-tiny-${tag}`,
      inputUsd: 0.05,
      outputUsd: 0.1,
      baseUrl: `${upstream}/v1`,
      tenantId,
    }),
    await seedModel({
      name: `pb-large-${tag}`,
      bundleModel: 'test-large',
      upstreamModel: `pb-large-${tag}`,
      inputUsd: 10,
      outputUsd: 30,
      baseUrl: `${upstream}/v1`,
      tenantId,
    }),
  ];
  await seedPool(tenantId, 'default', 'test-v1', ids);
});

describe.each(paths)('%s with hostile input (fast-check)', (path) => {
  it('a body with one rule broken, with random headers: always a 4xx', async () => {
    await fc.assert(
      fc.asyncProperty(hostileBody, headers, async (body, h) => {
        await expectClientError(
          await call(path, { key, body, headers: h }),
          JSON.stringify(body).slice(0, 120),
        );
      }),
      { numRuns: 120 },
    );
    await expectHealthy();
  });

  it('a text that is not a JSON object: always a 4xx', async () => {
    await fc.assert(
      fc.asyncProperty(hostileText, async (rawBody) => {
        await expectClientError(await call(path, { key, rawBody }), rawBody.slice(0, 120));
      }),
      { numRuns: 100 },
    );
    await expectHealthy();
  });

  it('a valid body with random headers: 200, or a 4xx for a header it cannot take; never a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(validBody, headers, async (body, h) => {
        const res = await call(path, { key, body: { ...body, stream: false }, headers: h });
        if (res.status === 200) {
          await res.arrayBuffer();
          return;
        }
        await expectClientError(res, `${JSON.stringify(h)} ${JSON.stringify(body).slice(0, 100)}`);
      }),
      { numRuns: 60 },
    );
    await expectHealthy();
  });

  it('random JSON of any shape: never a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(fc.jsonValue({ maxDepth: 4 }), async (v) => {
        const res = await call(path, { key, rawBody: JSON.stringify(v) });
        if (res.status === 200) return void (await res.arrayBuffer());
        await expectClientError(res, JSON.stringify(v).slice(0, 120));
      }),
      { numRuns: 100 },
    );
    await expectHealthy();
  });
});
