/**
 * Renders every thrown error as an OpenAI-style JSON error, so no request ever sees a stack trace;
 * on a route that speaks another API's errors (`/v1/messages`: Anthropic's), in that API's shape,
 * with the same status and headers. Domain errors (`ApiError` and its subclasses) carry their own
 * status, code, param and headers; a raw D1 fault becomes the 503 `database_unavailable`; anything
 * else is a bug (500, logged).
 */
import type { Context, ErrorHandler, NotFoundHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { ApiError } from '../../errors';
import {
  asDatabaseUnavailable,
  DatabaseUnavailableError,
  noteDatabaseFault,
} from '../../data/d1-fault';
import type { AppEnv } from '../../env';
import { MESSAGES_ENDPOINT, anthropicErrorResponse } from '../../ingress/messages';

/** Routes whose errors another API's clients read, and how each renders one. */
const ERROR_SHAPES: Record<string, (err: ApiError, requestId?: string) => Response> = {
  [MESSAGES_ENDPOINT]: anthropicErrorResponse,
};

/**
 * The response for `err` on the request's route: the route's own error shape, else OpenAI's.
 *
 * @example
 * return renderError(c, new ApiError(401, 'invalid or revoked API key', { code: 'invalid_api_key' }));
 */
export function renderError(c: Context<AppEnv>, err: ApiError): Response {
  const shape = Object.hasOwn(ERROR_SHAPES, c.req.path) ? ERROR_SHAPES[c.req.path] : undefined;
  return shape ? shape(err, c.get('requestId')) : err.getResponse();
}

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
  if (database) return database;
  if (err instanceof HTTPException) {
    if (err.status === 413)
      return new ApiError(413, 'request body is too large', { code: 'body_too_large' });
    return new ApiError(err.status, err.message || 'request failed', {
      type: err.status >= 500 ? 'server_error' : 'invalid_request_error',
      code: err.status >= 500 ? 'internal_error' : 'invalid_request',
    });
  }
  return new ApiError(500, 'internal error', { code: 'internal_error' });
}

/**
 * `app.onError` handler: logs D1 faults and unexpected errors, answers with the JSON body.
 *
 * @example
 * app.onError(errorHandler);
 */
export const errorHandler: ErrorHandler<AppEnv> = (err: Error, c: Context<AppEnv>) => {
  const api = toApiError(err);
  if (api instanceof DatabaseUnavailableError) {
    noteDatabaseFault(api);
    console.error(`[${c.get('requestId') ?? '-'}] D1 fault: ${api.detail}`, err);
  } else if (api.status >= 500 && !(err instanceof ApiError)) {
    console.error(`[${c.get('requestId') ?? '-'}] unexpected error`, err);
  }
  return renderError(c, api);
};

/**
 * `app.notFound` handler: 404 in the same JSON shape.
 *
 * @example
 * app.notFound(notFoundHandler);
 */
export const notFoundHandler: NotFoundHandler<AppEnv> = (c) => {
  const path = new URL(c.req.url).pathname;
  return renderError(
    c,
    new ApiError(404, `no route for ${c.req.method} ${path}`, { code: 'unknown_route' }),
  );
};
