// Usage read from every provider adapter's answers, streamed and not (loopback fakes in the real
// wire formats; the Workers AI binding's stream as it sends it): what the upstream phase reports
// for the decision log (`measured`), what the upstream is asked for, and which usage chunk the
// client gets (only when it asked for one).
import { describe, expect, it } from 'vitest';
import { anthropicCompletion } from '../../../worker/providers/anthropic/response';
import { anthropicStream } from '../../../worker/providers/anthropic/stream';
import type { UpstreamTarget, WorkersAiBinding } from '../../../worker/providers/types';
import type { TokenUsage } from '../../../worker/providers/usage';
import { callWithFallback } from '../../../worker/upstream/fallback';
import {
  chat,
  contentOf,
  dataEvents,
  fakeTarget,
  received,
  within,
} from '../upstream/support/helpers';

const opts = { timeoutMs: 3000, maxTries: 1 };
const tag = crypto.randomUUID().slice(0, 8);

/** The usage-only chunks of an SSE body (OpenAI's last chunk when asked for: no choices, usage). */
function usageChunks(events: unknown[]): unknown[] {
  return events.filter(
    (e) => typeof e === 'object' && e !== null && (e as { usage?: unknown }).usage != null,
  );
}

describe('openai-compatible', () => {
  it('reads the usage of a JSON answer and times it', async () => {
    const r = await callWithFallback([fakeTarget('openai', `ok-json-usage-${tag}`)], chat(), opts);
    expect((await r.response.json()) as object).toMatchObject({ usage: { total_tokens: 11 } });
    const m = await r.measured;
    expect(m?.usage).toEqual({ promptTokens: 7, completionTokens: 4 });
    expect(m!.ttfbMs).toBeGreaterThanOrEqual(0);
    expect(m!.upstreamMs).toBeGreaterThanOrEqual(m!.ttfbMs);
  });

  it('asks a stream for its usage, reads it, and drops the usage chunk the client did not ask for', async () => {
    const model = `ok-stream-nousage-${tag}`;
    const r = await callWithFallback([fakeTarget('openai', model)], chat({ stream: true }), opts);
    const events = dataEvents(await within(r.response.text(), 3000, 'stream'));
    expect(contentOf(events)).toBe('Hello from the fake');
    expect(usageChunks(events)).toEqual([]);
    expect(events.at(-2)).toMatchObject({ choices: [{ finish_reason: 'stop' }] });
    expect(events.at(-1)).toBe('[DONE]');
    expect((await r.measured)?.usage).toEqual({ promptTokens: 7, completionTokens: 4 });
    const [sent] = await received(model);
    expect(sent?.body.stream_options).toEqual({ include_usage: true });
  });

  it("passes the usage chunk on when the client asked for it, keeping the client's other stream options", async () => {
    const model = `ok-stream-usage-${tag}`;
    const r = await callWithFallback(
      [fakeTarget('openai', model)],
      chat({
        stream: true,
        stream_options: { include_usage: true, continuous_usage_stats: false },
      }),
      opts,
    );
    const events = dataEvents(await within(r.response.text(), 3000, 'stream'));
    expect(events.at(-2)).toEqual({
      id: 'chatcmpl-fake1',
      object: 'chat.completion.chunk',
      created: 1700000000,
      model,
      choices: [],
      usage: { prompt_tokens: 7, completion_tokens: 4, total_tokens: 11 },
    });
    expect((await r.measured)?.usage).toEqual({ promptTokens: 7, completionTokens: 4 });
    const [sent] = await received(model);
    expect(sent?.body.stream_options).toEqual({
      include_usage: true,
      continuous_usage_stats: false,
    });
  });

  it('reports no usage for a stream cut before its usage chunk, and none when nothing answered', async () => {
    const cut = await callWithFallback(
      [fakeTarget('openai', `cut-usage-${tag}`)],
      chat({ stream: true }),
      opts,
    );
    await cut.response.text();
    expect(await cut.settled).toBe('stream_cut');
    expect((await cut.measured)?.usage).toBeNull();
    const down = await callWithFallback(
      [fakeTarget('openai', `status-503-usage-${tag}`)],
      chat(),
      opts,
    );
    expect(await down.measured).toBeNull();
  });
});

describe('anthropic', () => {
  it('reads the usage of a Messages answer', async () => {
    const r = await callWithFallback([fakeTarget('anthropic', `ok-a-json-${tag}`)], chat(), opts);
    expect((await r.response.json()) as object).toMatchObject({
      usage: { prompt_tokens: 12, completion_tokens: 5, total_tokens: 17 },
    });
    expect((await r.measured)?.usage).toEqual({ promptTokens: 12, completionTokens: 5 });
  });

  it("reads a stream's usage from message_start and message_delta, with no usage chunk unless asked", async () => {
    const plain = await callWithFallback(
      [fakeTarget('anthropic', `ok-a-stream-plain-${tag}`)],
      chat({ stream: true }),
      opts,
    );
    const events = dataEvents(await within(plain.response.text(), 3000, 'anthropic stream'));
    expect(contentOf(events)).toBe('Hello from Claude');
    expect(usageChunks(events)).toEqual([]);
    expect((await plain.measured)?.usage).toEqual({ promptTokens: 12, completionTokens: 6 });

    const asked = await callWithFallback(
      [fakeTarget('anthropic', `ok-a-stream-asked-${tag}`)],
      chat({ stream: true, stream_options: { include_usage: true } }),
      opts,
    );
    const withUsage = dataEvents(await asked.response.text());
    expect(usageChunks(withUsage)).toEqual([
      expect.objectContaining({
        choices: [],
        usage: { prompt_tokens: 12, completion_tokens: 6, total_tokens: 18 },
      }),
    ]);
    expect((await asked.measured)?.usage).toEqual({ promptTokens: 12, completionTokens: 6 });
  });

  it('counts cached prompt tokens as prompt tokens (and says how many were cache reads), and reports nothing for a stream cut before message_delta', async () => {
    const event = (type: string, data: object): string =>
      `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
    const run = async (body: string): Promise<TokenUsage | null> => {
      let usage: TokenUsage | null = null;
      const t = anthropicStream({
        includeUsage: false,
        fallbackModel: 'claude',
        onUsage: (u) => {
          usage = u;
        },
      });
      const source = new Response(body).body!.pipeThrough(t);
      await new Response(source).text().catch(() => undefined);
      return usage;
    };
    const start = event('message_start', {
      message: {
        id: 'msg_1',
        model: 'claude',
        usage: {
          input_tokens: 20,
          cache_creation_input_tokens: 5,
          cache_read_input_tokens: 80,
          output_tokens: 1,
        },
      },
    });
    const delta = event('message_delta', {
      delta: { stop_reason: 'end_turn' },
      usage: { output_tokens: 9 },
    });
    expect(await run(start + delta + event('message_stop', {}))).toEqual({
      promptTokens: 105,
      completionTokens: 9,
      cachedTokens: 80,
    });
    expect(await run(start)).toBeNull();
  });
});

describe('anthropic prompt cache in a JSON answer', () => {
  it('counts cache reads and writes as prompt tokens, and names the reads as cached', () => {
    const { body, usage } = anthropicCompletion(
      JSON.stringify({
        id: 'msg_1',
        model: 'claude',
        content: [{ type: 'text', text: 'Hi' }],
        stop_reason: 'end_turn',
        usage: {
          input_tokens: 20,
          cache_creation_input_tokens: 5,
          cache_read_input_tokens: 80,
          output_tokens: 9,
        },
      }),
    );
    expect(usage).toEqual({ promptTokens: 105, completionTokens: 9, cachedTokens: 80 });
    expect((JSON.parse(body) as { usage: unknown }).usage).toEqual({
      prompt_tokens: 105,
      completion_tokens: 9,
      total_tokens: 114,
      prompt_tokens_details: { cached_tokens: 80 },
    });
  });

  it('claims no usage when Anthropic reported none', () => {
    const { body, usage } = anthropicCompletion(
      JSON.stringify({ id: 'msg_2', model: 'claude', content: [], stop_reason: 'end_turn' }),
    );
    expect(usage).toBeNull();
    expect(JSON.parse(body)).not.toHaveProperty('usage');
  });
});

describe('workers-ai', () => {
  const llama: UpstreamTarget = {
    name: 'llama-3.1-8b',
    provider: 'workers-ai',
    upstreamModel: '@cf/meta/llama-3.1-8b-instruct',
  };
  const usage = { prompt_tokens: 9, completion_tokens: 3, total_tokens: 12 };
  /** The binding: a `{ response, usage }` object, or its event stream with usage in a late event. */
  const ai: WorkersAiBinding = {
    run: async (_model, inputs) => {
      if (inputs.stream !== true) return { response: 'Hello there', usage };
      const enc = new TextEncoder();
      return new ReadableStream<Uint8Array>({
        start(c) {
          c.enqueue(enc.encode(`data: ${JSON.stringify({ response: 'Hel' })}\n\n`));
          c.enqueue(enc.encode(`data: ${JSON.stringify({ response: 'lo' })}\n\n`));
          c.enqueue(enc.encode(`data: ${JSON.stringify({ response: '', usage })}\n\n`));
          c.enqueue(enc.encode('data: [DONE]\n\n'));
          c.close();
        },
      });
    },
  };

  it('reads the usage of a JSON result', async () => {
    const r = await callWithFallback([llama], chat(), { ...opts, ai });
    expect((await r.response.json()) as object).toMatchObject({ usage });
    expect((await r.measured)?.usage).toEqual({ promptTokens: 9, completionTokens: 3 });
  });

  it('reads the usage of a stream, and sends the usage chunk only when asked', async () => {
    const plain = await callWithFallback([llama], chat({ stream: true }), { ...opts, ai });
    const events = dataEvents(await plain.response.text());
    expect(contentOf(events)).toBe('Hello');
    expect(usageChunks(events)).toEqual([]);
    expect((await plain.measured)?.usage).toEqual({ promptTokens: 9, completionTokens: 3 });

    const asked = await callWithFallback(
      [llama],
      chat({ stream: true, stream_options: { include_usage: true } }),
      { ...opts, ai },
    );
    expect(usageChunks(dataEvents(await asked.response.text()))).toEqual([
      expect.objectContaining({ choices: [], usage }),
    ]);
  });
});
