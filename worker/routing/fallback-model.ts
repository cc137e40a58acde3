/**
 * Serving a pool's `fallback_model` when no bundle can route the pool (routing/degraded.ts): the
 * model is called unrouted, like a direct request, and the answer says so
 * (`x-router-degraded: bundle_unavailable`); the decision row is marked degraded.
 */
import type { Context } from 'hono';
import { recordDecision } from '../data/decision-log';
import type { ModelRow } from '../data/models';
import type { AppEnv } from '../env';
import type { ChatRequest, FallbackOptions } from '../providers/types';
import { attemptHeaders, callWithFallback } from '../upstream/fallback';
import type { DegradedReason } from './degraded';
import { toTarget } from './targets';

const REASON: DegradedReason = 'bundle_unavailable';

/** The headers of an answer from the fallback model. */
function fallbackHeaders(pool: string, model: ModelRow, decisionId: string): Record<string, string> {
  return { 'x-router-model': model.name, 'x-router-pool': pool, 'x-router-decision-id': decisionId, 'x-router-degraded': REASON };
}

/**
 * Calls the fallback model with the caller's request (a chat completion).
 *
 * @example
 * const fallback = fallbackModelFor(err);
 * if (fallback) return serveFallbackModel(c, fallback, upstreamRequest(body), fallbackOptions(c));
 */
export async function serveFallbackModel(c: Context<AppEnv>, fallback: { pool: string; model: ModelRow }, request: ChatRequest,
  options: FallbackOptions): Promise<Response> {
  const { pool, model } = fallback;
  const decisionId = crypto.randomUUID();
  const result = await callWithFallback([toTarget(model, c.env)], request, options);
  for (const [k, v] of Object.entries({ ...fallbackHeaders(pool, model, decisionId), ...attemptHeaders(result.attempts) })) {
    result.response.headers.set(k, v);
  }
  c.executionCtx.waitUntil(recordDecision(c.env, {
    id: decisionId, tenantId: c.get('tenant').id, pool, arm: null, bundleVersion: null, model: model.name, preference: null,
    candidates: [model.name], probs: [1], expectedCostUsd: null, predictedQuality: null, routingMs: 0, attempts: result.attempts,
    status: result.used >= 0 ? 'ok' : 'upstream_error', degraded: REASON,
  }));
  return result.response;
}

/**
 * The `/v1/route` answer when the pool's requests would go to its fallback model.
 *
 * @example
 * if (fallback) return fallbackDecision(c, fallback);
 */
export function fallbackDecision(c: Context<AppEnv>, fallback: { pool: string; model: ModelRow }): Response {
  const { pool, model } = fallback;
  const decisionId = crypto.randomUUID();
  c.executionCtx.waitUntil(recordDecision(c.env, {
    id: decisionId, tenantId: c.get('tenant').id, pool, arm: null, bundleVersion: null, model: model.name, preference: null,
    candidates: [model.name], probs: [1], expectedCostUsd: null, predictedQuality: null, routingMs: 0, attempts: [],
    status: 'route_only', degraded: REASON,
  }));
  return c.json({
    id: decisionId, object: 'router.decision', model: model.name, pool, arm: null, bundle: null, preference: null, preset: null,
    uncertainty_penalty: null, embedding: null, candidates: [], fallback_order: [model.name], unroutable: [], degraded: REASON,
    timings_ms: null,
  }, 200, fallbackHeaders(pool, model, decisionId));
}
