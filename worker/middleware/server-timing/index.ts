/**
 * Stamps the request's start time (for Server-Timing and the decision log).
 */
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../../env';

/**
 * @example
 * app.use(requestContext());
 */
export function requestContext(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    c.set('startedAt', performance.now());
    await next();
  };
}
