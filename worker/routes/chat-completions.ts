/**
 * `POST /v1/chat/completions`: OpenAI-compatible. `model` = `router` | `router/<pool>` routes
 * (decision headers on the response); any other name calls that model directly. The upstream
 * answer (JSON or SSE) is passed through as the provider layer returns it, never buffered here.
 * The decision row is written once the answer has ended (for a stream: after its last byte, or
 * when the client went away), so its status says how it ended.
 */
import type { Context } from 'hono';
import { readConfig, type RouterConfig } from '../config';
import { findModel } from '../data/models';
import { recordDecision, type DecisionLogEntry } from '../data/decision-log';
import type { AppEnv } from '../env';
import { ApiError } from '../errors';
import type { ChatRequest, UpstreamTarget } from '../providers/types';
import { decisionHeaders } from '../routing/headers';
import { fallbackModelFor } from '../routing/degraded';
import { fallbackHeaders, type FallbackModel } from '../routing/fallback-model';
import { poolNameOf, routeRequest, type RouteOutcome } from '../routing/route-request';
import { toTarget } from '../routing/targets';
import type { ChatBody, ChatInput } from '../schemas/chat';
import { targetHealth, type TargetHealth } from '../upstream/breaker';
import { attemptHeaders, callWithFallback } from '../upstream/fallback';
import { TIMEOUT_HEADER, requestBudgetMs } from '../upstream/request-deadline';
import type { FallbackOptions, FallbackResult, UpstreamOutcome } from '../upstream/types';

/** The body the providers see: the caller's, without the router's own object. */
function upstreamRequest(body: ChatBody): ChatRequest {
  const { router: _router, ...rest } = body;
  return rest as ChatRequest;
}

function fallbackOptions(c: Context<AppEnv>, config: RouterConfig, deadlineAt: number, health: TargetHealth): FallbackOptions {
  return {
    timeoutMs: config.upstreamTimeoutMs,
    completionTimeoutMs: config.completionTimeoutMs,
    maxTries: config.maxTries,
    ...(c.env.AI ? { ai: c.env.AI } : {}),
    signal: c.req.raw.signal,
    deadlineAt,
    health,
  };
}

/** The answer with the request's `x-router-*` headers; an error is thrown for the error handler to render. */
function respond(result: FallbackResult, headers: Record<string, string>): Response {
  if (result.error) throw result.error.withHeaders(headers);
  for (const [k, v] of Object.entries(headers)) result.response.headers.set(k, v);
  return result.response;
}

/** The decision row's status: `answered` as `ok` (routed) or `direct`, else the outcome itself. */
function logStatus(outcome: UpstreamOutcome, answered: 'ok' | 'direct'): string {
  return outcome === 'answered' ? answered : outcome;
}

/**
 * Runs the upstream phase and writes the decision row once the answer has ended. The row's
 * waitUntil is registered before the phase is awaited: when the client goes away, workerd aborts
 * `request.signal` and ends the request, and only waitUntil work still runs after that.
 */
function callAndRecord(c: Context<AppEnv>, targets: UpstreamTarget[], opts: FallbackOptions, body: ChatBody,
  row: (result: FallbackResult, outcome: UpstreamOutcome) => DecisionLogEntry): Promise<FallbackResult> {
  const pending = callWithFallback(targets, upstreamRequest(body), opts);
  c.executionCtx.waitUntil(
    pending
      .then(async (result) => recordDecision(c.env, row(result, await result.settled)))
      .catch((e: unknown) => console.error('decision log: the upstream phase failed', e)),
  );
  return pending;
}

/** When the request's budget runs out (REQUEST_DEADLINE_MS, or less with `x-router-timeout-ms`). */
function deadlineOf(c: Context<AppEnv>, config: RouterConfig, startedAt: number): number {
  return startedAt + requestBudgetMs(config.requestDeadlineMs, c.req.header(TIMEOUT_HEADER));
}

/**
 * @example
 * v1.post('/chat/completions', chatBody, tokenLimit(), chatCompletions);
 */
export async function chatCompletions(c: Context<AppEnv, string, ChatInput>): Promise<Response> {
  const startedAt = Date.now();
  const body = c.req.valid('json');
  const tenant = c.get('tenant');
  const config = readConfig(c.env);
  const deadlineAt = deadlineOf(c, config, startedAt);

  if (poolNameOf(body.model, tenant) === null) return direct(c, body, config, deadlineAt);

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
    return degradedAnswer(c, body, config, deadlineAt, fallback);
  }
  const { decision } = outcome;
  const models = decision.order.map((i) => outcome.candidates[i]!.model);
  const health = targetHealth(tenant.id, models, config.breaker);
  const servedOf = (r: FallbackResult): number => (r.used >= 0 ? decision.order[r.used]! : -1);
  const targets = await Promise.all(models.map((m) => toTarget(m, c.env)));
  const result = await callAndRecord(c, targets, fallbackOptions(c, config, deadlineAt, health), body,
    (r, ended) => {
      const served = servedOf(r);
      // when no model answered, the row keeps the policy's choice in `model` (the column is required)
      const logged = served >= 0 ? served : decision.chosen;
      return {
        id: outcome.decisionId, tenantId: tenant.id, pool: outcome.pool, arm: outcome.arm,
        bundleVersion: outcome.bundleVersion, model: outcome.candidates[logged]!.model.name,
        preference: outcome.preference, preset: outcome.preset, uncertaintyPenalty: outcome.uncertaintyPenalty,
        candidates: outcome.candidates.map((x) => x.model.name), shown: decision.shown, probs: decision.probs,
        expectedCostUsd: decision.expectedCostUsd[logged] ?? null, predictedQuality: decision.pSuccess[logged] ?? null,
        routingMs: outcome.timings.total, attempts: r.attempts, status: logStatus(ended, 'ok'), degraded: outcome.degraded,
      };
    });
  return respond(result, { ...decisionHeaders(outcome, servedOf(result)), ...attemptHeaders(result.attempts) });
}

/** A concrete model name: no routing, one target. */
async function direct(c: Context<AppEnv>, body: ChatBody, config: RouterConfig, deadlineAt: number): Promise<Response> {
  const tenant = c.get('tenant');
  const model = await findModel(c.env.DB, tenant.id, body.model);
  if (!model) {
    throw new ApiError(404, `model "${body.model}" does not exist; use "router", "router/<pool>" or a name from /v1/models`,
      { type: 'invalid_request_error', code: 'model_not_found', param: 'model' });
  }
  const decisionId = crypto.randomUUID();
  const health = targetHealth(tenant.id, [model], config.breaker);
  const result = await callAndRecord(c, [await toTarget(model, c.env)], fallbackOptions(c, config, deadlineAt, health), body, (r, ended) => ({
    id: decisionId, tenantId: tenant.id, pool: null, arm: null, bundleVersion: null, model: model.name,
    preference: null, candidates: [model.name], probs: [1], expectedCostUsd: null, predictedQuality: null,
    routingMs: 0, attempts: r.attempts, status: logStatus(ended, 'direct'),
  }));
  return respond(result, {
    ...(result.used >= 0 ? { 'x-router-model': model.name } : {}),
    'x-router-pool': 'none', 'x-router-decision-id': decisionId,
    ...attemptHeaders(result.attempts),
  });
}

/**
 * No bundle can route the pool: its fallback model answers unrouted (x-router-degraded), and the
 * row is written once the answer has ended, as for every other answer.
 */
async function degradedAnswer(c: Context<AppEnv>, body: ChatBody, config: RouterConfig, deadlineAt: number,
  fallback: FallbackModel): Promise<Response> {
  const { pool, model } = fallback;
  const decisionId = crypto.randomUUID();
  const health = targetHealth(c.get('tenant').id, [model], config.breaker);
  const result = await callAndRecord(c, [await toTarget(model, c.env)], fallbackOptions(c, config, deadlineAt, health), body,
    (r, ended) => ({
      id: decisionId, tenantId: c.get('tenant').id, pool, arm: null, bundleVersion: null, model: model.name, preference: null,
      candidates: [model.name], probs: [1], expectedCostUsd: null, predictedQuality: null, routingMs: 0, attempts: r.attempts,
      status: logStatus(ended, 'ok'), degraded: fallbackHeaders(pool, model, decisionId)['x-router-degraded'],
    }));
  return respond(result, { ...fallbackHeaders(pool, model, decisionId), ...attemptHeaders(result.attempts) });
}
