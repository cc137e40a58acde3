// The decision log's retry buffer: FIFO, disjoint takes, bounded with every overflow reported, and
// a batch whose writer never came back (its request torn down mid-write) is tried again.
import { describe, expect, it } from 'vitest';
import { RetryBuffer } from '../../../worker/data/retry-buffer';

describe('RetryBuffer', () => {
  it('hands out disjoint batches and takes failed ones back in front, oldest first', () => {
    const b = new RetryBuffer<number>(10, () => {});
    b.putBack([1, 2, 3, 4]);
    const first = b.take(2);
    const second = b.take(2);
    expect(first).toEqual([1, 2]);
    expect(second).toEqual([3, 4]);
    expect(b.size).toBe(0);
    b.putBack([5]);
    b.putBack(first);
    expect(b.take(10)).toEqual([1, 2, 5]);
  });

  it('over capacity lets the oldest go through onDrop and counts each', () => {
    const dropped: number[] = [];
    const b = new RetryBuffer<number>(3, (x) => dropped.push(x));
    b.putBack([1, 2]);
    b.putBack([3, 4, 5]);
    expect(dropped).toEqual([3, 4]);
    expect(b.dropped).toBe(2);
    expect(b.take(5)).toEqual([5, 1, 2]);
  });

  it('a batch neither settled nor put back returns after its lease, with what its taker added', () => {
    let t = 0;
    const b = new RetryBuffer<number>(
      10,
      () => {},
      1000,
      () => t,
    );
    b.putBack([1, 2]);
    const lost = b.take(5);
    lost.push(3); // the taker's own new item rides in its batch
    const written = b.take(5);
    b.putBack([4]);
    const settled = b.take(5);
    b.settle(settled);
    t = 999;
    expect([lost, written, b.take(5)]).toEqual([[1, 2, 3], [], []]);
    t = 1000;
    expect(b.take(5)).toEqual([1, 2, 3]);
  });
});
