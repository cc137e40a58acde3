/**
 * Which identity vector a pool member has under a bundle (contract, "Identities at serving time"):
 * a D1 `model_identities` row first, else the manifest's `models[]` entry named by `bundle_model`.
 */
import type { Manifest } from '../bundle/manifest';

export interface ResolvedIdentity {
  vector: number[];
  source: 'training' | 'quiz' | 'manual' | 'manifest';
}

/**
 * Returns the identity to use, or null when the model has neither a D1 row nor a manifest entry.
 *
 * @example
 * resolveIdentity(manifest, 'gpt-4o', undefined); // { vector: [...], source: 'manifest' }
 * resolveIdentity(manifest, null, { vector: [...], source: 'quiz' }); // the quiz vector
 */
export function resolveIdentity(
  manifest: Manifest,
  bundleModel: string | null | undefined,
  stored: ResolvedIdentity | undefined,
): ResolvedIdentity | null {
  if (stored && stored.vector.length === manifest.identity_dim) return stored;
  if (!bundleModel) return null;
  const entry = manifest.models.find((m) => m.name === bundleModel || m.aliases.includes(bundleModel));
  return entry ? { vector: entry.identity, source: 'manifest' } : null;
}
