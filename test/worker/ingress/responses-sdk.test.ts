// POST /v1/responses with the official `openai` client (client.responses.create and .stream),
// inside workerd, its fetch pointed at the worker through SELF, routed to the loopback provider
// fakes (OpenAI and Anthropic wire formats): plain and streamed answers, a function tool round
// trip, typed errors, the decision headers and the decision row.
import { SELF } from 'cloudflare:test';
import OpenAI, { APIError, AuthenticationError, BadRequestError } from 'openai';
import { beforeAll, describe, expect, it } from 'vitest';
import { seedBundle, seedTenant } from '../support/seed';
import { received } from '../upstream/support/helpers';
import { fakePool, waitForDecision } from '../upstream/support/pools';

const tag = crypto.randomUUID().slice(0, 8);
let key: string;

function client(apiKey = key): OpenAI {
  return new OpenAI({
    baseURL: 'http://router.test/v1',
    apiKey,
    maxRetries: 0,
    fetch: (url, init) => SELF.fetch(url, init),
  });
}

/** What every routed answer carries. */
function expectDecisionHeaders(headers: Headers, pool: string): void {
  expect(headers.get('x-router-pool')).toBe(pool);
  expect(headers.get('x-router-model')).toBe(`${pool}-test-tiny`);
  expect(headers.get('x-router-decision-id')).toMatch(/^[0-9a-f-]{36}$/);
  expect(headers.get('x-router-attempts')).toBe('1');
  expect(headers.get('x-router-fallback')).toBe('none');
}

beforeAll(async () => {
  await seedBundle('test-v1');
  const t = await seedTenant('resp-fine');
  key = t.key;
  await fakePool(t.tenantId, 'resp-fine', { 'test-tiny': `ok-resp-${tag}` });
  await fakePool(t.tenantId, 'resp-tools', { 'test-tiny': `tool-resp-${tag}` });
  await fakePool(
    t.tenantId,
    'resp-claude',
    { 'test-tiny': `tool-resp-claude-${tag}` },
    { provider: 'anthropic' },
  );
  await fakePool(t.tenantId, 'resp-cut', { 'test-tiny': `cutline-resp-${tag}` });
  await fakePool(t.tenantId, 'resp-down', { 'test-tiny': `status-503-resp-${tag}` });
});

describe('client.responses.create', () => {
  it('answers a text input with a response object, decision headers and a decision row', async () => {
    const { data, response } = await client()
      .responses.create({
        model: 'router/resp-fine',
        input: 'Write a haiku about rain.',
        instructions: 'Answer in English.',
        max_output_tokens: 64,
        metadata: { ticket: 'T-1' },
      })
      .withResponse();
    expect(data).toMatchObject({
      object: 'response',
      status: 'completed',
      model: `ok-resp-${tag}`,
      instructions: 'Answer in English.',
      max_output_tokens: 64,
      metadata: { ticket: 'T-1' },
      store: false,
      error: null,
      incomplete_details: null,
      usage: {
        input_tokens: 7,
        input_tokens_details: { cached_tokens: 0 },
        output_tokens: 4,
        output_tokens_details: { reasoning_tokens: 0 },
        total_tokens: 11,
      },
    });
    expect(data.id).toMatch(/^resp_[0-9a-f]{32}$/);
    expect(data.output).toEqual([
      {
        id: expect.stringMatching(/^msg_/),
        type: 'message',
        status: 'completed',
        role: 'assistant',
        content: [
          { type: 'output_text', text: 'Hello from the fake', annotations: [], logprobs: [] },
        ],
      },
    ]);
    expect(data.output_text).toBe('Hello from the fake');
    expectDecisionHeaders(response.headers, 'resp-fine');
    const row = await waitForDecision(response.headers.get('x-router-decision-id'));
    expect(row).toMatchObject({ status: 'ok', model: 'resp-fine-test-tiny' });
    // what the upstream was asked: the chat translation of the request
    const [sent] = await received(`ok-resp-${tag}`);
    expect(sent!.path).toBe('/openai/v1/chat/completions');
    expect(sent!.body).toEqual({
      model: `ok-resp-${tag}`,
      messages: [
        { role: 'system', content: 'Answer in English.' },
        { role: 'user', content: 'Write a haiku about rain.' },
      ],
      max_tokens: 64,
    });
  });

  it('streams the Responses events in order, numbered, and ends with the usage', async () => {
    const { data: stream, response } = await client()
      .responses.create({ model: 'router/resp-fine', input: 'Write a haiku.', stream: true })
      .withResponse();
    expectDecisionHeaders(response.headers, 'resp-fine');
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    const events: OpenAI.Responses.ResponseStreamEvent[] = [];
    for await (const event of stream) events.push(event);
    expect(events.map((e) => e.type)).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
      'response.output_text.delta',
      'response.output_text.delta',
      'response.output_text.delta',
      'response.output_text.delta',
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.completed',
    ]);
    expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i));
    const done = events.at(-1) as OpenAI.Responses.ResponseCompletedEvent;
    expect(done.response.output).toMatchObject([
      { type: 'message', status: 'completed', content: [{ text: 'Hello from the fake' }] },
    ]);
    expect(done.response.usage).toMatchObject({ input_tokens: 7, output_tokens: 4 });
    const row = await waitForDecision(response.headers.get('x-router-decision-id'));
    expect(row.status).toBe('ok');
  });

  it('client.responses.stream assembles the final response', async () => {
    const stream = client().responses.stream({ model: 'router/resp-fine', input: 'Hi' });
    let text = '';
    stream.on('response.output_text.delta', (e) => {
      text += e.delta;
    });
    const final = await stream.finalResponse();
    expect(text).toBe('Hello from the fake');
    expect(final.output_text).toBe('Hello from the fake');
    expect(final.status).toBe('completed');
  });

  it.each([
    ['JSON', false],
    ['streamed', true],
  ])('runs a function tool round trip (%s)', async (_, stream) => {
    const tools: OpenAI.Responses.FunctionTool[] = [
      {
        type: 'function',
        name: 'get_weather',
        description: 'Weather in a city',
        parameters: { type: 'object', properties: { city: { type: 'string' } } },
        strict: false,
      },
    ];
    const input: OpenAI.Responses.ResponseInput = [
      { role: 'user', content: 'What is the weather in Paris?' },
    ];
    const ask = async (items: OpenAI.Responses.ResponseInput) => {
      if (!stream)
        return client().responses.create({ model: 'router/resp-tools', input: items, tools });
      return client()
        .responses.stream({ model: 'router/resp-tools', input: items, tools })
        .finalResponse();
    };
    const first = await ask(input);
    const call = first.output.find((o) => o.type === 'function_call');
    expect(call).toMatchObject({
      type: 'function_call',
      status: 'completed',
      call_id: 'call_fake1',
      name: 'get_weather',
    });
    expect(JSON.parse((call as OpenAI.Responses.ResponseFunctionToolCall).arguments)).toEqual({
      city: 'Paris',
    });
    const second = await ask([
      ...input,
      ...(first.output as OpenAI.Responses.ResponseInputItem[]),
      { type: 'function_call_output', call_id: 'call_fake1', output: '18°C and sunny' },
    ]);
    expect(second.output_text).toBe('The tool said: 18°C and sunny');
    const sent = (await received(`tool-resp-${tag}`)).at(-1)!.body;
    expect(sent.tools).toEqual([
      {
        type: 'function',
        function: {
          name: 'get_weather',
          description: 'Weather in a city',
          parameters: { type: 'object', properties: { city: { type: 'string' } } },
          strict: false,
        },
      },
    ]);
    expect(sent.messages).toEqual([
      { role: 'user', content: 'What is the weather in Paris?' },
      {
        role: 'assistant',
        content: null,
        tool_calls: [
          {
            id: 'call_fake1',
            type: 'function',
            function: { name: 'get_weather', arguments: '{"city": "Paris"}' },
          },
        ],
      },
      { role: 'tool', tool_call_id: 'call_fake1', content: '18°C and sunny' },
    ]);
  });

  it('streams function-call argument deltas', async () => {
    const stream = await client().responses.create({
      model: 'router/resp-tools',
      input: 'Weather in Paris?',
      tools: [{ type: 'function', name: 'get_weather', parameters: null, strict: null }],
      stream: true,
    });
    const events: OpenAI.Responses.ResponseStreamEvent[] = [];
    for await (const event of stream) events.push(event);
    expect(events.map((e) => e.type)).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.function_call_arguments.delta',
      'response.function_call_arguments.delta',
      'response.function_call_arguments.done',
      'response.output_item.done',
      'response.completed',
    ]);
    const deltas = events.filter((e) => e.type === 'response.function_call_arguments.delta');
    expect(deltas.map((e) => e.delta)).toEqual(['{"city":', ' "Paris"}']);
    expect(events[5]).toMatchObject({ name: 'get_weather', arguments: '{"city": "Paris"}' });
  });

  it('translates through an Anthropic upstream too (text and a tool call, streamed)', async () => {
    const final = await client()
      .responses.stream({
        model: 'router/resp-claude',
        input: 'Weather in Paris?',
        tools: [{ type: 'function', name: 'get_weather', parameters: null, strict: null }],
      })
      .finalResponse();
    expect(final.output.map((o) => o.type)).toEqual(['message', 'function_call']);
    expect(final.output_text).toBe('Hello from Claude');
    expect(final.output[1]).toMatchObject({ call_id: 'toolu_01', arguments: '{"city": "Paris"}' });
    expect(final.usage).toMatchObject({ input_tokens: 12, output_tokens: 6 });
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

describe('errors on /v1/responses', () => {
  it('a wrong key is an AuthenticationError', async () => {
    const err = await failure(() =>
      client('sk-wrong').responses.create({ model: 'router/resp-fine', input: 'Hi' }),
    );
    expect(err).toBeInstanceOf(AuthenticationError);
  });

  it.each([
    ['previous_response_id', { previous_response_id: 'resp_1' }, 'previous_response_id'],
    ['store: true', { store: true }, 'store'],
    ['a built-in tool', { tools: [{ type: 'web_search' }] }, 'tools.0.type'],
    ['an unknown field', { frobnicate: 1 }, 'frobnicate'],
    ['an item reference', { input: [{ type: 'item_reference', id: 'msg_1' }] }, 'input.0.type'],
  ])('%s is a BadRequestError naming the field', async (_, extra, param) => {
    const err = await failure(() =>
      client().responses.create({
        model: 'router/resp-fine',
        input: 'Hi',
        ...extra,
      } as OpenAI.Responses.ResponseCreateParamsNonStreaming),
    );
    expect(err).toBeInstanceOf(BadRequestError);
    expect((err as APIError).code).toBe('unsupported_parameter');
    expect((err as APIError).param).toBe(param);
  });

  it('streamed, the same errors are typed before any event', async () => {
    const auth = await failure(() =>
      client('sk-wrong').responses.create({ model: 'router/resp-fine', input: 'Hi', stream: true }),
    );
    expect(auth).toBeInstanceOf(AuthenticationError);
    const refused = await failure(() =>
      client()
        .responses.stream({ model: 'router/resp-fine', input: 'Hi', store: true })
        .finalResponse(),
    );
    expect(refused).toBeInstanceOf(BadRequestError);
    expect((refused as APIError).param).toBe('store');
    const down = (await failure(() =>
      client().responses.stream({ model: 'router/resp-down', input: 'Hi' }).finalResponse(),
    )) as APIError;
    expect(down.status).toBe(502);
    expect(down.code).toBe('upstream_unavailable');
  });

  it('a bad value is a BadRequestError naming the field', async () => {
    const err = await failure(() =>
      client().responses.create({ model: 'router/resp-fine', input: 'Hi', temperature: 3 }),
    );
    expect(err).toBeInstanceOf(BadRequestError);
    expect((err as APIError).code).toBe('invalid_value');
    expect((err as APIError).param).toBe('temperature');
  });

  it('no upstream answering is a 502 APIError with the decision headers', async () => {
    const err = (await failure(() =>
      client().responses.create({ model: 'router/resp-down', input: 'Hi' }),
    )) as APIError;
    expect(err.status).toBe(502);
    expect(err.code).toBe('upstream_unavailable');
    expect(err.headers?.get('x-router-choice')).toBe('resp-down-test-tiny');
  });

  it('a stream that breaks ends with an error the client raises as an APIError', async () => {
    const stream = await client().responses.create({
      model: 'router/resp-cut',
      input: 'Hi',
      stream: true,
    });
    const seen: string[] = [];
    const err = await failure(async () => {
      for await (const event of stream) seen.push(event.type);
    });
    expect(err).toBeInstanceOf(APIError);
    expect((err as APIError).message).toContain('upstream stream failed');
    expect(seen).toContain('response.output_text.delta');
  });
});
