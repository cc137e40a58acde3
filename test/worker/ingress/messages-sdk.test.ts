// POST /v1/messages with the official `@anthropic-ai/sdk` client, inside workerd, its fetch pointed
// at the worker through SELF, routed to the loopback provider fakes (OpenAI and Anthropic wire
// formats): plain and streamed answers, a tool round trip, the SDK's typed errors, the key in
// x-api-key or as a bearer token, the decision headers and the decision row.
import { SELF } from 'cloudflare:test';
import Anthropic, {
  APIError,
  AuthenticationError,
  BadRequestError,
  InternalServerError,
  NotFoundError,
} from '@anthropic-ai/sdk';
import { beforeAll, describe, expect, it } from 'vitest';
import { seedBundle, seedTenant } from '../support/seed';
import { received } from '../upstream/support/helpers';
import { fakePool, waitForDecision } from '../upstream/support/pools';

const tag = crypto.randomUUID().slice(0, 8);
let key: string;

function client(apiKey: string | null = key, authToken: string | null = null): Anthropic {
  return new Anthropic({
    baseURL: 'http://router.test',
    apiKey,
    authToken,
    maxRetries: 0,
    fetch: (url, init) => SELF.fetch(url, init),
  });
}

const weatherTool: Anthropic.Tool = {
  name: 'get_weather',
  description: 'Weather in a city',
  input_schema: { type: 'object', properties: { city: { type: 'string' } } },
};

beforeAll(async () => {
  await seedBundle('test-v1');
  const t = await seedTenant('msg-fine');
  key = t.key;
  await fakePool(t.tenantId, 'msg-fine', { 'test-tiny': `ok-msg-${tag}` });
  await fakePool(t.tenantId, 'msg-tools', { 'test-tiny': `tool-msg-${tag}` });
  await fakePool(
    t.tenantId,
    'msg-claude',
    { 'test-tiny': `tool-msg-claude-${tag}` },
    { provider: 'anthropic' },
  );
  await fakePool(t.tenantId, 'msg-cut', { 'test-tiny': `cutline-msg-${tag}` });
  await fakePool(t.tenantId, 'msg-down', { 'test-tiny': `status-503-msg-${tag}` });
});

describe('client.messages.create', () => {
  it('answers with a message, decision headers and a decision row', async () => {
    const { data, response } = await client()
      .messages.create({
        model: 'router/msg-fine',
        max_tokens: 256,
        system: [{ type: 'text', text: 'Be brief.', cache_control: { type: 'ephemeral' } }],
        messages: [{ role: 'user', content: 'Write a haiku about rain.' }],
        stop_sequences: ['END'],
        metadata: { user_id: 'user-7' },
      })
      .withResponse();
    expect(data).toEqual({
      id: expect.stringMatching(/^msg_[0-9a-f]{32}$/),
      type: 'message',
      role: 'assistant',
      model: `ok-msg-${tag}`,
      content: [{ type: 'text', text: 'Hello from the fake' }],
      stop_reason: 'end_turn',
      stop_sequence: null,
      usage: {
        input_tokens: 7,
        output_tokens: 4,
        cache_creation_input_tokens: null,
        cache_read_input_tokens: 0,
      },
    });
    expect(response.headers.get('x-router-pool')).toBe('msg-fine');
    expect(response.headers.get('x-router-model')).toBe('msg-fine-test-tiny');
    const row = await waitForDecision(response.headers.get('x-router-decision-id'));
    expect(row).toMatchObject({ status: 'ok', model: 'msg-fine-test-tiny' });
    const [sent] = await received(`ok-msg-${tag}`);
    expect(sent!.body).toEqual({
      model: `ok-msg-${tag}`,
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Write a haiku about rain.' },
      ],
      max_tokens: 256,
      stop: ['END'],
      user: 'user-7',
    });
  });

  it('streams the Messages events in order and ends with the usage', async () => {
    const { data: stream, response } = await client()
      .messages.create({
        model: 'router/msg-fine',
        max_tokens: 256,
        messages: [{ role: 'user', content: 'Hi' }],
        stream: true,
      })
      .withResponse();
    expect(response.headers.get('x-router-model')).toBe('msg-fine-test-tiny');
    const events: Anthropic.RawMessageStreamEvent[] = [];
    for await (const event of stream) events.push(event);
    expect(events.map((e) => e.type)).toEqual([
      'message_start',
      'content_block_start',
      'content_block_delta',
      'content_block_delta',
      'content_block_delta',
      'content_block_delta',
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
    expect(events.at(-2)).toEqual({
      type: 'message_delta',
      delta: { stop_reason: 'end_turn', stop_sequence: null },
      usage: { output_tokens: 4, input_tokens: 7, cache_read_input_tokens: 0 },
    });
    const row = await waitForDecision(response.headers.get('x-router-decision-id'));
    expect(row.status).toBe('ok');
  });

  it('client.messages.stream assembles the final message', async () => {
    const stream = client().messages.stream({
      model: 'router/msg-fine',
      max_tokens: 64,
      messages: [{ role: 'user', content: 'Hi' }],
    });
    let text = '';
    stream.on('text', (delta) => {
      text += delta;
    });
    const final = await stream.finalMessage();
    expect(text).toBe('Hello from the fake');
    expect(final.content).toEqual([{ type: 'text', text: 'Hello from the fake' }]);
    expect(final.usage).toMatchObject({ input_tokens: 7, output_tokens: 4 });
  });

  it.each([
    ['JSON', false],
    ['streamed', true],
  ])('runs a tool round trip (%s)', async (_, streamed) => {
    const ask = (messages: Anthropic.MessageParam[]) => {
      const params = { model: 'router/msg-tools', max_tokens: 256, tools: [weatherTool], messages };
      return streamed
        ? client().messages.stream(params).finalMessage()
        : client().messages.create(params);
    };
    const question: Anthropic.MessageParam = { role: 'user', content: 'Weather in Paris?' };
    const first = await ask([question]);
    expect(first.stop_reason).toBe('tool_use');
    expect(first.content).toEqual([
      { type: 'tool_use', id: 'call_fake1', name: 'get_weather', input: { city: 'Paris' } },
    ]);
    const second = await ask([
      question,
      { role: 'assistant', content: first.content },
      {
        role: 'user',
        content: [{ type: 'tool_result', tool_use_id: 'call_fake1', content: '18°C and sunny' }],
      },
    ]);
    expect(second.content).toEqual([{ type: 'text', text: 'The tool said: 18°C and sunny' }]);
    const sent = (await received(`tool-msg-${tag}`)).at(-1)!.body;
    expect(sent.tools).toEqual([
      {
        type: 'function',
        function: {
          name: 'get_weather',
          description: 'Weather in a city',
          parameters: { type: 'object', properties: { city: { type: 'string' } } },
        },
      },
    ]);
    expect(sent.messages).toEqual([
      { role: 'user', content: 'Weather in Paris?' },
      {
        role: 'assistant',
        content: null,
        tool_calls: [
          {
            id: 'call_fake1',
            type: 'function',
            function: { name: 'get_weather', arguments: '{"city":"Paris"}' },
          },
        ],
      },
      { role: 'tool', tool_call_id: 'call_fake1', content: '18°C and sunny' },
    ]);
  });

  it('translates an Anthropic upstream both ways (text then a tool call, streamed)', async () => {
    const final = await client()
      .messages.stream({
        model: 'router/msg-claude',
        max_tokens: 256,
        tools: [weatherTool],
        tool_choice: { type: 'any', disable_parallel_tool_use: true },
        messages: [{ role: 'user', content: 'Weather in Paris?' }],
      })
      .finalMessage();
    expect(final.content).toEqual([
      { type: 'text', text: 'Hello from Claude' },
      { type: 'tool_use', id: 'toolu_01', name: 'get_weather', input: { city: 'Paris' } },
    ]);
    expect(final.stop_reason).toBe('tool_use');
    expect(final.usage).toMatchObject({ input_tokens: 12, output_tokens: 6 });
    const sent = (await received(`tool-msg-claude-${tag}`)).at(-1)!.body;
    expect(sent.tool_choice).toEqual({ type: 'any' });
  });

  it('takes the key as a bearer token too', async () => {
    const message = await client(null, key).messages.create({
      model: 'router/msg-fine',
      max_tokens: 16,
      messages: [{ role: 'user', content: 'Hi' }],
    });
    expect(message.content).toEqual([{ type: 'text', text: 'Hello from the fake' }]);
  });
});

/** Runs `fn`, which must fail; returns what it threw. */
async function failure(fn: () => Promise<unknown>): Promise<unknown> {
  try {
    await fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected an error');
}

const hi = { max_tokens: 16, messages: [{ role: 'user' as const, content: 'Hi' }] };

describe('errors on /v1/messages, in Anthropic shape', () => {
  it('an invalid key is an AuthenticationError', async () => {
    const err = await failure(() =>
      client('sk-wrong').messages.create({ model: 'router/msg-fine', ...hi }),
    );
    expect(err).toBeInstanceOf(AuthenticationError);
    expect((err as APIError).error).toMatchObject({
      type: 'error',
      error: { type: 'authentication_error', message: 'invalid or revoked API key' },
      request_id: expect.any(String),
    });
  });

  it.each([
    ['max_tokens missing', { model: 'router/msg-fine', messages: hi.messages }, 'max_tokens'],
    ['top_k', { model: 'router/msg-fine', ...hi, top_k: 5 }, 'top_k'],
    ['thinking', { model: 'router/msg-fine', ...hi, thinking: { type: 'enabled' } }, 'thinking'],
    [
      'a server tool',
      { model: 'router/msg-fine', ...hi, tools: [{ type: 'web_search_20250305', name: 'ws' }] },
      'tools.0.type',
    ],
  ])('%s is a BadRequestError naming the field', async (_, params, field) => {
    const err = await failure(() =>
      client().messages.create(params as unknown as Anthropic.MessageCreateParamsNonStreaming),
    );
    expect(err).toBeInstanceOf(BadRequestError);
    const body = (err as APIError).error as { error: { type: string; message: string } };
    expect(body.error.type).toBe('invalid_request_error');
    expect(body.error.message.startsWith(`${field}`)).toBe(true);
  });

  it('streamed, the same errors are typed before any event', async () => {
    const auth = await failure(() =>
      client('sk-wrong').messages.create({ model: 'router/msg-fine', ...hi, stream: true }),
    );
    expect(auth).toBeInstanceOf(AuthenticationError);
    const refused = await failure(() =>
      client()
        .messages.stream({ model: 'router/msg-fine', ...hi, top_k: 5 })
        .finalMessage(),
    );
    expect(refused).toBeInstanceOf(BadRequestError);
    expect((refused as APIError).error).toMatchObject({
      type: 'error',
      error: { type: 'invalid_request_error', message: expect.stringMatching(/^top_k: /) },
    });
    const down = await failure(() =>
      client()
        .messages.stream({ model: 'router/msg-down', ...hi })
        .finalMessage(),
    );
    expect(down).toBeInstanceOf(InternalServerError);
    expect((down as APIError).status).toBe(502);
  });

  it('an unknown pool is a NotFoundError', async () => {
    const err = await failure(() =>
      client().messages.create({ model: `router/nope-${tag}`, ...hi }),
    );
    expect(err).toBeInstanceOf(NotFoundError);
  });

  it('no upstream answering is an InternalServerError (502) with the decision headers', async () => {
    const err = (await failure(() =>
      client().messages.create({ model: 'router/msg-down', ...hi }),
    )) as APIError;
    expect(err).toBeInstanceOf(InternalServerError);
    expect(err.status).toBe(502);
    expect(err.headers?.get('x-router-choice')).toBe('msg-down-test-tiny');
  });

  it('a stream that breaks ends with an error event the client raises', async () => {
    const stream = await client().messages.create({
      model: 'router/msg-cut',
      ...hi,
      stream: true,
    });
    const seen: string[] = [];
    const err = await failure(async () => {
      for await (const event of stream) seen.push(event.type);
    });
    expect(err).toBeInstanceOf(APIError);
    expect((err as APIError).error).toMatchObject({ type: 'error', error: { type: 'api_error' } });
    expect(seen).toEqual(['message_start', 'content_block_start', 'content_block_delta']);
  });
});
