/**
 * `GET /healthz`: liveness, with the bundles loaded in this isolate and its degraded modes
 * (`status: "degraded"` and the `degraded` object; still 200). `?bundle=1` also loads (and so
 * warms) `DEFAULT_BUNDLE` and answers 503 when it cannot be loaded.
 */
import type { Context } from 'hono';
import { readConfig } from '../config';
import type { AppEnv } from '../env';
import { degradedState } from '../health/degraded-state';
import { BundleUnavailableError, cachedBundleVersions, getBundle, noteBundleFailure } from '../runtime/bundle-loader';

/**
 * @example
 * app.get('/healthz', healthz);
 */
export async function healthz(c: Context<AppEnv>): Promise<Response> {
  const { defaultBundle } = readConfig(c.env);
  if (c.req.query('bundle') && defaultBundle) {
    try {
      const bundle = await getBundle(c.env.ASSETS, defaultBundle);
      const state = degradedState();
      return c.json({ status: state.degraded ? 'degraded' : 'ok', default_bundle: defaultBundle, load_ms: bundle.loadMs,
        bundles_loaded: cachedBundleVersions(), degraded: state.detail });
    } catch (e) {
      if (e instanceof BundleUnavailableError) noteBundleFailure(e);
      return c.json({ status: 'degraded', default_bundle: defaultBundle, error: e instanceof Error ? e.message : String(e), degraded: degradedState().detail }, 503);
    }
  }
  const state = degradedState();
  return c.json({ status: state.degraded ? 'degraded' : 'ok', default_bundle: defaultBundle, bundles_loaded: cachedBundleVersions(), degraded: state.detail });
}
