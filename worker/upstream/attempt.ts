import type { Attempt, ChatRequest, UpstreamTarget } from '../providers/types';
import type { CallContext } from '../providers/adapter';
import { adapterFor } from '../providers';
import { UpstreamError, describe, errorResponse, openAIError } from '../providers/errors';
import { isRetryableStatus } from './classify';
import { untilAborted } from './deadline';
import { endWithErrorEvent, idleGuard } from './stream-guard';

/** How one try ended: an answer for the client, the caller's own error, or a failure to move past. */
export type AttemptOutcome =
  | { kind: 'answer'; response: Response; attempt: Attempt }
  | { kind: 'caller_error'; response: Response; attempt: Attempt }
  | { kind: 'failed'; attempt: Attempt; message: string };

/**
 * The platform fetch, called unbound. Stored as `opts.fetch` it is later called as a method, and
 * workerd rejects the global fetch with any other `this` ("Illegal invocation").
 *
 * @example
 * await tryTarget(target, req, { ...budgets, fetch: opts.fetch ?? globalFetch });
 */
export const globalFetch: typeof fetch = (input, init) => fetch(input, init);

export interface AttemptOptions {
  /** Budget to the first byte of a stream. */
  timeoutMs: number;
  /** Budget for a whole non-streamed answer. */
  completionTimeoutMs: number;
  idleTimeoutMs: number;
  fetch: typeof fetch;
  ai?: CallContext['ai'];
  signal?: AbortSignal;
}

const SSE_HEADERS = { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' };
const JSON_HEADERS = { 'content-type': 'application/json; charset=utf-8' };

/**
 * Calls one target. A stream's first chunk must arrive within `timeoutMs`; a non-streamed answer,
 * which arrives whole, within `completionTimeoutMs`. Until then any failure is reported as
 * `failed` so the caller can move on, because nothing has reached the client yet.
 * After that a stream is handed over guarded: a silence of `idleTimeoutMs` or an upstream error
 * ends it with an SSE error event.
 *
 * @example
 * const out = await tryTarget(target, req, { timeoutMs: 15000, completionTimeoutMs: 120000, idleTimeoutMs: 15000, fetch });
 * if (out.kind === 'answer') return out.response;
 */
export async function tryTarget(target: UpstreamTarget, req: ChatRequest, opts: AttemptOptions): Promise<AttemptOutcome> {
  const adapter = adapterFor(target.provider);
  const started = Date.now();
  const controller = new AbortController();
  let timedOut = false;
  const budgetMs = req.stream ? opts.timeoutMs : opts.completionTimeoutMs;
  const late = req.stream ? `no first byte within ${budgetMs} ms` : `no complete answer within ${budgetMs} ms`;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort(new UpstreamError('timeout', late));
  }, budgetMs);
  const onClientAbort = (): void => controller.abort(opts.signal?.reason);
  opts.signal?.addEventListener('abort', onClientAbort, { once: true });
  const signal = controller.signal;
  const attempt = (status: number, ok: boolean, reason?: string): Attempt => ({
    target: target.name,
    status,
    ok,
    ...(reason !== undefined ? { reason } : {}),
    ms: Date.now() - started,
  });

  try {
    if (target.refused) throw new UpstreamError(target.refused.reason, target.refused.message);
    const res = await untilAborted(adapter.send(target, req, { signal, fetch: opts.fetch, ai: opts.ai }), signal);
    if (!res.ok) {
      const text = await untilAborted(res.text(), signal).catch(() => '');
      const body = adapter.error(res.status, text);
      if (isRetryableStatus(res.status)) {
        return { kind: 'failed', attempt: attempt(res.status, false, `http_${res.status}`), message: body.error.message };
      }
      return { kind: 'caller_error', response: errorResponse(res.status, body), attempt: attempt(res.status, false, `http_${res.status}`) };
    }
    if (!req.stream) {
      const text = await untilAborted(res.text(), signal);
      const json = adapter.completion(text, target);
      return { kind: 'answer', response: new Response(json, { status: 200, headers: JSON_HEADERS }), attempt: attempt(res.status, true) };
    }
    if (!res.body) throw new UpstreamError('bad_response', 'upstream answered a stream request without a body');
    const reader = res.body.getReader();
    const first = await untilAborted(reader.read(), signal).catch((err: unknown) => {
      reader.cancel(err).catch(() => undefined);
      throw err;
    });
    if (first.done) throw new UpstreamError('empty_stream', 'upstream closed the stream before sending anything');
    clearTimeout(timer);
    const translated = idleGuard(reader, first.value, opts.idleTimeoutMs).pipeThrough(adapter.stream(target, req));
    return { kind: 'answer', response: new Response(endWithErrorEvent(translated), { status: 200, headers: SSE_HEADERS }), attempt: attempt(res.status, true) };
  } catch (err) {
    if (timedOut) return { kind: 'failed', attempt: attempt(0, false, 'timeout'), message: late };
    if (err instanceof UpstreamError) {
      if (err.status >= 400 && err.status < 500 && !isRetryableStatus(err.status)) {
        const body = openAIError(err.message, 'invalid_request_error', err.reason);
        return { kind: 'caller_error', response: errorResponse(err.status, body), attempt: attempt(err.status, false, err.reason) };
      }
      return { kind: 'failed', attempt: attempt(err.status, false, err.reason), message: err.message };
    }
    if (opts.signal?.aborted) return { kind: 'failed', attempt: attempt(0, false, 'client_abort'), message: 'the client went away' };
    // fetch rejects with a TypeError (or a network error) when no connection could be made.
    return { kind: 'failed', attempt: attempt(0, false, 'connect'), message: describe(err) };
  } finally {
    clearTimeout(timer);
    opts.signal?.removeEventListener('abort', onClientAbort);
  }
}
