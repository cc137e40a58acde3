import { describe, expect, inject, it } from 'vitest';
import { openAIRequest } from '../../../worker/providers/openai/request';
import { openAIStream } from '../../../worker/providers/openai/stream';
import { callWithFallback } from '../../../worker/upstream/fallback';
import {
  chat,
  contentOf,
  dataEvents,
  fakeTarget,
  received,
  within,
} from '../upstream/support/helpers';

const opts = { timeoutMs: 2000, maxTries: 1 };

describe('openai request', () => {
  it('swaps in the upstream model id, keeps every other field, and sends the key as a bearer token', () => {
    const { url, init } = openAIRequest(
      {
        name: 'gpt-4o',
        provider: 'openai',
        upstreamModel: 'gpt-4o-2024-05-13',
        baseUrl: 'https://api.example.test/v1/',
        apiKey: 'sk-1',
      },
      chat({ temperature: 0.2, response_format: { type: 'json_object' }, stream: true }),
    );
    expect(url).toBe('https://api.example.test/v1/chat/completions');
    expect(init.headers).toMatchObject({
      authorization: 'Bearer sk-1',
      'content-type': 'application/json',
      accept: 'text/event-stream',
    });
    expect(init.redirect).toBe('manual');
    expect(JSON.parse(init.body as string)).toEqual({
      model: 'gpt-4o-2024-05-13',
      messages: [{ role: 'user', content: 'Say hello.' }],
      temperature: 0.2,
      response_format: { type: 'json_object' },
      stream: true,
      // the router always asks a stream for its usage (what the answer cost)
      stream_options: { include_usage: true },
    });
  });

  it('sends no authorization header for a keyless upstream (vLLM, Ollama)', () => {
    const { init } = openAIRequest(
      {
        name: 'local',
        provider: 'openai',
        upstreamModel: 'llama3',
        baseUrl: 'http://127.0.0.1:11434/v1',
      },
      chat(),
    );
    expect(init.headers).not.toHaveProperty('authorization');
  });
});

describe('openai over loopback', () => {
  it('passes a JSON answer through unchanged (unknown fields kept)', async () => {
    const r = await callWithFallback([fakeTarget('openai', 'ok-json')], chat(), opts);
    expect(r.response.headers.get('content-type')).toContain('application/json');
    const body = (await r.response.json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      object: 'chat.completion',
      model: 'ok-json',
      system_fingerprint: 'fp_fake',
      usage: { total_tokens: 11 },
    });
    const [sent] = await received('ok-json');
    expect(sent).toMatchObject({
      path: '/openai/v1/chat/completions',
      headers: { authorization: 'Bearer test-key' },
      body: { model: 'ok-json' },
    });
  });

  it('passes SSE through chunk by chunk: the first chunk reaches the client before the upstream sends the rest', async () => {
    const r = await callWithFallback(
      [fakeTarget('openai', 'ok-gated-1')],
      chat({ stream: true }),
      opts,
    );
    expect(r.response.headers.get('content-type')).toContain('text/event-stream');
    const reader = r.response.body!.getReader();
    // The fake holds everything after its first event until released: a buffering router would
    // block here and the test would fail on the deadline.
    const first = await within(reader.read(), 2000, 'first chunk');
    const firstText = new TextDecoder().decode(first.value);
    expect(contentOf(dataEvents(firstText))).toBe('Hello');
    expect(firstText).not.toContain('[DONE]');
    await fetch(`${inject('fakeProvidersUrl')}/__release?model=ok-gated-1`, { method: 'POST' });
    let rest = '';
    for (;;) {
      const next = await within(reader.read(), 2000, 'rest of stream');
      if (next.done) break;
      rest += new TextDecoder().decode(next.value);
    }
    const events = dataEvents(firstText + rest);
    expect(contentOf(events)).toBe('Hello from the fake');
    expect(events.at(-1)).toBe('[DONE]');
    expect(events.at(-2)).toMatchObject({ choices: [{ finish_reason: 'stop' }] });
  });

  it('closes a stream that ends without [DONE] with an error event first', async () => {
    const r = await callWithFallback([fakeTarget('openai', 'cut-1')], chat({ stream: true }), opts);
    const events = dataEvents(await within(r.response.text(), 3000, 'cut stream'));
    expect(contentOf(events)).toBe('Hello from the fake');
    expect(events.at(-2)).toMatchObject({ error: { code: 'upstream_incomplete' } });
    expect(events.at(-1)).toBe('[DONE]');
  });

  it('ends the stream at an upstream error event: its cleaned message as an OpenAI error, then [DONE]', async () => {
    const r = await callWithFallback(
      [fakeTarget('openai', 'error-event-o1')],
      chat({ stream: true }),
      opts,
    );
    const events = dataEvents(await within(r.response.text(), 3000, 'error-event stream'));
    expect(events.slice(1)).toEqual([
      {
        error: {
          message: 'upstream: provider overloaded',
          type: 'upstream_error',
          param: null,
          code: 'upstream_stream_error',
        },
      },
      '[DONE]',
    ]);
  });

  it('treats a 200 that is not a completion as a failure and moves on', async () => {
    const r = await callWithFallback(
      [fakeTarget('openai', 'garbage-1'), fakeTarget('openai', 'ok-after-bad')],
      chat(),
      { timeoutMs: 2000, maxTries: 2 },
    );
    expect(r.attempts[0]).toMatchObject({ ok: false, reason: 'bad_response' });
    expect(r.used).toBe(1);
  });
});

describe('openAIStream (the pass-through transform)', () => {
  const chunkOf = (content: string, finish: string | null = null): string =>
    `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content }, finish_reason: finish }] })}\n\n`;

  async function run(pieces: string[]): Promise<{ text: string; error: unknown }> {
    const enc = new TextEncoder();
    const source = new ReadableStream<Uint8Array>({
      start(c) {
        for (const p of pieces) c.enqueue(enc.encode(p));
        c.close();
      },
    });
    const reader = source
      .pipeThrough(openAIStream({ forwardUsage: true, onUsage: () => undefined }))
      .getReader();
    let text = '';
    for (;;) {
      try {
        const r = await reader.read();
        if (r.done) return { text, error: null };
        text += new TextDecoder().decode(r.value);
      } catch (error) {
        return { text, error };
      }
    }
  }

  it('passes whole events byte for byte, comments included, and nothing after [DONE]', async () => {
    const body = `: OPENROUTER PROCESSING\n\n${chunkOf('Hi')}${chunkOf('', 'stop')}data: [DONE]\n\n`;
    expect(await run([body.slice(0, 30), body.slice(30), 'data: {"late":true}\n\n'])).toEqual({
      text: body,
      error: null,
    });
  });

  it('drops an event whose data is not JSON (no OpenAI client can read it)', async () => {
    const out = await run([
      chunkOf('Hi'),
      'data: ping\n\n',
      chunkOf('', 'stop'),
      'data: [DONE]\n\n',
    ]);
    expect(out.text).toBe(`${chunkOf('Hi')}${chunkOf('', 'stop')}data: [DONE]\n\n`);
  });

  it('drops an event whose JSON is no chunk (null, a number) instead of breaking the stream', async () => {
    const out = await run([
      chunkOf('Hi'),
      'data: null\n\n',
      'data: 42\n\n',
      chunkOf('', 'stop'),
      'data: [DONE]\n\n',
    ]);
    expect(out).toEqual({
      text: `${chunkOf('Hi')}${chunkOf('', 'stop')}data: [DONE]\n\n`,
      error: null,
    });
  });

  it('keeps a last event that lost only its line ends, and adds [DONE] after a finish_reason', async () => {
    expect(await run([chunkOf('Hi'), chunkOf('', 'stop'), 'data: [DONE]'])).toEqual({
      text: `${chunkOf('Hi')}${chunkOf('', 'stop')}data: [DONE]\n\n`,
      error: null,
    });
    expect(await run([chunkOf('Hi'), chunkOf('', 'stop').trimEnd()])).toEqual({
      text: `${chunkOf('Hi')}${chunkOf('', 'stop')}data: [DONE]\n\n`,
      error: null,
    });
  });

  it('errors (incomplete) when the stream ends mid-event without a finish_reason, after the whole events only', async () => {
    const cut = chunkOf(' there');
    const out = await run([chunkOf('Hi'), cut.slice(0, 25)]);
    expect(out.text).toBe(chunkOf('Hi'));
    expect(out.error).toMatchObject({ name: 'UpstreamError', reason: 'incomplete' });
  });
});
