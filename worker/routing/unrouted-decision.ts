/**
 * The `/v1/route` answer for a request that goes to one model unrouted: a pool's fallback model
 * (no bundle can route it) or an experiment arm's fixed model. Logged as `route_only` like any
 * `/v1/route` decision.
 */
import type { Context } from 'hono';
import { recordDecision } from '../data/decision-log';
import type { AppEnv } from '../env';
import { decisionLogEntry, type Decided } from './log-entry';

/** A decision of one model called unrouted (the non-routed member of `Decided`). */
export type UnroutedDecided = Exclude<Decided, { routed: unknown }>;

/**
 * Logs the decision and answers it in `/v1/route`'s shape: no bundle, no candidates, the one model
 * as the whole fallback order; `timings_ms` only where the decision took measurable routing work.
 *
 * @example
 * return unroutedDecision(c, fixedDecided(fixed), fixedArmHeaders(fixed, true));
 */
export function unroutedDecision(
  c: Context<AppEnv>,
  decided: UnroutedDecided,
  headers: Record<string, string>,
): Response {
  const entry = decisionLogEntry(c.get('tenant').id, decided, [], 'route_only');
  c.executionCtx.waitUntil(recordDecision(c.env, entry));
  return c.json(
    {
      id: decided.decisionId,
      object: 'router.decision',
      model: decided.model,
      pool: decided.pool,
      arm: decided.arm ?? null,
      bundle: null,
      preference: null,
      preset: null,
      uncertainty_penalty: null,
      embedding: null,
      candidates: [],
      fallback_order: [decided.model],
      unroutable: [],
      degraded: decided.degraded,
      timings_ms: decided.routingMs === undefined ? null : { total: decided.routingMs },
    },
    200,
    headers,
  );
}
