/**
 * `POST /v1/feedback`: a score (or thumbs) for an answer the tenant received, by its
 * `x-router-decision-id`. Stored in D1; the online update (online/apply.ts) learns from it.
 */
import type { Context } from 'hono';
import { answeredDecision, upsertFeedback, type AnsweredDecision } from '../data/feedback';
import type { AppEnv } from '../env';
import { ApiError } from '../errors';
import type { JsonInput } from '../middleware/validate';
import type { FeedbackBody } from '../schemas/feedback';

/**
 * One 404 for every decision the tenant cannot rate (unknown, another tenant's, `/v1/route`, not
 * answered), so the answer says nothing about other tenants' ids. A decision's row is written
 * after its answer ended: feedback that arrives before it (and its grace pauses) gets this 404
 * too, and may be retried.
 */
function notFound(): ApiError {
  return new ApiError(
    404,
    'no answered decision with this id: send the x-router-decision-id of an answer this key received (the row is written just after the answer ends; retry a moment later)',
    { code: 'decision_not_found', param: 'decision_id' },
  );
}

/**
 * Pauses before the second and third look for a decision row: a row is written just after its
 * answer ended, so feedback sent the moment an answer arrives usually finds it within these 500 ms
 * instead of a 404. Every id the caller cannot rate waits the same, so the timing tells nothing.
 */
const GRACE_MS = [100, 400];

/** The decision, looked up again after each grace pause while it is not there. */
async function findWithGrace(
  db: D1Database,
  tenantId: string,
  id: string,
): Promise<AnsweredDecision | null> {
  let found = await answeredDecision(db, tenantId, id);
  for (const ms of GRACE_MS) {
    if (found) break;
    await new Promise((resolve) => setTimeout(resolve, ms));
    found = await answeredDecision(db, tenantId, id);
  }
  return found;
}

/**
 * Handler of `POST /v1/feedback`: 201 for a first feedback, 200 when it replaced one.
 *
 * @example
 * v1.post('/feedback', feedbackBody, postFeedback);
 */
export async function postFeedback(
  c: Context<AppEnv, string, JsonInput<FeedbackBody>>,
): Promise<Response> {
  const body = c.req.valid('json');
  const tenantId = c.get('tenant').id;
  const decision = await findWithGrace(c.env.DB, tenantId, body.decision_id);
  if (!decision) throw notFound();
  const thumbs = body.thumbs ?? null;
  const score = body.score ?? (thumbs === 'up' ? 1 : 0);
  const comment = body.comment ?? null;
  const replaced = await upsertFeedback(c.env.DB, {
    tenantId,
    decisionId: body.decision_id,
    pool: decision.pool,
    model: decision.model,
    score,
    thumbs,
    comment,
  });
  return c.json(
    {
      object: 'router.feedback',
      decision_id: body.decision_id,
      model: decision.model,
      score,
      thumbs,
      comment,
      replaced,
    },
    replaced ? 200 : 201,
  );
}
