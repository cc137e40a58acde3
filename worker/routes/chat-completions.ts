/**
 * `POST /v1/chat/completions`: OpenAI-compatible. `model` = `router` | `router/<pool>` routes
 * (decision headers on the response); any other name calls that model directly. The upstream
 * answer (JSON or SSE) is passed through as the provider layer returns it, never buffered here.
 */
import type { Context } from 'hono';
import { readConfig } from '../config';
import { findModel } from '../data/models';
import { recordDecision } from '../data/decision-log';
import type { AppEnv } from '../env';
import { ApiError } from '../errors';
import type { ChatRequest, FallbackOptions, UpstreamTarget } from '../providers/types';
import { decisionHeaders } from '../routing/headers';
import { fallbackModelFor } from '../routing/degraded';
import { serveFallbackModel } from '../routing/fallback-model';
import { poolNameOf, routeRequest, type RouteOutcome } from '../routing/route-request';
import { toTarget } from '../routing/targets';
import { readChatBody, type ChatBody } from '../schemas/chat';
import { attemptHeaders, callWithFallback } from '../upstream/fallback';

/** The body the providers see: the caller's, without the router's own object. */
function upstreamRequest(body: ChatBody): ChatRequest {
  const { router: _router, ...rest } = body;
  return rest as ChatRequest;
}

function fallbackOptions(c: Context<AppEnv>): FallbackOptions {
  const config = readConfig(c.env);
  return {
    timeoutMs: config.upstreamTimeoutMs,
    completionTimeoutMs: config.completionTimeoutMs,
    maxTries: config.maxTries,
    ...(c.env.AI ? { ai: c.env.AI } : {}),
    signal: c.req.raw.signal,
  };
}

function setHeaders(response: Response, headers: Record<string, string>): void {
  for (const [k, v] of Object.entries(headers)) response.headers.set(k, v);
}

/**
 * @example
 * app.post('/v1/chat/completions', chatCompletions);
 */
export async function chatCompletions(c: Context<AppEnv>): Promise<Response> {
  const body = await readChatBody(c);
  const tenant = c.get('tenant');
  const config = readConfig(c.env);

  if (poolNameOf(body.model, tenant) === null) return direct(c, body);

  let outcome: RouteOutcome;
  try {
    outcome = await routeRequest({
      env: c.env, config, tenant, body,
      preferenceHeader: c.req.header('x-router-preference'),
      userHeader: c.req.header('x-router-user'),
    });
  } catch (e) {
    const fallback = fallbackModelFor(e); // no bundle can route the pool: its fallback model, if any
    if (!fallback) throw e;
    return serveFallbackModel(c, fallback, upstreamRequest(body), fallbackOptions(c));
  }
  const targets: UpstreamTarget[] = outcome.decision.order.map((i) => toTarget(outcome.candidates[i]!.model, c.env));
  const result = await callWithFallback(targets, upstreamRequest(body), fallbackOptions(c));
  const served = result.used >= 0 ? outcome.decision.order[result.used]! : outcome.decision.chosen;
  setHeaders(result.response, { ...decisionHeaders(outcome, served), ...attemptHeaders(result.attempts) });

  const { decision } = outcome;
  c.executionCtx.waitUntil(recordDecision(c.env, {
    id: outcome.decisionId, tenantId: tenant.id, pool: outcome.pool, arm: outcome.arm,
    bundleVersion: outcome.bundleVersion, model: outcome.candidates[served]!.model.name,
    preference: outcome.preference, preset: outcome.preset, uncertaintyPenalty: outcome.uncertaintyPenalty, candidates: outcome.candidates.map((x) => x.model.name), shown: decision.shown, probs: decision.probs,
    expectedCostUsd: decision.expectedCostUsd[served] ?? null, predictedQuality: decision.pSuccess[served] ?? null,
    routingMs: outcome.timings.total, attempts: result.attempts, status: result.used >= 0 ? 'ok' : 'upstream_error', degraded: outcome.degraded,
  }));
  return result.response;
}

/** A concrete model name: no routing, one target. */
async function direct(c: Context<AppEnv>, body: ChatBody): Promise<Response> {
  const tenant = c.get('tenant');
  const model = await findModel(c.env.DB, tenant.id, body.model);
  if (!model) {
    throw new ApiError(404, `model "${body.model}" does not exist; use "router", "router/<pool>" or a name from /v1/models`,
      'invalid_request_error', 'model_not_found', 'model');
  }
  const decisionId = crypto.randomUUID();
  const result = await callWithFallback([toTarget(model, c.env)], upstreamRequest(body), fallbackOptions(c));
  setHeaders(result.response, {
    'x-router-model': model.name, 'x-router-pool': 'none', 'x-router-decision-id': decisionId,
    ...attemptHeaders(result.attempts),
  });
  c.executionCtx.waitUntil(recordDecision(c.env, {
    id: decisionId, tenantId: tenant.id, pool: null, arm: null, bundleVersion: null, model: model.name,
    preference: null, candidates: [model.name], probs: [1], expectedCostUsd: null, predictedQuality: null,
    routingMs: 0, attempts: result.attempts, status: result.used >= 0 ? 'direct' : 'upstream_error',
  }));
  return result.response;
}
