import { ApiError } from '../errors';
import type { ChatRequest, UpstreamTarget } from '../providers/types';
import type { CallContext, ProviderAdapter } from '../providers/adapter';
import type { TokenUsage } from '../providers/usage';
import { adapterFor } from '../providers';
import { UpstreamError, describe } from '../providers/errors';
import { isRetryableStatus } from './classify';
import { untilAborted } from './deadline';
import { isEventStreamType, readEventStreamStart } from './first-bytes';
import { retryAfterSeconds } from './retry-after';
import { httpFailure, type FailureReason } from './reasons';
import { endWithErrorEvent, idleGuard, type StreamEnd } from './stream-guard';
import type { AnswerMeasure, Attempt } from './types';

/** How an answer that reached the client ended, with what it used and took. */
export interface AnswerEnd {
  end: StreamEnd;
  measure: AnswerMeasure;
}

/** How one try ended: an answer for the client, the caller's own error, or a failure to move past. */
export type AttemptOutcome =
  /** `ended` settles when the client has the whole answer (at once for a JSON answer). */
  | { kind: 'answer'; response: Response; attempt: Attempt; ended: Promise<AnswerEnd> }
  /** The upstream (or the provider's translation) rejected the request itself: `error` goes back clean. */
  | { kind: 'caller_error'; error: ApiError; attempt: Attempt }
  /** `retryAfterS`: the upstream's Retry-After on a 429, in seconds. */
  | { kind: 'failed'; attempt: Attempt; message: string; retryAfterS?: number };

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
  /** The client's signal: when it aborts, so does the try (reason `client_abort`). */
  signal?: AbortSignal;
  /** Epoch ms of the request's deadline: the try's budget is cut to the time left (reason `deadline`). */
  deadlineAt?: number;
}

const SSE_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache',
};
const JSON_HEADERS = { 'content-type': 'application/json; charset=utf-8' };
/** Most bytes of an upstream error body read: only its message is kept, and a huge body must not cost memory. */
const MAX_ERROR_BODY_BYTES = 64 * 1024;

/**
 * The try's fetch with redirects never followed: a granted host could otherwise send the router on,
 * with the tenant's key (workerd drops `Authorization` across origins, but not `x-api-key`) and, on
 * 307/308, the prompt, to a host no grant covers. The 3xx comes back as is and fails the try.
 */
function withoutRedirects(fetcher: typeof fetch): typeof fetch {
  return (input, init) => fetcher(input, { ...init, redirect: 'manual' });
}

/** A redirect answer: with `redirect: 'manual'` workerd hands back the 3xx itself. */
function isRedirect(res: Response): boolean {
  return res.status >= 300 && res.status < 400;
}

/** This try's budget: its own, or less when the request's deadline comes first. */
function budgetOf(
  req: ChatRequest,
  opts: AttemptOptions,
  started: number,
): { ms: number; reason: Extract<FailureReason, 'timeout' | 'deadline'>; late: string } {
  const own = req.stream ? opts.timeoutMs : opts.completionTimeoutMs;
  const left = opts.deadlineAt === undefined ? Infinity : Math.max(0, opts.deadlineAt - started);
  if (left < own)
    return { ms: left, reason: 'deadline', late: `the request deadline ran out after ${left} ms` };
  return {
    ms: own,
    reason: 'timeout',
    late: req.stream ? `no first byte within ${own} ms` : `no complete answer within ${own} ms`,
  };
}

/** Up to `MAX_ERROR_BODY_BYTES` of an error answer's body, as text. */
async function errorText(res: Response, signal: AbortSignal): Promise<string> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const text = new TextDecoder();
  let out = '';
  let bytes = 0;
  try {
    while (bytes < MAX_ERROR_BODY_BYTES) {
      const r = await untilAborted(reader.read(), signal);
      if (r.done) return out + text.decode();
      bytes += r.value.byteLength;
      out += text.decode(r.value, { stream: true });
    }
    return out;
  } catch {
    return out;
  } finally {
    reader.cancel().catch(() => undefined);
  }
}

/**
 * Hands a streamed answer over, guarded; `ended` learns how it ended and what it used, timed from
 * `started` (when the request was sent). Usage is read as the events pass, never by holding one back.
 */
async function streamAnswer(
  adapter: ProviderAdapter,
  target: UpstreamTarget,
  req: ChatRequest,
  res: Response,
  signal: AbortSignal,
  opts: AttemptOptions & { started: number },
): Promise<{ response: Response; ended: Promise<AnswerEnd> }> {
  if (!res.body || !isEventStreamType(res.headers.get('content-type'))) {
    res.body?.cancel().catch(() => undefined);
    throw new UpstreamError(
      'not_sse',
      `upstream answered the stream request with ${res.headers.get('content-type') ?? 'no body'}, not an event stream`,
    );
  }
  const reader = res.body.getReader();
  const first = await readEventStreamStart(reader, signal);
  const ttfbMs = Date.now() - opts.started;
  let usage: TokenUsage | null = null;
  let settle: (end: StreamEnd) => void = () => undefined;
  const ended = new Promise<AnswerEnd>((resolve) => {
    settle = (end) =>
      resolve({ end, measure: { usage, ttfbMs, upstreamMs: Date.now() - opts.started } });
  });
  const translated = idleGuard(reader, first, opts.idleTimeoutMs).pipeThrough(
    adapter.stream(target, req, (u) => {
      usage = u;
    }),
  );
  return {
    response: new Response(endWithErrorEvent(translated, settle, opts.signal), {
      status: 200,
      headers: SSE_HEADERS,
    }),
    ended,
  };
}

/**
 * Calls one target. A stream's first chunk must arrive within `timeoutMs`, and it must be an event
 * stream; a non-streamed answer, which arrives whole, within `completionTimeoutMs`; either budget is
 * cut to the time left before `deadlineAt`. Until then any failure is reported as `failed` so the
 * caller can move on, because nothing has reached the client yet. After that a stream is handed
 * over guarded: a silence of `idleTimeoutMs` or an upstream error ends it with an SSE error event.
 * An upstream's error body never reaches the caller raw (see providers/error-body.ts). A redirect
 * is never followed: a 3xx fails the try (reason `redirect`).
 *
 * @example
 * const out = await tryTarget(target, req, { timeoutMs: 15000, completionTimeoutMs: 120000, idleTimeoutMs: 15000, fetch });
 * if (out.kind === 'answer') return out.response;
 */
export async function tryTarget(
  target: UpstreamTarget,
  req: ChatRequest,
  opts: AttemptOptions,
): Promise<AttemptOutcome> {
  const adapter = adapterFor(target.provider);
  const started = Date.now();
  const budget = budgetOf(req, opts, started);
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort(new UpstreamError(budget.reason, budget.late));
  }, budget.ms);
  const onClientAbort = (): void => controller.abort(opts.signal?.reason);
  if (opts.signal?.aborted) onClientAbort();
  opts.signal?.addEventListener('abort', onClientAbort, { once: true });
  const signal = controller.signal;
  const answered = (status: number): Attempt => ({
    target: target.name,
    status,
    ok: true,
    ms: Date.now() - started,
  });
  const failed = (status: number, reason: FailureReason): Attempt => ({
    target: target.name,
    status,
    ok: false,
    reason,
    ms: Date.now() - started,
  });

  let status = 0;
  try {
    if (target.refused) throw new UpstreamError(target.refused.reason, target.refused.message);
    const res = await untilAborted(
      adapter.send(target, req, { signal, fetch: withoutRedirects(opts.fetch), ai: opts.ai }),
      signal,
    );
    status = res.status;
    const ttfbMs = Date.now() - started;
    if (isRedirect(res)) {
      res.body?.cancel().catch(() => undefined);
      // where it pointed is left out: the caller must learn nothing about hosts behind the upstream
      return {
        kind: 'failed',
        attempt: failed(res.status, 'redirect'),
        message: `upstream answered HTTP ${res.status} (a redirect; redirects are not followed)`,
      };
    }
    if (!res.ok) {
      const error = adapter.error(res.status, await errorText(res, signal));
      const attempt = failed(res.status, httpFailure(res.status));
      if (!isRetryableStatus(res.status)) return { kind: 'caller_error', error, attempt };
      const retryAfterS =
        res.status === 429 ? retryAfterSeconds(res.headers.get('retry-after')) : undefined;
      return {
        kind: 'failed',
        attempt,
        message: error.message,
        ...(retryAfterS !== undefined ? { retryAfterS } : {}),
      };
    }
    if (!req.stream) {
      const { body, usage } = adapter.completion(await untilAborted(res.text(), signal), target);
      const response = new Response(body, { status: 200, headers: JSON_HEADERS });
      const measure = { usage, ttfbMs, upstreamMs: Date.now() - started };
      return {
        kind: 'answer',
        response,
        attempt: answered(res.status),
        ended: Promise.resolve({ end: 'complete', measure }),
      };
    }
    const { response, ended } = await streamAnswer(adapter, target, req, res, signal, {
      ...opts,
      started,
    });
    clearTimeout(timer);
    return { kind: 'answer', response, attempt: answered(res.status), ended };
  } catch (err) {
    if (timedOut)
      return { kind: 'failed', attempt: failed(0, budget.reason), message: budget.late };
    if (opts.signal?.aborted)
      return {
        kind: 'failed',
        attempt: failed(0, 'client_abort'),
        message: 'the client went away',
      };
    if (err instanceof UpstreamError) {
      if (err.status >= 400 && err.status < 500 && !isRetryableStatus(err.status)) {
        const error = new ApiError(err.status, err.message, {
          type: 'invalid_request_error',
          code: err.reason,
        });
        return { kind: 'caller_error', error, attempt: failed(err.status, err.reason) };
      }
      return {
        kind: 'failed',
        attempt: failed(err.status || status, err.reason),
        message: err.message,
      };
    }
    // fetch rejects with a TypeError (or a network error) when no connection could be made.
    return { kind: 'failed', attempt: failed(0, 'connect'), message: describe(err) };
  } finally {
    clearTimeout(timer);
    opts.signal?.removeEventListener('abort', onClientAbort);
  }
}
