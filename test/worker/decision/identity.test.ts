// Which identity a pool member routes with, on the generated test bundle's manifest.
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { resolveIdentity, type Manifest, type ResolvedIdentity } from '../../../worker/decision';
import { isCovFactor } from '../../../worker/decision/identity';
import { getBundle } from '../../../worker/runtime/bundle-loader';
import { seedBundle, testEnv } from '../support/seed';

let manifest: Manifest;
let d: number;
let vector: number[];

beforeAll(async () => {
  await seedBundle('test-v1');
  manifest = (await getBundle(testEnv.ASSETS, 'test-v1')).manifest;
  d = manifest.identity_dim;
  vector = Array.from({ length: d }, (_, i) => 0.1 * i);
});

describe('resolveIdentity', () => {
  afterEach(() => vi.restoreAllMocks());

  it('prefers a stored identity, then the manifest entry named by bundle_model, else null', () => {
    const stored: ResolvedIdentity = { vector, source: 'quiz' };
    const entry = manifest.models[0]!;
    expect(resolveIdentity(manifest, entry.name, stored)).toBe(stored);
    expect(resolveIdentity(manifest, entry.name, undefined)).toEqual({
      vector: entry.identity,
      source: 'manifest',
    });
    expect(resolveIdentity(manifest, 'no-such-model', undefined)).toBeNull();
    expect(resolveIdentity(manifest, null, { vector: [1, 2], source: 'quiz' })).toBeNull();
  });

  it('drops a factor that does not fit the bundle, and logs that once per stored identity', () => {
    const log = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const stored: ResolvedIdentity = { vector, source: 'quiz', covFactor: [[1, 2]] };
    for (let i = 0; i < 3; i++)
      expect(resolveIdentity(manifest, null, stored)).toEqual({ vector, source: 'quiz' });
    expect(log).toHaveBeenCalledTimes(1);
    // A fresh pool load holds fresh objects: reported again, once.
    resolveIdentity(manifest, null, { ...stored });
    expect(log).toHaveBeenCalledTimes(2);
  });

  it('keeps a factor of at most d bounded d-vectors', () => {
    const factor = [vector.map((x) => x + 0.5)];
    expect(isCovFactor(factor, d)).toBe(true);
    expect(
      resolveIdentity(manifest, null, { vector, source: 'quiz', covFactor: factor })?.covFactor,
    ).toBe(factor);
    expect(
      isCovFactor(
        Array.from({ length: d + 1 }, () => vector),
        d,
      ),
    ).toBe(false);
    expect(isCovFactor([vector.map(() => 1e3)], d)).toBe(false);
  });
});
