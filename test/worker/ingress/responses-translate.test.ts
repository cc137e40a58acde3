// The Responses translation on its own: which bodies the schema refuses (and with which code and
// param), the chat body a request becomes, and the event sequence a chat stream becomes, including
// refusals, cut answers and broken streams.
import { describe, expect, it } from 'vitest';
import type { ApiError } from '../../../worker/errors';
import { readChatAnswer } from '../../../worker/ingress/chat-answer';
import { toChatBody } from '../../../worker/ingress/responses/request';
import { toResponseObject } from '../../../worker/ingress/responses/response';
import { responsesBodyOf } from '../../../worker/ingress/responses/schema';
import { responsesStream } from '../../../worker/ingress/responses/stream';

const base = { model: 'router', input: 'Hi' };

function refusal(body: Record<string, unknown>): { code: string; param: string | null } {
  try {
    responsesBodyOf(body);
  } catch (e) {
    const err = e as ApiError;
    expect(err.status).toBe(400);
    return { code: err.code, param: err.param };
  }
  throw new Error('expected a 400');
}

describe('the Responses body', () => {
  it.each<[string, Record<string, unknown>, string, string | null]>([
    [
      'an image in a system message',
      { input: [{ role: 'system', content: [{ type: 'input_image', image_url: 'u' }] }] },
      'unsupported_parameter',
      'input.0.content.0.type',
    ],
    [
      'a file input',
      { input: [{ role: 'user', content: [{ type: 'input_file', file_id: 'f' }] }] },
      'unsupported_parameter',
      'input.0.content.0.type',
    ],
    [
      'an image by file id',
      { input: [{ role: 'user', content: [{ type: 'input_image', file_id: 'f' }] }] },
      'unsupported_parameter',
      'input.0.content.0.file_id',
    ],
    [
      'a tool role',
      { input: [{ role: 'tool', content: 'x' }] },
      'unsupported_parameter',
      'input.0.role',
    ],
    [
      'a reasoning item',
      { input: [{ type: 'reasoning', summary: [] }] },
      'unsupported_parameter',
      'input.0.type',
    ],
    [
      'an unknown field in an item',
      { input: [{ role: 'user', content: 'x', extra: 1 }] },
      'unsupported_parameter',
      'input.0.extra',
    ],
    ['include', { include: ['reasoning.encrypted_content'] }, 'unsupported_parameter', 'include'],
    ['truncation auto', { truncation: 'auto' }, 'unsupported_parameter', 'truncation'],
    ['background', { background: true }, 'unsupported_parameter', 'background'],
    ['conversation', { conversation: 'conv_1' }, 'unsupported_parameter', 'conversation'],
    ['reasoning', { reasoning: { effort: 'high' } }, 'unsupported_parameter', 'reasoning'],
    ['text.verbosity', { text: { verbosity: 'low' } }, 'unsupported_parameter', 'text.verbosity'],
    [
      'a file_search tool',
      { tools: [{ type: 'file_search', vector_store_ids: [] }] },
      'unsupported_parameter',
      'tools.0.type',
    ],
    ['a number as input', { input: 5 }, 'invalid_value', 'input'],
    ['an empty input', { input: [] }, 'invalid_value', 'input'],
    [
      'a json_schema without a name',
      { text: { format: { type: 'json_schema', schema: {} } } },
      'invalid_value',
      'text.format.name',
    ],
    ['top_p above 1', { top_p: 1.5 }, 'invalid_value', 'top_p'],
    ['max_output_tokens 0', { max_output_tokens: 0 }, 'invalid_value', 'max_output_tokens'],
    [
      '17 metadata keys',
      { metadata: Object.fromEntries([...Array(17).keys()].map((i) => [`k${i}`, 'v'])) },
      'invalid_value',
      'metadata',
    ],
    [
      'a bad preference object',
      { router: { preference: 0.5, extra: 1 } },
      'unsupported_parameter',
      'router.extra',
    ],
  ])('refuses %s', (_, extra, code, param) => {
    expect(refusal({ ...base, ...extra })).toEqual({ code, param });
  });

  it('takes what the SDKs send back: replayed output items, store: false, empty include', () => {
    expect(() =>
      responsesBodyOf({
        ...base,
        store: false,
        include: [],
        truncation: 'disabled',
        input: [
          { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'Hi' }] },
          {
            id: 'msg_1',
            type: 'message',
            status: 'completed',
            role: 'assistant',
            content: [
              { type: 'output_text', text: 'Yo', annotations: [], logprobs: [], parsed: null },
            ],
          },
          {
            id: 'fc_1',
            type: 'function_call',
            status: 'completed',
            call_id: 'c1',
            name: 'f',
            arguments: '{}',
            parsed_arguments: {},
          },
          {
            type: 'function_call_output',
            call_id: 'c1',
            output: [{ type: 'input_text', text: 'ok' }],
          },
        ],
      }),
    ).not.toThrow();
  });
});

describe('a Responses request as a chat body', () => {
  it('turns items into chat messages, calls joining their assistant turn', () => {
    const body = responsesBodyOf({
      model: 'router/p',
      instructions: 'Be brief.',
      input: [
        { role: 'developer', content: [{ type: 'input_text', text: 'Use metric units.' }] },
        {
          role: 'user',
          content: [
            { type: 'input_text', text: 'Weather here and in Rome?' },
            { type: 'input_image', image_url: 'data:image/png;base64,AAAA', detail: 'low' },
          ],
        },
        { role: 'assistant', content: [{ type: 'output_text', text: 'Checking.' }] },
        {
          type: 'function_call',
          call_id: 'c1',
          name: 'get_weather',
          arguments: '{"city":"Paris"}',
        },
        { type: 'function_call', call_id: 'c2', name: 'get_weather', arguments: '{"city":"Rome"}' },
        { type: 'function_call_output', call_id: 'c1', output: '18°C' },
        {
          type: 'function_call_output',
          call_id: 'c2',
          output: [{ type: 'input_text', text: '25°C' }],
        },
      ],
      tools: [
        { type: 'function', name: 'get_weather', parameters: { type: 'object' }, strict: true },
      ],
      tool_choice: { type: 'function', name: 'get_weather' },
      parallel_tool_calls: false,
      text: {
        format: { type: 'json_schema', name: 'w', schema: { type: 'object' }, strict: true },
      },
      max_output_tokens: 100,
      temperature: 0.2,
      top_p: 0.9,
      user: 'u1',
      stream: true,
      router: { preference: 'cheap' },
    });
    expect(toChatBody(body)).toEqual({
      model: 'router/p',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'developer', content: 'Use metric units.' },
        {
          role: 'user',
          content: [
            { type: 'text', text: 'Weather here and in Rome?' },
            { type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA', detail: 'low' } },
          ],
        },
        {
          role: 'assistant',
          content: 'Checking.',
          tool_calls: [
            {
              id: 'c1',
              type: 'function',
              function: { name: 'get_weather', arguments: '{"city":"Paris"}' },
            },
            {
              id: 'c2',
              type: 'function',
              function: { name: 'get_weather', arguments: '{"city":"Rome"}' },
            },
          ],
        },
        { role: 'tool', tool_call_id: 'c1', content: '18°C' },
        { role: 'tool', tool_call_id: 'c2', content: '25°C' },
      ],
      stream: true,
      stream_options: { include_usage: true },
      max_tokens: 100,
      temperature: 0.2,
      top_p: 0.9,
      user: 'u1',
      tools: [
        {
          type: 'function',
          function: { name: 'get_weather', parameters: { type: 'object' }, strict: true },
        },
      ],
      tool_choice: { type: 'function', function: { name: 'get_weather' } },
      parallel_tool_calls: false,
      response_format: {
        type: 'json_schema',
        json_schema: { name: 'w', schema: { type: 'object' }, strict: true },
      },
      router: { preference: 'cheap' },
    });
  });

  it('maps json_object, and leaves tool settings out without tools', () => {
    const body = responsesBodyOf({
      ...base,
      text: { format: { type: 'json_object' } },
      tool_choice: 'required',
      parallel_tool_calls: true,
    });
    expect(toChatBody(body)).toEqual({
      model: 'router',
      messages: [{ role: 'user', content: 'Hi' }],
      response_format: { type: 'json_object' },
    });
  });
});

describe('a chat answer as a response object', () => {
  const answer = (message: Record<string, unknown>, finish: string) =>
    readChatAnswer(
      JSON.stringify({ id: 'c', model: 'up', choices: [{ message, finish_reason: finish }] }),
    );

  it('an answer cut by the token limit is incomplete; no usage reported is usage null', () => {
    const res = toResponseObject(
      answer({ content: 'Half an ans' }, 'length'),
      responsesBodyOf(base),
    );
    expect(res).toMatchObject({
      status: 'incomplete',
      incomplete_details: { reason: 'max_output_tokens' },
      usage: null,
      model: 'up',
      output: [{ type: 'message', status: 'incomplete', content: [{ text: 'Half an ans' }] }],
    });
  });

  it('a refusal is a refusal part; tool calls follow the message', () => {
    const res = toResponseObject(
      answer(
        {
          content: null,
          refusal: 'I cannot help with that.',
          tool_calls: [{ id: 'c1', type: 'function', function: { name: 'f', arguments: '{}' } }],
        },
        'tool_calls',
      ),
      responsesBodyOf(base),
    );
    expect(res.output).toMatchObject([
      { type: 'message', content: [{ type: 'refusal', refusal: 'I cannot help with that.' }] },
      { type: 'function_call', call_id: 'c1', name: 'f', arguments: '{}', status: 'completed' },
    ]);
  });
});

const enc = new TextEncoder();
const chunk = (delta: Record<string, unknown>, finish: string | null = null, extra = {}) =>
  `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', model: 'up-model', choices: [{ index: 0, delta, finish_reason: finish }], ...extra })}\n\n`;
const usage = `data: ${JSON.stringify({ id: 'c1', model: 'up-model', choices: [], usage: { prompt_tokens: 9, completion_tokens: 3, total_tokens: 12, prompt_tokens_details: { cached_tokens: 4 } } })}\n\n`;

/** Runs chat SSE text through the translator; returns its events (name, data). */
async function translate(
  sse: string,
): Promise<Array<{ event: string; data: Record<string, unknown> }>> {
  const t = responsesStream(responsesBodyOf(base));
  const writer = t.writable.getWriter();
  void writer.write(enc.encode(sse)).then(() => writer.close());
  const text = await new Response(t.readable).text();
  return text
    .split('\n\n')
    .filter((b) => b.trim() !== '')
    .map((b) => {
      const [event, data] = b.split('\n');
      const name = event!.replace('event: ', '');
      const parsed = JSON.parse(data!.replace('data: ', '')) as Record<string, unknown>;
      expect(parsed.type).toBe(name);
      return { event: name, data: parsed };
    });
}

describe('a chat stream as Responses events', () => {
  it('switches content parts between text and refusal, and carries the usage', async () => {
    const events = await translate(
      chunk({ role: 'assistant', content: 'A' }) +
        chunk({ refusal: 'No.' }) +
        chunk({ content: 'B' }) +
        chunk({}, 'stop') +
        usage +
        'data: [DONE]\n\n',
    );
    expect(events.map((e) => e.event)).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
      'response.output_text.delta',
      'response.output_text.done',
      'response.content_part.done',
      'response.content_part.added',
      'response.refusal.delta',
      'response.refusal.done',
      'response.content_part.done',
      'response.content_part.added',
      'response.output_text.delta',
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.completed',
    ]);
    expect(events.map((e) => e.data.sequence_number)).toEqual(events.map((_, i) => i));
    const final = events.at(-1)!.data.response as Record<string, unknown>;
    expect(final).toMatchObject({
      status: 'completed',
      model: 'up-model',
      usage: {
        input_tokens: 9,
        input_tokens_details: { cached_tokens: 4 },
        output_tokens: 3,
        output_tokens_details: { reasoning_tokens: 0 },
        total_tokens: 12,
      },
    });
    expect((final.output as Array<{ content: unknown }>)[0]!.content).toEqual([
      { type: 'output_text', text: 'A', annotations: [], logprobs: [] },
      { type: 'refusal', refusal: 'No.' },
      { type: 'output_text', text: 'B', annotations: [], logprobs: [] },
    ]);
  });

  it('an answer cut by max_output_tokens ends with response.incomplete', async () => {
    const events = await translate(
      chunk({ content: 'A' }) + chunk({}, 'length') + 'data: [DONE]\n\n',
    );
    const last = events.at(-1)!;
    expect(last.event).toBe('response.incomplete');
    expect(last.data.response).toMatchObject({
      status: 'incomplete',
      incomplete_details: { reason: 'max_output_tokens' },
      usage: null,
      output: [{ type: 'message', status: 'incomplete' }],
    });
  });

  it('an error before any chunk still starts the response, then fails it', async () => {
    const error = {
      message: 'upstream: boom',
      type: 'upstream_error',
      param: null,
      code: 'overloaded_error',
    };
    const events = await translate(`data: ${JSON.stringify({ error })}\n\ndata: [DONE]\n\n`);
    expect(events.map((e) => e.event)).toEqual([
      'response.created',
      'response.in_progress',
      'error',
      'response.failed',
    ]);
    expect(events[2]!.data).toEqual({
      type: 'error',
      sequence_number: 2,
      code: 'overloaded_error',
      message: 'upstream: boom',
      param: null,
      error: {
        type: 'upstream_error',
        code: 'overloaded_error',
        message: 'upstream: boom',
        param: null,
      },
    });
    expect(events[3]!.data.response).toMatchObject({
      status: 'failed',
      error: { code: 'overloaded_error', message: 'upstream: boom' },
    });
  });

  it('a stream that ends without [DONE] fails, its open items marked incomplete', async () => {
    const events = await translate(chunk({ content: 'A' }));
    // no .done event for what was cut: a client must not take half an item as whole
    expect(events.map((e) => e.event).slice(-3)).toEqual([
      'response.output_text.delta',
      'error',
      'response.failed',
    ]);
    expect(events.at(-1)!.data.response).toMatchObject({
      status: 'failed',
      error: { code: 'upstream_incomplete' },
      output: [{ status: 'incomplete', content: [{ text: 'A' }] }],
    });
  });

  it('a tool call without an id gets one, and text after it opens its own item', async () => {
    const events = await translate(
      chunk({ tool_calls: [{ index: 0, function: { name: 'f', arguments: '{}' } }] }) +
        chunk({ content: 'done' }) +
        chunk({}, 'tool_calls') +
        'data: [DONE]\n\n',
    );
    const final = events.at(-1)!.data.response as { output: Array<Record<string, unknown>> };
    expect(final.output).toMatchObject([
      { type: 'function_call', call_id: 'call_0', name: 'f', arguments: '{}', status: 'completed' },
      { type: 'message', content: [{ text: 'done' }] },
    ]);
  });
});
