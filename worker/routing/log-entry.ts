/**
 * The decision-log row of a request (data/decision-log.ts), whichever way it was served: routed by
 * the policy, a concrete model called by name, or a pool's fallback model when no bundle could
 * route it. The one builder of a row: every column a request fills is set here.
 */
import type { DecisionLogEntry, DecisionStatus } from '../data/decision-log';
import type { ModelRow } from '../data/models';
import { actualCostUsd } from '../decision/cost';
import type { AnswerMeasure, Attempt } from '../upstream/types';
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
   * One model called unrouted: by name (`pool` null), as its pool's fallback (`degraded`), or as
   * an experiment arm's fixed model (`arm`, with the time the arm took to pick in `routingMs`).
   */
  | {
      decisionId: string;
      pool: string | null;
      model: string;
      degraded: DegradedReason | null;
      arm?: string;
      routingMs?: number;
    };

/** What reached the client, and what of the request the row keeps (upstream/serve.ts builds it). */
export interface AnswerRecord {
  /** The model whose answer reached the client and what it used and took; null when none did. */
  answered: {
    model: Pick<ModelRow, 'name' | 'inputUsdPerMtok' | 'outputUsdPerMtok'>;
    measure: AnswerMeasure;
  } | null;
  /** The request's messages as JSON when the row's pool keeps prompts (`keep_prompts`), else null. */
  prompt: string | null;
}

/** A row without an answer (`/v1/route`, a failed request before any try). */
const NO_ANSWER: AnswerRecord = { answered: null, prompt: null };

/** The usage, cost, timing, answering model and prompt columns of a row. */
function answerColumns({ answered, prompt }: AnswerRecord): Partial<DecisionLogEntry> {
  const usage = answered?.measure.usage ?? null;
  return {
    promptTokens: usage?.promptTokens ?? null,
    completionTokens: usage?.completionTokens ?? null,
    costUsd: answered && usage ? actualCostUsd(answered.model, usage) : null,
    ttfbMs: answered?.measure.ttfbMs ?? null,
    upstreamMs: answered?.measure.upstreamMs ?? null,
    answeredBy: answered?.model.name ?? null,
    prompt,
  };
}

/**
 * The row for a decision, its upstream tries, how the request ended and what its answer used.
 *
 * @example
 * decisionLogEntry(tenant.id, { routed: outcome, served: 0 }, result.attempts, 'ok',
 *   { answered: { model, measure }, prompt: null });
 * const direct = { decisionId, pool: null, model: 'gpt-4o', degraded: null };
 * decisionLogEntry(tenant.id, direct, result.attempts, 'direct');
 */
export function decisionLogEntry(
  tenantId: string,
  decided: Decided,
  attempts: readonly Attempt[],
  status: DecisionStatus,
  answer: AnswerRecord = NO_ANSWER,
): DecisionLogEntry {
  if ('decisionId' in decided) {
    const { decisionId, pool, model, degraded } = decided;
    return {
      ...answerColumns(answer),
      id: decisionId,
      tenantId,
      pool,
      arm: decided.arm ?? null,
      bundleVersion: null,
      model,
      preference: null,
      candidates: [model],
      probs: [1],
      expectedCostUsd: null,
      predictedQuality: null,
      routingMs: decided.routingMs ?? 0,
      attempts,
      status,
      degraded,
      itemParams: null,
      propensity: null,
    };
  }
  const { routed: o, served } = decided;
  const { decision } = o;
  const logged = served >= 0 ? served : o.pick.index;
  return {
    ...answerColumns(answer),
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
    predictedQualities: decision.pSuccess,
    routingMs: o.timings.total,
    attempts,
    status,
    degraded: o.degraded,
    // what learning needs: the prompt's item parameters (not for /v1/route: nothing answered) and
    // the probability the served model was picked with (which model answered: answerColumns)
    itemParams: status === 'route_only' ? null : (decision.itemParams ?? null),
    propensity: o.pick.propensity,
  };
}
