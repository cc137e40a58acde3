/**
 * Per-isolate token buckets: exact within one isolate. A bucket holds up to `limit` units (a
 * minute's budget) and refills continuously at `limit` per minute, so a caller may burst a full
 * minute's budget and then sustain the rate. A request that needs several buckets (key and tenant,
 * requests and tokens) takes from all of them or from none.
 */

/** One bucket a request draws on. */
export interface Demand {
  /** Which bucket, e.g. `tenant:t1:requests`. */
  key: string;
  /** Units per minute (the bucket's size and refill). */
  limit: number;
  /** Units this request takes. */
  cost: number;
}

/** The state of a bucket after a take (or after a refused one). */
export interface BucketState {
  demand: Demand;
  /** Whole units left. */
  remaining: number;
  /** Milliseconds until the bucket is full again. */
  resetMs: number;
}

export type TakeResult =
  | { ok: true; states: BucketState[] }
  /** `retryAfterMs` null: the cost exceeds a bucket's whole size, so waiting never helps. */
  | { ok: false; states: BucketState[]; retryAfterMs: number | null; blocking: Demand };

const MINUTE_MS = 60_000;

interface Bucket {
  limit: number;
  tokens: number;
  at: number;
}

/**
 * Buckets by key, at most `maxBuckets` of them (least recently used dropped first; a dropped
 * bucket comes back full, which only forgives a caller idle for long enough to be dropped).
 */
export class TokenBuckets {
  private readonly buckets = new Map<string, Bucket>();

  constructor(private readonly maxBuckets = 10_000) {}

  private refill(demand: Demand, now: number): Bucket {
    let b = this.buckets.get(demand.key);
    if (!b) b = { limit: demand.limit, tokens: demand.limit, at: now };
    // A limit changed in D1 applies at once; a lowered one caps what is left.
    if (b.limit !== demand.limit)
      b = { limit: demand.limit, tokens: Math.min(b.tokens, demand.limit), at: b.at };
    const tokens = Math.min(b.limit, b.tokens + ((now - b.at) * b.limit) / MINUTE_MS);
    b = { limit: b.limit, tokens, at: now };
    this.buckets.delete(demand.key);
    this.buckets.set(demand.key, b);
    while (this.buckets.size > this.maxBuckets) {
      const oldest = this.buckets.keys().next();
      if (oldest.done) break;
      this.buckets.delete(oldest.value);
    }
    return b;
  }

  private state(demand: Demand, b: Bucket): BucketState {
    return {
      demand,
      remaining: Math.max(0, Math.floor(b.tokens)),
      resetMs: Math.ceil(((b.limit - b.tokens) * MINUTE_MS) / b.limit),
    };
  }

  /**
   * Takes every demand's cost, or nothing when one of them cannot be met now.
   *
   * @example
   * const r = buckets.take([{ key: 'tenant:t1:requests', limit: 60, cost: 1 }]);
   * if (!r.ok) console.log(`retry in ${r.retryAfterMs} ms`);
   */
  take(demands: readonly Demand[], now = Date.now()): TakeResult {
    const buckets = demands.map((d) => this.refill(d, now));
    let blocking: Demand | null = null;
    let retryAfterMs: number | null = 0;
    for (const [i, d] of demands.entries()) {
      const have = buckets[i]!.tokens;
      if (d.cost <= have) continue;
      // The longest wait decides; a cost no wait can meet (over the bucket's size) beats any wait.
      const waitMs = d.cost > d.limit ? null : Math.ceil(((d.cost - have) * MINUTE_MS) / d.limit);
      if (!blocking || (retryAfterMs !== null && (waitMs === null || waitMs > retryAfterMs))) {
        blocking = d;
        retryAfterMs = waitMs;
      }
    }
    if (blocking)
      return {
        ok: false,
        states: demands.map((d, i) => this.state(d, buckets[i]!)),
        retryAfterMs,
        blocking,
      };
    demands.forEach((d, i) => {
      buckets[i]!.tokens -= d.cost;
    });
    return { ok: true, states: demands.map((d, i) => this.state(d, buckets[i]!)) };
  }

  /**
   * Gives back what `take` took (a request another limiter refused after this one let it through).
   *
   * @example
   * buckets.refund(demands);
   */
  refund(demands: readonly Demand[]): void {
    for (const d of demands) {
      const b = this.buckets.get(d.key);
      if (b) b.tokens = Math.min(b.limit, b.tokens + d.cost);
    }
  }
}
