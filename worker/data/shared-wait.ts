/**
 * Waiting on work another request started, without depending on that request staying alive.
 *
 * An isolate serves many requests, and its caches let one request's load (a pool read, a bundle)
 * serve the others that arrive while it runs. But workerd ties a promise to the request that
 * created it: when that request's client hangs up, its I/O is cancelled and the promise never
 * settles. A request left awaiting only such a promise has nothing of its own pending, and workerd
 * cancels it as hung (a 500, "the Worker's code had hung"). The load test's long runs at overload
 * hit exactly this: clients timed out, and requests that were waiting on the timed-out ones' loads
 * failed. So every such wait is bounded by a timer of the waiting request's own, which also keeps
 * workerd from judging it hung while it waits, and gives up to load for itself.
 */

const GAVE_UP = Symbol('gave up');

/**
 * `shared`'s value, or, when it has not settled within `patienceMs`, `fallback()` run by this
 * request. A rejection of `shared` within the patience is passed on.
 *
 * @example
 * const bundle = await awaitShared(inFlight, 5_000, () => loadOwn());
 */
export async function awaitShared<T>(
  shared: Promise<T>,
  patienceMs: number,
  fallback: () => Promise<T>,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const patience = new Promise<typeof GAVE_UP>((resolve) => {
    timer = setTimeout(() => resolve(GAVE_UP), patienceMs);
  });
  try {
    const first = await Promise.race([shared, patience]);
    return first === GAVE_UP ? await fallback() : first;
  } finally {
    clearTimeout(timer);
  }
}
