import { UpstreamError, describe, openAIError } from '../providers/errors';
import { sseData } from '../providers/sse';

/**
 * Re-emits an upstream byte stream whose first chunk was already read, and errors it when the
 * upstream stays silent for `idleMs` (so a stalled upstream cannot hang the client). The silence
 * clock runs only while the consumer waits for data (highWaterMark 0: nothing is read ahead).
 *
 * @example
 * const body = idleGuard(reader, first.value, 15000);
 */
export function idleGuard(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  first: Uint8Array,
  idleMs: number,
): ReadableStream<Uint8Array> {
  let pending: Uint8Array | undefined = first;
  return new ReadableStream<Uint8Array>(
    {
      async pull(out) {
        if (pending) {
          out.enqueue(pending);
          pending = undefined;
          return;
        }
        let timer: ReturnType<typeof setTimeout> | undefined;
        const silence = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new UpstreamError('stalled', `upstream sent nothing for ${idleMs} ms`)), idleMs);
        });
        try {
          const r = await Promise.race([reader.read(), silence]);
          if (r.done) out.close();
          else out.enqueue(r.value);
        } catch (err) {
          reader.cancel(err).catch(() => undefined);
          out.error(err);
        } finally {
          clearTimeout(timer);
        }
      },
      cancel(reason) {
        return reader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
}

/**
 * Passes an OpenAI SSE stream to the client; if it errors after streaming began (upstream reset,
 * stall, bad bytes), ends it with `data: {"error":{...}}` and `data: [DONE]` and closes, instead of
 * cutting the connection or hanging.
 *
 * @example
 * return new Response(endWithErrorEvent(translated), { headers: { 'content-type': 'text/event-stream' } });
 */
export function endWithErrorEvent(source: ReadableStream<Uint8Array>): ReadableStream<Uint8Array> {
  const reader = source.getReader();
  return new ReadableStream<Uint8Array>(
    {
      async pull(out) {
        try {
          const r = await reader.read();
          if (r.done) out.close();
          else out.enqueue(r.value);
        } catch (err) {
          const code = err instanceof UpstreamError ? `upstream_${err.reason}` : 'upstream_stream_error';
          out.enqueue(sseData(openAIError(`upstream stream failed: ${describe(err)}`, 'upstream_error', code)));
          out.enqueue(sseData('[DONE]'));
          out.close();
        }
      },
      cancel(reason) {
        return reader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
}
