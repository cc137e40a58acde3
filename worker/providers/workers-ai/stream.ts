import { sseData, sseDecoder, type SseEvent } from '../sse';
import { UpstreamError } from '../errors';
import { chunk, nowSeconds } from '../openai/types';
import type { ByteTransform } from '../adapter';
import { readOpenAIUsage, usageChunk, type TokenUsage, type UsageSink } from '../usage';

/**
 * Translates the Workers AI text stream (`data: {"response":"..."}` events, then `data: [DONE]`)
 * into OpenAI chunks: a role chunk first, one content chunk per piece, a finish chunk, an optional
 * usage chunk when the client asked for one, and `[DONE]`. The binding's usage (a late event's
 * `usage`) goes to `onUsage` as it arrives. A stream that ends without `[DONE]` errors with
 * `UpstreamError('incomplete')`, which `endWithErrorEvent` turns into the client's error event.
 *
 * @example
 * (await ai.run(model, { messages, stream: true })).pipeThrough(workersAiStream({ model, includeUsage: false, onUsage: () => {} }));
 */
export function workersAiStream(opts: {
  model: string;
  includeUsage: boolean;
  onUsage: UsageSink;
}): ByteTransform {
  const meta = { id: `chatcmpl-${crypto.randomUUID()}`, created: nowSeconds(), model: opts.model };
  let started = false;
  let ended = false;
  let usage: TokenUsage | null = null;

  const decoder = sseDecoder();
  return {
    writable: decoder.writable,
    readable: decoder.readable.pipeThrough(
      new TransformStream<SseEvent, Uint8Array>({
        transform(ev, out) {
          if (ended) return;
          if (!started) {
            out.enqueue(sseData(chunk(meta, { role: 'assistant', content: '' })));
            started = true;
          }
          if (ev.data === '[DONE]') {
            out.enqueue(sseData(chunk(meta, {}, 'stop')));
            if (opts.includeUsage && usage) out.enqueue(sseData(usageChunk(meta, usage)));
            out.enqueue(sseData('[DONE]'));
            ended = true;
            return;
          }
          let piece: { response?: unknown; usage?: unknown };
          try {
            piece = JSON.parse(ev.data) as typeof piece;
          } catch {
            return;
          }
          const reported = readOpenAIUsage(piece.usage);
          if (reported) {
            usage = reported;
            opts.onUsage(reported);
          }
          if (typeof piece.response === 'string' && piece.response !== '')
            out.enqueue(sseData(chunk(meta, { content: piece.response })));
        },
        flush() {
          if (!ended)
            throw new UpstreamError('incomplete', 'Workers AI stream ended before [DONE]');
        },
      }),
    ),
  };
}
