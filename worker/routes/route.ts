/**
 * `POST /v1/route`: the decision only (no upstream call): the chosen model, the fallback order
 * and, per candidate, the policy probability, predicted quality and expected cost.
 */
import type { Context } from 'hono';
import { readConfig } from '../config';
import { recordDecision } from '../data/decision-log';
import type { AppEnv } from '../env';
import { decisionHeaders } from '../routing/headers';
import { fallbackModelFor } from '../routing/degraded';
import { fallbackDecision } from '../routing/fallback-model';
import { routeRequest, type RouteOutcome } from '../routing/route-request';
import type { ChatInput } from '../schemas/chat';

/**
 * @example
 * v1.post('/route', chatBody, routeOnly);
 */
export async function routeOnly(c: Context<AppEnv, string, ChatInput>): Promise<Response> {
  const body = c.req.valid('json');
  const tenant = c.get('tenant');
  let outcome: RouteOutcome;
  try {
    outcome = await routeRequest({
      env: c.env, config: readConfig(c.env), tenant, body,
      preferenceHeader: c.req.header('x-router-preference'),
      userHeader: c.req.header('x-router-user'),
    });
  } catch (e) {
    const fallback = fallbackModelFor(e); // no bundle can route the pool: say where its fallback would go
    if (!fallback) throw e;
    return fallbackDecision(c, fallback);
  }
  const { decision } = outcome;
  const chosen = outcome.candidates[decision.chosen]!.model.name;
  c.executionCtx.waitUntil(recordDecision(c.env, {
    id: outcome.decisionId, tenantId: tenant.id, pool: outcome.pool, arm: outcome.arm, bundleVersion: outcome.bundleVersion,
    model: chosen, preference: outcome.preference, preset: outcome.preset, uncertaintyPenalty: outcome.uncertaintyPenalty, candidates: outcome.candidates.map((x) => x.model.name), shown: decision.shown,
    probs: decision.probs, expectedCostUsd: decision.expectedCostUsd[decision.chosen] ?? null,
    predictedQuality: decision.pSuccess[decision.chosen] ?? null, routingMs: outcome.timings.total, attempts: [], status: 'route_only',
    degraded: outcome.degraded,
  }));
  return c.json({
    id: outcome.decisionId,
    object: 'router.decision',
    model: chosen,
    pool: outcome.pool,
    arm: outcome.arm,
    bundle: outcome.bundleVersion,
    preference: outcome.preference,
    preset: outcome.preset,
    uncertainty_penalty: outcome.uncertaintyPenalty,
    embedding: outcome.embedding,
    candidates: outcome.candidates.map((cand, i) => ({
      model: cand.model.name,
      probability: decision.probs[i],
      shown_to_policy: decision.shown[i],
      predicted_quality: decision.pSuccess[i],
      expected_cost_usd: decision.expectedCostUsd[i],
      identity_source: cand.identitySource,
    })),
    fallback_order: decision.order.map((i) => outcome.candidates[i]!.model.name),
    unroutable: outcome.unroutable,
    degraded: outcome.degraded,
    timings_ms: outcome.timings,
  }, 200, decisionHeaders(outcome));
}
