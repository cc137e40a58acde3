/**
 * What `/healthz` reports of this isolate's degraded modes, with no tenant data: bundle versions
 * that failed to load or run (and when), D1 faults and cache answers given for D1, and decision-log
 * rows waiting for D1 or lost to a full buffer.
 */
import { databaseFaultReport } from '../data/d1-fault';
import { decisionLogBacklog } from '../data/decision-log';
import { bundleFailures } from '../runtime/bundle-loader';

/**
 * A bundle or D1 failure this recent makes the isolate report itself degraded; older ones stay
 * listed (a bundle version until it works again) but no longer set the status, so a pool that once
 * named a missing version does not mark the isolate degraded for good.
 */
export const RECENT_FAULT_MS = 5 * 60_000;

export interface DegradedState {
  /** Whether anything below is degrading service now (a failure in the last RECENT_FAULT_MS, rows waiting). */
  degraded: boolean;
  detail: {
    /** Versions that failed since they last worked: routed with an older bundle, a fallback model, or 503. */
    bundles: {
      version: string;
      error: string;
      first_failed_at: string;
      last_failed_at: string;
      failures: number;
    }[];
    database: ReturnType<typeof databaseFaultReport>;
    decision_log: ReturnType<typeof decisionLogBacklog>;
  };
}

/**
 * @example
 * const { degraded, detail } = degradedState();
 * c.json({ status: degraded ? 'degraded' : 'ok', degraded: detail });
 */
export function degradedState(now = Date.now()): DegradedState {
  const bundles = bundleFailures().map((f) => ({
    version: f.version,
    error: f.error,
    first_failed_at: f.firstAt,
    last_failed_at: f.lastAt,
    failures: f.failures,
  }));
  const database = databaseFaultReport();
  const decisionLog = decisionLogBacklog();
  const recent = (at: string) => now - Date.parse(at) < RECENT_FAULT_MS;
  const recentBundle = bundles.some((b) => recent(b.last_failed_at));
  const recentFault = database.last !== null && recent(database.last.at);
  return {
    degraded: recentBundle || recentFault || decisionLog.pending > 0,
    detail: { bundles, database, decision_log: decisionLog },
  };
}
