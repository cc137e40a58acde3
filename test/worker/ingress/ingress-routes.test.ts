// /v1/responses and /v1/messages through the worker's fetch: where the key may come from, the error
// shape each route answers with (OpenAI's; Anthropic's on /v1/messages, for every error the worker
// can raise before or after the body is read), and the token limit, which must count these
// requests as it counts chat completions (a tenant must not spend past its tpm_limit through them).
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { call } from '../support/call';
import { seedBundle, seedModel, seedPool, seedTenant, testEnv } from '../support/seed';

const upstream = inject('upstreamUrl');
const question = 'Name three prime numbers.'; // 25 characters: 7 prompt tokens
const messagesBody = {
  model: 'router',
  max_tokens: 40,
  messages: [{ role: 'user', content: question }],
};
const responsesBody = { model: 'router', input: question, max_output_tokens: 40 };

/** A tenant with a one-model pool on the loopback stand-in, and an optional tokens-per-minute limit. */
async function tenant(tpm: number | null = null): Promise<{ key: string; upstreamModel: string }> {
  const t = await seedTenant('default');
  const upstreamModel = `ingress-${crypto.randomUUID().slice(0, 8)}`;
  const id = await seedModel({
    name: upstreamModel,
    bundleModel: 'test-tiny',
    upstreamModel,
    inputUsd: 0.05,
    outputUsd: 0.1,
    baseUrl: `${upstream}/v1`,
    tenantId: t.tenantId,
  });
  await seedPool(t.tenantId, 'default', 'test-v1', [id]);
  await testEnv.DB.prepare('UPDATE tenants SET tpm_limit = ?2 WHERE id = ?1')
    .bind(t.tenantId, tpm)
    .run();
  return { key: t.key, upstreamModel };
}

async function upstreamCalls(model: string): Promise<number> {
  const res = await fetch(`${upstream}/__requests?model=${encodeURIComponent(model)}`);
  return ((await res.json()) as unknown[]).length;
}

/** An Anthropic-shaped error answer of `status` and `type`; returns its message. */
async function expectAnthropicError(res: Response, status: number, type: string): Promise<string> {
  expect(res.status).toBe(status);
  expect(res.headers.get('x-request-id')).toBeTruthy();
  const body = await res.json<{ type: string; error: { type: string; message: string } }>();
  expect(body).toEqual({
    type: 'error',
    error: { type, message: expect.any(String) },
    request_id: res.headers.get('x-request-id'),
  });
  return body.error.message;
}

let key: string;

beforeAll(async () => {
  await seedBundle('test-v1');
  ({ key } = await tenant());
});

describe('the key', () => {
  it('/v1/messages takes it as x-api-key, as Anthropic clients send it', async () => {
    const res = await call('/v1/messages', { body: messagesBody, headers: { 'x-api-key': key } });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ type: 'message', role: 'assistant' });
  });

  it('a bearer key wins over x-api-key', async () => {
    const res = await call('/v1/messages', {
      key,
      body: messagesBody,
      headers: { 'x-api-key': 'sk-not-this-one' },
    });
    expect(res.status).toBe(200);
  });

  it.each(['/v1/chat/completions', '/v1/responses'])(
    '%s does not take x-api-key (only /v1/messages does)',
    async (path) => {
      const body =
        path === '/v1/responses'
          ? responsesBody
          : { model: 'router', messages: [{ role: 'user', content: question }] };
      const res = await call(path, { body, headers: { 'x-api-key': key } });
      expect(res.status).toBe(401);
      expect((await res.json<{ error: { code: string } }>()).error.code).toBe('missing_api_key');
    },
  );
});

describe("the router's own options", () => {
  it.each([
    ['/v1/messages', messagesBody],
    ['/v1/responses', responsesBody],
  ])(
    '%s takes the preference from the body `router` object and from the header',
    async (path, body) => {
      const fromBody = await call(path, {
        key,
        body: { ...body, router: { preference: 'cheap' } },
      });
      expect(fromBody.status).toBe(200);
      expect(fromBody.headers.get('x-router-preference')).toBe('0');
      const fromHeader = await call(path, {
        key,
        body,
        headers: { 'x-router-preference': 'quality' },
      });
      expect(fromHeader.headers.get('x-router-preference')).toBe('1');
      const bad = await call(path, { key, body, headers: { 'x-router-preference': '7' } });
      expect(bad.status).toBe(400);
    },
  );

  it.each([
    ['/v1/messages', messagesBody],
    ['/v1/responses', responsesBody],
  ])('%s calls a concrete model by name, unrouted', async (path, body) => {
    const t = await tenant();
    const res = await call(path, { key: t.key, body: { ...body, model: t.upstreamModel } });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-router-pool')).toBe('none');
    expect(res.headers.get('x-router-model')).toBe(t.upstreamModel);
  });
});

describe('the error shape of /v1/messages is Anthropic’s, for every error', () => {
  it('no key: 401 authentication_error', async () => {
    const res = await call('/v1/messages', { body: messagesBody });
    expect(await expectAnthropicError(res, 401, 'authentication_error')).toContain('x-api-key');
  });

  it('a body that is not JSON: 400 invalid_request_error', async () => {
    const res = await call('/v1/messages', { key, rawBody: '{"model": ' });
    await expectAnthropicError(res, 400, 'invalid_request_error');
  });

  it('a body over MAX_BODY_BYTES: 413 request_too_large', async () => {
    const res = await call('/v1/messages', {
      key,
      body: messagesBody,
      env: { MAX_BODY_BYTES: '64' },
    });
    await expectAnthropicError(res, 413, 'request_too_large');
  });

  it('an unknown pool: 404 not_found_error', async () => {
    const res = await call('/v1/messages', {
      key,
      body: { ...messagesBody, model: 'router/nowhere' },
    });
    await expectAnthropicError(res, 404, 'not_found_error');
  });

  it('a method the route does not take: 404 not_found_error', async () => {
    const res = await call('/v1/messages', { key });
    await expectAnthropicError(res, 404, 'not_found_error');
  });

  it('/v1/responses keeps OpenAI’s shape', async () => {
    const res = await call('/v1/responses', { key, rawBody: '{"model": ' });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      error: {
        message: 'request body is not valid JSON',
        type: 'invalid_request_error',
        param: null,
        code: 'invalid_json',
      },
    });
  });
});

describe('the token limit counts /v1/responses and /v1/messages', () => {
  it.each([
    ['/v1/messages', messagesBody],
    ['/v1/responses', responsesBody],
  ])('%s spends prompt + max tokens from the bucket', async (path, body) => {
    const t = await tenant(100);
    const res = await call(path, { key: t.key, body });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-ratelimit-limit-tokens')).toBe('100');
    expect(res.headers.get('x-ratelimit-remaining-tokens')).toBe(String(100 - 7 - 40));
  });

  it.each([
    ['/v1/messages', { ...messagesBody, max_tokens: 500 }],
    ['/v1/responses', { ...responsesBody, max_output_tokens: 500 }],
  ])(
    '%s asking for more than the whole limit is refused before any upstream call',
    async (path, body) => {
      const t = await tenant(100);
      const res = await call(path, { key: t.key, body });
      expect(res.status).toBe(429);
      expect(res.headers.get('x-ratelimit-limit-tokens')).toBe('100');
      if (path === '/v1/messages') await expectAnthropicError(res, 429, 'rate_limit_error');
      else
        expect((await res.json<{ error: { code: string } }>()).error.code).toBe(
          'request_too_large',
        );
      expect(await upstreamCalls(t.upstreamModel)).toBe(0);
    },
  );

  it('a tenant cannot spend past its limit by switching APIs', async () => {
    const t = await tenant(100);
    expect((await call('/v1/messages', { key: t.key, body: messagesBody })).status).toBe(200); // 47
    expect((await call('/v1/responses', { key: t.key, body: responsesBody })).status).toBe(200); // 94
    const third = await call('/v1/chat/completions', {
      key: t.key,
      body: { model: 'router', max_tokens: 40, messages: [{ role: 'user', content: question }] },
    });
    expect(third.status).toBe(429);
    expect(Number(third.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  });
});
