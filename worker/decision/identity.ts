/**
 * Which identity vector a pool member has under a bundle (contract, "Identities at serving time"):
 * a D1 `model_identities` row first, else the manifest's `models[]` entry named by `bundle_model`.
 */
import type { Manifest } from '../bundle/manifest';

export interface ResolvedIdentity {
  vector: number[];
  /** `online`: the tenant's posterior learnt from feedback (D1 `online_identities`), over the others. */
  source: 'training' | 'quiz' | 'manual' | 'manifest' | 'online';
  /** Its posterior covariance as vectors v_i (cov = sum v_i v_i^T), where it was fitted (a quiz). */
  covFactor?: number[][];
}

/**
 * Largest magnitude accepted in a covariance factor. Posterior stds of identity components are
 * ~0.2-0.4 (the shipped prior); a value near float32's range would turn the IRT's output into NaN.
 */
export const MAX_COV_FACTOR_ENTRY = 100;

/**
 * Whether `factor` is a usable covariance factor for `d`-dimensional identities: at most d vectors
 * of length d with entries finite and within `MAX_COV_FACTOR_ENTRY`.
 *
 * @example
 * isCovFactor([[0.2, 0], [0.1, 0.3]], 2); // true
 * isCovFactor([[1e39, 0]], 2);            // false
 */
export function isCovFactor(factor: readonly (readonly number[])[], d: number): boolean {
  return (
    factor.length <= d &&
    factor.every((v) => v.length === d && v.every((x) => Math.abs(x) <= MAX_COV_FACTOR_ENTRY))
  );
}

/**
 * Stored identities already reported as having a factor that does not fit their bundle. They live
 * as long as the pool cache entry that holds them, so the error is logged once per pool load, not
 * on every request.
 */
const reported = new WeakSet<ResolvedIdentity>();

/**
 * Returns the identity to use, or null when the model has neither a D1 row nor a manifest entry.
 * `modelName` only names the model in a log line.
 *
 * @example
 * resolveIdentity(manifest, 'gpt-4o', undefined); // { vector: [...], source: 'manifest' }
 * resolveIdentity(manifest, null, { vector: [...], source: 'quiz', covFactor: [[...], ...] }); // the quiz identity
 */
export function resolveIdentity(
  manifest: Manifest,
  bundleModel: string | null | undefined,
  stored: ResolvedIdentity | undefined,
  modelName?: string,
): ResolvedIdentity | null {
  if (stored && stored.vector.length === manifest.identity_dim) {
    if (!stored.covFactor || isCovFactor(stored.covFactor, manifest.identity_dim)) return stored;
    // A malformed factor must not fail requests: route on the vector alone, and say so (once).
    if (!reported.has(stored)) {
      reported.add(stored);
      console.error(
        `identity of ${modelName ?? 'a model'} for bundle ${manifest.version}: cov_factor does not fit identity_dim ${manifest.identity_dim}; routed at its mean`,
      );
    }
    return { vector: stored.vector, source: stored.source };
  }
  if (!bundleModel) return null;
  const entry = manifest.models.find(
    (m) => m.name === bundleModel || m.aliases.includes(bundleModel),
  );
  return entry ? { vector: entry.identity, source: 'manifest' } : null;
}
