import { describe, expect, it } from 'vitest';
import { callWithFallback } from '../../../worker/upstream/fallback';
import { workersAiInput } from '../../../worker/providers/workers-ai/request';
import type { UpstreamTarget, WorkersAiBinding } from '../../../worker/providers/types';
import { chat, contentOf, dataEvents, fakeTarget, within } from '../upstream/support/helpers';

const llama: UpstreamTarget = {
  name: 'llama-3.1-8b',
  provider: 'workers-ai',
  upstreamModel: '@cf/meta/llama-3.1-8b-instruct',
};
const opts = { timeoutMs: 1000, maxTries: 1 };

/** The byte stream the binding returns for `stream: true` (its real wire format). */
function aiStream(pieces: string[], done = true): ReadableStream<Uint8Array> {
  const enc = new TextEncoder();
  return new ReadableStream({
    async start(c) {
      for (const p of pieces) {
        c.enqueue(enc.encode(`data: ${JSON.stringify({ response: p, p: 'abcdef' })}\n\n`));
        await new Promise((r) => setTimeout(r, 5));
      }
      if (done) {
        c.enqueue(
          enc.encode(
            `data: ${JSON.stringify({ response: '', usage: { prompt_tokens: 9, completion_tokens: 3, total_tokens: 12 } })}\n\n`,
          ),
        );
        c.enqueue(enc.encode('data: [DONE]\n\n'));
      }
      c.close();
    },
  });
}

/** A stand-in for `env.AI` that records its calls and answers like the binding does. */
function fakeAi(
  answer: (model: string, inputs: Record<string, unknown>) => Promise<unknown>,
): WorkersAiBinding & { calls: Array<{ model: string; inputs: Record<string, unknown> }> } {
  const calls: Array<{ model: string; inputs: Record<string, unknown> }> = [];
  return {
    calls,
    run(model, inputs) {
      calls.push({ model, inputs });
      return answer(model, inputs);
    },
  };
}

describe('workers-ai', () => {
  it('flattens content parts and maps parameters', () => {
    expect(
      workersAiInput(
        chat({
          messages: [
            { role: 'developer', content: [{ type: 'text', text: 'Be brief.' }] },
            { role: 'user', content: 'Hi' },
          ],
          max_tokens: 64,
          temperature: 0.3,
          stream: true,
        }),
      ),
    ).toEqual({
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Hi' },
      ],
      max_tokens: 64,
      temperature: 0.3,
      stream: true,
    });
  });

  it('turns a { response, usage } result into a chat.completion', async () => {
    const ai = fakeAi(async () => ({
      response: 'Hello there',
      usage: { prompt_tokens: 9, completion_tokens: 2, total_tokens: 11 },
    }));
    const r = await callWithFallback([llama], chat(), { ...opts, ai });
    expect(ai.calls).toEqual([
      {
        model: '@cf/meta/llama-3.1-8b-instruct',
        inputs: { messages: [{ role: 'user', content: 'Say hello.' }] },
      },
    ]);
    expect(await r.response.json()).toMatchObject({
      object: 'chat.completion',
      model: '@cf/meta/llama-3.1-8b-instruct',
      choices: [{ message: { role: 'assistant', content: 'Hello there' }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 9, completion_tokens: 2, total_tokens: 11 },
    });
  });

  it('translates the binding stream into OpenAI chunks', async () => {
    const ai = fakeAi(async () => aiStream(['Hel', 'lo', '!']));
    const r = await callWithFallback(
      [llama],
      chat({ stream: true, stream_options: { include_usage: true } }),
      { ...opts, ai },
    );
    const events = dataEvents(await within(r.response.text(), 2000, 'ai stream'));
    expect(events[0]).toMatchObject({
      object: 'chat.completion.chunk',
      choices: [{ delta: { role: 'assistant', content: '' } }],
    });
    expect(contentOf(events)).toBe('Hello!');
    expect(events.at(-3)).toMatchObject({ choices: [{ finish_reason: 'stop' }] });
    expect(events.at(-2)).toMatchObject({
      choices: [],
      usage: { prompt_tokens: 9, completion_tokens: 3 },
    });
    expect(events.at(-1)).toBe('[DONE]');
  });

  it('ends a binding stream without [DONE] with an error event', async () => {
    const ai = fakeAi(async () => aiStream(['Hel'], false));
    const r = await callWithFallback([llama], chat({ stream: true }), { ...opts, ai });
    const events = dataEvents(await r.response.text());
    expect(events.at(-2)).toMatchObject({ error: { code: 'upstream_incomplete' } });
    expect(events.at(-1)).toBe('[DONE]');
  });

  it('falls back with a clear reason when the binding is absent, and answers 503 when nothing else is left', async () => {
    const r = await callWithFallback([llama, fakeTarget('openai', 'ok-after-no-ai')], chat(), {
      timeoutMs: 1000,
      maxTries: 2,
    });
    expect(r.used).toBe(1);
    expect(r.attempts[0]).toMatchObject({
      target: 'llama-3.1-8b',
      ok: false,
      reason: 'no_ai_binding',
    });
    const alone = await callWithFallback([llama], chat(), opts);
    expect(alone.response.status).toBe(503);
    const body = (await alone.response.json()) as { error: { message: string } };
    expect(body.error.message).toContain('needs the Workers AI binding');
  });

  it('falls back when the binding throws (capacity errors) or never answers', async () => {
    const busy = fakeAi(async () => {
      throw new Error('3040: Capacity temporarily exceeded, please try again.');
    });
    const r = await callWithFallback([llama, fakeTarget('openai', 'ok-after-ai-error')], chat(), {
      timeoutMs: 1000,
      maxTries: 2,
      ai: busy,
    });
    expect(r.attempts[0]).toMatchObject({ ok: false, reason: 'ai_error' });
    expect(r.used).toBe(1);
    const stuck = fakeAi(() => new Promise(() => undefined));
    const t = await callWithFallback([llama, fakeTarget('openai', 'ok-after-ai-hang')], chat(), {
      timeoutMs: 200,
      maxTries: 2,
      ai: stuck,
    });
    expect(t.attempts[0]).toMatchObject({ ok: false, reason: 'timeout' });
    expect(t.used).toBe(1);
  });
});
