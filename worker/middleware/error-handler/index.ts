/**
 * Turns every thrown error into an OpenAI-style JSON error, so no request ever sees a stack trace.
 */
import type { Context, ErrorHandler, NotFoundHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { ApiError } from '../../errors';
import { BundleUnavailableError } from '../../runtime/bundle-loader';
import { DecisionInputError } from '../../decision/decide';
import type { AppEnv } from '../../env';

/**
 * Maps an error to the ApiError the caller sees (unknown errors become a generic 500).
 *
 * @example
 * toApiError(new BundleUnavailableError('v1', 'not found')).status; // 503
 */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof BundleUnavailableError) {
    return new ApiError(503, err.message, 'service_unavailable', 'bundle_unavailable');
  }
  if (err instanceof DecisionInputError) return new ApiError(400, err.message, 'invalid_request_error', 'invalid_routing_input');
  if (err instanceof HTTPException) {
    if (err.status === 413) return new ApiError(413, 'request body is too large', 'invalid_request_error', 'body_too_large');
    return new ApiError(err.status === 500 ? 500 : (err.status as ApiError['status']), err.message || 'request failed',
      err.status >= 500 ? 'server_error' : 'invalid_request_error');
  }
  return new ApiError(500, 'internal error', 'server_error', 'internal_error');
}

/**
 * `app.onError` handler: logs unexpected errors, answers with the JSON body.
 *
 * @example
 * app.onError(errorHandler);
 */
export const errorHandler: ErrorHandler<AppEnv> = (err: Error, c: Context<AppEnv>) => {
  const api = toApiError(err);
  if (api.status >= 500 && !(err instanceof ApiError) && !(err instanceof BundleUnavailableError)) {
    console.error(`[${c.get('requestId') ?? '-'}] unexpected error`, err);
  }
  return api.toResponse();
};

/**
 * `app.notFound` handler: 404 in the same JSON shape.
 *
 * @example
 * app.notFound(notFoundHandler);
 */
export const notFoundHandler: NotFoundHandler<AppEnv> = (c) =>
  new ApiError(404, `no route for ${c.req.method} ${new URL(c.req.url).pathname}`, 'not_found_error', 'unknown_route').toResponse();
