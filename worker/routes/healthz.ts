/**
 * `GET /healthz`: liveness, with the bundles loaded in this isolate and its degraded modes
 * (`status: "degraded"` and the `degraded` object; still 200). `?bundle=1` also loads (and so
 * warms) `DEFAULT_BUNDLE` and answers 503 when it cannot be loaded. `?detail=1` needs a tenant
 * key (`healthzAuth`) and adds that tenant's circuit breakers in this isolate.
 */
import type { Context, MiddlewareHandler } from 'hono';
import { readConfig } from '../config';
import type { AppEnv } from '../env';
import { auth } from '../middleware/auth';
import { degradedState } from '../health/degraded-state';
import {
  BundleUnavailableError,
  cachedBundleVersions,
  getBundle,
  noteBundleFailure,
} from '../runtime/bundle-loader';
import { breakerSection } from '../upstream/breaker-section';

const wantsDetail = (c: Context<AppEnv>): boolean => c.req.query('detail') !== undefined;

/**
 * Runs the API-key check for `?detail=1` only: plain /healthz stays public, while the detail
 * (which targets of a tenant are failing) is that tenant's own business.
 *
 * @example
 * app.get('/healthz', healthzAuth, healthz);
 */
export const healthzAuth: MiddlewareHandler<AppEnv> = (c, next) =>
  wantsDetail(c) ? auth()(c, next) : next();

/**
 * @example
 * app.get('/healthz', healthzAuth, healthz);
 */
export async function healthz(c: Context<AppEnv>): Promise<Response> {
  const config = readConfig(c.env);
  const { defaultBundle } = config;
  const detail = wantsDetail(c) ? breakerSection(c.get('tenant').id, config.breaker) : {};
  if (c.req.query('bundle') && defaultBundle) {
    try {
      const bundle = await getBundle(c.env.ASSETS, defaultBundle);
      const state = degradedState();
      return c.json({
        status: state.degraded ? 'degraded' : 'ok',
        default_bundle: defaultBundle,
        load_ms: bundle.loadMs,
        bundles_loaded: cachedBundleVersions(),
        degraded: state.detail,
        ...detail,
      });
    } catch (e) {
      if (e instanceof BundleUnavailableError) noteBundleFailure(e);
      return c.json(
        {
          status: 'degraded',
          default_bundle: defaultBundle,
          error: e instanceof Error ? e.message : String(e),
          degraded: degradedState().detail,
          ...detail,
        },
        503,
      );
    }
  }
  const state = degradedState();
  return c.json({
    status: state.degraded ? 'degraded' : 'ok',
    default_bundle: defaultBundle,
    bundles_loaded: cachedBundleVersions(),
    degraded: state.detail,
    ...detail,
  });
}
