/**
 * Feedback on answers (D1 `feedback`, migration 0011): one row per (tenant, decision); a second
 * feedback for the same decision replaces the first and is learnt from again (`applied_at` reset).
 */

/** The decision a feedback is about, as the decision log has it. */
export interface AnsweredDecision {
  pool: string | null;
  /** The model whose answer reached the client. */
  model: string;
}

/**
 * The tenant's decision `id` when a model answered it, or null: unknown ids, another tenant's,
 * `/v1/route` decisions and requests no model answered look the same. Rows written before
 * `answered_by` existed count when their status says a model answered (`model` is then it).
 *
 * @example
 * const d = await answeredDecision(env.DB, tenant.id, body.decision_id); // { pool: 'default', model: 'gpt-4o' }
 */
export function answeredDecision(
  db: D1Database,
  tenantId: string,
  id: string,
): Promise<AnsweredDecision | null> {
  return db
    .prepare(
      `SELECT pool, COALESCE(answered_by, model) AS model FROM decision_log
       WHERE tenant_id = ?1 AND id = ?2
         AND status IN ('ok', 'direct', 'stream_cut', 'client_closed')
         AND (answered_by IS NOT NULL OR status IN ('ok', 'direct'))`,
    )
    .bind(tenantId, id)
    .first<AnsweredDecision>();
}

/** One feedback as stored. */
export interface NewFeedback {
  tenantId: string;
  decisionId: string;
  pool: string | null;
  model: string;
  /** In [0, 1]; thumbs up / down are 1 / 0. */
  score: number;
  thumbs: 'up' | 'down' | null;
  comment: string | null;
}

/**
 * Stores a feedback, replacing an earlier one for the same decision (which is then learnt from
 * again); returns whether one was replaced. One transaction (a D1 batch).
 *
 * @example
 * const replaced = await upsertFeedback(env.DB, { tenantId, decisionId, pool, model, score: 1, thumbs: 'up', comment: null });
 */
export async function upsertFeedback(db: D1Database, f: NewFeedback): Promise<boolean> {
  const [before] = await db.batch([
    db
      .prepare('SELECT 1 AS found FROM feedback WHERE tenant_id = ?1 AND decision_id = ?2')
      .bind(f.tenantId, f.decisionId),
    db
      .prepare(
        `INSERT INTO feedback (tenant_id, decision_id, pool, model, score, thumbs, comment)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT (tenant_id, decision_id) DO UPDATE SET
           score = excluded.score, thumbs = excluded.thumbs, comment = excluded.comment,
           updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), applied_at = NULL`,
      )
      .bind(f.tenantId, f.decisionId, f.pool, f.model, f.score, f.thumbs, f.comment),
  ]);
  return (before?.results ?? []).length > 0;
}
