/** Request shapes of the admin endpoints (validated at the edge with zod). */
import { z } from 'zod';
import { BANK_NAME } from '../../onboarding/bank';
import { BUNDLE_VERSION } from '../../runtime/manifests';
import { MAX_QUIZ_CALLS } from '../../onboarding/run-quiz';

const name = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[\w.:/@+-]+$/, 'letters, digits and ._:/@+- only');

/** `POST /admin/models`. */
export const newModelSchema = z
  .object({
    name,
    provider: z.enum(['openai', 'anthropic', 'workers-ai']),
    upstream_model: z.string().min(1).max(256),
    /** Checked in full (scheme, host, path, grants) by security/grants.ts in the handler. */
    base_url: z.string().min(1).max(2048).nullish(),
    secret_name: z
      .string()
      .regex(/^[A-Z][A-Z0-9_]{0,63}$/, 'an upper-case secret name')
      .nullish(),
    input_usd_per_mtok: z.number().finite().nonnegative(),
    output_usd_per_mtok: z.number().finite().nonnegative(),
    expected_output_tokens: z.number().int().positive().max(1_000_000).default(512),
    bundle_model: z.string().min(1).max(256).nullish(),
    pools: z.array(z.string().min(1).max(128)).max(32).default([]),
  })
  .strict();

const bundle = z.string().regex(BUNDLE_VERSION, 'a bundle version');
const bank = z.string().regex(BANK_NAME, 'a bank name').default('default');

/** Largest quiz to select (no upstream calls): LLM Bandit uses 20-50 prompts; more adds little. */
export const MAX_QUIZ = 200;

/** `GET /admin/models/{id}/quiz` query. */
export const quizQuerySchema = z
  .object({
    n: z.coerce.number().int().min(1).max(MAX_QUIZ).default(20),
    bank,
    bundle: bundle.optional(),
    method: z.enum(['d-optimal', 'i-optimal', 'random']).default('i-optimal'),
    seed: z.coerce.number().int().nonnegative().default(0),
    /** Only items the worker can grade itself (prompt + reference). */
    gradable: z
      .enum(['true', 'false', '1', '0'])
      .transform((v) => v === 'true' || v === '1')
      .default(false),
  })
  .strict();

/** `POST /admin/models/{id}/quiz`: outcomes the operator collected, or `run` to let the worker quiz the model. */
export const quizPostSchema = z
  .object({
    bank,
    bundle: bundle.optional(),
    outcomes: z
      .array(
        z
          .object({
            id: z.union([z.string().min(1), z.number().int()]).transform(String),
            outcome: z.union([z.number().min(0).max(1), z.boolean().transform((b) => (b ? 1 : 0))]),
          })
          .strict(),
      )
      .min(1)
      .max(1000)
      .optional(),
    run: z
      .object({
        /** The worker calls the model once per item: at most MAX_QUIZ_CALLS (50) per request. */
        n: z.number().int().min(1).max(MAX_QUIZ_CALLS).default(20),
        /** `i-optimal` (default): a fixed quiz, 4 calls in flight; `adaptive`: one item at a time,
         * re-aimed at the posterior (n sequential calls). The fixed I-optimal quiz routes better at 20
         * items (docs/onboarding.md), so it is the default. */
        method: z.enum(['adaptive', 'i-optimal', 'd-optimal']).default('i-optimal'),
      })
      .strict()
      .optional(),
  })
  .strict()
  .refine((b) => (b.outcomes === undefined) !== (b.run === undefined), {
    message: 'give exactly one of "outcomes" or "run"',
    path: ['outcomes'],
  });

/** `DELETE /admin/models/{id}/online-identity` query: one bundle version, or all. */
export const onlineQuerySchema = z.object({ bundle: bundle.optional() }).strict();

/** Path parameters: a model (id or name) and a pool (name). */
export const modelParams = z.object({ id: z.string() });
export const memberParams = z.object({ pool: z.string(), model: z.string() });

const outcomeSchema = z
  .object({
    id: z.union([z.string().min(1), z.number().int()]).transform(String),
    outcome: z.union([z.number().min(0).max(1), z.boolean().transform((b) => (b ? 1 : 0))]),
  })
  .strict();

/** `POST /admin/models/{id}/quiz/next`: the outcomes so far (possibly none) -> the next item to ask. */
export const quizNextSchema = z
  .object({
    bank,
    bundle: bundle.optional(),
    outcomes: z.array(outcomeSchema).max(1000).default([]),
    method: z.enum(['i-optimal', 'd-optimal']).default('i-optimal'),
    gradable: z.boolean().default(false),
  })
  .strict();

/** Hono input of an admin handler: what its route's validators produced (`c.req.valid(...)`). */
export interface Valid<Out extends Partial<Record<'json' | 'query' | 'param', unknown>>> {
  out: Out;
}
export type ModelParams = z.output<typeof modelParams>;
export type MemberParams = z.output<typeof memberParams>;
export type NewModelBody = z.output<typeof newModelSchema>;
export type QuizQuery = z.output<typeof quizQuerySchema>;
export type QuizPost = z.output<typeof quizPostSchema>;
export type QuizNext = z.output<typeof quizNextSchema>;
export type OnlineQuery = z.output<typeof onlineQuerySchema>;
