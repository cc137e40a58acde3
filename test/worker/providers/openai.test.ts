import { describe, expect, inject, it } from 'vitest';
import { openAIRequest } from '../../../worker/providers/openai/request';
import { callWithFallback } from '../../../worker/upstream/fallback';
import { chat, contentOf, dataEvents, fakeTarget, received, within } from '../upstream/support/helpers';

const opts = { timeoutMs: 2000, maxTries: 1 };

describe('openai request', () => {
  it('swaps in the upstream model id, keeps every other field, and sends the key as a bearer token', () => {
    const { url, init } = openAIRequest(
      { name: 'gpt-4o', provider: 'openai', upstreamModel: 'gpt-4o-2024-05-13', baseUrl: 'https://api.example.test/v1/', apiKey: 'sk-1' },
      chat({ temperature: 0.2, response_format: { type: 'json_object' }, stream: true }),
    );
    expect(url).toBe('https://api.example.test/v1/chat/completions');
    expect(init.headers).toMatchObject({ authorization: 'Bearer sk-1', 'content-type': 'application/json', accept: 'text/event-stream' });
    expect(JSON.parse(init.body as string)).toEqual({
      model: 'gpt-4o-2024-05-13', messages: [{ role: 'user', content: 'Say hello.' }], temperature: 0.2, response_format: { type: 'json_object' }, stream: true,
    });
  });

  it('sends no authorization header for a keyless upstream (vLLM, Ollama)', () => {
    const { init } = openAIRequest({ name: 'local', provider: 'openai', upstreamModel: 'llama3', baseUrl: 'http://127.0.0.1:11434/v1' }, chat());
    expect(init.headers).not.toHaveProperty('authorization');
  });
});

describe('openai over loopback', () => {
  it('passes a JSON answer through unchanged (unknown fields kept)', async () => {
    const r = await callWithFallback([fakeTarget('openai', 'ok-json')], chat(), opts);
    expect(r.response.headers.get('content-type')).toContain('application/json');
    const body = (await r.response.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ object: 'chat.completion', model: 'ok-json', system_fingerprint: 'fp_fake', usage: { total_tokens: 11 } });
    const [sent] = await received('ok-json');
    expect(sent).toMatchObject({ path: '/openai/v1/chat/completions', headers: { authorization: 'Bearer test-key' }, body: { model: 'ok-json' } });
  });

  it('passes SSE through chunk by chunk: the first chunk reaches the client before the upstream sends the rest', async () => {
    const r = await callWithFallback([fakeTarget('openai', 'ok-gated-1')], chat({ stream: true }), opts);
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

  it('passes an upstream error event through and only adds [DONE]', async () => {
    const r = await callWithFallback([fakeTarget('openai', 'error-event-o1')], chat({ stream: true }), opts);
    const events = dataEvents(await within(r.response.text(), 3000, 'error-event stream'));
    expect(events.slice(1)).toEqual([{ error: { message: 'provider overloaded', type: 'server_error', param: null, code: 'overloaded' } }, '[DONE]']);
  });

  it('treats a 200 that is not a completion as a failure and moves on', async () => {
    const r = await callWithFallback([fakeTarget('openai', 'garbage-1'), fakeTarget('openai', 'ok-after-bad')], chat(), { timeoutMs: 2000, maxTries: 2 });
    expect(r.attempts[0]).toMatchObject({ ok: false, reason: 'bad_response' });
    expect(r.used).toBe(1);
  });
});
