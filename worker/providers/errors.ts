/** OpenAI-style error bodies and the error type thrown by provider adapters. */

/** The body every error response of the router carries. */
export interface OpenAIErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

/**
 * Builds an OpenAI-style error body.
 *
 * @example
 * openAIError('upstream answered 400: bad max_tokens', 'invalid_request_error', 'upstream_bad_request');
 */
export function openAIError(
  message: string,
  type: string,
  code: string | null = null,
  param: string | null = null,
): OpenAIErrorBody {
  return { error: { message, type, param, code } };
}

/**
 * A JSON `Response` carrying an OpenAI-style error body.
 *
 * @example
 * return errorResponse(502, openAIError('all upstreams failed', 'upstream_error', 'upstream_unavailable'));
 */
export function errorResponse(status: number, body: OpenAIErrorBody): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8' },
  });
}

/**
 * A failure of one upstream call that happened before anything reached the client.
 * `reason` is the short tag recorded in `Attempt.reason` (e.g. `no_ai_binding`, `bad_response`).
 *
 * @example
 * throw new UpstreamError('no_ai_binding', 'the AI binding is not configured');
 */
export class UpstreamError extends Error {
  constructor(
    readonly reason: string,
    message: string,
    readonly status = 0,
  ) {
    super(message);
    this.name = 'UpstreamError';
  }
}

/**
 * Short human text for any thrown value (never a stack trace).
 *
 * @example
 * describe(new TypeError('fetch failed')); // 'fetch failed'
 */
export function describe(err: unknown): string {
  if (err instanceof Error) return err.message || err.name;
  return String(err);
}

/**
 * An error the upstream itself reported inside a stream that had already begun (an `event: error`,
 * a `data: {"error": ...}` chunk). `body` is the clean error event the client gets instead.
 *
 * @example
 * throw new UpstreamErrorEvent(streamErrorBody(JSON.parse(ev.data)));
 */
export class UpstreamErrorEvent extends UpstreamError {
  constructor(readonly body: OpenAIErrorBody) {
    super('error_event', body.error.message);
    this.name = 'UpstreamErrorEvent';
  }
}
