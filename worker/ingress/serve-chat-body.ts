/**
 * The one serving path every ingress API ends in: a chat body (OpenAI chat-completions shape, as
 * `/v1/chat/completions` takes it, or as `/v1/responses` and `/v1/messages` translate theirs) is
 * routed (`router`, `router/<pool>`), sent to a concrete model by name, or, when no bundle can route
 * its pool, to the pool's fallback model; then upstream/serve.ts runs the upstream phase (grants,
 * breakers, fallback loop, deadline, decision row). The answer is OpenAI chat JSON or SSE with the
 * `x-router-*` headers; an error is thrown for the error handler to render.
 */
import type { Context } from 'hono';
import { readConfig } from '../config';
import { findModel } from '../data/models';
import type { AppEnv } from '../env';
import { ApiError } from '../errors';
import { fallbackHeaders } from '../routing/fallback-model';
import { fixedArmHeaders, fixedDecided } from '../routing/fixed-arm';
import { decisionHeaders } from '../routing/headers';
import { poolNameOf, routeOrFallback } from '../routing/route-request';
import type { ChatBody } from '../schemas/chat';
import { TIMEOUT_HEADER, requestBudgetMs } from '../upstream/request-deadline';
import { serveChat, type ServePlan } from '../upstream/serve';

/**
 * Serves one chat body: routed, direct or degraded, as its `model` says.
 *
 * @example
 * v1.post('/chat/completions', chatBody, tokenLimit(), (c) => serveChatBody(c, c.req.valid('json')));
 */
export async function serveChatBody(c: Context<AppEnv>, body: ChatBody): Promise<Response> {
  const startedAt = Date.now();
  const tenant = c.get('tenant');
  const config = readConfig(c.env);
  // the request's budget: REQUEST_DEADLINE_MS, or less with `x-router-timeout-ms`
  const deadlineAt =
    startedAt + requestBudgetMs(config.requestDeadlineMs, c.req.header(TIMEOUT_HEADER));
  const plan = { body, config, deadlineAt };

  if (poolNameOf(body.model, tenant) === null)
    return serveChat(c, { ...plan, ...(await directPlan(c, body.model)) });
  const routed = await routeOrFallback({
    env: c.env,
    config,
    tenant,
    body,
    preferenceHeader: c.req.header('x-router-preference'),
    userHeader: c.req.header('x-router-user'),
    itemParams: true,
  });
  if ('fallback' in routed) {
    // no bundle can route the pool: its fallback model answers unrouted (x-router-degraded)
    const { pool, model, keepPrompts } = routed.fallback;
    const decisionId = crypto.randomUUID();
    return serveChat(c, {
      ...plan,
      models: [model],
      answered: 'ok',
      keepPrompts,
      decided: () => ({ decisionId, pool, model: model.name, degraded: 'bundle_unavailable' }),
      headers: () => fallbackHeaders(pool, model, decisionId),
    });
  }
  if ('fixed' in routed) {
    // the request's experiment arm is one fixed model (a control): served unrouted, logged with its arm
    const { fixed } = routed;
    return serveChat(c, {
      ...plan,
      models: [fixed.model],
      answered: 'ok',
      keepPrompts: fixed.keepPrompts,
      decided: () => fixedDecided(fixed),
      headers: (used) => fixedArmHeaders(fixed, used >= 0),
    });
  }
  const { outcome } = routed;
  // the router's pick first (an exploring pool's draw), then the fallback order
  const first = outcome.pick.index;
  const order = [first, ...outcome.decision.order.filter((i) => i !== first)];
  const servedOf = (used: number): number => (used >= 0 ? order[used]! : -1);
  return serveChat(c, {
    ...plan,
    models: order.map((i) => outcome.candidates[i]!.model),
    answered: 'ok',
    keepPrompts: outcome.keepPrompts,
    decided: (used) => ({ routed: outcome, served: servedOf(used) }),
    headers: (used) => decisionHeaders(outcome, servedOf(used)),
  });
}

/** A concrete model name: no routing, one target; 404 when the tenant can call no such model. */
async function directPlan(
  c: Context<AppEnv>,
  name: string,
): Promise<Omit<ServePlan, 'body' | 'config' | 'deadlineAt'>> {
  const model = await findModel(c.env.DB, c.get('tenant').id, name);
  if (!model) {
    throw new ApiError(
      404,
      `model "${name}" does not exist; use "router", "router/<pool>" or a name from /v1/models`,
      { type: 'invalid_request_error', code: 'model_not_found', param: 'model' },
    );
  }
  const decisionId = crypto.randomUUID();
  return {
    models: [model],
    answered: 'direct',
    keepPrompts: false,
    decided: () => ({ decisionId, pool: null, model: model.name, degraded: null }),
    headers: (used) => ({
      ...(used >= 0 ? { 'x-router-model': model.name } : {}),
      'x-router-pool': 'none',
      'x-router-decision-id': decisionId,
    }),
  };
}
