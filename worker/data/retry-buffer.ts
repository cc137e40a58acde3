/**
 * A bounded FIFO of items waiting to be retried. Items taken out for a try are leased, not gone:
 * two concurrent flushes never send the same item, a failed try puts them back in front, a
 * successful one `settle`s them, and a lease neither settled nor put back within `leaseMs` (its
 * request was torn down mid-write) returns its items to the front, so they are tried again instead
 * of vanishing unseen. When it is full the oldest item leaves through `onDrop` (so the caller can
 * log it whole) and is counted.
 */
export class RetryBuffer<T> {
  private items: T[] = [];
  private droppedCount = 0;
  /** Batches out for a try, with when they were taken. */
  private readonly leases = new Map<T[], number>();

  constructor(
    private readonly capacity: number,
    private readonly onDrop: (item: T) => void,
    private readonly leaseMs = 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Items waiting. */
  get size(): number {
    return this.items.length;
  }

  /** Items the full buffer had to let go (each passed to `onDrop`). */
  get dropped(): number {
    return this.droppedCount;
  }

  /**
   * Takes up to `n` of the oldest items out for a try, leased until `settle` or `putBack`. Items
   * the caller adds to the returned array (its own new item) are part of the lease.
   *
   * @example
   * const batch = buffer.take(100);
   */
  take(n: number): T[] {
    this.reclaimExpired();
    const batch = n > 0 ? this.items.splice(0, n) : [];
    this.leases.set(batch, this.now());
    return batch;
  }

  /**
   * Ends the lease of a batch whose try succeeded.
   *
   * @example
   * await write(batch); buffer.settle(batch);
   */
  settle(batch: T[]): void {
    this.leases.delete(batch);
  }

  /**
   * Puts items back (in front, oldest first) after a failed try; drops the oldest beyond capacity.
   *
   * @example
   * buffer.putBack(batch);
   */
  putBack(items: readonly T[]): void {
    this.leases.delete(items as T[]);
    this.items = [...items, ...this.items];
    while (this.items.length > this.capacity) {
      const oldest = this.items.shift() as T;
      this.droppedCount++;
      this.onDrop(oldest);
    }
  }

  /** Leases older than `leaseMs` go back to the front: whoever took them is not coming back. */
  private reclaimExpired(): void {
    const t = this.now();
    for (const [batch, at] of this.leases)
      if (t - at >= this.leaseMs) {
        this.leases.delete(batch);
        this.items = [...batch, ...this.items];
      }
  }
}
