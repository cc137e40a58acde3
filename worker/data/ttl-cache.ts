/**
 * A small per-isolate cache with expiry and a size cap (oldest entry evicted first). Concurrent
 * misses for one key share one load; a failed load is not cached.
 */
export class TtlCache<K, V> {
  private readonly entries = new Map<K, { until: number; value: Promise<V> }>();

  constructor(private readonly maxEntries: number) {}

  /**
   * The cached value for `key`, or the result of `load` (cached for `ttlMs`).
   *
   * @example
   * const pools = new TtlCache<string, Pool>(100);
   * await pools.getOrLoad('t1/default', 5000, () => readPool(db, 't1', 'default'));
   */
  getOrLoad(key: K, ttlMs: number, load: () => Promise<V>): Promise<V> {
    const now = Date.now();
    const hit = this.entries.get(key);
    if (hit && hit.until > now) return hit.value;
    const value = load();
    this.entries.delete(key);
    this.entries.set(key, { until: now + ttlMs, value });
    value.catch(() => { if (this.entries.get(key)?.value === value) this.entries.delete(key); });
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done) break;
      this.entries.delete(oldest.value);
    }
    return value;
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

  /** Forgets everything (tests, admin writes). */
  clear(): void {
    this.entries.clear();
  }
}
