/**
 * The one manifest cache of the isolate: `bundles/<version>/manifest.json` read from R2 and parsed
 * once per version (bundles are immutable). The bundle loader (./bundle-loader.ts) loads a
 * bundle's files from it; onboarding needs only the identity dimension and the prior, so an admin
 * call never pays for ONNX sessions. A missing manifest is not cached (it may be uploaded later).
 */
import { parseManifest, type Manifest } from '../bundle/manifest';

const cache = new Map<string, Manifest>();

/** Bundle versions are single path segments. */
export const BUNDLE_VERSION = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** The R2 key of a bundle's manifest. */
const manifestKey = (version: string): string => `bundles/${version}/manifest.json`;

/**
 * Whether R2 holds a manifest for `version` (a HEAD: neither read nor parsed).
 *
 * @example
 * if (!(await hasManifest(env.ASSETS, 'v-next'))) throw notFound();
 */
export async function hasManifest(bucket: R2Bucket, version: string): Promise<boolean> {
  return (await bucket.head(manifestKey(version))) !== null;
}

/**
 * The manifest of `version`, or null when R2 has none (or the name is not a version); a manifest
 * that does not parse throws.
 *
 * @example
 * const manifest = await readManifest(env.ASSETS, 'v-next');
 */
export async function readManifest(bucket: R2Bucket, version: string): Promise<Manifest | null> {
  const hit = cache.get(version);
  if (hit) return hit;
  if (!BUNDLE_VERSION.test(version)) return null;
  const obj = await bucket.get(manifestKey(version));
  if (!obj) return null;
  const manifest = parseManifest(await obj.json());
  cache.set(version, manifest);
  return manifest;
}
