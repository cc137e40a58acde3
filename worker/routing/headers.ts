/**
 * The decision headers of a routed response (the header contract).
 */
import type { RouteOutcome } from './route-request';

const ms = (v: number): string => v.toFixed(2);

/**
 * Headers describing the decision. `served` is the index (into `outcome.candidates`) of the model
 * that actually answered; it defaults to the router's pick (the policy's choice, or an exploring
 * pool's draw). `x-router-model`, the expected cost
 * and the predicted quality describe the served model, and are left out when `served` is negative
 * (no model answered: a header must not name one that did not); `x-router-choice` is the policy's
 * first choice.
 *
 * @example
 * for (const [k, v] of Object.entries(decisionHeaders(outcome))) response.headers.set(k, v);
 */
export function decisionHeaders(
  outcome: RouteOutcome,
  served: number = outcome.pick.index,
): Record<string, string> {
  const { decision, timings } = outcome;
  const headers: Record<string, string> = {
    'x-router-choice': outcome.candidates[decision.chosen]!.model.name,
    'x-router-pool': outcome.pool,
    'x-router-preference': String(outcome.preference),
    'x-router-bundle': outcome.bundleVersion,
    'x-router-decision-id': outcome.decisionId,
    'x-router-arm': outcome.arm ?? 'none',
    'x-router-embedding': outcome.embedding.source,
    'server-timing': [
      `route;dur=${ms(timings.total)};desc="routing overhead"`,
      `bundle;dur=${ms(timings.bundle)}`,
      `embed;dur=${ms(timings.embed)}`,
      `decide;dur=${ms(timings.decide)}`,
    ].join(', '),
  };
  if (served >= 0) {
    headers['x-router-model'] = outcome.candidates[served]!.model.name;
    headers['x-router-expected-cost-usd'] = decision.expectedCostUsd[served]!.toPrecision(6);
    headers['x-router-predicted-quality'] = decision.pSuccess[served]!.toFixed(4);
  }
  if (outcome.pick.temperature !== null) {
    // an exploring pool: whether the draw left the top choice, and the draw's probability
    headers['x-router-explored'] = String(outcome.pick.index !== decision.chosen);
    headers['x-router-propensity'] = String(outcome.pick.propensity);
  }
  if (outcome.unroutable.length > 0) headers['x-router-unroutable'] = outcome.unroutable.join(',');
  if (outcome.degraded) headers['x-router-degraded'] = outcome.degraded;
  return headers;
}
