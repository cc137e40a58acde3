/**
 * `POST /v1/route`: the decision only (no upstream call): the chosen model, the fallback order
 * and, per candidate, the policy probability, predicted quality and expected cost.
 */
import type { Context } from 'hono';
import { readConfig } from '../config';
import { recordDecision } from '../data/decision-log';
import type { AppEnv } from '../env';
import { fallbackDecision } from '../routing/fallback-model';
import { fixedArmDecision } from '../routing/fixed-arm';
import { decisionHeaders } from '../routing/headers';
import { decisionLogEntry } from '../routing/log-entry';
import { routeOrFallback } from '../routing/route-request';
import type { ChatInput } from '../schemas/chat';

/**
 * @example
 * v1.post('/route', chatBody, routeOnly);
 */
export async function routeOnly(c: Context<AppEnv, string, ChatInput>): Promise<Response> {
  const tenant = c.get('tenant');
  const routed = await routeOrFallback({
    env: c.env,
    config: readConfig(c.env),
    tenant,
    body: c.req.valid('json'),
    preferenceHeader: c.req.header('x-router-preference'),
    userHeader: c.req.header('x-router-user'),
  });
  // no bundle can route the pool: say where its fallback model would take the request
  if ('fallback' in routed) return fallbackDecision(c, routed.fallback);
  // its experiment arm sends it to one fixed model, unrouted
  if ('fixed' in routed) return fixedArmDecision(c, routed.fixed);
  const { outcome } = routed;
  const { decision } = outcome;
  const entry = decisionLogEntry(
    tenant.id,
    { routed: outcome, served: outcome.pick.index },
    [],
    'route_only',
  );
  c.executionCtx.waitUntil(recordDecision(c.env, entry));
  return c.json(
    {
      id: outcome.decisionId,
      object: 'router.decision',
      model: entry.model,
      pool: outcome.pool,
      arm: outcome.arm,
      bundle: outcome.bundleVersion,
      preference: outcome.preference,
      preset: outcome.preset,
      uncertainty_penalty: outcome.uncertaintyPenalty,
      exploration:
        outcome.pick.temperature === null
          ? null
          : {
              temperature: outcome.pick.temperature,
              explored: outcome.pick.index !== decision.chosen,
              propensity: outcome.pick.propensity,
            },
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
    },
    200,
    decisionHeaders(outcome),
  );
}
