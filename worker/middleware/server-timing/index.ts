/**
 * Appends `app;dur=<ms>` to `Server-Timing`: the worker's time from request to response headers
 * (for a chat completion this includes the upstream's time to first byte; the routing overhead
 * alone is the `route` metric the routes add).
 */
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../../env';

/**
 * @example
 * app.use(serverTiming());
 */
export function serverTiming(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const start = performance.now();
    await next();
    const metric = `app;dur=${(performance.now() - start).toFixed(2)};desc="until response headers"`;
    const existing = c.res.headers.get('server-timing');
    try {
      c.res.headers.set('server-timing', existing ? `${existing}, ${metric}` : metric);
    } catch {
      // Immutable headers (a response passed through untouched): the metric is optional.
    }
  };
}
