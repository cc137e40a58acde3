// The Vercel AI SDK's default OpenAI provider model (`createOpenAI(...)('router')`), which speaks
// the Responses API, against the worker inside workerd (fetch through SELF), routed to the loopback
// provider fakes: generateText, streamText, a multi-step tool loop, the decision headers and row,
// and the errors the SDK raises (as APICallError, streamed and not).
import { SELF } from 'cloudflare:test';
import { createOpenAI } from '@ai-sdk/openai';
import { APICallError, generateText, jsonSchema, stepCountIs, streamText, tool } from 'ai';
import { beforeAll, describe, expect, it } from 'vitest';
import { seedBundle, seedTenant } from '../support/seed';
import { received } from '../upstream/support/helpers';
import { fakePool, waitForDecision } from '../upstream/support/pools';

const tag = crypto.randomUUID().slice(0, 8);
let provider: ReturnType<typeof createOpenAI>;
let stranger: ReturnType<typeof createOpenAI>;

const weather = tool({
  description: 'Weather in a city',
  inputSchema: jsonSchema<{ city: string }>({
    type: 'object',
    properties: { city: { type: 'string' } },
    required: ['city'],
  }),
  execute: async ({ city }) => `18°C and sunny in ${city}`,
});

beforeAll(async () => {
  await seedBundle('test-v1');
  const t = await seedTenant('ai-fine');
  provider = createOpenAI({
    baseURL: 'http://router.test/v1',
    apiKey: t.key,
    fetch: (url, init) => SELF.fetch(url, init),
  });
  stranger = createOpenAI({
    baseURL: 'http://router.test/v1',
    apiKey: 'sk-not-a-key',
    fetch: (url, init) => SELF.fetch(url, init),
  });
  await fakePool(t.tenantId, 'ai-fine', { 'test-tiny': `ok-ai-${tag}` });
  await fakePool(t.tenantId, 'ai-tools', { 'test-tiny': `tool-ai-${tag}` });
  await fakePool(
    t.tenantId,
    'ai-claude',
    { 'test-tiny': `tool-ai-claude-${tag}` },
    {
      provider: 'anthropic',
    },
  );
  await fakePool(t.tenantId, 'ai-cut', { 'test-tiny': `cutline-ai-${tag}` });
  await fakePool(t.tenantId, 'ai-down', { 'test-tiny': `status-503-ai-${tag}` });
});

describe('the AI SDK default provider model (Responses API)', () => {
  it('generateText through the default pool ("router")', async () => {
    const result = await generateText({
      model: provider('router'),
      prompt: 'Write a haiku about rain.',
      maxRetries: 0,
      headers: { 'x-router-preference': 'cheap' },
    });
    expect(result.text).toBe('Hello from the fake');
    expect(result.finishReason).toBe('stop');
    expect(result.usage).toMatchObject({ inputTokens: 7, outputTokens: 4, totalTokens: 11 });
    const headers = result.response.headers!;
    expect(headers['x-router-pool']).toBe('ai-fine');
    expect(headers['x-router-model']).toBe('ai-fine-test-tiny');
    expect(headers['x-router-preference']).toBe('0');
    const row = await waitForDecision(headers['x-router-decision-id'] ?? null);
    expect(row).toMatchObject({ status: 'ok', model: 'ai-fine-test-tiny' });
  });

  it('streamText', async () => {
    const result = streamText({ model: provider('router/ai-fine'), prompt: 'Hi', maxRetries: 0 });
    let text = '';
    for await (const piece of result.textStream) text += piece;
    expect(text).toBe('Hello from the fake');
    expect(await result.finishReason).toBe('stop');
    expect(await result.usage).toMatchObject({ inputTokens: 7, outputTokens: 4 });
    const headers = (await result.response).headers!;
    expect(headers['x-router-model']).toBe('ai-fine-test-tiny');
    const row = await waitForDecision(headers['x-router-decision-id'] ?? null);
    expect(row.status).toBe('ok');
  });

  it.each([
    ['generateText', false],
    ['streamText', true],
  ])('runs a tool loop with %s', async (_, streamed) => {
    const options = {
      model: provider('router/ai-tools'),
      prompt: 'What is the weather in Paris?',
      tools: { get_weather: weather },
      stopWhen: stepCountIs(2),
      maxRetries: 0,
    };
    const text = streamed ? await streamText(options).text : (await generateText(options)).text;
    expect(text).toBe('The tool said: 18°C and sunny in Paris');
    const sent = (await received(`tool-ai-${tag}`)).at(-1)!.body;
    expect(sent.messages).toEqual([
      { role: 'user', content: [{ type: 'text', text: 'What is the weather in Paris?' }] },
      {
        role: 'assistant',
        content: null,
        tool_calls: [
          {
            id: 'call_fake1',
            type: 'function',
            // the SDK sends the arguments back as it parsed them, re-serialised
            function: { name: 'get_weather', arguments: '{"city":"Paris"}' },
          },
        ],
      },
      { role: 'tool', tool_call_id: 'call_fake1', content: '18°C and sunny in Paris' },
    ]);
  });

  it('a tool loop whose first step also wrote text needs store: false (no stored items)', async () => {
    const options = {
      model: provider('router/ai-claude'),
      prompt: 'What is the weather in Paris?',
      tools: { get_weather: weather },
      stopWhen: stepCountIs(2),
      maxRetries: 0,
    };
    // by default the SDK refers to the first step's message by id (item_reference): a clear 400
    const err = await generateText(options).then(
      () => null,
      (e: unknown) => e,
    );
    expect(APICallError.isInstance(err)).toBe(true);
    expect((err as APICallError).statusCode).toBe(400);
    expect((err as APICallError).message).toContain('store = false');
    const ok = await generateText({ ...options, providerOptions: { openai: { store: false } } });
    expect(ok.text).toBe('The tool said: 18°C and sunny in Paris');
  });
});

/** What generateText threw (it must throw). */
async function generateFailure(options: Parameters<typeof generateText>[0]): Promise<unknown> {
  return generateText({ maxRetries: 0, ...options }).then(
    () => {
      throw new Error('expected an error');
    },
    (e: unknown) => e,
  );
}

/** The text streamText delivered and the errors its stream reported. */
async function streamParts(
  options: Parameters<typeof streamText>[0],
): Promise<{ text: string; errors: unknown[] }> {
  const result = streamText({ maxRetries: 0, ...options, onError: () => {} });
  let text = '';
  const errors: unknown[] = [];
  for await (const part of result.fullStream) {
    if (part.type === 'text-delta') text += part.text;
    if (part.type === 'error') errors.push(part.error);
  }
  return { text, errors };
}

describe('errors through the AI SDK', () => {
  it('a wrong key is a 401 APICallError, not retried (generateText and streamText)', async () => {
    const options = { model: stranger('router'), prompt: 'Hi' };
    const thrown = await generateFailure(options);
    expect(APICallError.isInstance(thrown)).toBe(true);
    expect((thrown as APICallError).statusCode).toBe(401);
    expect((thrown as APICallError).isRetryable).toBe(false);
    expect((thrown as APICallError).message).toBe('invalid or revoked API key');
    const streamed = await streamParts(options);
    expect(streamed.text).toBe('');
    expect(streamed.errors).toHaveLength(1);
    expect(APICallError.isInstance(streamed.errors[0])).toBe(true);
    expect((streamed.errors[0] as APICallError).statusCode).toBe(401);
  });

  it('an option the router cannot honour is a 400 APICallError naming it', async () => {
    const options = {
      model: provider('router/ai-fine'),
      prompt: 'Hi',
      providerOptions: { openai: { previousResponseId: 'resp_123' } },
    };
    for (const err of [await generateFailure(options), (await streamParts(options)).errors[0]]) {
      expect(APICallError.isInstance(err)).toBe(true);
      expect((err as APICallError).statusCode).toBe(400);
      expect(JSON.parse((err as APICallError).responseBody!)).toMatchObject({
        error: { code: 'unsupported_parameter', param: 'previous_response_id' },
      });
    }
  });

  it('no upstream answering is a 502 APICallError with the decision headers', async () => {
    const err = (await generateFailure({ model: provider('router/ai-down'), prompt: 'Hi' })) as
      APICallError | undefined;
    expect(APICallError.isInstance(err)).toBe(true);
    expect(err!.statusCode).toBe(502);
    expect(err!.isRetryable).toBe(true);
    expect(err!.responseHeaders?.['x-router-choice']).toBe('ai-down-test-tiny');
  });

  it('a stream that breaks after text reports an error part and finishes with "error"', async () => {
    const { text, errors } = await streamParts({ model: provider('router/ai-cut'), prompt: 'Hi' });
    expect(text.length).toBeGreaterThan(0);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ message: expect.stringContaining('upstream stream failed') });
  });
});
