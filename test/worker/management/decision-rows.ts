// Decision-log rows written straight into D1, as the router writes them (data/decision-log.ts and
// the usage columns of migration 0010), for the listing and savings tests.
import { testEnv } from '../support/seed';

export interface Row {
  id: string;
  tenant: string;
  pool?: string | null;
  model: string;
  status?: string;
  at: string;
  candidates?: string[];
  qualities?: number[] | null;
  quality?: number | null;
  promptTokens?: number | null;
  completionTokens?: number | null;
  costUsd?: number | null;
}

/** Inserts the rows in one batch. */
export async function insertRows(rows: readonly Row[]): Promise<void> {
  await testEnv.DB.batch(
    rows.map((r) =>
      testEnv.DB.prepare(
        `INSERT INTO decision_log (id, tenant_id, pool, model, status, created_at, candidates, probs,
           predicted_qualities, predicted_quality, prompt_tokens, completion_tokens, cost_usd, attempts)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, '[]')`,
      ).bind(
        r.id,
        r.tenant,
        r.pool === undefined ? 'main' : r.pool,
        r.model,
        r.status ?? 'ok',
        r.at,
        JSON.stringify(r.candidates ?? [r.model]),
        JSON.stringify((r.candidates ?? [r.model]).map(() => 0.5)),
        r.qualities ? JSON.stringify(r.qualities) : null,
        r.quality ?? null,
        r.promptTokens ?? null,
        r.completionTokens ?? null,
        r.costUsd ?? null,
      ),
    ),
  );
}
