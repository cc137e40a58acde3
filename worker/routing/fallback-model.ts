/**
 * Serving a pool's `fallback_model` when no bundle can route the pool (routing/degraded.ts): the
 * model is called unrouted, like a direct request (ingress/serve-chat-body.ts), and the answer says
 * so (`x-router-degraded: bundle_unavailable`); the decision row is marked degraded.
 */
import type { Context } from 'hono';
import type { ModelRow } from '../data/models';
import type { AppEnv } from '../env';
import type { DegradedReason } from './degraded';
import { unroutedDecision } from './unrouted-decision';

const REASON: DegradedReason = 'bundle_unavailable';

/** A pool's fallback model, when no bundle can route the pool (routing/degraded.ts `fallbackModelFor`). */
export interface FallbackModel {
  pool: string;
  model: ModelRow;
  /** Whether the pool keeps prompt text in its decision rows (`keep_prompts`). */
  keepPrompts: boolean;
}

/**
 * The headers of an answer from the fallback model (`x-router-degraded: bundle_unavailable`).
 *
 * @example
 * const headers = fallbackHeaders('default', model, decisionId); // x-router-model, -pool, -decision-id, -degraded
 */
export function fallbackHeaders(
  pool: string,
  model: ModelRow,
  decisionId: string,
): Record<string, string> {
  return {
    'x-router-model': model.name,
    'x-router-pool': pool,
    'x-router-decision-id': decisionId,
    'x-router-degraded': REASON,
  };
}

/**
 * The `/v1/route` answer when the pool's requests would go to its fallback model.
 *
 * @example
 * if ('fallback' in routed) return fallbackDecision(c, routed.fallback);
 */
export function fallbackDecision(c: Context<AppEnv>, fallback: FallbackModel): Response {
  const { pool, model } = fallback;
  const decisionId = crypto.randomUUID();
  return unroutedDecision(
    c,
    { decisionId, pool, model: model.name, degraded: REASON },
    fallbackHeaders(pool, model, decisionId),
  );
}
