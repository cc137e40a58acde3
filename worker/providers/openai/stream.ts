import { sseData, sseDecoder } from '../sse';
import { openAIError } from '../errors';

/**
 * Passes an OpenAI-compatible SSE stream through chunk by chunk, unchanged. It also reads along
 * (a side decoder) so that a stream which ends without `data: [DONE]` is still closed properly:
 * with `[DONE]` when a finish_reason or the upstream's own error event was seen, else with an
 * error event first.
 *
 * @example
 * upstream.body.pipeThrough(openAIStream());
 */
export function openAIStream(): TransformStream<Uint8Array, Uint8Array> {
  const decoder = sseDecoder();
  const writer = decoder.writable.getWriter();
  const reader = decoder.readable.getReader();
  let done = false;
  let finished = false;
  let errored = false;

  const watch = async (): Promise<void> => {
    for (;;) {
      const { value, done: end } = await reader.read();
      if (end) return;
      if (value.data === '[DONE]') done = true;
      else if (value.data.startsWith('{"error"')) errored = true;
      else if (!finished && value.data.includes('finish_reason')) {
        try {
          const c = JSON.parse(value.data) as { choices?: Array<{ finish_reason?: unknown }> };
          if (c.choices?.some((ch) => ch.finish_reason != null)) finished = true;
        } catch {
          // a malformed event is the client's to see; the watcher only looks for the end
        }
      }
    }
  };
  const watching = watch();

  return new TransformStream<Uint8Array, Uint8Array>({
    async transform(bytes, out) {
      out.enqueue(bytes);
      await writer.write(bytes);
    },
    async flush(out) {
      await writer.close();
      await watching;
      if (done) return;
      // An upstream that reported its own error event needs only the terminator.
      if (!finished && !errored) {
        out.enqueue(sseData(openAIError('upstream stream ended before the answer was complete', 'upstream_error', 'upstream_incomplete')));
      }
      out.enqueue(sseData('[DONE]'));
    },
  });
}
