/**
 * Loads a bundle from R2 (`bundles/<version>/manifest.json` and the files it lists), checks every
 * file's size and sha256 against the manifest, and creates the ONNX sessions. Loaded bundles are
 * cached per isolate by version (bundles are immutable); concurrent first requests share one load;
 * a failed load is not cached, so the next request tries again.
 */
import { parseManifest, type Manifest } from '../bundle/manifest';
import type { OnnxSession } from '../decision/types';
import { createSession } from './ort';

/** A bundle ready to serve. */
export interface LoadedBundle {
  manifest: Manifest;
  embedder?: OnnxSession;
  irt: OnnxSession;
  policy: OnnxSession;
  /** `neighbours.onnx` of a bundle with a prediction layer (`manifest.predictor`). */
  neighbours?: OnnxSession;
  /** Milliseconds the load took (fetch, hash, session creation). */
  loadMs: number;
}

/** The bundle is missing, corrupt or unreadable: the service cannot route with it (503). */
export class BundleUnavailableError extends Error {
  override name = 'BundleUnavailableError';
  constructor(readonly version: string, message: string) {
    super(`bundle ${version}: ${message}`);
  }
}

const cache = new Map<string, Promise<LoadedBundle>>();

async function sha256Hex(bytes: ArrayBuffer): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', bytes);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

async function readFile(bucket: R2Bucket, version: string, entry: { key: string; bytes: number; sha256: string }): Promise<Uint8Array> {
  const obj = await bucket.get(entry.key);
  if (!obj) throw new BundleUnavailableError(version, `file ${entry.key} is missing`);
  const bytes = await obj.arrayBuffer();
  if (bytes.byteLength !== entry.bytes) {
    throw new BundleUnavailableError(version, `file ${entry.key} has ${bytes.byteLength} bytes, manifest says ${entry.bytes}`);
  }
  const hash = await sha256Hex(bytes);
  if (hash !== entry.sha256) throw new BundleUnavailableError(version, `file ${entry.key} fails its sha256 check`);
  return new Uint8Array(bytes);
}

async function load(bucket: R2Bucket, version: string): Promise<LoadedBundle> {
  const t0 = Date.now();
  const obj = await bucket.get(`bundles/${version}/manifest.json`);
  if (!obj) throw new BundleUnavailableError(version, 'not found');
  let manifest: Manifest;
  try {
    manifest = parseManifest(await obj.json());
  } catch (e) {
    throw new BundleUnavailableError(version, e instanceof Error ? e.message : 'unreadable manifest');
  }
  if (manifest.version !== version) {
    throw new BundleUnavailableError(version, `manifest names version ${manifest.version}`);
  }
  const { files } = manifest;
  const [irtBytes, policyBytes, embedderBytes, neighbourBytes] = await Promise.all([
    readFile(bucket, version, files.irt),
    readFile(bucket, version, files.policy),
    manifest.embedding.provider === 'local' && files.embedder ? readFile(bucket, version, files.embedder) : undefined,
    manifest.predictor && files.neighbours ? readFile(bucket, version, files.neighbours) : undefined,
  ]);
  try {
    const irt = await createSession(irtBytes);
    const policy = await createSession(policyBytes);
    const embedder = embedderBytes ? await createSession(embedderBytes) : undefined;
    const neighbours = neighbourBytes ? await createSession(neighbourBytes) : undefined;
    return { manifest, irt, policy, ...(embedder ? { embedder } : {}), ...(neighbours ? { neighbours } : {}), loadMs: Date.now() - t0 };
  } catch (e) {
    throw new BundleUnavailableError(version, `ONNX session failed: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/**
 * Returns the bundle `version` from `bucket`, loading it on first use in this isolate.
 * Throws `BundleUnavailableError` when it is missing or fails its checks.
 *
 * @example
 * const bundle = await getBundle(env.ASSETS, 'v2026-11-22');
 * bundle.manifest.embedding.space;
 */
export function getBundle(bucket: R2Bucket, version: string): Promise<LoadedBundle> {
  let pending = cache.get(version);
  if (!pending) {
    pending = load(bucket, version);
    cache.set(version, pending);
    pending.catch(() => cache.delete(version));
  }
  return pending;
}

/** Versions loaded (or loading) in this isolate; `/healthz` reports them. */
export function cachedBundleVersions(): string[] {
  return [...cache.keys()];
}
