// The ORT lock: tasks never overlap, a failure does not block the next, and a wake-up lost to a
// cancelled request (its continuation never runs) does not stop the callers behind it.
import { describe, expect, it } from 'vitest';
import { RECHECK_MS, Turns } from '../../../worker/runtime/turns';

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A lock with one more caller in line whose request has gone: woken, it never takes its turn. */
class WithCancelledWaiter extends Turns {
  addCancelledWaiter(): void {
    const wake = (): void => {
      this.waiters.splice(this.waiters.indexOf(wake), 1);
    };
    this.waiters.push(wake);
  }
}

describe('Turns', () => {
  it('runs tasks one at a time, in arrival order, and a failure does not block the next', async () => {
    const turns = new Turns();
    let running = 0;
    let most = 0;
    const order: number[] = [];
    const task = (i: number) => async () => {
      most = Math.max(most, ++running);
      await tick(2);
      await Promise.resolve();
      order.push(i);
      running--;
      if (i === 2) throw new Error('ORT failed');
      return i;
    };
    const results = await Promise.allSettled([0, 1, 2, 3, 4].map((i) => turns.run(task(i))));
    expect(most).toBe(1);
    expect(order).toEqual([0, 1, 2, 3, 4]);
    expect(results.map((r) => r.status)).toEqual([
      'fulfilled',
      'fulfilled',
      'rejected',
      'fulfilled',
      'fulfilled',
    ]);
  });

  it('keeps arrival order when callers wait longer than the re-check interval', async () => {
    const turns = new Turns();
    const order: number[] = [];
    const runs: Promise<unknown>[] = [];
    for (let i = 0; i < 5; i++) {
      runs.push(
        turns.run(async () => {
          order.push(i);
          await tick(RECHECK_MS * 1.5);
        }),
      );
      await tick(5);
    }
    await Promise.all(runs);
    expect(order).toEqual([0, 1, 2, 3, 4]);
  });

  it('a caller behind a cancelled one still gets its turn', async () => {
    const turns = new WithCancelledWaiter();
    let release!: () => void;
    const holder = turns.run(() => new Promise<void>((r) => (release = r)));
    await tick(0);
    turns.addCancelledWaiter();
    const behind = turns.run(async () => 'ran');
    release();
    await holder;
    const t0 = Date.now();
    expect(await behind).toBe('ran');
    expect(Date.now() - t0).toBeLessThan(RECHECK_MS * 20);
  });

  it('a task that never ends is taken for lost after stuckMs, and ending late releases nothing', async () => {
    const turns = new Turns(300);
    let lateEnd!: () => void;
    void turns.run(() => new Promise<void>((r) => (lateEnd = r))); // its request was torn down
    await tick(0);
    const t0 = Date.now();
    let running = false;
    let release!: () => void;
    const next = turns.run(async () => {
      running = true;
      await new Promise<void>((r) => (release = r));
      return 'ran';
    });
    while (!running && Date.now() - t0 < 2_000) await tick(10);
    expect(running).toBe(true);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(295);
    lateEnd(); // the lost task ends after all: the lock stays with its current holder
    let third = false;
    const after = turns.run(async () => (third = true));
    await tick(RECHECK_MS * 2);
    expect(third).toBe(false);
    release();
    expect(await next).toBe('ran');
    await after;
    expect(third).toBe(true);
  });
});
