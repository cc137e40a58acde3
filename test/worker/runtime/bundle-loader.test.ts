import { describe, expect, it } from 'vitest';
import { getBundle, BundleUnavailableError } from '../../../worker/runtime/bundle-loader';
import { seedBundle, testEnv } from '../support/seed';

describe('bundle loader', () => {
  it('loads the generated bundle from R2 and runs its graphs inside workerd', async () => {
    await seedBundle('test-v1');
    const bundle = await getBundle(testEnv.ASSETS, 'test-v1');
    expect(bundle.manifest.version).toBe('test-v1');
    const ids = new BigInt64Array(64);
    ids[0] = 5n; ids[1] = 77n;
    const out = await bundle.embedder!.run({ ids: { type: 'int64', data: ids, dims: [1, 64] } });
    expect(out['embedding']!.dims).toEqual([1, 64]);
  });

  it('rejects a missing bundle with BundleUnavailableError', async () => {
    await expect(getBundle(testEnv.ASSETS, 'nope')).rejects.toBeInstanceOf(BundleUnavailableError);
  });
});
