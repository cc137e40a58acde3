// Waiting on another request's load is bounded: a load whose request was cancelled never settles
// (workerd cancels that request's I/O), and a waiter must then load for itself instead of hanging.
import { describe, expect, it } from 'vitest';
import { awaitShared } from '../../../worker/data/shared-wait';
import { SHARED_LOAD_PATIENCE_MS, TtlCache } from '../../../worker/data/ttl-cache';

/** What a cancelled request's load looks like to the others: a promise that never settles. */
const dead = <T>(): Promise<T> => new Promise<T>(() => undefined);

describe('awaitShared', () => {
  it("answers with the shared promise's value when it settles in time, without the fallback", async () => {
    let fallbacks = 0;
    const value = await awaitShared(Promise.resolve(7), 1_000, async () => ++fallbacks);
    expect([value, fallbacks]).toEqual([7, 0]);
    await expect(
      awaitShared(Promise.reject(new Error('D1 down')), 1_000, async () => 1),
    ).rejects.toThrow('D1 down');
  });

  it('runs the fallback in this request when the shared promise never settles', async () => {
    const t0 = Date.now();
    expect(await awaitShared(dead<number>(), 50, async () => 9)).toBe(9);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(45);
  });
});

describe('TtlCache with a load that never settles', () => {
  it('a later caller loads for itself after the patience, and its value is what the cache keeps', async () => {
    const cache = new TtlCache<string, string>(10);
    void cache.getOrLoad('pool', 60_000, dead);
    const t0 = Date.now();
    let loads = 0;
    const own = async () => `own-${++loads}`;
    expect(await cache.getOrLoad('pool', 60_000, own)).toBe('own-1');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(SHARED_LOAD_PATIENCE_MS - 5);
    // the dead load was replaced: the next caller is served at once from the new one
    const t1 = Date.now();
    expect(await cache.getOrLoad('pool', 60_000, own)).toBe('own-1');
    expect([loads, Date.now() - t1 < SHARED_LOAD_PATIENCE_MS]).toEqual([1, true]);
  });

  it('waiters that arrive while a load runs share it', async () => {
    const cache = new TtlCache<string, number>(10);
    let loads = 0;
    const slow = () => new Promise<number>((r) => setTimeout(() => r(++loads), 30));
    const got = await Promise.all([1, 2, 3].map(() => cache.getOrLoad('k', 60_000, slow)));
    expect([got, loads]).toEqual([[1, 1, 1], 1]);
  });
});

describe('TtlCache waiters of a load that never settles', () => {
  it('a waiter that gives up after another already replaced the load shares that replacement', async () => {
    const cache = new TtlCache<string, string>(10);
    void cache.getOrLoad('pool', 60_000, dead);
    let loads = 0;
    const own = () => new Promise<string>((r) => setTimeout(() => r(`own-${++loads}`), 30));
    const first = cache.getOrLoad('pool', 60_000, own);
    await new Promise((r) => setTimeout(r, 10));
    // arrived later, so its patience ends after the first waiter has replaced the dead load
    const second = cache.getOrLoad('pool', 60_000, own);
    expect(await Promise.all([first, second])).toEqual(['own-1', 'own-1']);
    expect(loads).toBe(1);
  });
});
