// The Messages translation on its own: which bodies the schema refuses, the chat body a request
// becomes (tool results before the rest of their turn, images as data URLs, tool errors kept in
// the text), the message a chat answer becomes, and the events a chat stream becomes.
import { describe, expect, it } from 'vitest';
import type { ApiError } from '../../../worker/errors';
import { readChatAnswer } from '../../../worker/ingress/chat-answer';
import { toChatBody } from '../../../worker/ingress/messages/request';
import { toMessage } from '../../../worker/ingress/messages/response';
import { messagesBodyOf } from '../../../worker/ingress/messages/schema';
import { messagesStream } from '../../../worker/ingress/messages/stream';

const base = { model: 'router', max_tokens: 100, messages: [{ role: 'user', content: 'Hi' }] };

function refusal(body: Record<string, unknown>): { code: string; param: string | null } {
  try {
    messagesBodyOf(body);
  } catch (e) {
    const err = e as ApiError;
    expect(err.status).toBe(400);
    return { code: err.code, param: err.param };
  }
  throw new Error('expected a 400');
}

const user = (content: unknown) => ({ messages: [{ role: 'user', content }] });
const assistant = (content: unknown) => ({
  messages: [
    { role: 'user', content: 'Hi' },
    { role: 'assistant', content },
  ],
});

describe('the Messages body', () => {
  it.each<[string, Record<string, unknown>, string, string | null]>([
    [
      'a document',
      user([{ type: 'document', source: {} }]),
      'unsupported_parameter',
      'messages.0.content.0.type',
    ],
    [
      'a thinking block',
      assistant([{ type: 'thinking', thinking: '', signature: '' }]),
      'unsupported_parameter',
      'messages.1.content.0.type',
    ],
    [
      'a tool_use in a user turn',
      user([{ type: 'tool_use', id: 't', name: 'f', input: {} }]),
      'unsupported_parameter',
      'messages.0.content.0.type',
    ],
    [
      'an image in a tool result',
      user([
        {
          type: 'tool_result',
          tool_use_id: 't',
          content: [{ type: 'image', source: { type: 'url', url: 'u' } }],
        },
      ]),
      'unsupported_parameter',
      'messages.0.content.0.content.0.type',
    ],
    [
      'an image by file id',
      user([{ type: 'image', source: { type: 'file', file_id: 'f' } }]),
      'unsupported_parameter',
      'messages.0.content.0.source.type',
    ],
    [
      'a system role',
      { messages: [{ role: 'system', content: 'x' }] },
      'unsupported_parameter',
      'messages.0.role',
    ],
    [
      'a bash tool',
      { tools: [{ type: 'bash_20250124', name: 'bash' }] },
      'unsupported_parameter',
      'tools.0.type',
    ],
    ['top_k', { top_k: 10 }, 'unsupported_parameter', 'top_k'],
    ['container', { container: 'c' }, 'unsupported_parameter', 'container'],
    ['service_tier', { service_tier: 'auto' }, 'unsupported_parameter', 'service_tier'],
    [
      'citations on a text block',
      user([{ type: 'text', text: 'x', citations: [{}] }]),
      'unsupported_parameter',
      'messages.0.content.0.citations',
    ],
    ['temperature above 1', { temperature: 1.5 }, 'invalid_value', 'temperature'],
    ['no max_tokens', { max_tokens: undefined }, 'invalid_value', 'max_tokens'],
    ['no messages', { messages: [] }, 'invalid_value', 'messages'],
    [
      'a tool without input_schema',
      { tools: [{ name: 'f' }] },
      'invalid_value',
      'tools.0.input_schema',
    ],
    [
      'an unknown tool_choice',
      { tool_choice: { type: 'required' } },
      'unsupported_parameter',
      'tool_choice.type',
    ],
  ])('refuses %s', (_, extra, code, param) => {
    expect(refusal({ ...base, ...extra })).toEqual({ code, param });
  });

  it('takes cache_control hints and thinking that is off', () => {
    expect(() =>
      messagesBodyOf({
        ...base,
        cache_control: { type: 'ephemeral' },
        thinking: { type: 'disabled' },
        system: [{ type: 'text', text: 'S', cache_control: { type: 'ephemeral', ttl: '1h' } }],
        tools: [
          { name: 'f', input_schema: { type: 'object' }, cache_control: { type: 'ephemeral' } },
        ],
      }),
    ).not.toThrow();
  });
});

describe('a Messages request as a chat body', () => {
  it('puts tool results first, keeps tool errors in the text, images as data URLs', () => {
    const body = messagesBodyOf({
      model: 'router/p',
      max_tokens: 300,
      system: [
        { type: 'text', text: 'You are terse.' },
        { type: 'text', text: 'Use metric units.' },
      ],
      messages: [
        { role: 'user', content: [{ type: 'text', text: 'Weather in Paris and Rome?' }] },
        {
          role: 'assistant',
          content: [
            { type: 'text', text: 'Checking.' },
            { type: 'tool_use', id: 't1', name: 'get_weather', input: { city: 'Paris' } },
            { type: 'tool_use', id: 't2', name: 'get_weather', input: { city: 'Rome' } },
          ],
        },
        {
          role: 'user',
          content: [
            { type: 'tool_result', tool_use_id: 't1', content: [{ type: 'text', text: '18°C' }] },
            { type: 'tool_result', tool_use_id: 't2', content: 'service down', is_error: true },
            { type: 'text', text: 'And this picture?' },
            { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'AAAA' } },
          ],
        },
      ],
      tools: [{ name: 'get_weather', description: 'Weather', input_schema: { type: 'object' } }],
      tool_choice: { type: 'tool', name: 'get_weather', disable_parallel_tool_use: true },
      temperature: 0.3,
      top_p: 0.8,
      stop_sequences: ['END'],
      metadata: { user_id: 'u9' },
      stream: true,
    });
    expect(toChatBody(body)).toEqual({
      model: 'router/p',
      messages: [
        { role: 'system', content: 'You are terse.\n\nUse metric units.' },
        { role: 'user', content: 'Weather in Paris and Rome?' },
        {
          role: 'assistant',
          content: 'Checking.',
          tool_calls: [
            {
              id: 't1',
              type: 'function',
              function: { name: 'get_weather', arguments: '{"city":"Paris"}' },
            },
            {
              id: 't2',
              type: 'function',
              function: { name: 'get_weather', arguments: '{"city":"Rome"}' },
            },
          ],
        },
        { role: 'tool', tool_call_id: 't1', content: '18°C' },
        { role: 'tool', tool_call_id: 't2', content: 'Error: service down' },
        {
          role: 'user',
          content: [
            { type: 'text', text: 'And this picture?' },
            { type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA' } },
          ],
        },
      ],
      max_tokens: 300,
      stream: true,
      stream_options: { include_usage: true },
      temperature: 0.3,
      top_p: 0.8,
      stop: ['END'],
      user: 'u9',
      tools: [
        {
          type: 'function',
          function: { name: 'get_weather', description: 'Weather', parameters: { type: 'object' } },
        },
      ],
      tool_choice: { type: 'function', function: { name: 'get_weather' } },
      parallel_tool_calls: false,
    });
  });

  it.each([
    [{ type: 'auto' }, 'auto'],
    [{ type: 'any' }, 'required'],
    [{ type: 'none' }, 'none'],
  ])('maps tool_choice %j', (choice, chat) => {
    const body = messagesBodyOf({
      ...base,
      tools: [{ name: 'f', input_schema: { type: 'object' } }],
      tool_choice: choice,
    });
    expect(toChatBody(body).tool_choice).toBe(chat);
  });
});

describe('a chat answer as a message', () => {
  const answer = (message: Record<string, unknown>, finish = 'stop', usage?: unknown) =>
    readChatAnswer(
      JSON.stringify({
        id: 'c',
        model: 'up',
        choices: [{ message, finish_reason: finish }],
        usage,
      }),
    );

  it('reads tool calls into tool_use blocks and cached tokens apart', () => {
    const msg = toMessage(
      answer(
        {
          content: 'Let me look.',
          tool_calls: [
            { id: 'c1', type: 'function', function: { name: 'f', arguments: '{"a":1}' } },
          ],
        },
        'tool_calls',
        { prompt_tokens: 100, completion_tokens: 5, prompt_tokens_details: { cached_tokens: 80 } },
      ),
      'router',
    );
    expect(msg).toMatchObject({
      model: 'up',
      content: [
        { type: 'text', text: 'Let me look.' },
        { type: 'tool_use', id: 'c1', name: 'f', input: { a: 1 } },
      ],
      stop_reason: 'tool_use',
      usage: { input_tokens: 20, output_tokens: 5, cache_read_input_tokens: 80 },
    });
  });

  it.each([
    ['length', 'max_tokens'],
    ['content_filter', 'refusal'],
    ['stop', 'end_turn'],
  ])('finish %s is stop_reason %s', (finish, stop) => {
    expect(toMessage(answer({ content: 'x' }, finish), 'router').stop_reason).toBe(stop);
  });

  it('tool arguments that are no JSON object are the upstream fault (502), never {}', () => {
    const bad = answer(
      { content: null, tool_calls: [{ id: 'c1', function: { name: 'f', arguments: '{"a":' } }] },
      'tool_calls',
    );
    expect(() => toMessage(bad, 'router')).toThrow(
      expect.objectContaining({ status: 502, code: 'upstream_bad_response' }),
    );
  });
});

const enc = new TextEncoder();
const chunk = (delta: Record<string, unknown>, finish: string | null = null) =>
  `data: ${JSON.stringify({ id: 'c1', model: 'up-model', choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;

async function translate(
  sse: string,
): Promise<Array<{ event: string; data: Record<string, unknown> }>> {
  const t = messagesStream('router');
  const writer = t.writable.getWriter();
  void writer.write(enc.encode(sse)).then(() => writer.close());
  const text = await new Response(t.readable).text();
  return text
    .split('\n\n')
    .filter((b) => b.trim() !== '')
    .map((b) => {
      const [event, data] = b.split('\n');
      return {
        event: event!.replace('event: ', ''),
        data: JSON.parse(data!.replace('data: ', '')) as Record<string, unknown>,
      };
    });
}

describe('a chat stream as Messages events', () => {
  it('stops the text block before a tool block, and reports the stop reason', async () => {
    const events = await translate(
      chunk({ role: 'assistant', content: 'Checking.' }) +
        chunk({ tool_calls: [{ index: 0, id: 'c1', function: { name: 'f', arguments: '' } }] }) +
        chunk({ tool_calls: [{ index: 0, function: { arguments: '{"a":1}' } }] }) +
        chunk({}, 'tool_calls') +
        'data: [DONE]\n\n',
    );
    expect(events.map((e) => [e.event, e.data.index ?? null])).toEqual([
      ['message_start', null],
      ['ping', null],
      ['content_block_start', 0],
      ['content_block_delta', 0],
      ['content_block_stop', 0],
      ['content_block_start', 1],
      ['content_block_delta', 1],
      ['content_block_stop', 1],
      ['message_delta', null],
      ['message_stop', null],
    ]);
    expect(events[0]!.data.message).toMatchObject({
      model: 'up-model',
      usage: { input_tokens: 0, output_tokens: 0 },
    });
    expect(events[5]!.data.content_block).toEqual({
      type: 'tool_use',
      id: 'c1',
      name: 'f',
      input: {},
    });
    expect(events[6]!.data.delta).toEqual({ type: 'input_json_delta', partial_json: '{"a":1}' });
    // no usage reported upstream: the output count is 0, and no input count is claimed
    expect(events[8]!.data).toEqual({
      type: 'message_delta',
      delta: { stop_reason: 'tool_use', stop_sequence: null },
      usage: { output_tokens: 0 },
    });
  });

  it('a refusal is text with stop_reason refusal', async () => {
    const events = await translate(
      chunk({ refusal: 'I cannot.' }) + chunk({}, 'stop') + 'data: [DONE]\n\n',
    );
    expect(events.find((e) => e.event === 'content_block_delta')!.data.delta).toEqual({
      type: 'text_delta',
      text: 'I cannot.',
    });
    expect(events.find((e) => e.event === 'message_delta')!.data.delta).toMatchObject({
      stop_reason: 'refusal',
    });
  });

  it.each([
    ['overloaded_error', 'overloaded_error'],
    ['upstream_stalled', 'api_error'],
  ])('a broken stream (%s) ends with an error event of type %s', async (code, type) => {
    const error = { message: 'upstream: it broke', type: 'upstream_error', param: null, code };
    const events = await translate(
      chunk({ content: 'A' }) + `data: ${JSON.stringify({ error })}\n\ndata: [DONE]\n\n`,
    );
    expect(events.at(-1)).toEqual({
      event: 'error',
      data: { type: 'error', error: { type, message: 'upstream: it broke' } },
    });
    expect(events.map((e) => e.event)).not.toContain('message_stop');
  });

  it('a stream that ends without [DONE] ends with an error event', async () => {
    const events = await translate(chunk({ content: 'A' }));
    expect(events.at(-1)!.event).toBe('error');
    expect(events.map((e) => e.event)).not.toContain('message_stop');
  });
});
