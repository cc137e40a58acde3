/**
 * OpenAI-style errors: every failure the router reports has the body
 * `{"error":{"message","type","param","code"}}` and a fitting HTTP status.
 */
import type { ContentfulStatusCode } from 'hono/utils/http-status';

export type ErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'not_found_error'
  | 'upstream_error'
  | 'service_unavailable'
  | 'server_error'
  // OpenAI's types for a 429: which limit was hit.
  | 'requests'
  | 'tokens';

/** An error the router answers with, as is, to the caller. */
export class ApiError extends Error {
  override name = 'ApiError';
  /** Headers the error response carries (e.g. `Retry-After` on a 429 or 503). */
  readonly headers: Record<string, string> = {};
  constructor(
    readonly status: ContentfulStatusCode,
    message: string,
    readonly type: ErrorType = 'invalid_request_error',
    readonly code: string | null = null,
    readonly param: string | null = null,
  ) {
    super(message);
  }

  /** The JSON body. */
  toBody(): { error: { message: string; type: ErrorType; param: string | null; code: string | null } } {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }

  /** A JSON response with this error, its own headers and any extra ones. */
  toResponse(headers?: Record<string, string>): Response {
    return Response.json(this.toBody(), { status: this.status, headers: { ...this.headers, ...headers } });
  }
}

/**
 * Shorthand for a 400 about one request field.
 *
 * @example
 * throw badRequest('messages must not be empty', 'messages', 'empty_messages');
 */
export function badRequest(message: string, param: string | null = null, code: string | null = null): ApiError {
  return new ApiError(400, message, 'invalid_request_error', code, param);
}
