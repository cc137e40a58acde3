// The official `openai` client against the router (inside workerd, its fetch pointed at the worker
// through SELF): every error the router answers, and a stream that breaks after it began, must reach
// the caller as an APIError, never as a SyntaxError from a half-parsed event.
import { SELF } from 'cloudflare:test';
import OpenAI, { APIError } from 'openai';
import { beforeAll, describe, expect, it } from 'vitest';
import { seedBundle, seedTenant } from '../support/seed';
import { fakePool } from './support/pools';

const tag = crypto.randomUUID().slice(0, 8);
const messages = [{ role: 'user' as const, content: 'Write a haiku about rain.' }];
let key: string;

function client(apiKey = key): OpenAI {
  return new OpenAI({
    baseURL: 'http://router.test/v1',
    apiKey,
    maxRetries: 0,
    fetch: (url, init) => SELF.fetch(url, init),
  });
}

/** Runs `fn`, which must fail; returns what it threw. */
async function failure(fn: () => Promise<unknown>): Promise<unknown> {
  try {
    await fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected an error');
}

/** Reads a stream to its end; returns the text and what ended it. */
async function drain(
  stream: AsyncIterable<OpenAI.ChatCompletionChunk>,
): Promise<{ text: string; error: unknown }> {
  let text = '';
  try {
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
  } catch (error) {
    return { text, error };
  }
  return { text, error: null };
}

beforeAll(async () => {
  await seedBundle('test-v1');
  const t = await seedTenant('fine');
  key = t.key;
  const pool = (
    name: string,
    members: Record<string, string>,
    provider: 'openai' | 'anthropic' = 'openai',
  ) => fakePool(t.tenantId, name, members, { provider });
  await pool('fine', { 'test-tiny': `ok-sdk-${tag}` });
  await pool('cutline', { 'test-tiny': `cutline-sdk-${tag}` });
  await pool('cuteof', { 'test-tiny': `cuteof-sdk-${tag}` });
  await pool('cutline-anthropic', { 'test-tiny': `cutline-sdk-a-${tag}` }, 'anthropic');
  await pool('error-event', { 'test-tiny': `error-event-leak-sdk-${tag}` });
  await pool('notsse', {
    'test-tiny': `notsse-sdk-${tag}`,
    'test-large': `ok-after-notsse-sdk-${tag}`,
  });
  await pool('limited', { 'test-tiny': `status-429-ra6-sdk-${tag}` });
  await pool('down', {
    'test-tiny': `status-503-sdk-${tag}`,
    'test-large': `leak-502-html-sdk-${tag}`,
  });
  await pool('rejects', { 'test-tiny': `noisy-400-sdk-${tag}` });
  await pool('slow', { 'test-tiny': `hang-sdk-${tag}` });
});

const params = (pool: string) =>
  ({
    model: `router/${pool}`,
    messages,
    router: { preference: 0 },
  }) as OpenAI.ChatCompletionCreateParamsNonStreaming;

describe('streams through the openai client', () => {
  it('reads a complete stream', async () => {
    const out = await drain(
      await client().chat.completions.create({ ...params('fine'), stream: true }),
    );
    expect(out).toEqual({ text: 'Hello from the fake', error: null });
  });

  it.each(['cutline', 'cuteof', 'cutline-anthropic'])(
    'a stream cut mid-line (%s) ends in an APIError after the text that arrived',
    async (pool) => {
      const out = await drain(
        await client().chat.completions.create({ ...params(pool), stream: true }),
      );
      expect(out.text).toBe('Hello');
      expect(out.error).toBeInstanceOf(APIError);
      expect(out.error).not.toBeInstanceOf(SyntaxError);
      expect((out.error as APIError).error).toMatchObject({ type: 'upstream_error' });
    },
  );

  it('an upstream error event mid-stream is an APIError with the cleaned message', async () => {
    const out = await drain(
      await client().chat.completions.create({ ...params('error-event'), stream: true }),
    );
    expect(out.error).toBeInstanceOf(APIError);
    expect((out.error as APIError).message).toContain('upstream: provider overloaded');
  });

  it('a 200 that is no event stream is failed over before the client sees a byte', async () => {
    const out = await drain(
      await client().chat.completions.create({ ...params('notsse'), stream: true }),
    );
    expect(out).toEqual({ text: 'Hello from the fake', error: null });
  });
});

describe('every error the router answers is an APIError', () => {
  it.each<[string, () => Promise<unknown>, number, string | null]>([
    [
      'wrong key',
      () => client('sk-wrong').chat.completions.create(params('fine')),
      401,
      'invalid_api_key',
    ],
    [
      'no messages',
      () => client().chat.completions.create({ ...params('fine'), messages: [] }),
      400,
      null,
    ],
    [
      'unknown model',
      () => client().chat.completions.create({ ...params('fine'), model: `no-such-model-${tag}` }),
      404,
      'model_not_found',
    ],
    [
      'every upstream rate limited',
      () => client().chat.completions.create(params('limited')),
      429,
      'upstream_rate_limited',
    ],
    [
      'every upstream down',
      () => client().chat.completions.create(params('down')),
      502,
      'upstream_unavailable',
    ],
    [
      'upstream rejects the request',
      () => client().chat.completions.create(params('rejects')),
      400,
      'context_length_exceeded',
    ],
    [
      'deadline',
      () =>
        client().chat.completions.create(params('slow'), {
          headers: { 'x-router-timeout-ms': '300' },
        }),
      504,
      'deadline_exceeded',
    ],
    [
      'bad deadline header',
      () =>
        client().chat.completions.create(params('fine'), {
          headers: { 'x-router-timeout-ms': 'soon' },
        }),
      400,
      'invalid_timeout',
    ],
    [
      'streamed, every upstream down',
      () => client().chat.completions.create({ ...params('down'), stream: true }),
      502,
      'upstream_unavailable',
    ],
  ])('%s', async (_, request, status, code) => {
    const err = await failure(request);
    expect(err).toBeInstanceOf(APIError);
    expect((err as APIError).status).toBe(status);
    if (code !== null) expect((err as APIError).code).toBe(code);
  });

  it('keeps the upstream Retry-After on a 429', async () => {
    const err = (await failure(() =>
      client().chat.completions.create(params('limited')),
    )) as APIError;
    expect(err.headers?.get('retry-after')).toBe('6');
  });
});
