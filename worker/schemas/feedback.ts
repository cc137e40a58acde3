/** The body of `POST /v1/feedback` (validated at the edge with zod). */
import { z } from 'zod';
import { validBody } from '../middleware/validate';

/** Longest comment kept with a feedback, in characters (a longer one is a 400, never cut). */
export const MAX_COMMENT_CHARS = 2000;

/**
 * `{"decision_id", "score": 0..1}` or `{"decision_id", "thumbs": "up" | "down"}`, optional
 * `comment`. Exactly one of `score` and `thumbs`.
 */
export const feedbackSchema = z
  .object({
    decision_id: z.string().min(1).max(128),
    score: z.number().min(0).max(1).optional(),
    thumbs: z.enum(['up', 'down']).optional(),
    comment: z.string().max(MAX_COMMENT_CHARS).nullish(),
  })
  .strict()
  .refine((b) => (b.score === undefined) !== (b.thumbs === undefined), {
    message: 'give exactly one of "score" (a number in [0, 1]) or "thumbs" ("up" or "down")',
    path: ['score'],
  });

export type FeedbackBody = z.output<typeof feedbackSchema>;

/**
 * The validator of `POST /v1/feedback`: a failure is a 400 `invalid_value` naming the field.
 *
 * @example
 * v1.post('/feedback', feedbackBody, postFeedback);
 */
export const feedbackBody = validBody(feedbackSchema);
