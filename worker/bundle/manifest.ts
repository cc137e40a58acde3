/**
 * The bundle manifest (docs/bundle-contract.md, format 1), validated with zod. Runtime-agnostic.
 */
import { z } from 'zod';
import { FEATURE_NAMES } from './contract';

const fileEntry = z.object({
  key: z.string().min(1),
  bytes: z.number().int().nonnegative(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
});

/** A candidate feature name of the contract (./contract.json; decision/features.ts builds each). */
export type FeatureName = (typeof FEATURE_NAMES)[number];

const unitInterval = z.number().min(0).max(1);

/**
 * How `p_success` is computed when the bundle has `neighbours.onnx` (decision/layer.ts). Column k
 * of the graph and `stack.bias[k]` belong to `models[k]`.
 */
const predictorSchema = z.object({
  kind: z.literal('irt+neighbours'),
  neighbours: z.object({
    centroids: z.number().int().positive(),
    dim: z.number().int().positive(),
    tau: z.number().positive(),
    kappa: z.number().nonnegative(),
  }),
  stack: z.object({
    slope_irt: z.number().finite(),
    slope_neighbours: z.number().finite(),
    bias: z.array(z.number().finite()),
  }),
  fit: z.unknown().optional(),
});

export const manifestSchema = z
  .object({
    format: z.literal(1),
    version: z.string().min(1),
    created: z.string().optional(),
    embedding: z.object({
      space: z.string().min(1),
      dim: z.number().int().positive(),
      /** `local` | `workers-ai`; any other value (e.g. a pipeline `dev` space) routes on precomputed vectors only. */
      provider: z.string().min(1),
      model: z.string().nullish(),
      text: z.string().default('last-user-message'),
      empty: z.string().optional(),
    }),
    /** Tokenizer spec, opaque here: worker/embedding/tokenizer.ts interprets it. */
    tokenizer: z.record(z.string(), z.unknown()).nullish(),
    identity_dim: z.number().int().positive(),
    irt: z.record(z.string(), z.unknown()).optional(),
    policy: z.object({
      features: z
        .array(z.object({ name: z.enum(FEATURE_NAMES), size: z.number().int().positive() }))
        .min(1),
      preference: z.string().optional(),
      /** The w of each preset, calibrated by the build (routing/preference.ts); absent in old bundles. */
      presets: z
        .object({ cheap: unitInterval, balanced: unitInterval, quality: unitInterval })
        .refine(
          (p) => p.cheap <= p.balanced && p.balanced <= p.quality,
          'presets must satisfy cheap <= balanced <= quality',
        )
        .optional(),
      /**
       * Which candidates the policy is shown (decision/frontier.ts): `non-dominated` policies (the
       * build's default) were trained on, and are served, only the candidates no other one beats on
       * both price and predicted success. Absent (bundles built before the option, builds with
       * --no-prune-dominated): all of them.
       */
      candidates: z.enum(['all', 'non-dominated']).default('all'),
    }),
    /** Absent: `p_success` is the IRT's alone (every bundle before the prediction layer). */
    predictor: predictorSchema.optional(),
    files: z.object({
      embedder: fileEntry.optional(),
      irt: fileEntry,
      policy: fileEntry,
      neighbours: fileEntry.optional(),
    }),
    models: z
      .array(
        z.object({
          name: z.string().min(1),
          aliases: z.array(z.string()).default([]),
          identity: z.array(z.number()),
          identity_std: z.array(z.number()).optional(),
          mean_output_tokens: z.number().positive().optional(),
          input_usd_per_mtok: z.number().nonnegative().optional(),
          output_usd_per_mtok: z.number().nonnegative().optional(),
        }),
      )
      .default([]),
    eval: z.unknown().optional(),
    training_data: z.unknown().optional(),
  })
  .superRefine((m, ctx) => {
    if (m.embedding.provider === 'local' && (!m.files.embedder || !m.tokenizer)) {
      ctx.addIssue({
        code: 'custom',
        message: 'embedding.provider "local" needs files.embedder and tokenizer',
      });
    }
    for (const f of m.policy.features) {
      const want = f.name === 'identity' ? m.identity_dim : 1;
      if (f.size !== want)
        ctx.addIssue({
          code: 'custom',
          message: `feature ${f.name} has size ${f.size}, expected ${want}`,
        });
    }
    if (m.predictor && !m.files.neighbours) {
      ctx.addIssue({ code: 'custom', message: 'predictor needs files.neighbours' });
    }
    if (m.predictor && m.predictor.stack.bias.length !== m.models.length) {
      ctx.addIssue({
        code: 'custom',
        message: `predictor.stack.bias has ${m.predictor.stack.bias.length} entries, models has ${m.models.length}`,
      });
    }
    for (const model of m.models) {
      if (model.identity.length !== m.identity_dim) {
        ctx.addIssue({
          code: 'custom',
          message: `model ${model.name}: identity has ${model.identity.length} dims, expected ${m.identity_dim}`,
        });
      }
    }
  });

export type Manifest = z.infer<typeof manifestSchema>;

/**
 * Parses and checks a manifest object; throws a readable Error when it breaks the contract.
 *
 * @example
 * const manifest = parseManifest(JSON.parse(text));
 * manifest.policy.features; // [{ name: 'identity', size: 16 }, ...]
 */
export function parseManifest(raw: unknown): Manifest {
  const r = manifestSchema.safeParse(raw);
  if (!r.success) throw new Error(`invalid manifest: ${z.prettifyError(r.error)}`);
  return r.data;
}
