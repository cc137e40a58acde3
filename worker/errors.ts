/**
 * The router's one error model. Every failure a caller can see is an `ApiError` (or a subclass:
 * a D1 outage, a bundle that cannot load, a decision input the core refuses) with an HTTP status,
 * an OpenAI error type, a code and the offending parameter, plus any headers it carries
 * (`Retry-After`, `x-ratelimit-*`, the `x-router-*` of a failed upstream phase). Like Hono's
 * `HTTPException`, it renders itself with `getResponse()`; the error handler
 * (middleware/error-handler) is where thrown errors are rendered. `errorBody` is the one builder
 * of the body `{"error":{"message","type","param","code"}}`, also used for the error events that
 * end a broken stream.
 */

export type ErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'not_found_error'
  | 'upstream_error'
  | 'service_unavailable'
  | 'server_error'
  /** An upstream's 429, relayed (providers/error-body.ts). */
  | 'rate_limit_error'
  // OpenAI's types for the router's own 429: which limit was hit.
  | 'requests'
  | 'tokens';

/** The body every error answer of the router carries. */
export interface OpenAIErrorBody {
  error: { message: string; type: ErrorType; param: string | null; code: string | null };
}

/**
 * Builds the OpenAI-style error body (the only place that does).
 *
 * @example
 * errorBody('model must be a string', 'invalid_request_error', 'invalid_body', 'model');
 * // { error: { message: 'model must be a string', type: 'invalid_request_error',
 * //            param: 'model', code: 'invalid_body' } }
 */
export function errorBody(
  message: string,
  type: ErrorType,
  code: string | null = null,
  param: string | null = null,
): OpenAIErrorBody {
  return { error: { message, type, param, code } };
}

/**
 * The type an error of `status` has unless it says otherwise: 401 `authentication_error`, 404
 * `not_found_error`, 5xx `server_error`, else `invalid_request_error`.
 *
 * @example
 * typeForStatus(404); // 'not_found_error'
 */
export function typeForStatus(status: number): ErrorType {
  if (status === 401) return 'authentication_error';
  if (status === 404) return 'not_found_error';
  return status >= 500 ? 'server_error' : 'invalid_request_error';
}

/** What an error says besides its status and message. */
export interface ErrorDetails {
  /** Machine-readable reason, e.g. `invalid_body`, `rate_limit_exceeded`. */
  code: string;
  /** The request field (or header) at fault, if one is. */
  param?: string | null;
  /** Defaults to `typeForStatus(status)`. */
  type?: ErrorType;
  /** Headers the answer carries, e.g. `retry-after`. */
  headers?: Record<string, string>;
}

/**
 * An error the router answers with, as is, to the caller.
 *
 * @example
 * throw new ApiError(404, 'unknown pool "x"', { code: 'model_not_found', param: 'model' });
 */
export class ApiError extends Error {
  override name = 'ApiError';
  readonly type: ErrorType;
  readonly code: string;
  readonly param: string | null;
  /** Headers the error response carries (e.g. `Retry-After` on a 429 or 503). */
  readonly headers: Record<string, string>;

  /** `status`: an HTTP error status (4xx, 5xx; 499 when the client went away). */
  constructor(
    readonly status: number,
    message: string,
    details: ErrorDetails,
  ) {
    super(message);
    this.type = details.type ?? typeForStatus(status);
    this.code = details.code;
    this.param = details.param ?? null;
    this.headers = { ...details.headers };
  }

  /**
   * The JSON body.
   *
   * @example
   * badRequest('bad', 'model', 'invalid_body').toBody().error.code; // 'invalid_body'
   */
  toBody(): OpenAIErrorBody {
    return errorBody(this.message, this.type, this.code, this.param);
  }

  /**
   * Adds headers to the answer (e.g. the `x-router-*` of the request it ended); returns itself.
   *
   * @example
   * throw result.error.withHeaders(attemptHeaders(result.attempts));
   */
  withHeaders(headers: Record<string, string>): this {
    Object.assign(this.headers, headers);
    return this;
  }

  /**
   * The JSON response with this error and its headers.
   *
   * @example
   * return err.getResponse();
   */
  getResponse(): Response {
    return new Response(JSON.stringify(this.toBody()), {
      status: this.status,
      headers: { 'content-type': 'application/json', ...this.headers },
    });
  }
}

/**
 * Shorthand for a 400 about one request field.
 *
 * @example
 * throw badRequest('messages must not be empty', 'messages', 'empty_messages');
 */
export function badRequest(message: string, param: string | null, code: string): ApiError {
  return new ApiError(400, message, { code, param });
}
