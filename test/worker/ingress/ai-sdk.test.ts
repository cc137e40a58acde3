// The Vercel AI SDK's default OpenAI provider model (`createOpenAI(...)('router')`), which speaks
// the Responses API, against the worker inside workerd (fetch through SELF), routed to the loopback
// provider fakes: generateText, streamText, a multi-step tool loop, the decision headers and row.
import { SELF } from 'cloudflare:test';
import { createOpenAI } from '@ai-sdk/openai';
import { APICallError, generateText, jsonSchema, stepCountIs, streamText, tool } from 'ai';
import { beforeAll, describe, expect, it } from 'vitest';
import { seedBundle, seedTenant } from '../support/seed';
import { received } from '../upstream/support/helpers';
import { fakePool, waitForDecision } from '../upstream/support/pools';

const tag = crypto.randomUUID().slice(0, 8);
let provider: ReturnType<typeof createOpenAI>;

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
