import { describe, expect, it } from 'vitest';
import {
  getBundle,
  BundleUnavailableError,
  SHARED_BUNDLE_PATIENCE_MS,
} from '../../../worker/runtime/bundle-loader';
import { warmOrt } from '../../../worker/runtime/ort';
import { seedBundle, testEnv } from '../support/seed';

/** The test bucket with its `get` replaced (every other method is the real one). */
function withGet(get: (key: string) => Promise<R2ObjectBody | null>): R2Bucket {
  return new Proxy(testEnv.ASSETS, {
    get(target, prop) {
      if (prop === 'get') return get;
      const v = Reflect.get(target, prop) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

describe('bundle loader', () => {
  it('loads the generated bundle from R2 and runs its embedder inside workerd', async () => {
    await seedBundle('test-v1');
    const bundle = await getBundle(testEnv.ASSETS, 'test-v1');
    expect(bundle.manifest.version).toBe('test-v1');
    const ids = new BigInt64Array(2 * 128);
    ids[0] = 5n;
    ids[1] = 77n;
    const out = await bundle.embedder!.run({ ids: { type: 'int64', data: ids, dims: [2, 128] } });
    const e = out['embedding']!;
    expect(e.dims).toEqual([2, 64]);
    const data = e.data as Float32Array;
    for (const row of [0, 1]) {
      const v = data.slice(row * 64, row * 64 + 64);
      expect(Math.hypot(...v)).toBeCloseTo(1, 4); // L2-normalised, also for the all-padding row
    }
  });

  it('says where a load went, each graph checked by one run on placeholder inputs', async () => {
    await seedBundle('test-layer-v1', 0, 'timed-v1');
    const { loadBreakdown } = await getBundle(testEnv.ASSETS, 'timed-v1');
    expect(Object.keys(loadBreakdown.files).sort()).toEqual([
      'embedder',
      'irt',
      'neighbours',
      'policy',
    ]);
    for (const t of Object.values(loadBreakdown.files)) {
      expect(Object.keys(t!).sort()).toEqual(['fetch_ms', 'hash_ms', 'session_ms', 'warm_ms']);
      for (const ms of Object.values(t!)) expect(ms).toBeGreaterThanOrEqual(0);
    }
    expect(loadBreakdown.manifest_ms).toBeGreaterThanOrEqual(0);
    // ORT initialises (and compiles its kernels) once per isolate: done before, it costs nothing now
    expect(await warmOrt()).toBe(0);
    expect(loadBreakdown.ort_init_ms).toBeGreaterThanOrEqual(0);
  });

  it('shares one load between concurrent first requests', async () => {
    await seedBundle('test-v1', 0, 'shared-v1');
    const [a, b, c] = await Promise.all(
      [0, 1, 2].map(() => getBundle(testEnv.ASSETS, 'shared-v1')),
    );
    expect(a).toBe(b);
    expect(b).toBe(c);
  });

  it('rejects a missing bundle', async () => {
    await expect(getBundle(testEnv.ASSETS, 'nope')).rejects.toBeInstanceOf(BundleUnavailableError);
  });

  it('rejects a file whose sha256 does not match the manifest, and retries after a fix', async () => {
    const manifest = (await seedBundle('test-v1', 0, 'corrupt-v1')) as {
      files: { policy: { key: string; bytes: number } };
    };
    const good = await (await testEnv.ASSETS.get(manifest.files.policy.key))!.arrayBuffer();
    const bad = new Uint8Array(good.slice(0));
    bad[bad.length - 1] = bad[bad.length - 1]! ^ 0xff;
    await testEnv.ASSETS.put(manifest.files.policy.key, bad);
    await expect(getBundle(testEnv.ASSETS, 'corrupt-v1')).rejects.toThrow(/sha256/);
    await testEnv.ASSETS.put(manifest.files.policy.key, good);
    await expect(getBundle(testEnv.ASSETS, 'corrupt-v1')).resolves.toHaveProperty(
      'manifest.version',
      'corrupt-v1',
    );
  });

  it('checks the embedder it read before the manifest like any other file', async () => {
    // the embedder is read at its usual key while the manifest loads; those bytes are hashed too
    const manifest = (await seedBundle('test-v1', 0, 'corrupt-emb-v1')) as {
      files: { embedder: { key: string } };
    };
    expect(manifest.files.embedder.key).toBe('bundles/corrupt-emb-v1/embedder.onnx');
    const good = await (await testEnv.ASSETS.get(manifest.files.embedder.key))!.arrayBuffer();
    const bad = new Uint8Array(good.slice(0));
    bad[bad.length - 1] = bad[bad.length - 1]! ^ 0xff;
    await testEnv.ASSETS.put(manifest.files.embedder.key, bad);
    await expect(getBundle(testEnv.ASSETS, 'corrupt-emb-v1')).rejects.toThrow(
      /embedder\.onnx fails its sha256 check/,
    );
    await testEnv.ASSETS.put(manifest.files.embedder.key, good);
    const bundle = await getBundle(testEnv.ASSETS, 'corrupt-emb-v1');
    expect(bundle.embedder).toBeDefined();
  });

  it('reads nothing for a version name the manifest reader refuses', async () => {
    const keys: string[] = [];
    const bucket = withGet((key) => {
      keys.push(key);
      return testEnv.ASSETS.get(key);
    });
    await expect(getBundle(bucket, '../banks/x')).rejects.toBeInstanceOf(BundleUnavailableError);
    expect(keys).toEqual([]);
  });

  it('rejects a manifest that breaks the contract', async () => {
    await testEnv.ASSETS.put(
      'bundles/broken-v1/manifest.json',
      JSON.stringify({ format: 1, version: 'broken-v1' }),
    );
    await expect(getBundle(testEnv.ASSETS, 'broken-v1')).rejects.toThrow(/invalid manifest/);
  });

  it('a request waits on a load another request started for a bounded time, then loads itself', async () => {
    // the bucket of a request whose client hung up: workerd cancelled its reads, they never answer
    await seedBundle('test-v1', 0, 'orphaned-v1');
    const cancelled = withGet(() => new Promise(() => undefined));
    void getBundle(cancelled, 'orphaned-v1');
    const t0 = Date.now();
    const bundle = await getBundle(testEnv.ASSETS, 'orphaned-v1');
    expect(bundle.manifest.version).toBe('orphaned-v1');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(SHARED_BUNDLE_PATIENCE_MS - 5);
    // its load replaced the orphaned one: later requests get it at once
    expect(await getBundle(testEnv.ASSETS, 'orphaned-v1')).toBe(bundle);
  }, 20_000);

  it('waiters of an orphaned load that give up one after another share one replacement', async () => {
    await seedBundle('test-v1', 0, 'orphaned-v2');
    const cancelled = withGet(() => new Promise(() => undefined));
    void getBundle(cancelled, 'orphaned-v2');
    const first = getBundle(testEnv.ASSETS, 'orphaned-v2');
    await new Promise((r) => setTimeout(r, 20));
    // its patience ends after the first waiter replaced the orphaned load: no second full load
    const second = getBundle(testEnv.ASSETS, 'orphaned-v2');
    const [a, b] = await Promise.all([first, second]);
    expect(b).toBe(a);
  }, 20_000);
});
