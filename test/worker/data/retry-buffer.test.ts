// The decision log's retry buffer: FIFO, disjoint takes, bounded with every overflow reported.
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
});
