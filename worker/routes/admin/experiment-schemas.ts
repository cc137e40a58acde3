/** Request shapes of the experiment endpoints (validated at the edge with zod). */
import { z } from 'zod';
import { BUNDLE_VERSION } from '../../runtime/manifests';
import { PRESET_NAMES } from '../../routing/preference';

const name = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[\w.:/@+-]+$/, 'letters, digits and ._:/@+- only');

/**
 * An arm's name: `__proto__` is refused because a PATCH names arms as JSON object keys, and that
 * key cannot be carried in a plain object (it would set the prototype instead).
 */
const armName = name.max(64).refine((n) => n !== '__proto__', 'an arm may not be named __proto__');

/** An arm's share of the traffic, relative to the other arms' weights. */
const weight = z.number().finite().positive().max(1_000_000);

/** Most arms an experiment may have. */
export const MAX_ARMS = 16;

const arm = z
  .object({
    name: armName,
    weight,
    /** Routes this arm with another of the tenant's pools (its rows are logged under that pool). */
    pool: name.optional(),
    bundle_version: z.string().regex(BUNDLE_VERSION, 'a bundle version').optional(),
    /** Wins over the caller's preference and the pool's default for this arm's traffic. */
    preference: z.union([z.number().min(0).max(1), z.enum(PRESET_NAMES)]).optional(),
    /** One model the tenant can call, served unrouted: a control. */
    model: name.optional(),
    /** The arm the others are compared with in the report (default: the first arm). */
    control: z.boolean().optional(),
  })
  .strict()
  .refine(
    (a) =>
      a.model === undefined ||
      (a.pool === undefined && a.bundle_version === undefined && a.preference === undefined),
    { message: 'an arm with a fixed model is not routed: no pool, bundle_version or preference' },
  );

/** `POST /admin/experiments`. */
export const newExperimentSchema = z
  .object({
    pool: name,
    name: z.string().min(1).max(200),
    arms: z.array(arm).min(2).max(MAX_ARMS),
  })
  .strict()
  .superRefine((body, ctx) => {
    const seen = new Set<string>();
    body.arms.forEach((a, i) => {
      if (seen.has(a.name))
        ctx.addIssue({
          code: 'custom',
          message: 'arm names must be unique',
          path: ['arms', i, 'name'],
        });
      seen.add(a.name);
    });
    if (body.arms.filter((a) => a.control).length > 1)
      ctx.addIssue({ code: 'custom', message: 'at most one arm is the control', path: ['arms'] });
  });

/** `PATCH /admin/experiments/{id}`: new weights of some or all arms, by arm name. */
export const experimentPatchSchema = z
  .object({
    weights: z
      .unknown()
      // zod's record skips a "__proto__" key without a word: refuse it instead of answering 200
      .refine(
        (w) => typeof w !== 'object' || w === null || !Object.hasOwn(w, '__proto__'),
        'no arm is named __proto__',
      )
      .pipe(z.record(z.string().min(1).max(64), weight))
      .refine((w) => Object.keys(w).length > 0, 'name at least one arm'),
  })
  .strict();

/** `GET /admin/experiments` query. */
export const experimentListQuery = z
  .object({
    pool: name.optional(),
    active: z
      .enum(['true', 'false', '1', '0'])
      .transform((v) => v === 'true' || v === '1')
      .optional(),
  })
  .strict();

export const experimentParams = z.object({ id: z.string().min(1).max(64) });

export type NewExperiment = z.output<typeof newExperimentSchema>;
export type ExperimentPatch = z.output<typeof experimentPatchSchema>;
export type ExperimentListQuery = z.output<typeof experimentListQuery>;
export type ExperimentParams = z.output<typeof experimentParams>;
