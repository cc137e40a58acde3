/**
 * An experiment arm that names one model (a control): its share of the pool's traffic is served by
 * that model unrouted, like a direct request, and logged with the pool and arm so that the
 * experiment report compares it with the routed arms.
 */
import type { Context } from 'hono';
import type { ModelRow } from '../data/models';
import type { AppEnv } from '../env';
import { unroutedDecision, type UnroutedDecided } from './unrouted-decision';

/** A request an experiment sent to its arm's fixed model. */
export interface FixedArm {
  decisionId: string;
  pool: string;
  arm: string;
  model: ModelRow;
  /** Milliseconds from the request's start until the arm was known (the routing overhead). */
  routingMs: number;
  /** The experiment pool keeps prompt text in the decision log (`pools.keep_prompts`). */
  keepPrompts: boolean;
}

/**
 * The decision-log subject of a fixed-arm request.
 *
 * @example
 * decisionLogEntry(tenant.id, fixedDecided(fixed), attempts, 'ok');
 */
export function fixedDecided(fixed: FixedArm): UnroutedDecided {
  const { decisionId, pool, arm, model, routingMs } = fixed;
  return { decisionId, pool, model: model.name, degraded: null, arm, routingMs };
}

/**
 * The `x-router-*` headers of a fixed-arm answer; `x-router-model` only when the model answered.
 *
 * @example
 * fixedArmHeaders(fixed, true); // x-router-model, -pool, -arm, -decision-id, server-timing
 */
export function fixedArmHeaders(fixed: FixedArm, answered: boolean): Record<string, string> {
  return {
    ...(answered ? { 'x-router-model': fixed.model.name } : {}),
    'x-router-pool': fixed.pool,
    'x-router-arm': fixed.arm,
    'x-router-decision-id': fixed.decisionId,
    'server-timing': `route;dur=${fixed.routingMs.toFixed(2)};desc="routing overhead"`,
  };
}

/**
 * The `/v1/route` answer for a request that its experiment arm sends to a fixed model.
 *
 * @example
 * if ('fixed' in routed) return fixedArmDecision(c, routed.fixed);
 */
export function fixedArmDecision(c: Context<AppEnv>, fixed: FixedArm): Response {
  return unroutedDecision(c, fixedDecided(fixed), fixedArmHeaders(fixed, true));
}
