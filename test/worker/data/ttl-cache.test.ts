// The per-isolate cache: shared loads, expiry, and stale-on-error within a bound.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { TtlCache } from '../../../worker/data/ttl-cache';

afterEach(() => {
  vi.useRealTimers();
});

describe('TtlCache', () => {
  it('shares one load between concurrent misses and reloads after the ttl', async () => {
    const cache = new TtlCache<string, number>(10);
    let loads = 0;
    const load = async () => ++loads;
    const [a, b] = await Promise.all([
      cache.getOrLoad('k', 1000, load),
      cache.getOrLoad('k', 1000, load),
    ]);
    expect([a, b, loads]).toEqual([1, 1, 1]);
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + 1001);
    expect(await cache.getOrLoad('k', 1000, load)).toBe(2);
  });

  it('does not cache a failed load, and serves stale only when allowed and young enough', async () => {
    const cache = new TtlCache<string, string>(10);
    const fail = () => Promise.reject(new Error('D1_ERROR: database is locked: SQLITE_BUSY'));
    await expect(cache.getOrLoad('k', 1000, fail, { staleOnErrorMs: 60_000 })).rejects.toThrow(
      /locked/,
    );
    expect(await cache.getOrLoad('k', 1000, async () => 'v1')).toBe('v1');

    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + 2000);
    await expect(cache.getOrLoad('k', 1000, fail)).rejects.toThrow(/locked/); // not allowed: no stale
    expect(await cache.getOrLoad('k', 1000, async () => 'v2')).toBe('v2');

    vi.setSystemTime(Date.now() + 2000);
    const stale: number[] = [];
    const opts = { staleOnErrorMs: 60_000, onStale: (_: unknown, age: number) => stale.push(age) };
    expect(await cache.getOrLoad('k', 1000, fail, opts)).toBe('v2');
    expect(stale).toHaveLength(1);
    // The failed reload is not retried within the next ttl: the stale answer stands.
    let tried = 0;
    expect(
      await cache.getOrLoad(
        'k',
        1000,
        async () => {
          tried++;
          return 'v3';
        },
        opts,
      ),
    ).toBe('v2');
    expect(tried).toBe(0);

    vi.setSystemTime(Date.now() + 61_000);
    await expect(cache.getOrLoad('k', 1000, fail, opts)).rejects.toThrow(/locked/);
  });

  it('clear() expires entries but keeps the last values for stale-on-error', async () => {
    const cache = new TtlCache<string, string>(10);
    expect(await cache.getOrLoad('k', 60_000, async () => 'v1')).toBe('v1');
    cache.clear();
    const fail = () => Promise.reject(new Error('D1_ERROR: Network connection lost.'));
    expect(await cache.getOrLoad('k', 60_000, fail, { staleOnErrorMs: 60_000 })).toBe('v1');
    cache.clear();
    expect(await cache.getOrLoad('k', 60_000, async () => 'v2')).toBe('v2');
  });
});
