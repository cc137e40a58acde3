/**
 * A small per-isolate cache with expiry and a size cap (oldest entry evicted first). Concurrent
 * misses for one key share one load, but a request waits on another's load for at most
 * `patienceMs` (default `SHARED_LOAD_PATIENCE_MS`) and then replaces it with a load of its own, or shares the replacement
 * another waiter started (./shared-wait.ts: the request that started it may have been cancelled,
 * and its load with it). A failed load is not cached, with one exception: when the
 * caller allows it (`staleOnErrorMs`), a reload that fails answers with the last value loaded for
 * that key if it is at most that old, so a D1 outage does not take down everything this isolate
 * saw recently. The next reload is then tried after another `ttlMs`.
 */

import { awaitShared } from './shared-wait';

/** How long a value may be served after its reloads started failing (bounded staleness). */
export const MAX_STALE_MS = 15 * 60_000;

/** How long a request waits on a D1 load another request started before it loads for itself. */
export const SHARED_LOAD_PATIENCE_MS = 1_000;

interface Loaded<V> {
  value: V;
  at: number;
}

interface Entry<V> {
  until: number;
  value: Promise<V>;
  /** Whether `value` has settled: until then it belongs to the request that started the load. */
  settled: boolean;
  /** The last value a load returned, kept across reloads for stale-on-error. */
  last: Loaded<V> | undefined;
}

export interface LoadOptions {
  /** Serve the last good value for this long after it was loaded when a reload fails (0 = never). */
  staleOnErrorMs?: number;
  /** Called when a stale value answers instead of a failed reload. */
  onStale?: (err: unknown, ageMs: number) => void;
}

export class TtlCache<K, V> {
  private readonly entries = new Map<K, Entry<V>>();

  /**
   * @param maxEntries size cap (`Infinity`: none)
   * @param patienceMs how long a request waits on another request's load of the same key
   */
  constructor(
    private readonly maxEntries: number,
    private readonly patienceMs = SHARED_LOAD_PATIENCE_MS,
  ) {}

  /**
   * The cached value for `key`, or the result of `load` (cached for `ttlMs`).
   *
   * @example
   * const pools = new TtlCache<string, Pool>(100);
   * await pools.getOrLoad('t1/default', 5000, () => readPool(db, 't1', 'default'), { staleOnErrorMs: MAX_STALE_MS });
   */
  getOrLoad(key: K, ttlMs: number, load: () => Promise<V>, options: LoadOptions = {}): Promise<V> {
    const hit = this.entries.get(key);
    if (!hit || hit.until <= Date.now()) return this.start(key, ttlMs, load, options, hit);
    if (hit.settled) return hit.value;
    return awaitShared(hit.value, this.patienceMs, () => {
      // the load this request waited on may be dead: replace it, unless someone already did; then
      // share that replacement (each waiter loading for itself would be a stampede on D1)
      const now = this.entries.get(key);
      return now === hit || now === undefined
        ? this.start(key, ttlMs, load, options, hit)
        : this.getOrLoad(key, ttlMs, load, options);
    });
  }

  /** Starts a load for `key` in this request and caches it in place of `previous`. */
  private start(
    key: K,
    ttlMs: number,
    load: () => Promise<V>,
    options: LoadOptions,
    previous: Entry<V> | undefined,
  ): Promise<V> {
    const entry: Entry<V> = {
      until: Date.now() + ttlMs,
      value: Promise.resolve() as Promise<V>,
      settled: false,
      last: previous?.last,
    };
    entry.value = load().then(
      (value) => {
        entry.last = { value, at: Date.now() };
        entry.settled = true;
        return value;
      },
      (err: unknown) => {
        const last = entry.last;
        const age = last ? Date.now() - last.at : Number.POSITIVE_INFINITY;
        if (last && age <= (options.staleOnErrorMs ?? 0)) {
          options.onStale?.(err, age);
          entry.settled = true;
          return last.value;
        }
        if (this.entries.get(key) === entry) this.entries.delete(key);
        throw err;
      },
    );
    this.entries.delete(key);
    this.entries.set(key, entry);
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done) break;
      this.entries.delete(oldest.value);
    }
    return entry.value;
  }

  /**
   * The keys cached or loading (expired ones included until they are replaced or evicted).
   *
   * @example
   * [...bundles.keys()]; // ['v-next']
   */
  keys(): IterableIterator<K> {
    return this.entries.keys();
  }

  /**
   * Forgets one key.
   *
   * @example
   * grants.delete('t1'); // the next getOrLoad('t1', ...) loads again
   */
  delete(key: K): void {
    this.entries.delete(key);
  }

  /**
   * Expires everything (after admin writes, and in tests): the next read reloads. The last values
   * stay for stale-on-error, so an expiry never makes a later D1 outage worse.
   */
  clear(): void {
    for (const entry of this.entries.values()) entry.until = 0;
  }

  /**
   * Expires the entries whose key matches (one tenant's, after that tenant's writes), keeping
   * their last values for stale-on-error like `clear`.
   *
   * @example
   * pools.expireWhere((key) => key.startsWith('t1\u0000'));
   */
  expireWhere(matches: (key: K) => boolean): void {
    for (const [key, entry] of this.entries) if (matches(key)) entry.until = 0;
  }
}
