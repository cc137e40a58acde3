/**
 * Turns every thrown error into an OpenAI-style JSON error, so no request ever sees a stack trace.
 */
import type { Context, ErrorHandler, NotFoundHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { ApiError } from '../../errors';
import { asDatabaseUnavailable, D1_RETRY_AFTER_SECONDS, noteDatabaseFault } from '../../data/d1-fault';
import { BundleUnavailableError } from '../../runtime/bundle-loader';
import { DecisionInputError } from '../../decision/decide';
import type { AppEnv } from '../../env';

/**
 * Maps an error to the ApiError the caller sees (unknown errors become a generic 500; a D1 fault,
 * which a retry may cure, a 503 with Retry-After).
 *
 * @example
 * toApiError(new BundleUnavailableError('v1', 'not found')).status; // 503
 */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  const database = asDatabaseUnavailable(err);
  if (database) {
    const api = new ApiError(503, 'the router\'s configuration database is unavailable; retry shortly', 'service_unavailable', 'database_unavailable');
    api.headers['retry-after'] = String(D1_RETRY_AFTER_SECONDS);
    return api;
  }
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
  const database = api.code === 'database_unavailable' ? asDatabaseUnavailable(err) : null;
  if (database) {
    noteDatabaseFault(database);
    console.error(`[${c.get('requestId') ?? '-'}] D1 fault`, err);
  } else if (api.status >= 500 && !(err instanceof ApiError) && !(err instanceof BundleUnavailableError)) {
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
