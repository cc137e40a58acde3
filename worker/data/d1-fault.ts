/**
 * Tells D1 outages (a table missing, the database locked or overloaded, the connection lost) from
 * bugs, so that the error handler answers them with 503 + Retry-After instead of 500, and keeps
 * the last few for `/healthz`. D1 reports faults as plain Errors whose message starts with
 * `D1_ERROR` (or another `D1_*` code) or names a transient condition.
 */
import { ApiError } from '../errors';

/** Seconds a caller is asked to wait after a D1 fault (D1 retries reads itself; locks clear fast). */
export const D1_RETRY_AFTER_SECONDS = 5;

/**
 * D1 could not answer: the request cannot be served now, but may be shortly (503 with
 * Retry-After). The caller never sees `detail` (D1's message names tables and SQLite codes).
 */
export class DatabaseUnavailableError extends ApiError {
  override name = 'DatabaseUnavailableError';
  constructor(readonly detail: string) {
    super(503, "the router's configuration database is unavailable; retry shortly", {
      type: 'service_unavailable',
      code: 'database_unavailable',
      headers: { 'retry-after': String(D1_RETRY_AFTER_SECONDS) },
    });
  }
}

// Faults, not bugs: a D1_* code other than a type error (a wrong bind in our code), or a message D1
// gives for a transient condition. A constraint violation is a bug or a conflict, not an outage.
const TRANSIENT =
  /network connection lost|storage caused object to be reset|reset because its code was updated|D1 DB is overloaded|database is locked|SQLITE_BUSY|transient issue on remote node|storage operation exceeded timeout/i;

/**
 * The D1 fault behind `err`, as a typed error, or null when `err` is not one.
 *
 * @example
 * asDatabaseUnavailable(new Error('D1_ERROR: no such table: pools: SQLITE_ERROR')); // DatabaseUnavailableError
 * asDatabaseUnavailable(new TypeError('x is undefined'));                           // null
 */
export function asDatabaseUnavailable(err: unknown): DatabaseUnavailableError | null {
  if (err instanceof DatabaseUnavailableError) return err;
  if (!(err instanceof Error)) return null;
  const message = err.message;
  if (/SQLITE_CONSTRAINT|^D1_TYPE_ERROR/.test(message)) return null;
  if (/^D1_[A-Z_]+/.test(message) || TRANSIENT.test(message))
    return new DatabaseUnavailableError(message.slice(0, 300));
  return null;
}

interface FaultRecord {
  at: string;
  message: string;
}

let faults = 0;
let lastFault: FaultRecord | null = null;
let staleServed = 0;

/**
 * Notes a D1 fault for `/healthz` (the message names tables and SQLite codes, never bound values).
 *
 * @example
 * noteDatabaseFault(new DatabaseUnavailableError('database is locked'));
 */
export function noteDatabaseFault(err: DatabaseUnavailableError): void {
  faults++;
  lastFault = { at: new Date().toISOString(), message: err.detail };
}

/**
 * A cache answered with a stale value because its reload from D1 failed (logged once per reload).
 *
 * @example
 * cache.getOrLoad(key, ttl, load, { staleOnErrorMs: MAX_STALE_MS, onStale: staleFromCache('pool') });
 */
export function staleFromCache(what: string): (err: unknown, ageMs: number) => void {
  return (err, ageMs) => {
    staleServed++;
    const fault = asDatabaseUnavailable(err);
    if (fault) noteDatabaseFault(fault);
    console.error(
      `${what}: D1 read failed, serving the value cached ${Math.round(ageMs / 1000)} s ago`,
      err,
    );
  };
}

/**
 * What this isolate saw of D1 faults: how many, the last one, and how often a cache answered for D1.
 *
 * @example
 * databaseFaultReport(); // { faults: 2, stale_served: 5, last: { at: '2026-...', message: 'D1_ERROR: database is locked: SQLITE_BUSY' } }
 */
export function databaseFaultReport(): {
  faults: number;
  stale_served: number;
  last: FaultRecord | null;
} {
  return { faults, stale_served: staleServed, last: lastFault };
}
