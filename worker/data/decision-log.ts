/**
 * The decision log: one row per routed request, written after the response. With a Queue binding
 * (`DECISION_LOG_QUEUE`) entries go through the queue and its consumer inserts them in batches
 * (the queue redelivers a failed batch); without one (or when sending fails) they go straight to
 * D1. A row D1 refuses waits in a bounded per-isolate buffer and goes along with the next write
 * that succeeds; rows the buffer cannot hold are logged whole (never dropped unseen) and counted.
 */
import type { PromptItem } from '../decision/item-params';
import type { Attempt } from '../upstream/types';
import { RetryBuffer } from './retry-buffer';

/**
 * How a request ended, as its row says: `ok` (routed) / `direct` (concrete model, no routing) for a
 * complete answer; `route_only` (`/v1/route`); `upstream_error` (no target answered, or the upstream
 * rejected the request); `stream_cut` (a stream broke after it began); `client_closed` (the client
 * went away before the answer ended).
 */
export type DecisionStatus =
  'ok' | 'direct' | 'route_only' | 'upstream_error' | 'stream_cut' | 'client_closed';

/** One decision-log row (built by routing/log-entry.ts `decisionLogEntry`). */
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
  /** Per candidate, its predicted quality as routed (routed requests; older queued entries lack it). */
  predictedQualities?: number[] | null;
  routingMs: number;
  attempts: readonly Attempt[];
  status: DecisionStatus;
  /** Why the request was served degraded ('bundle_unavailable'); null/absent = served normally. */
  degraded?: string | null;
  /**
   * What the answer used, cost and took (migration 0010): the upstream's own token counts, their
   * cost at the answering model's prices, ms to its first byte and to its end; null = not known,
   * absent in entries queued before these existed.
   */
  promptTokens?: number | null;
  completionTokens?: number | null;
  costUsd?: number | null;
  ttfbMs?: number | null;
  upstreamMs?: number | null;
  /** The model whose answer reached the client (0011); null when no answer did. */
  answeredBy?: string | null;
  /** The request's messages as JSON (0011), only when the row's pool keeps prompts. */
  prompt?: string | null;
  /** The prompt's IRT item parameters (routed, served requests; older queued entries lack it). */
  itemParams?: PromptItem | null;
  /** Probability the served model was picked with (routed requests: 1 unless the pool explores). */
  propensity?: number | null;
}

function insert(db: D1Database, e: DecisionLogEntry): D1PreparedStatement {
  return (
    db
      // OR IGNORE: a retried row (queue redelivery, a write whose reply was lost) lands once.
      .prepare(
        `INSERT OR IGNORE INTO decision_log (id, tenant_id, pool, arm, bundle_version, model, preference, preset, candidates,
              probs, expected_cost_usd, predicted_quality, routing_ms, attempts, status, uncertainty_penalty, shown, degraded,
              predicted_qualities, prompt_tokens, completion_tokens, cost_usd, ttfb_ms, upstream_ms, answered_by, prompt,
              item_params, propensity)
              VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18,
              ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28)`,
      )
      .bind(
        e.id,
        e.tenantId,
        e.pool,
        e.arm,
        e.bundleVersion,
        e.model,
        e.preference,
        e.preset ?? null,
        JSON.stringify(e.candidates),
        JSON.stringify(e.probs),
        e.expectedCostUsd,
        e.predictedQuality,
        e.routingMs,
        JSON.stringify(e.attempts),
        e.status,
        e.uncertaintyPenalty ?? null,
        e.shown ? JSON.stringify(e.shown) : null,
        e.degraded ?? null,
        e.predictedQualities ? JSON.stringify(e.predictedQualities) : null,
        e.promptTokens ?? null,
        e.completionTokens ?? null,
        e.costUsd ?? null,
        e.ttfbMs ?? null,
        e.upstreamMs ?? null,
        e.answeredBy ?? null,
        e.prompt ?? null,
        e.itemParams ? JSON.stringify(e.itemParams) : null,
        e.propensity ?? null,
      )
  );
}

/**
 * Inserts entries into D1 in one batch (the queue consumer and the direct path both use it).
 *
 * @example
 * await insertDecisionLogs(env.DB, [entry]);
 */
export async function insertDecisionLogs(
  db: D1Database,
  entries: readonly DecisionLogEntry[],
): Promise<void> {
  if (entries.length === 0) return;
  await db.batch(entries.map((e) => insert(db, e)));
}

/** Rows one isolate keeps while D1 refuses writes, and rows per flushed batch. */
const MAX_PENDING = 1000;
const FLUSH_BATCH = 100;
/** Batches one write may flush after it, so a long outage drains within one waitUntil. */
const MAX_FLUSH_BATCHES = 10;

const pending = new RetryBuffer<DecisionLogEntry>(MAX_PENDING, (dropped) => {
  console.error(
    `decision log buffer full (${MAX_PENDING} rows): row ${dropped.id} not written; entry follows`,
    JSON.stringify(dropped),
  );
});

/** Writes `entries` in one batch; what D1 refuses goes back to the buffer. */
async function writeOrKeep(db: D1Database, entries: DecisionLogEntry[]): Promise<boolean> {
  // `entries` is a leased batch: torn down mid-write, it comes back after the lease (rows are
  // INSERT OR IGNORE by id, so one written twice is written once)
  try {
    await insertDecisionLogs(db, entries);
    pending.settle(entries);
    return true;
  } catch (e) {
    pending.putBack(entries);
    console.error(
      `decision log write failed; ${entries.length} row(s) kept for retry (${pending.size} pending)`,
      e,
    );
    return false;
  }
}

/**
 * Records one decision: through the queue when bound, else (or on queue failure) directly in D1,
 * together with rows an earlier failure left in this isolate's buffer. Never throws: a log write
 * must not fail a request that already answered.
 *
 * @example
 * c.executionCtx.waitUntil(recordDecision(c.env, entry));
 */
export async function recordDecision(
  env: { DB: D1Database; DECISION_LOG_QUEUE?: Queue<unknown> },
  entry: DecisionLogEntry,
): Promise<void> {
  if (env.DECISION_LOG_QUEUE) {
    try {
      await env.DECISION_LOG_QUEUE.send(entry);
      if (pending.size > 0) await flushPending(env.DB);
      return;
    } catch (e) {
      console.error('decision log queue send failed; writing to D1', e);
    }
  }
  const batch = pending.take(FLUSH_BATCH - 1);
  batch.push(entry);
  if (await writeOrKeep(env.DB, batch)) await flushPending(env.DB);
}

/** Writes rows an earlier D1 failure left in this isolate's buffer (a few batches at most). */
async function flushPending(db: D1Database): Promise<void> {
  for (let i = 0; i < MAX_FLUSH_BATCHES && pending.size > 0; i++) {
    if (!(await writeOrKeep(db, pending.take(FLUSH_BATCH)))) return;
  }
}

/**
 * Rows waiting in this isolate for D1, and rows the full buffer could not keep (for `/healthz`).
 *
 * @example
 * decisionLogBacklog(); // { pending: 0, dropped: 0 }
 */
export function decisionLogBacklog(): { pending: number; dropped: number } {
  return { pending: pending.size, dropped: pending.dropped };
}
