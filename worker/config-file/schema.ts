/**
 * The config file (`router.config.yaml` or `.json`): tenants with their upstream grants, models,
 * pools and experiments, and the operator's global models, in one document that `npm run config`
 * plans and applies. The same field rules as the management API (the admin and operator schemas are
 * reused), so a file that validates here is one the API would accept. `router.config.schema.json`
 * is `configJsonSchema()` written out for editors (a test keeps the two equal).
 *
 * Ownership: a list the file writes is the whole truth for its scope (a tenant's `grants`, `models`,
 * `pools`, `experiments`; the top-level `models` for global ones): what the database has beyond it
 * is deleted. A list the file leaves out is left alone, and so are tenants the file does not name.
 */
import { z } from 'zod';
import {
  modelFields,
  name,
  newPoolSchema,
  poolFields,
  poolPreference,
} from '../routes/admin/schemas';
import { grantSchema, newTenantSchema, tenantId } from '../routes/operator/schemas';

/** A model: the admin API's fields; `base_url`, `secret_name` and `bundle_model` may be left out. */
export const modelSchema = z
  .object({
    ...modelFields,
    base_url: modelFields.base_url.default(null),
    secret_name: modelFields.secret_name.default(null),
    expected_output_tokens: modelFields.expected_output_tokens.default(512),
    bundle_model: modelFields.bundle_model.default(null),
  })
  .strict()
  .meta({ id: 'Model', description: 'A callable model; prices in USD per million tokens.' });

/** A pool: exactly `POST /admin/pools`'s body; `members` name models the tenant can call (own, else global). */
export const poolSchema = newPoolSchema.meta({
  id: 'Pool',
  description: 'A named candidate set routed over with one bundle.',
});

/** One arm of an experiment (stored as is in `experiments.arms`). */
export const armSchema = z
  .object({
    name: z.string().min(1).max(64),
    weight: z.number().finite().nonnegative(),
    preference: poolPreference.optional(),
    bundle_version: poolFields.bundle_version.optional(),
    /** Another pool of the tenant to route this arm's traffic over. */
    pool: name.optional(),
    /** A model the tenant can call, to send this arm's traffic to unrouted. */
    model: name.optional(),
  })
  .strict()
  .meta({ id: 'Arm', description: 'One arm of a traffic split.' });

/** A traffic split of one of the tenant's pools. */
export const experimentSchema = z
  .object({
    pool: name,
    name: z.string().min(1).max(128),
    active: z.boolean().default(true),
    arms: z
      .array(armSchema)
      .min(1)
      .max(16)
      .refine((arms) => arms.some((a) => a.weight > 0), 'at least one arm needs a weight above 0'),
  })
  .strict()
  .meta({ id: 'Experiment', description: "A traffic split of one of the tenant's pools." });

/** A tenant and, optionally, the lists of its own that the file manages. */
export const tenantSchema = z
  .object({
    ...newTenantSchema.shape,
    id: tenantId,
    grants: z.array(grantSchema).max(200).optional(),
    models: z.array(modelSchema).max(1000).optional(),
    pools: z.array(poolSchema).max(200).optional(),
    experiments: z.array(experimentSchema).max(200).optional(),
  })
  .strict()
  .meta({
    id: 'Tenant',
    description:
      'A tenant; each list it writes is the whole truth, a list it leaves out is left alone.',
  });

/** The whole file. */
export const configSchema = z
  .object({
    /** For editors (`./router.config.schema.json`); ignored. */
    $schema: z.string().optional(),
    version: z.literal(1),
    /** The operator's global models (callable by every tenant); left alone when absent. */
    models: z.array(modelSchema).max(1000).optional(),
    tenants: z.array(tenantSchema).max(1000).default([]),
  })
  .strict();

export type Config = z.output<typeof configSchema>;
export type TenantConfig = z.output<typeof tenantSchema>;
export type ModelConfig = z.output<typeof modelSchema>;
export type PoolConfig = z.output<typeof poolSchema>;
export type ExperimentConfig = z.output<typeof experimentSchema>;
export type GrantConfig = TenantConfig extends { grants?: Array<infer G> } ? G : never;

/**
 * The JSON Schema of the file (what it accepts, defaults included), for editors.
 *
 * @example
 * writeFileSync('router.config.schema.json', JSON.stringify(configJsonSchema(), null, 2) + '\n');
 */
export function configJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(configSchema, { io: 'input' }),
    title: 'edge-llm-router config (npm run config)',
  };
}
