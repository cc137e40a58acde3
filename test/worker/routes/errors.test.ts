// Every bad input gets an OpenAI-style JSON error with the right status, never a 500.
import { beforeAll, describe, expect, it } from 'vitest';
import { call, type CallOptions } from '../support/call';
import { seedBundle, seedBundleModels, seedPool, seedTenant, testEnv } from '../support/seed';

let key: string;
let tenantId: string;
const messages = [{ role: 'user', content: 'hello' }];

beforeAll(async () => {
  await seedBundle('test-v1');
  ({ tenantId, key } = await seedTenant('default'));
  const ids = Object.values(await seedBundleModels(tenantId, 'http://127.0.0.1:9/v1'));
  await seedPool(tenantId, 'default', 'test-v1', ids);
  await seedPool(tenantId, 'vectors-only', 'test-v1', ids, { embeddingProvider: 'precomputed' });
  await seedPool(tenantId, 'no-bundle', 'absent-v0', ids);
  await seedPool(tenantId, 'empty', 'test-v1', []);
});

async function expectError(
  path: string,
  opts: CallOptions,
  status: number,
  code: string | null,
  param?: string,
): Promise<void> {
  const res = await call(path, opts);
  expect(res.status, `${path} ${JSON.stringify(opts.body ?? opts.rawBody)?.slice(0, 80)}`).toBe(
    status,
  );
  expect(res.headers.get('content-type')).toContain('application/json');
  const body = await res.json<{ error: Record<string, unknown> }>();
  expect(Object.keys(body.error).sort()).toEqual(['code', 'message', 'param', 'type']);
  expect(typeof body.error.message).toBe('string');
  if (code !== null) expect(body.error.code).toBe(code);
  if (param !== undefined) expect(body.error.param).toBe(param);
}

describe('bad input', () => {
  for (const path of ['/v1/chat/completions', '/v1/route']) {
    describe(path, () => {
      it('malformed JSON', () =>
        expectError(
          path,
          { key, rawBody: '{"model": "router", "messages": [' },
          400,
          'invalid_json',
        ));
      it('a body that is not an object', () =>
        expectError(path, { key, rawBody: '[1,2]' }, 400, 'invalid_body'));
      it('no messages', () =>
        expectError(path, { key, body: { model: 'router' } }, 400, 'invalid_messages', 'messages'));
      it('empty messages', () =>
        expectError(
          path,
          { key, body: { model: 'router', messages: [] } },
          400,
          'invalid_messages',
          'messages',
        ));
      it('a message with a bad role', () =>
        expectError(
          path,
          { key, body: { model: 'router', messages: [{ role: 'robot', content: 'x' }] } },
          400,
          'invalid_body',
          'messages.0.role',
        ));
      it('unknown pool', () =>
        expectError(
          path,
          { key, body: { model: 'router/nope', messages } },
          404,
          'model_not_found',
          'model',
        ));
      it('preference above 1 in the body', () =>
        expectError(
          path,
          { key, body: { model: 'router', messages, router: { preference: 1.5 } } },
          400,
          'preference_out_of_range',
          'router.preference',
        ));
      it('negative preference in the header', () =>
        expectError(
          path,
          { key, body: { model: 'router', messages }, headers: { 'x-router-preference': '-0.1' } },
          400,
          'preference_out_of_range',
          'x-router-preference',
        ));
      it('unknown preset', () =>
        expectError(
          path,
          { key, body: { model: 'router', messages }, headers: { 'x-router-preference': 'fast' } },
          400,
          'invalid_preference',
          'x-router-preference',
        ));
      it('unknown router option', () =>
        expectError(
          path,
          { key, body: { model: 'router', messages, router: { pool: 'x' } } },
          400,
          'invalid_body',
          'router',
        ));
      it('embedding in the wrong space', () =>
        expectError(
          path,
          {
            key,
            body: {
              model: 'router',
              messages,
              router: { embedding: { space: 'other', vector: new Array(64).fill(0.1) } },
            },
          },
          400,
          'embedding_space_mismatch',
          'router.embedding.space',
        ));
      it('embedding of the wrong dimension', () =>
        expectError(
          path,
          {
            key,
            body: {
              model: 'router',
              messages,
              router: { embedding: { space: 'router-test-v1', vector: [0.1, 0.2] } },
            },
          },
          400,
          'embedding_dim_mismatch',
          'router.embedding.vector',
        ));
      it('a precomputed-only pool without an embedding', () =>
        expectError(
          path,
          { key, body: { model: 'router/vectors-only', messages } },
          400,
          'embedding_required',
          'router.embedding',
        ));
      it('body over the size limit', () =>
        expectError(
          path,
          {
            key,
            body: { model: 'router', messages: [{ role: 'user', content: 'x'.repeat(5000) }] },
            env: { MAX_BODY_BYTES: '1000' },
          },
          413,
          'body_too_large',
        ));
      it('no API key', () =>
        expectError(path, { body: { model: 'router', messages } }, 401, 'missing_api_key'));
      it('wrong API key', () =>
        expectError(
          path,
          { key: 'sk-wrong', body: { model: 'router', messages } },
          401,
          'invalid_api_key',
        ));
      it('a pool whose bundle is missing from R2', () =>
        expectError(
          path,
          { key, body: { model: 'router/no-bundle', messages } },
          503,
          'bundle_unavailable',
        ));
      it('a pool without members', () =>
        expectError(
          path,
          { key, body: { model: 'router/empty', messages } },
          503,
          'no_routable_candidates',
        ));
    });
  }

  it('unknown concrete model', () =>
    expectError(
      '/v1/chat/completions',
      { key, body: { model: 'gpt-9', messages } },
      404,
      'model_not_found',
      'model',
    ));
  it('a concrete model name on /v1/route', () =>
    expectError(
      '/v1/route',
      { key, body: { model: 'test-large', messages } },
      400,
      'model_not_found',
      'model',
    ));
  it('unknown route', () => expectError('/v1/nothing', { key }, 404, 'unknown_route'));

  it('a revoked key', async () => {
    const { key: k2 } = await seedTenant('default');
    const hash = [
      ...new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(k2))),
    ]
      .map((b) => b.toString(16).padStart(2, '0'))
      .join('');
    await testEnv.DB.prepare("UPDATE api_keys SET revoked_at = '2026-01-01' WHERE key_hash = ?1")
      .bind(hash)
      .run();
    // Key lookups are cached for a few seconds per isolate, so use a key never seen before.
    await expectError(
      '/v1/route',
      { key: k2, body: { model: 'router', messages } },
      401,
      'invalid_api_key',
    );
  });

  it('a tenant without a default pool asking for "router"', async () => {
    const { key: k3 } = await seedTenant(null);
    await expectError(
      '/v1/route',
      { key: k3, body: { model: 'router', messages } },
      400,
      'no_default_pool',
      'model',
    );
  });
});
