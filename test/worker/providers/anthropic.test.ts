import { describe, expect, it } from 'vitest';
import {
  anthropicBody,
  anthropicRequest,
  toAnthropicMessages,
} from '../../../worker/providers/anthropic/request';
import { callWithFallback } from '../../../worker/upstream/fallback';
import type { UpstreamTarget } from '../../../worker/providers/types';
import {
  chat,
  contentOf,
  dataEvents,
  fakeTarget,
  received,
  within,
} from '../upstream/support/helpers';

const opts = { timeoutMs: 2000, maxTries: 1 };
const claude: UpstreamTarget = {
  name: 'claude',
  provider: 'anthropic',
  upstreamModel: 'claude-3-5-haiku-20241022',
  apiKey: 'sk-ant',
};

describe('anthropic request translation', () => {
  it('moves system and developer messages to `system`, merges same-role turns, and maps parts', () => {
    const out = toAnthropicMessages([
      { role: 'system', content: 'Be brief.' },
      { role: 'developer', content: [{ type: 'text', text: 'Answer in English.' }] },
      { role: 'user', content: 'Hi' },
      {
        role: 'user',
        content: [
          { type: 'text', text: 'What is this?' },
          { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
        ],
      },
      { role: 'assistant', content: 'A logo.' },
      {
        role: 'user',
        content: [{ type: 'image_url', image_url: { url: 'https://example.test/a.jpg' } }],
      },
    ]);
    expect(out.system).toBe('Be brief.\n\nAnswer in English.');
    expect(out.messages).toEqual([
      {
        role: 'user',
        content: [
          { type: 'text', text: 'Hi' },
          { type: 'text', text: 'What is this?' },
          {
            type: 'image',
            source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' },
          },
        ],
      },
      { role: 'assistant', content: [{ type: 'text', text: 'A logo.' }] },
      {
        role: 'user',
        content: [{ type: 'image', source: { type: 'url', url: 'https://example.test/a.jpg' } }],
      },
    ]);
  });

  it('defaults max_tokens, maps stop to stop_sequences, clamps temperature, and passes user as metadata', () => {
    const body = anthropicBody(
      claude,
      chat({ stop: 'END', temperature: 1.7, top_p: 0.9, user: 'u-1' }),
    );
    expect(body).toEqual({
      model: 'claude-3-5-haiku-20241022',
      max_tokens: 4096,
      messages: [{ role: 'user', content: [{ type: 'text', text: 'Say hello.' }] }],
      stop_sequences: ['END'],
      temperature: 1,
      top_p: 0.9,
      metadata: { user_id: 'u-1' },
    });
    expect(
      anthropicBody(claude, chat({ max_tokens: 50, max_completion_tokens: 70, stop: ['a', 'b'] })),
    ).toMatchObject({ max_tokens: 70, stop_sequences: ['a', 'b'] });
  });

  it('translates tools, tool calls and tool results', () => {
    const body = anthropicBody(
      claude,
      chat({
        messages: [
          { role: 'user', content: 'Weather in Paris?' },
          {
            role: 'assistant',
            content: null,
            tool_calls: [
              {
                id: 'call_1',
                type: 'function',
                function: { name: 'get_weather', arguments: '{"city":"Paris"}' },
              },
            ],
          },
          { role: 'tool', tool_call_id: 'call_1', content: '18C' },
        ],
        tools: [
          {
            type: 'function',
            function: {
              name: 'get_weather',
              description: 'Weather now',
              parameters: { type: 'object', properties: { city: { type: 'string' } } },
            },
          },
        ],
        tool_choice: 'required',
      }),
    );
    expect(body.messages).toEqual([
      { role: 'user', content: [{ type: 'text', text: 'Weather in Paris?' }] },
      {
        role: 'assistant',
        content: [
          { type: 'tool_use', id: 'call_1', name: 'get_weather', input: { city: 'Paris' } },
        ],
      },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'call_1', content: '18C' }] },
    ]);
    expect(body.tools).toEqual([
      {
        name: 'get_weather',
        description: 'Weather now',
        input_schema: { type: 'object', properties: { city: { type: 'string' } } },
      },
    ]);
    expect(body.tool_choice).toEqual({ type: 'any' });
  });

  it('posts to {base}/messages with the key and version headers (public API by default)', () => {
    const { url, init } = anthropicRequest(claude, chat());
    expect(url).toBe('https://api.anthropic.com/v1/messages');
    expect(init.headers).toMatchObject({
      'x-api-key': 'sk-ant',
      'anthropic-version': '2023-06-01',
    });
    expect(init.redirect).toBe('manual');
  });
});

describe('anthropic over loopback', () => {
  it('turns a Messages answer into a chat.completion with usage', async () => {
    const r = await callWithFallback(
      [fakeTarget('anthropic', 'ok-a1')],
      chat({
        messages: [
          { role: 'system', content: 'Be kind.' },
          { role: 'user', content: 'Hi' },
        ],
      }),
      opts,
    );
    expect(r.response.status).toBe(200);
    const body = (await r.response.json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      id: 'msg_fake1',
      object: 'chat.completion',
      model: 'ok-a1',
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: 'Hello from Claude' },
          finish_reason: 'stop',
        },
      ],
      usage: { prompt_tokens: 12, completion_tokens: 5, total_tokens: 17 },
    });
    const [sent] = await received('ok-a1');
    expect(sent).toMatchObject({
      path: '/anthropic/v1/messages',
      headers: { 'x-api-key': 'test-key', 'anthropic-version': '2023-06-01' },
      body: {
        system: 'Be kind.',
        max_tokens: 4096,
        messages: [{ role: 'user', content: [{ type: 'text', text: 'Hi' }] }],
      },
    });
    expect(sent?.headers.authorization).toBeUndefined();
  });

  it('maps a tool_use answer to tool_calls', async () => {
    const r = await callWithFallback([fakeTarget('anthropic', 'tool-a1')], chat(), opts);
    const body = (await r.response.json()) as {
      choices: Array<{ message: unknown; finish_reason: string }>;
    };
    expect(body.choices[0]).toEqual({
      index: 0,
      finish_reason: 'tool_calls',
      message: {
        role: 'assistant',
        content: 'Let me check.',
        tool_calls: [
          {
            id: 'toolu_01',
            type: 'function',
            function: { name: 'get_weather', arguments: '{"city":"Paris"}' },
          },
        ],
      },
    });
  });

  it('streams Anthropic events as OpenAI chunks ending in [DONE], with usage when asked', async () => {
    const r = await callWithFallback(
      [fakeTarget('anthropic', 'ok-a-stream')],
      chat({ stream: true, stream_options: { include_usage: true } }),
      opts,
    );
    expect(r.response.headers.get('content-type')).toContain('text/event-stream');
    const events = dataEvents(await within(r.response.text(), 3000, 'anthropic stream'));
    expect(events[0]).toMatchObject({
      id: 'msg_fake1',
      object: 'chat.completion.chunk',
      model: 'ok-a-stream',
      choices: [{ delta: { role: 'assistant', content: '' }, finish_reason: null }],
    });
    expect(contentOf(events)).toBe('Hello from Claude');
    expect(events.at(-3)).toMatchObject({ choices: [{ delta: {}, finish_reason: 'stop' }] });
    expect(events.at(-2)).toMatchObject({
      choices: [],
      usage: { prompt_tokens: 12, completion_tokens: 6, total_tokens: 18 },
    });
    expect(events.at(-1)).toBe('[DONE]');
    expect((await received('ok-a-stream'))[0]?.body.stream).toBe(true);
  });

  it('streams tool calls as tool_calls deltas', async () => {
    const r = await callWithFallback(
      [fakeTarget('anthropic', 'tool-a-stream')],
      chat({ stream: true }),
      opts,
    );
    const events = dataEvents(await r.response.text()) as Array<{
      choices?: Array<{
        delta: {
          tool_calls?: Array<{
            index: number;
            id?: string;
            function?: { name?: string; arguments?: string };
          }>;
        };
        finish_reason: string | null;
      }>;
    }>;
    const calls = events.flatMap((e) => e.choices?.[0]?.delta.tool_calls ?? []);
    expect(calls[0]).toMatchObject({
      index: 0,
      id: 'toolu_01',
      type: 'function',
      function: { name: 'get_weather', arguments: '' },
    });
    expect(calls.map((c) => c.function?.arguments ?? '').join('')).toBe('{"city": "Paris"}');
    expect(events.map((e) => e.choices?.[0]?.finish_reason).filter(Boolean)).toEqual([
      'tool_calls',
    ]);
  });

  it('turns an error event mid-stream into an OpenAI error event, then [DONE]', async () => {
    const r = await callWithFallback(
      [fakeTarget('anthropic', 'error-event-1')],
      chat({ stream: true }),
      opts,
    );
    const events = dataEvents(await within(r.response.text(), 3000, 'error-event stream'));
    expect(contentOf(events)).toBe('Hello');
    expect(events.at(-2)).toEqual({
      error: {
        message: 'upstream: Overloaded',
        type: 'upstream_error',
        code: 'overloaded_error',
        param: null,
      },
    });
    expect(events.at(-1)).toBe('[DONE]');
  });

  it('ends a stream cut before message_stop with an error event', async () => {
    const r = await callWithFallback(
      [fakeTarget('anthropic', 'cut-a1')],
      chat({ stream: true }),
      opts,
    );
    const events = dataEvents(await within(r.response.text(), 3000, 'cut stream'));
    expect(events.at(-2)).toMatchObject({ error: { code: 'upstream_incomplete' } });
    expect(events.at(-1)).toBe('[DONE]');
  });

  it('returns a 400 as an OpenAI error and falls back on 529 overloaded', async () => {
    const bad = await callWithFallback(
      [fakeTarget('anthropic', 'status-400-a'), fakeTarget('anthropic', 'ok-not-after-400a')],
      chat(),
      { timeoutMs: 2000, maxTries: 2 },
    );
    expect(bad.response.status).toBe(400);
    expect(await bad.response.json()).toEqual({
      error: {
        message: 'upstream: fake anthropic says 400',
        type: 'invalid_request_error',
        code: 'invalid_request_error',
        param: null,
      },
    });
    const busy = await callWithFallback(
      [fakeTarget('anthropic', 'status-529-a'), fakeTarget('openai', 'ok-after-529')],
      chat(),
      { timeoutMs: 2000, maxTries: 2 },
    );
    expect(busy.used).toBe(1);
    expect(busy.attempts[0]).toMatchObject({ status: 529, reason: 'http_529' });
  });

  it('rejects a request it cannot translate with a 400, without calling anyone', async () => {
    const r = await callWithFallback(
      [fakeTarget('anthropic', 'ok-never-bad-image'), fakeTarget('openai', 'ok-never-bad-image-2')],
      chat({ messages: [{ role: 'user', content: [{ type: 'image_url', image_url: {} }] }] }),
      { timeoutMs: 2000, maxTries: 2 },
    );
    expect(r.response.status).toBe(400);
    expect(((await r.response.json()) as { error: { type: string } }).error.type).toBe(
      'invalid_request_error',
    );
    expect(await received('ok-never-bad-image')).toHaveLength(0);
    expect(await received('ok-never-bad-image-2')).toHaveLength(0);
  });
});
