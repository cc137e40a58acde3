// Every response carries `x-request-id`: routed answers passed through from the upstream, every
// error the error handler writes (400/401/404/413/429/500/503), the not-found handler's and
// /healthz. A caller-sent id in the safe alphabet is kept, anything else replaced.
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { call, callNoWait } from '../support/call';
import { faultyD1 } from '../support/faulty-d1';
import { seedBundle, seedModel, seedPool, seedTenant, testEnv } from '../support/seed';

const upstream = inject('upstreamUrl');
let key: string;
const messages = [{ role: 'user', content: 'hello' }];
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

beforeAll(async () => {
  await seedBundle('test-v1');
  let tenantId: string;
  ({ tenantId, key } = await seedTenant('default'));
  const tag = crypto.randomUUID().slice(0, 8);
  const ids = [
    await seedModel({
      name: `rid-tiny-${tag}`,
      bundleModel: 'test-tiny',
      upstreamModel: `tiny-${tag}`,
      inputUsd: 0.05,
      outputUsd: 0.1,
      baseUrl: `${upstream}/v1`,
      tenantId,
    }),
    await seedModel({
      name: `rid-large-${tag}`,
      bundleModel: 'test-large',
      upstreamModel: `large-${tag}`,
      inputUsd: 10,
      outputUsd: 30,
      baseUrl: `${upstream}/v1`,
      tenantId,
    }),
  ];
  await seedPool(tenantId, 'default', 'test-v1', ids);
});

describe('x-request-id on every response', () => {
  const cases: [string, () => Promise<Response>, number][] = [
    [
      'a routed chat completion (the upstream response passed through)',
      () => call('/v1/chat/completions', { key, body: { model: 'router', messages } }),
      200,
    ],
    // a streamed answer's decision row waits for its last byte, so this one does not wait on waitUntil
    [
      'a streamed chat completion',
      async () =>
        (
          await callNoWait('/v1/chat/completions', {
            key,
            body: { model: 'router', messages, stream: true },
          })
        ).response,
      200,
    ],
    ['/v1/route', () => call('/v1/route', { key, body: { model: 'router', messages } }), 200],
    ['/healthz', () => call('/healthz'), 200],
    ['400 from the body parser', () => call('/v1/route', { key, rawBody: '{' }), 400],
    ['401 from auth', () => call('/v1/route', { body: { model: 'router', messages } }), 401],
    ['404 from the not-found handler', () => call('/nothing-here', { key }), 404],
    [
      '404 from a route',
      () => call('/v1/route', { key, body: { model: 'router/none', messages } }),
      404,
    ],
    [
      '413 from the body limit',
      () =>
        call('/v1/route', {
          key,
          body: { model: 'router', messages },
          env: { MAX_BODY_BYTES: '10' },
        }),
      413,
    ],
  ];
  for (const [what, send, status] of cases) {
    it(what, async () => {
      const res = await send();
      expect(res.status).toBe(status);
      expect(res.headers.get('x-request-id')).toMatch(UUID);
      await res.arrayBuffer();
    });
  }

  it('500 from the error handler (an unexpected error)', async () => {
    const db = faultyD1(testEnv.DB);
    db.fail('something no one expected');
    const { key: fresh } = await seedTenant('default');
    const res = await call('/v1/route', {
      key: fresh,
      body: { model: 'router', messages },
      env: { DB: db.db },
    });
    expect(res.status).toBe(500);
    expect(res.headers.get('x-request-id')).toMatch(UUID);
    expect(await res.json()).toEqual({
      error: {
        message: 'internal error',
        type: 'server_error',
        param: null,
        code: 'internal_error',
      },
    });
  });

  it('keeps a caller id in the safe alphabet and replaces anything else', async () => {
    const kept = await call('/v1/route', {
      key,
      body: { model: 'router', messages },
      headers: { 'x-request-id': 'trace-42_abc=' },
    });
    expect(kept.headers.get('x-request-id')).toBe('trace-42_abc=');
    const replaced = await call('/v1/route', {
      key,
      rawBody: '{',
      headers: { 'x-request-id': 'a b<script>' },
    });
    expect(replaced.headers.get('x-request-id')).toMatch(UUID);
  });
});
