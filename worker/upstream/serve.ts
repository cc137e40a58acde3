/**
 * Serves a chat request from a ranked list of models: their targets (grants checked), their
 * circuit breakers, the fallback loop, and the decision row, written once the answer has ended
 * (for a stream: after its last byte, or when the client went away), so its status says how it
 * ended and its usage columns what the answer used and cost. The answer (JSON or SSE) is passed
 * through as the provider layer returns it, never buffered here; a JSON answer carries its actual
 * cost (`x-router-cost-usd`); an error is thrown, with the request's headers, for the error handler
 * to render.
 */
import type { Context } from 'hono';
import type { RouterConfig } from '../config';
import { recordDecision, type DecisionStatus } from '../data/decision-log';
import type { ModelRow } from '../data/models';
import type { AppEnv } from '../env';
import type { ChatRequest } from '../providers/types';
import { actualCostUsd } from '../decision/cost';
import { decisionLogEntry, type AnswerRecord, type Decided } from '../routing/log-entry';
import { toTarget } from '../routing/targets';
import type { ChatBody } from '../schemas/chat';
import { targetHealth } from './breaker';
import { attemptHeaders, callWithFallback } from './fallback';
import type { AnswerMeasure, FallbackOptions, FallbackResult } from './types';

/** What one chat request is served with. */
export interface ServePlan {
  body: ChatBody;
  config: RouterConfig;
  /** Epoch ms of the request's deadline. */
  deadlineAt: number;
  /** The models to try, best first. */
  models: readonly ModelRow[];
  /** The row's subject, given the index in `models` of the one that answered (-1: none). */
  decided: (used: number) => Decided;
  /** The row's status for a complete answer: `ok` (routed, or a pool's fallback) or `direct`. */
  answered: Extract<DecisionStatus, 'ok' | 'direct'>;
  /** The answer's `x-router-*` headers, given the index of the model that answered (-1: none). */
  headers: (used: number) => Record<string, string>;
  /** Whether the row keeps the request's messages (its pool's `keep_prompts`; never for direct requests). */
  keepPrompts: boolean;
}

/** The row's answer columns: the model that answered with what it used, and the kept prompt. */
function answerRecord(
  models: readonly ModelRow[],
  used: number,
  measure: AnswerMeasure | null,
  prompt: string | null,
): AnswerRecord {
  const model = models[used];
  return { answered: model && measure ? { model, measure } : null, prompt };
}

/** `x-router-cost-usd` of an answer whose usage is known (a JSON answer, once it is read). */
function costHeader(
  model: ModelRow | undefined,
  measure: AnswerMeasure | null,
): Record<string, string> {
  if (!model || !measure?.usage) return {};
  return { 'x-router-cost-usd': actualCostUsd(model, measure.usage).toPrecision(6) };
}

/** The body the providers see: the caller's, without the router's own object. */
function upstreamRequest(body: ChatBody): ChatRequest {
  const { router: _router, ...rest } = body;
  return rest as ChatRequest;
}

/**
 * Calls the models in order until one answers and returns its answer with the plan's headers
 * and the attempt headers. The row's waitUntil is registered before the upstream phase is
 * awaited: when the client goes away, workerd aborts `request.signal` and ends the request, and
 * only waitUntil work still runs after that.
 *
 * @example
 * return serveChat(c, { body, config, deadlineAt, models: [model], answered: 'direct', keepPrompts: false,
 *   decided: () => ({ decisionId, pool: null, model: model.name, degraded: null }),
 *   headers: () => ({ 'x-router-pool': 'none' }) });
 */
export async function serveChat(c: Context<AppEnv>, plan: ServePlan): Promise<Response> {
  const { config, models } = plan;
  const tenantId = c.get('tenant').id;
  const opts: FallbackOptions = {
    timeoutMs: config.upstreamTimeoutMs,
    completionTimeoutMs: config.completionTimeoutMs,
    maxTries: config.maxTries,
    ...(c.env.AI ? { ai: c.env.AI } : {}),
    signal: c.req.raw.signal,
    deadlineAt: plan.deadlineAt,
    health: targetHealth(tenantId, models, config.breaker),
  };
  const targets = await Promise.all(models.map((m) => toTarget(m, c.env)));
  const prompt = plan.keepPrompts ? JSON.stringify(plan.body.messages) : null;
  const pending = callWithFallback(targets, upstreamRequest(plan.body), opts);
  c.executionCtx.waitUntil(
    pending
      .then(async (r: FallbackResult) => {
        const ended = await r.settled;
        const status = ended === 'answered' ? plan.answered : ended;
        const answer = answerRecord(models, r.used, await r.measured, prompt);
        await recordDecision(
          c.env,
          decisionLogEntry(tenantId, plan.decided(r.used), r.attempts, status, answer),
        );
      })
      .catch((e: unknown) => console.error('decision log: the upstream phase failed', e)),
  );
  const result = await pending;
  const headers = { ...plan.headers(result.used), ...attemptHeaders(result.attempts) };
  if (result.error) throw result.error.withHeaders(headers);
  // a JSON answer has been read whole, so its usage is known; a stream's is logged when it ends
  if (!plan.body.stream)
    Object.assign(headers, costHeader(models[result.used], await result.measured));
  for (const [k, v] of Object.entries(headers)) result.response.headers.set(k, v);
  return result.response;
}
