/**
 * The decision log: one row per routed request, written after the response. With a Queue binding
 * (`DECISION_LOG_QUEUE`) entries go through the queue and its consumer inserts them in batches;
 * without one (or when sending fails) they go straight to D1.
 */
export interface DecisionLogEntry {
  id: string;
  tenantId: string;
  pool: string | null;
  arm: string | null;
  bundleVersion: string | null;
  model: string;
  preference: number | null;
  /** The preset behind `preference`, if any (entries queued before it existed lack it). */
  preset?: string | null;
  /** Stds below its mean a quiz identity was routed at (routed requests; older queued entries lack it). */
  uncertaintyPenalty?: number | null;
  candidates: string[];
  probs: number[];
  /** Per candidate, whether the policy was shown it (routed requests; older queued entries lack it). */
  shown?: boolean[] | null;
  expectedCostUsd: number | null;
  predictedQuality: number | null;
  routingMs: number;
  attempts: unknown[];
  /**
   * 'ok' | 'direct' (concrete model, no routing) for a complete answer; 'route_only';
   * 'upstream_error' (no target answered, or the upstream rejected the request); 'stream_cut' (a
   * stream broke after it began); 'client_closed' (the client went away before the answer ended)
   */
  status: string;
}

function insert(db: D1Database, e: DecisionLogEntry): D1PreparedStatement {
  return db
    .prepare(`INSERT INTO decision_log (id, tenant_id, pool, arm, bundle_version, model, preference, preset, candidates,
              probs, expected_cost_usd, predicted_quality, routing_ms, attempts, status, uncertainty_penalty, shown)
              VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)`)
    .bind(e.id, e.tenantId, e.pool, e.arm, e.bundleVersion, e.model, e.preference, e.preset ?? null, JSON.stringify(e.candidates),
      JSON.stringify(e.probs), e.expectedCostUsd, e.predictedQuality, e.routingMs, JSON.stringify(e.attempts), e.status,
      e.uncertaintyPenalty ?? null, e.shown ? JSON.stringify(e.shown) : null);
}

/**
 * Inserts entries into D1 in one batch (the queue consumer and the direct path both use it).
 *
 * @example
 * await insertDecisionLogs(env.DB, [entry]);
 */
export async function insertDecisionLogs(db: D1Database, entries: readonly DecisionLogEntry[]): Promise<void> {
  if (entries.length === 0) return;
  await db.batch(entries.map((e) => insert(db, e)));
}

/**
 * Records one decision: through the queue when bound, else (or on queue failure) directly in D1.
 * Never throws: a lost log line must not fail a request that already answered.
 *
 * @example
 * c.executionCtx.waitUntil(recordDecision(c.env, entry));
 */
export async function recordDecision(env: { DB: D1Database; DECISION_LOG_QUEUE?: Queue<unknown> }, entry: DecisionLogEntry): Promise<void> {
  try {
    if (env.DECISION_LOG_QUEUE) {
      try {
        await env.DECISION_LOG_QUEUE.send(entry);
        return;
      } catch (e) {
        console.error('decision log queue send failed; writing to D1', e);
      }
    }
    await insertDecisionLogs(env.DB, [entry]);
  } catch (e) {
    console.error(`decision log write failed for ${entry.id}`, e);
  }
}
