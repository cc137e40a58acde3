/**
 * A bounded FIFO of items waiting to be retried. Items taken out for a try are no longer in it,
 * so two concurrent flushes never send the same item; a failed try puts them back in front. When
 * it is full the oldest item leaves through `onDrop` (so the caller can log it whole) and is counted.
 */
export class RetryBuffer<T> {
  private items: T[] = [];
  private droppedCount = 0;

  constructor(
    private readonly capacity: number,
    private readonly onDrop: (item: T) => void,
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
   * Takes up to `n` of the oldest items out for a try.
   *
   * @example
   * const batch = buffer.take(100);
   */
  take(n: number): T[] {
    return n > 0 ? this.items.splice(0, n) : [];
  }

  /**
   * Puts items back (in front, oldest first) after a failed try; drops the oldest beyond capacity.
   *
   * @example
   * buffer.putBack(batch);
   */
  putBack(items: readonly T[]): void {
    this.items = [...items, ...this.items];
    while (this.items.length > this.capacity) {
      const oldest = this.items.shift() as T;
      this.droppedCount++;
      this.onDrop(oldest);
    }
  }
}
