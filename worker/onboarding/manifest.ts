/**
 * The manifest of a bundle version, read from R2 on its own: onboarding needs the identity
 * dimension and the prior, not the ONNX sessions, so an admin call never pays for loading them.
 * Cached per isolate (bundles are immutable).
 */
import { parseManifest, type Manifest } from '../bundle/manifest';

const cache = new Map<string, Manifest>();

/** Bundle versions are single path segments. */
export const BUNDLE_VERSION = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/**
 * The manifest of `version`, or null when R2 has none (a broken one throws).
 *
 * @example
 * const manifest = await readManifest(env.ASSETS, 'v2026-11-22');
 */
export async function readManifest(bucket: R2Bucket, version: string): Promise<Manifest | null> {
  const hit = cache.get(version);
  if (hit) return hit;
  if (!BUNDLE_VERSION.test(version)) return null;
  const obj = await bucket.get(`bundles/${version}/manifest.json`);
  if (!obj) return null;
  const manifest = parseManifest(await obj.json());
  cache.set(version, manifest);
  return manifest;
}
