/**
 * Errors in Anthropic's shape, for `/v1/messages`: `{"type": "error", "error": {"type", "message"},
 * "request_id"}` with the status the router's error has, its type picked by status as Anthropic
 * picks it (so the official SDK raises its typed errors: 401 AuthenticationError, 400
 * BadRequestError, 429 RateLimitError, ...). Headers (`Retry-After`, `x-router-*`) are kept.
 */
import type { ApiError, OpenAIErrorBody } from '../../errors';

/** Anthropic's error types that an upstream's code may already be (relayed as they are). */
const ANTHROPIC_TYPES = new Set([
  'invalid_request_error',
  'authentication_error',
  'billing_error',
  'permission_error',
  'not_found_error',
  'request_too_large',
  'rate_limit_error',
  'timeout_error',
  'api_error',
  'overloaded_error',
]);

/**
 * Anthropic's error type for an HTTP status.
 *
 * @example
 * anthropicErrorType(429); // 'rate_limit_error'
 */
export function anthropicErrorType(status: number): string {
  switch (status) {
    case 401:
      return 'authentication_error';
    case 402:
      return 'billing_error';
    case 403:
      return 'permission_error';
    case 404:
      return 'not_found_error';
    case 413:
      return 'request_too_large';
    case 429:
      return 'rate_limit_error';
    case 504:
      return 'timeout_error';
    case 529:
      return 'overloaded_error';
    default:
      return status >= 500 ? 'api_error' : 'invalid_request_error';
  }
}

/**
 * The error response of `/v1/messages` for a router error.
 *
 * @example
 * anthropicErrorResponse(new ApiError(401, 'invalid or revoked API key', { code: 'invalid_api_key' }), 'req-1');
 * // 401 {"type":"error","error":{"type":"authentication_error","message":"invalid or revoked API key"},"request_id":"req-1"}
 */
export function anthropicErrorResponse(err: ApiError, requestId?: string): Response {
  const body = {
    type: 'error',
    error: { type: anthropicErrorType(err.status), message: err.message },
    ...(requestId ? { request_id: requestId } : {}),
  };
  return new Response(JSON.stringify(body), {
    status: err.status,
    headers: { 'content-type': 'application/json', ...err.headers },
  });
}

/**
 * The `error` event data that ends a broken Messages stream: the upstream's Anthropic error type
 * when its code is one (`overloaded_error`), else `api_error`.
 *
 * @example
 * streamError({ message: 'upstream: Overloaded', type: 'upstream_error', param: null, code: 'overloaded_error' });
 * // { type: 'error', error: { type: 'overloaded_error', message: 'upstream: Overloaded' } }
 */
export function streamError(error: OpenAIErrorBody['error']) {
  const type = error.code && ANTHROPIC_TYPES.has(error.code) ? error.code : 'api_error';
  return { type: 'error', error: { type, message: error.message } };
}
