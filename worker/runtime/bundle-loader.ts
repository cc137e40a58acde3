/**
 * Loads a bundle from R2 (its manifest, from ./manifests.ts, and the files it lists), checks every
 * file's size and sha256 against the manifest, and creates the ONNX sessions. Loaded bundles are
 * cached per isolate by version (bundles are immutable), so a bundle that loaded keeps serving
 * whatever happens to its objects in R2 later; concurrent first requests share one load; a failed
 * load is not cached, so the next request tries again. A session that fails while running (an ORT
 * error) reports a BundleUnavailableError too, so callers treat a bundle that cannot decide like
 * one that cannot load. Failures are kept per version (without request data) for `/healthz`.
 */
import type { Manifest } from '../bundle/manifest';
import { sha256Hex } from '../data/hash';
import type { OnnxSession } from '../decision/types';
import { ApiError } from '../errors';
import { readManifest } from './manifests';
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
export class BundleUnavailableError extends ApiError {
  override name = 'BundleUnavailableError';
  constructor(
    readonly version: string,
    message: string,
  ) {
    super(503, `bundle ${version}: ${message}`, {
      type: 'service_unavailable',
      code: 'bundle_unavailable',
    });
  }
}

const cache = new Map<string, Promise<LoadedBundle>>();

/** A version that failed to load or run in this isolate since it last worked. */
export interface BundleFailure {
  version: string;
  error: string;
  firstAt: string;
  lastAt: string;
  failures: number;
}

const failures = new Map<string, BundleFailure>();

/**
 * Records that `err`'s bundle could not load or run (for `/healthz`).
 *
 * @example
 * noteBundleFailure(new BundleUnavailableError('v2', 'not found'));
 */
export function noteBundleFailure(err: BundleUnavailableError): void {
  const now = new Date().toISOString();
  const seen = failures.get(err.version);
  failures.set(err.version, {
    version: err.version,
    error: err.message.slice(0, 300),
    firstAt: seen?.firstAt ?? now,
    lastAt: now,
    failures: (seen?.failures ?? 0) + 1,
  });
}

/**
 * Clears a version's failure record once it has served again.
 *
 * @example
 * noteBundleWorked('v2');
 */
export function noteBundleWorked(version: string): void {
  failures.delete(version);
}

/**
 * Versions that failed in this isolate and have not worked since.
 *
 * @example
 * bundleFailures(); // [{ version: 'v2', error: 'bundle v2: not found', firstAt, lastAt, failures: 3 }]
 */
export function bundleFailures(): BundleFailure[] {
  return [...failures.values()];
}

/** `session` whose run errors (ORT) are BundleUnavailableErrors of `version`. */
function guarded(session: OnnxSession, version: string, file: string): OnnxSession {
  return {
    inputNames: session.inputNames,
    outputNames: session.outputNames,
    run: async (feeds) => {
      try {
        return await session.run(feeds);
      } catch (e) {
        throw new BundleUnavailableError(
          version,
          `${file} failed in ONNX Runtime: ${e instanceof Error ? e.message : String(e)}`,
        );
      }
    },
  };
}

async function readFile(
  bucket: R2Bucket,
  version: string,
  entry: { key: string; bytes: number; sha256: string },
): Promise<Uint8Array> {
  const obj = await bucket.get(entry.key);
  if (!obj) throw new BundleUnavailableError(version, `file ${entry.key} is missing`);
  const bytes = await obj.arrayBuffer();
  if (bytes.byteLength !== entry.bytes) {
    throw new BundleUnavailableError(
      version,
      `file ${entry.key} has ${bytes.byteLength} bytes, manifest says ${entry.bytes}`,
    );
  }
  const hash = await sha256Hex(bytes);
  if (hash !== entry.sha256)
    throw new BundleUnavailableError(version, `file ${entry.key} fails its sha256 check`);
  return new Uint8Array(bytes);
}

async function load(bucket: R2Bucket, version: string): Promise<LoadedBundle> {
  const t0 = Date.now();
  let manifest: Manifest | null;
  try {
    manifest = await readManifest(bucket, version);
  } catch (e) {
    throw new BundleUnavailableError(
      version,
      e instanceof Error ? e.message : 'unreadable manifest',
    );
  }
  if (!manifest) throw new BundleUnavailableError(version, 'not found');
  if (manifest.version !== version) {
    throw new BundleUnavailableError(version, `manifest names version ${manifest.version}`);
  }
  const { files } = manifest;
  const [irtBytes, policyBytes, embedderBytes, neighbourBytes] = await Promise.all([
    readFile(bucket, version, files.irt),
    readFile(bucket, version, files.policy),
    manifest.embedding.provider === 'local' && files.embedder
      ? readFile(bucket, version, files.embedder)
      : undefined,
    manifest.predictor && files.neighbours
      ? readFile(bucket, version, files.neighbours)
      : undefined,
  ]);
  try {
    const irt = guarded(await createSession(irtBytes), version, 'irt.onnx');
    const policy = guarded(await createSession(policyBytes), version, 'policy.onnx');
    const embedder = embedderBytes
      ? guarded(await createSession(embedderBytes), version, 'embedder.onnx')
      : undefined;
    const neighbours = neighbourBytes
      ? guarded(await createSession(neighbourBytes), version, 'neighbours.onnx')
      : undefined;
    noteBundleWorked(version);
    return {
      manifest,
      irt,
      policy,
      ...(embedder ? { embedder } : {}),
      ...(neighbours ? { neighbours } : {}),
      loadMs: Date.now() - t0,
    };
  } catch (e) {
    throw new BundleUnavailableError(
      version,
      `ONNX session failed: ${e instanceof Error ? e.message : String(e)}`,
    );
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

/**
 * Versions loaded (or loading) in this isolate; `/healthz` reports them.
 *
 * @example
 * cachedBundleVersions(); // ['v2026-11-23.5']
 */
export function cachedBundleVersions(): string[] {
  return [...cache.keys()];
}
