import { errorBody, type OpenAIErrorBody } from '../errors';
import { UpstreamError, UpstreamErrorEvent, describe } from '../providers/errors';
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
          timer = setTimeout(
            () => reject(new UpstreamError('stalled', `upstream sent nothing for ${idleMs} ms`)),
            idleMs,
          );
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

/** How a stream handed to the client ended: properly, broken after it began, or the client left. */
export type StreamEnd = 'complete' | 'cut' | 'cancelled';

/** The error event a client gets when its stream breaks: the upstream's own (cleaned) or the router's. */
function errorEvent(err: unknown): OpenAIErrorBody {
  if (err instanceof UpstreamErrorEvent) return err.body;
  const code = err instanceof UpstreamError ? `upstream_${err.reason}` : 'upstream_stream_error';
  return errorBody(`upstream stream failed: ${describe(err)}`, 'upstream_error', code);
}

/**
 * Passes an OpenAI SSE stream to the client; if it errors after streaming began (upstream reset,
 * stall, an unfinished stream, the upstream's own error event), ends it with one
 * `data: {"error":{...}}` and `data: [DONE]` and closes, instead of cutting the connection or
 * hanging. The source must yield whole events only (the provider transforms do), so the error
 * event never joins a half line. `onEnd` learns how the stream ended, once, without the stream
 * holding back a byte for it. The client leaving shows as a cancel of this stream or, in workerd,
 * which drops a response body without cancelling it, as `clientSignal` aborting; either cancels
 * the upstream read.
 *
 * @example
 * return new Response(endWithErrorEvent(translated, (end) => log(end), request.signal), { headers: { 'content-type': 'text/event-stream' } });
 */
export function endWithErrorEvent(
  source: ReadableStream<Uint8Array>,
  onEnd: (end: StreamEnd) => void = () => undefined,
  clientSignal?: AbortSignal,
): ReadableStream<Uint8Array> {
  const reader = source.getReader();
  let ended = false;
  const onClientGone = (): void => {
    end('cancelled');
    reader.cancel(clientSignal?.reason).catch(() => undefined);
  };
  const end = (how: StreamEnd): void => {
    if (ended) return;
    ended = true;
    clientSignal?.removeEventListener('abort', onClientGone);
    onEnd(how);
  };
  if (clientSignal?.aborted) onClientGone();
  else clientSignal?.addEventListener('abort', onClientGone, { once: true });
  return new ReadableStream<Uint8Array>(
    {
      async pull(out) {
        try {
          const r = await reader.read();
          if (ended) return; // the client left meanwhile: nobody reads this any more
          if (r.done) {
            out.close();
            end('complete');
          } else out.enqueue(r.value);
        } catch (err) {
          if (ended) return;
          out.enqueue(sseData(errorEvent(err)));
          out.enqueue(sseData('[DONE]'));
          out.close();
          end('cut');
        }
      },
      cancel(reason) {
        end('cancelled');
        return reader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
}
