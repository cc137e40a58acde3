/**
 * `x-request-id` on every response. Hono's requestId middleware picks the id (the caller's, when it
 * is short and in the safe alphabet, else a fresh UUID) and stages the header with `c.header`, but a
 * staged header only reaches responses built through `c` (`c.json`, ...): a Response a handler
 * returns as is (an upstream answer passed through) or one the error and not-found handlers build
 * would go out without it. So the header is also set on whatever response leaves the app.
 */
import type { MiddlewareHandler } from 'hono';
import { requestId as honoRequestId } from 'hono/request-id';
import type { AppEnv } from '../../env';
import { setResponseHeaders } from '../response-headers';

const HEADER = 'x-request-id';

/**
 * @example
 * app.use(requestId());
 */
export function requestId(): MiddlewareHandler<AppEnv> {
  const pick = honoRequestId({ headerName: HEADER });
  return (c, next) =>
    pick(c, async () => {
      await next();
      const id = c.get('requestId');
      if (c.res.headers.get(HEADER) !== id) setResponseHeaders(c, { [HEADER]: id });
    });
}
