/**
 * A lock for async work that must not overlap (ONNX Runtime's one wasm instance, ./ort.ts), safe
 * across requests. It is not a chain of promises: workerd cancels the continuations of a request
 * whose client hangs up, and in a chain every later caller would then wait forever on that
 * request's turn (../data/shared-wait.ts). Instead a finished task wakes the first waiter, a
 * waiter takes the lock only if it is free when it runs, and every waiter also wakes on a timer of
 * its own request, so a wake-up sent to a cancelled request delays the others by at most
 * `RECHECK_MS` instead of stopping them. A task still holding the lock after `stuckMs` is taken
 * for lost (its request torn down between its awaits, so it never ends; ORT's work is milliseconds)
 * and the next caller goes ahead: one lost task must not stop routing for the isolate's life.
 */

/** How often a waiter looks for itself whether the lock is free (what a lost wake-up costs). */
export const RECHECK_MS = 50;

/** How long a task may hold the lock before the next caller takes it for lost. */
export const STUCK_MS = 10_000;

export class Turns {
  private busy = false;
  /** Which acquisition holds the lock (a lost task that ends late must not release a later one). */
  private holder = 0;
  private heldSince = 0;
  /** Wake-ups of the callers waiting, first in line first. */
  protected readonly waiters: (() => void)[] = [];

  constructor(private readonly stuckMs = STUCK_MS) {}

  /** Whether the lock is held by a task that has not been taken for lost. */
  private get held(): boolean {
    if (this.busy && Date.now() - this.heldSince >= this.stuckMs) {
      console.error(`a task held the ONNX Runtime lock for ${this.stuckMs} ms; taken for lost`);
      this.busy = false;
    }
    return this.busy;
  }

  /**
   * Runs `task` when no other task of this lock is running; a failure does not block the next.
   *
   * @example
   * const turns = new Turns();
   * await Promise.all([turns.run(() => session.run(a)), turns.run(() => session.run(b))]);
   */
  async run<T>(task: () => Promise<T>): Promise<T> {
    for (let again = false; this.held; again = true) await this.nextTurn(again);
    this.busy = true;
    const mine = ++this.holder;
    this.heldSince = Date.now();
    try {
      return await task();
    } finally {
      if (this.holder === mine) {
        this.busy = false;
        this.waiters[0]?.();
      }
    }
  }

  /**
   * Waits to be woken; `again`: woken before but beaten to the lock, so it stays first in line.
   * The timer only looks whether the lock is free: while it is held the caller keeps its place
   * (moving to the front on every look would turn the line around for waits over `RECHECK_MS`).
   * `done` makes the timer a no-op once woken: a wake-up from another request cannot clear this
   * request's timer (workerd keeps timers per request).
   */
  private nextTurn(again: boolean): Promise<void> {
    return new Promise((resolve) => {
      let done = false;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const wake = (): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        const at = this.waiters.indexOf(wake);
        if (at >= 0) this.waiters.splice(at, 1);
        resolve();
      };
      const look = (): void => {
        if (done) return;
        if (this.held) timer = setTimeout(look, RECHECK_MS);
        else wake();
      };
      timer = setTimeout(look, RECHECK_MS);
      if (again) this.waiters.unshift(wake);
      else this.waiters.push(wake);
    });
  }
}
