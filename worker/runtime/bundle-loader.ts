/**
 * Loads a bundle from R2 (its manifest, from ./manifests.ts, and the files it lists), checks every
 * file's size and sha256 against the manifest, and creates the ONNX sessions. Loaded bundles are
 * cached per isolate by version (bundles are immutable), so a bundle that loaded keeps serving
 * whatever happens to its objects in R2 later; concurrent first requests share one load (for at
 * most `SHARED_BUNDLE_PATIENCE_MS` each, ../data/shared-wait.ts says why); a failed load is not cached, so the next request tries again. A session that fails while running (an ORT
 * error) reports a BundleUnavailableError too, so callers treat a bundle that cannot decide like
 * one that cannot load. Failures are kept per version (without request data) for `/healthz`.
 */
import type { Manifest } from '../bundle/manifest';
import { sha256Hex } from '../data/hash';
import type { OnnxSession, OnnxTensor } from '../decision/types';
import { ApiError } from '../errors';
import { BUNDLE_VERSION, readManifest } from './manifests';
import { awaitShared } from '../data/shared-wait';
import { TtlCache } from '../data/ttl-cache';
import { createSession, warmOrt } from './ort';

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
  /** Where those milliseconds went. */
  loadBreakdown: LoadBreakdown;
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

/**
 * How long a request waits on a load of the same bundle another request started before it loads
 * the bundle itself. A first load takes 0.1-0.3 s on a quiet isolate, some seconds under overload.
 */
export const SHARED_BUNDLE_PATIENCE_MS = 5_000;

/** Loaded bundles by version, kept for the isolate's life (bundles are immutable): no cap, no expiry. */
const cache = new TtlCache<string, LoadedBundle>(
  Number.POSITIVE_INFINITY,
  SHARED_BUNDLE_PATIENCE_MS,
);

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

/** Where one graph's load went, in milliseconds. */
export interface FileTimings {
  /** R2 read, to the last byte. */
  fetch_ms: number;
  /** sha256 of the bytes (the contract's check). */
  hash_ms: number;
  /** ONNX session creation (after any wait for the runtime). */
  session_ms: number;
  /** One run on placeholder inputs (`warmRun`). */
  warm_ms: number;
}

/** Where a bundle's load went (bench/, `/healthz?bundle=1`, docs/benchmarks/overhead.md). */
export interface LoadBreakdown {
  manifest_ms: number;
  /** ONNX Runtime's one-time initialisation this load waited for (0: done before it began). */
  ort_init_ms: number;
  files: Partial<Record<GraphName, FileTimings>>;
}

type GraphName = 'embedder' | 'irt' | 'policy' | 'neighbours';

/** A file read started before the manifest named it (only the embedder's, at its usual key). */
interface Prefetch {
  key: string;
  bytes: Promise<ArrayBuffer | null>;
}

/**
 * Starts reading the embedder at the key bundles are published under, while the manifest is read:
 * the embedder is most of a bundle's bytes and its read the longest step of a first load. The
 * bytes are used only if the manifest names that key, and are checked like any other read.
 */
function prefetchEmbedder(bucket: R2Bucket, version: string): Prefetch | undefined {
  // a name readManifest would refuse never becomes a read of some other key
  if (!BUNDLE_VERSION.test(version)) return undefined;
  const key = `bundles/${version}/embedder.onnx`;
  const bytes = bucket
    .get(key)
    .then((obj) => (obj ? obj.arrayBuffer() : null))
    .catch(() => null); // a failed prefetch falls back to the manifest's own read
  return { key, bytes };
}

async function readFile(
  bucket: R2Bucket,
  version: string,
  entry: { key: string; bytes: number; sha256: string },
  prefetched?: Prefetch,
): Promise<{ bytes: Uint8Array; fetch_ms: number; hash_ms: number }> {
  const t0 = Date.now();
  let bytes = prefetched?.key === entry.key ? await prefetched.bytes : null;
  if (!bytes) {
    const obj = await bucket.get(entry.key);
    if (!obj) throw new BundleUnavailableError(version, `file ${entry.key} is missing`);
    bytes = await obj.arrayBuffer();
  }
  const t1 = Date.now();
  if (bytes.byteLength !== entry.bytes) {
    throw new BundleUnavailableError(
      version,
      `file ${entry.key} has ${bytes.byteLength} bytes, manifest says ${entry.bytes}`,
    );
  }
  const hash = await sha256Hex(bytes);
  if (hash !== entry.sha256)
    throw new BundleUnavailableError(version, `file ${entry.key} fails its sha256 check`);
  return { bytes: new Uint8Array(bytes), fetch_ms: t1 - t0, hash_ms: Date.now() - t1 };
}

/**
 * One graph: read, checked, and its session created as soon as its own bytes are in, so that the
 * small graphs' sessions are made while the embedder (the bulk of the bytes) is still being read
 * and hashed.
 */
async function loadGraph(
  bucket: R2Bucket,
  manifest: Manifest,
  name: GraphName,
  entry: { key: string; bytes: number; sha256: string },
  timings: LoadBreakdown['files'],
  prefetched?: Prefetch,
): Promise<OnnxSession> {
  const { version } = manifest;
  const file = await readFile(bucket, version, entry, prefetched);
  const t0 = Date.now();
  let session: OnnxSession;
  try {
    session = await createSession(file.bytes);
  } catch (e) {
    throw new BundleUnavailableError(
      version,
      `ONNX session failed: ${e instanceof Error ? e.message : String(e)}`,
    );
  }
  const t1 = Date.now();
  await warmRun(session, name, manifest);
  timings[name] = {
    fetch_ms: file.fetch_ms,
    hash_ms: file.hash_ms,
    session_ms: t1 - t0,
    warm_ms: Date.now() - t1,
  };
  return guarded(session, version, `${name}.onnx`);
}

/** Placeholder inputs of one graph: one prompt, one candidate (or one token), the contract's shapes. */
function placeholderFeeds(name: GraphName, manifest: Manifest): Record<string, OnnxTensor> {
  const f32 = (n: number, dims: number[]): OnnxTensor => ({
    type: 'float32',
    data: new Float32Array(n).fill(0.1),
    dims,
  });
  const dim = manifest.embedding.dim;
  const width = manifest.policy.features.reduce((s, f) => s + f.size, 0);
  switch (name) {
    case 'embedder':
      return { ids: { type: 'int64', data: BigInt64Array.from([1n]), dims: [1, 1] } };
    case 'irt':
      return {
        embedding: f32(dim, [1, dim]),
        identity: f32(manifest.identity_dim, [1, manifest.identity_dim]),
      };
    case 'policy':
      return {
        embedding: f32(dim, [1, dim]),
        preference: f32(1, [1, 1]),
        features: f32(width, [1, 1, width]),
        mask: { type: 'float32', data: Float32Array.from([1]), dims: [1, 1] },
      };
    case 'neighbours':
      return {
        embedding: f32(dim, [1, dim]),
        columns: { type: 'int64', data: BigInt64Array.from([0n]), dims: [1] },
      };
  }
}

/**
 * Runs a new session once on placeholder inputs. A graph's first run costs far more than the next
 * ones (onnxruntime-web compiles the wasm of each kernel on first use and plans its memory); run
 * here, it overlaps with the reads of the bundle's other files instead of delaying the first
 * routed request. A failure here is the graph failing its contract: the bundle is unusable.
 */
async function warmRun(session: OnnxSession, name: GraphName, manifest: Manifest): Promise<void> {
  const feeds = placeholderFeeds(name, manifest);
  const declared = Object.fromEntries(
    Object.entries(feeds).filter(([k]) => session.inputNames.includes(k)),
  );
  try {
    await session.run(declared);
  } catch (e) {
    throw new BundleUnavailableError(
      manifest.version,
      `${name}.onnx failed in ONNX Runtime on placeholder inputs: ${e instanceof Error ? e.message : String(e)}`,
    );
  }
}

async function load(bucket: R2Bucket, version: string): Promise<LoadedBundle> {
  const t0 = Date.now();
  // ORT's one-time initialisation (usually started with the isolate) runs while D1 and R2 answer;
  // if it was started by a request that has gone, the first session creation initialises ORT.
  const ortInit = awaitShared(warmOrt(), SHARED_BUNDLE_PATIENCE_MS, () => Promise.resolve(0));
  const embedderBytes = prefetchEmbedder(bucket, version);
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
  const manifestMs = Date.now() - t0;
  const { files } = manifest;
  const timings: LoadBreakdown['files'] = {};
  const graph = (name: GraphName, entry: (typeof files)['irt'] | undefined) =>
    entry
      ? loadGraph(bucket, manifest, name, entry, timings, embedderBytes)
      : Promise.resolve(undefined);
  const [irt, policy, embedder, neighbours, ortInitMs] = await Promise.all([
    loadGraph(bucket, manifest, 'irt', files.irt, timings),
    loadGraph(bucket, manifest, 'policy', files.policy, timings),
    graph('embedder', manifest.embedding.provider === 'local' ? files.embedder : undefined),
    graph('neighbours', manifest.predictor ? files.neighbours : undefined),
    ortInit,
  ]);
  noteBundleWorked(version);
  return {
    manifest,
    irt,
    policy,
    ...(embedder ? { embedder } : {}),
    ...(neighbours ? { neighbours } : {}),
    loadMs: Date.now() - t0,
    loadBreakdown: { manifest_ms: manifestMs, ort_init_ms: ortInitMs, files: timings },
  };
}

/**
 * Returns the bundle `version` from `bucket`, loading it on first use in this isolate.
 * Throws `BundleUnavailableError` when it is missing or fails its checks.
 *
 * @example
 * const bundle = await getBundle(env.ASSETS, 'v-next');
 * bundle.manifest.embedding.space;
 */
export function getBundle(bucket: R2Bucket, version: string): Promise<LoadedBundle> {
  return cache.getOrLoad(version, Number.POSITIVE_INFINITY, () => load(bucket, version));
}

/**
 * Versions loaded (or loading) in this isolate; `/healthz` reports them.
 *
 * @example
 * cachedBundleVersions(); // ['v-next']
 */
export function cachedBundleVersions(): string[] {
  return [...cache.keys()];
}
