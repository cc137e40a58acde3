/**
 * The decision-log row of a request (data/decision-log.ts), whichever way it was served: routed by
 * the policy, a concrete model called by name, or a pool's fallback model when no bundle could
 * route it. The one builder of a row: every column a request fills is set here.
 */
import type { DecisionLogEntry, DecisionStatus } from '../data/decision-log';
import type { Attempt } from '../upstream/types';
import type { DegradedReason } from './degraded';
import type { RouteOutcome } from './route-request';

/** What the row describes. */
export type Decided =
  /**
   * A routed decision; `served` is the index (into its candidates) of the model that answered, or
   * -1 when none did: the row then names the policy's choice (the column is required).
   */
  | { routed: RouteOutcome; served: number }
  /**
   * One model called unrouted: by name (`pool` null), or as its pool's fallback (`degraded`);
   * `answered`: whether it answered (absent: not called, as for `/v1/route`).
   */
  | {
      decisionId: string;
      pool: string | null;
      model: string;
      degraded: DegradedReason | null;
      answered?: boolean;
    };

/**
 * The row for a decision, its upstream tries and how the request ended.
 *
 * @example
 * decisionLogEntry(tenant.id, { routed: outcome, served: 0 }, result.attempts, 'ok');
 * const direct = { decisionId, pool: null, model: 'gpt-4o', degraded: null };
 * decisionLogEntry(tenant.id, direct, result.attempts, 'direct');
 */
export function decisionLogEntry(
  tenantId: string,
  decided: Decided,
  attempts: readonly Attempt[],
  status: DecisionStatus,
): DecisionLogEntry {
  if ('decisionId' in decided) {
    const { decisionId, pool, model, degraded, answered } = decided;
    return {
      id: decisionId,
      tenantId,
      pool,
      arm: null,
      bundleVersion: null,
      model,
      preference: null,
      candidates: [model],
      probs: [1],
      expectedCostUsd: null,
      predictedQuality: null,
      routingMs: 0,
      attempts,
      status,
      degraded,
      itemParams: null,
      propensity: null,
      answeredBy: answered ? model : null,
    };
  }
  const { routed: o, served } = decided;
  const { decision } = o;
  const logged = served >= 0 ? served : o.pick.index;
  return {
    id: o.decisionId,
    tenantId,
    pool: o.pool,
    arm: o.arm,
    bundleVersion: o.bundleVersion,
    model: o.candidates[logged]!.model.name,
    preference: o.preference,
    preset: o.preset,
    uncertaintyPenalty: o.uncertaintyPenalty,
    candidates: o.candidates.map((x) => x.model.name),
    shown: decision.shown,
    probs: decision.probs,
    expectedCostUsd: decision.expectedCostUsd[logged] ?? null,
    predictedQuality: decision.pSuccess[logged] ?? null,
    routingMs: o.timings.total,
    attempts,
    status,
    degraded: o.degraded,
    // what learning needs: the prompt's item parameters (not for /v1/route: nothing answered),
    // the probability the served model was picked with, and which model's answer the caller got
    itemParams: status === 'route_only' ? null : (decision.itemParams ?? null),
    propensity: o.pick.propensity,
    answeredBy: served >= 0 && status !== 'route_only' ? o.candidates[served]!.model.name : null,
  };
}
