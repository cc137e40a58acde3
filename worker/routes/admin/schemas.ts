/** Request shapes of the admin endpoints (validated at the edge with zod). */
import { z } from 'zod';
import { MAX_UNCERTAINTY_PENALTY } from '../../decision/decide';
import { BANK_NAME } from '../../onboarding/bank';
import { PRESET_NAMES } from '../../routing/preference';
import { BUNDLE_VERSION } from '../../runtime/manifests';
import { MAX_QUIZ_CALLS } from '../../onboarding/run-quiz';

/** Names of models and pools. */
export const name = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[\w.:/@+-]+$/, 'letters, digits and ._:/@+- only');

/** A model's fields as the admin API and the config file take them (each checked on its own). */
export const modelFields = {
  name,
  provider: z.enum(['openai', 'anthropic', 'workers-ai']),
  upstream_model: z.string().min(1).max(256),
  /** Checked in full (scheme, host, path, grants) by security/grants.ts in the handler. */
  base_url: z.string().min(1).max(2048).nullable(),
  secret_name: z
    .string()
    .regex(/^[A-Z][A-Z0-9_]{0,63}$/, 'an upper-case secret name')
    .nullable(),
  input_usd_per_mtok: z.number().finite().nonnegative(),
  output_usd_per_mtok: z.number().finite().nonnegative(),
  expected_output_tokens: z.number().int().positive().max(1_000_000),
  bundle_model: z.string().min(1).max(256).nullable(),
};

/** `POST /admin/models`. */
export const newModelSchema = z
  .object({
    ...modelFields,
    base_url: modelFields.base_url.optional(),
    secret_name: modelFields.secret_name.optional(),
    expected_output_tokens: modelFields.expected_output_tokens.default(512),
    bundle_model: modelFields.bundle_model.optional(),
    pools: z.array(z.string().min(1).max(128)).max(32).default([]),
  })
  .strict();

/** `PATCH /admin/models/{id}`: any field of the model; absent = unchanged, null = cleared. */
export const modelPatchSchema = z.object(modelFields).partial().strict();

const bundle = z.string().regex(BUNDLE_VERSION, 'a bundle version');

/** A pool's default: a number in [0, 1], or a preset name resolved per request by its bundle. */
export const poolPreference = z.union([z.number().min(0).max(1), z.enum(PRESET_NAMES)]);

/** A pool's fields as the admin API and the config file take them. */
export const poolFields = {
  name,
  bundle_version: bundle,
  embedding_provider: z.enum(['local', 'workers-ai', 'precomputed']).nullable(),
  default_preference: poolPreference,
  uncertainty_penalty: z.number().min(0).max(MAX_UNCERTAINTY_PENALTY).nullable(),
  fallback_model: name.nullable(),
  /** Model names (or ids) the tenant can call: its own, else global ones. */
  members: z.array(z.string().min(1).max(128)).max(256),
  /** Learn the members' identities online from feedback (migration 0011). */
  online_learning: z.boolean(),
  /** Sample the served model from the policy at this temperature; null = always the top choice. */
  exploration_temperature: z.number().min(0.05).max(10).nullable(),
  /** Keep the prompt text in the decision log (for exporting the tenant's own traffic). */
  keep_prompts: z.boolean(),
};

/** `POST /admin/pools`. */
export const newPoolSchema = z
  .object({
    ...poolFields,
    embedding_provider: poolFields.embedding_provider.default(null),
    default_preference: poolFields.default_preference.default(0.5),
    uncertainty_penalty: poolFields.uncertainty_penalty.default(null),
    fallback_model: poolFields.fallback_model.default(null),
    members: poolFields.members.default([]),
    online_learning: poolFields.online_learning.default(true),
    exploration_temperature: poolFields.exploration_temperature.default(null),
    keep_prompts: poolFields.keep_prompts.default(false),
  })
  .strict();

const { name: _poolName, ...poolSettings } = poolFields;

/**
 * `PATCH /admin/pools/{pool}`: any field but the name (the decision log, the tenant's default pool
 * and experiment arms name pools); `members` replaces the whole list.
 */
export const poolPatchSchema = z.object(poolSettings).partial().strict();

/** Statuses a decision row can have (data/decision-log.ts). */
const DECISION_STATUSES = [
  'ok',
  'direct',
  'route_only',
  'upstream_error',
  'stream_cut',
  'client_closed',
] as const;

/** A time bound: an ISO 8601 date or date-time, as the ISO string D1's timestamps compare with. */
export const instant = z
  .union([z.iso.datetime({ offset: true }), z.iso.date()])
  .transform((t) => new Date(t).toISOString());

/** `GET /admin/decisions` query. */
export const decisionsQuerySchema = z
  .object({
    pool: z.string().min(1).max(128).optional(),
    model: z.string().min(1).max(256).optional(),
    status: z.enum(DECISION_STATUSES).optional(),
    since: instant.optional(),
    until: instant.optional(),
    limit: z.coerce.number().int().min(1).max(500).default(50),
    cursor: z.string().min(1).max(512).optional(),
  })
  .strict();

/** `GET /admin/pools/{pool}/savings` query. */
export const savingsQuerySchema = z
  .object({
    since: instant.optional(),
    until: instant.optional(),
    bucket: z.enum(['day', 'hour']).default('day'),
    /** The model to compare with; default: the pool member predicted best (docs/worker.md). */
    baseline: z.string().min(1).max(128).optional(),
  })
  .strict();
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
         * items (docs/benchmarks/onboarding.md), so it is the default. */
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
export const poolParams = z.object({ pool: z.string() });

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
export type ModelPatch = z.output<typeof modelPatchSchema>;
export type PoolParams = z.output<typeof poolParams>;
export type NewPool = z.output<typeof newPoolSchema>;
export type PoolPatch = z.output<typeof poolPatchSchema>;
export type DecisionsQuery = z.output<typeof decisionsQuerySchema>;
export type SavingsQuery = z.output<typeof savingsQuerySchema>;
export type QuizQuery = z.output<typeof quizQuerySchema>;
export type QuizPost = z.output<typeof quizPostSchema>;
export type QuizNext = z.output<typeof quizNextSchema>;
export type OnlineQuery = z.output<typeof onlineQuerySchema>;
