/**
 * CORS, off by default: a tenant lists the browser origins allowed to call with its keys
 * (`tenants.cors_origins`, a JSON list; `*` = any). Nothing here adds an `Access-Control-*` header
 * for a tenant that lists none.
 *
 * - `tenantCors()` (after auth): a request whose `Origin` the key's tenant allows gets
 *   `Access-Control-Allow-Origin: <origin>` and the router's headers exposed (errors and 429s
 *   included, so a page can read `Retry-After`); any other origin gets no CORS header.
 * - `preflight()` (before auth: a preflight carries no key): 204 with the allowed methods, headers
 *   and max-age when some tenant allows the origin; otherwise 403 in the router's error shape,
 *   without allow headers. The actual request is then checked against its own tenant.
 */
import type { MiddlewareHandler } from 'hono';
import { cors } from 'hono/cors';
import { someTenantAllows } from '../../data/cors-origins';
import type { AppEnv } from '../../env';
import { ApiError } from '../../errors';

const ALLOW_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];
const ALLOW_HEADERS = [
  'authorization',
  'content-type',
  'x-router-preference',
  'x-router-user',
  'x-request-id',
];
const EXPOSE_HEADERS = [
  'x-request-id',
  'retry-after',
  'server-timing',
  'x-router-model',
  'x-router-choice',
  'x-router-pool',
  'x-router-preference',
  'x-router-bundle',
  'x-router-decision-id',
  'x-router-arm',
  'x-router-expected-cost-usd',
  'x-router-cost-usd',
  'x-router-predicted-quality',
  'x-router-embedding',
  'x-router-unroutable',
  'x-router-attempts',
  'x-router-fallback',
  'x-router-degraded',
  'x-router-explored',
  'x-router-propensity',
  'x-ratelimit-limit-requests',
  'x-ratelimit-remaining-requests',
  'x-ratelimit-reset-requests',
  'x-ratelimit-limit-tokens',
  'x-ratelimit-remaining-tokens',
  'x-ratelimit-reset-tokens',
];
/** Seconds a browser may cache a preflight answer. */
const MAX_AGE_SECONDS = 600;

/**
 * @example
 * v1.use(auth(), tenantCors());
 */
export function tenantCors(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const origin = c.req.header('origin');
    const allowed = c.get('tenant').corsOrigins;
    if (!origin || !(allowed.includes(origin) || allowed.includes('*'))) return next();
    return cors({ origin, exposeHeaders: EXPOSE_HEADERS })(c, next);
  };
}

/**
 * @example
 * app.options('/v1/*', preflight());
 */
export function preflight(): MiddlewareHandler<AppEnv> {
  const answer = cors({
    origin: (origin) => origin,
    allowMethods: ALLOW_METHODS,
    allowHeaders: ALLOW_HEADERS,
    maxAge: MAX_AGE_SECONDS,
  });
  return async (c, next) => {
    const origin = c.req.header('origin');
    if (!origin || !(await someTenantAllows(c.env.DB, origin))) {
      throw new ApiError(403, 'CORS: this origin is not allowed to call the API', {
        code: 'origin_not_allowed',
      });
    }
    return answer(c, next);
  };
}
