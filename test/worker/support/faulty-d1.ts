// A D1 binding that forwards to the real one until told to fail: then every statement it runs
// (first, all, run, raw, batch, exec) throws the error D1 itself throws in that fault, e.g.
// `D1_ERROR: no such table: pools: SQLITE_ERROR` (table missing) or `D1_ERROR: database is locked:
// SQLITE_BUSY`. Swap it in through `call(path, { env: { DB: faulty.db } })`.

/** Messages D1 gives for real faults (workerd's D1 binding prefixes them with `D1_ERROR: `). */
export const D1_FAULTS = {
  noSuchTable: 'D1_ERROR: no such table: pools: SQLITE_ERROR',
  locked: 'D1_ERROR: database is locked: SQLITE_BUSY',
  reset: 'D1_ERROR: Network connection lost.',
} as const;

export interface FaultyD1 {
  db: D1Database;
  /** The message the next statements fail with, or null to pass through. */
  fail(message: string | null): void;
  /** Statements that were attempted while failing (to check no write got through). */
  readonly failedCalls: number;
}

/** Wraps `real`; see the file comment. */
export function faultyD1(real: D1Database): FaultyD1 {
  let fault: string | null = null;
  let failedCalls = 0;
  const guard = <T>(run: () => Promise<T>): Promise<T> => {
    if (fault === null) return run();
    failedCalls++;
    return Promise.reject(new Error(fault));
  };
  // batch() needs the real statements back (a Proxy cannot stand in for their private state).
  const unwrap = new WeakMap<object, D1PreparedStatement>();
  const wrapStatement = (stmt: D1PreparedStatement): D1PreparedStatement => {
    const proxy = new Proxy(stmt, {
      get(target, prop, receiver) {
        if (prop === 'bind') return (...args: unknown[]) => wrapStatement(target.bind(...args));
        if (prop === 'first' || prop === 'all' || prop === 'run' || prop === 'raw') {
          return (...args: unknown[]) =>
            guard(() =>
              (target[prop] as (...a: unknown[]) => Promise<unknown>).apply(target, args),
            );
        }
        return Reflect.get(target, prop, receiver) as unknown;
      },
    });
    unwrap.set(proxy, stmt);
    return proxy;
  };
  const db = new Proxy(real, {
    get(target, prop, receiver) {
      if (prop === 'prepare') return (sql: string) => wrapStatement(target.prepare(sql));
      if (prop === 'batch') {
        return (stmts: D1PreparedStatement[]) =>
          guard(() => target.batch(stmts.map((s) => unwrap.get(s) ?? s)));
      }
      if (prop === 'exec') return (sql: string) => guard(() => target.exec(sql));
      return Reflect.get(target, prop, receiver) as unknown;
    },
  });
  return {
    db,
    fail(message) {
      fault = message;
    },
    get failedCalls() {
      return failedCalls;
    },
  };
}
