/**
 * Degraded routing: what a pool's requests get when its bundle cannot route them (the version is
 * missing or corrupt in R2, or fails in ONNX Runtime). In order:
 * 1. the last bundle version this pool routed with in this isolate, when it still works and the
 *    pool's members have identities under it (`x-router-degraded: bundle_unavailable`);
 * 2. the pool's `fallback_model`, called unrouted (the handlers do this, from `BundleFallbackError`);
 * 3. 503 `bundle_unavailable`, as before.
 */
import type { ModelRow } from '../data/models';
import type { Pool } from '../data/pools';
import { ApiError } from '../errors';
import {
  BundleUnavailableError,
  noteBundleFailure,
  noteBundleWorked,
} from '../runtime/bundle-loader';

export type DegradedReason = 'bundle_unavailable';

/** No bundle could route the pool; carries its fallback model, if it has one. */
export class BundleFallbackError extends BundleUnavailableError {
  override name = 'BundleFallbackError';
  constructor(
    cause: BundleUnavailableError,
    readonly pool: string,
    readonly fallbackModel: ModelRow | null,
    /** Whether the pool keeps prompt text in its decision rows (`keep_prompts`). */
    readonly keepPrompts = false,
  ) {
    super(cause.version, cause.message.replace(`bundle ${cause.version}: `, ''));
  }
}

/** Pool id -> the bundle version it last routed with in this isolate (bounded, oldest dropped). */
const lastGood = new Map<string, string>();
const MAX_POOLS = 5_000;

function remember(poolId: string, version: string): void {
  lastGood.delete(poolId);
  lastGood.set(poolId, version);
  if (lastGood.size > MAX_POOLS) lastGood.delete(lastGood.keys().next().value as string);
}

/**
 * Runs `attempt` with `version`; when that bundle cannot route, once more with the pool's last good
 * version. Throws `BundleFallbackError` when neither works.
 *
 * @example
 * const { result, degraded } = await withLastGoodBundle(pool, 'v2', (v) => decideWith(v));
 */
export async function withLastGoodBundle<T>(
  pool: Pool,
  version: string,
  attempt: (version: string) => Promise<T>,
): Promise<{ result: T; degraded: DegradedReason | null }> {
  try {
    const result = await attempt(version);
    noteBundleWorked(version);
    remember(pool.id, version);
    return { result, degraded: null };
  } catch (e) {
    if (!(e instanceof BundleUnavailableError)) throw e;
    noteBundleFailure(e);
    const previous = lastGood.get(pool.id);
    if (previous && previous !== version) {
      try {
        const result = await attempt(previous);
        console.error(
          `pool ${pool.id}: bundle ${version} unavailable (${e.message}); routed with ${previous}`,
        );
        return { result, degraded: 'bundle_unavailable' };
      } catch (again) {
        if (again instanceof BundleUnavailableError) noteBundleFailure(again);
        // Members without identities under the older bundle: fall through to the fallback model.
        else if (!(again instanceof ApiError && again.code === 'no_routable_candidates'))
          throw again;
      }
    }
    throw new BundleFallbackError(e, pool.name, pool.fallbackModel, pool.keepPrompts);
  }
}

/**
 * The fallback model to call for `err`, or null when `err` is not a bundle failure or the pool has none.
 *
 * @example
 * const model = fallbackModelFor(err); // a ModelRow, or null
 */
export function fallbackModelFor(
  err: unknown,
): { pool: string; model: ModelRow; keepPrompts: boolean } | null {
  return err instanceof BundleFallbackError && err.fallbackModel
    ? { pool: err.pool, model: err.fallbackModel, keepPrompts: err.keepPrompts }
    : null;
}
