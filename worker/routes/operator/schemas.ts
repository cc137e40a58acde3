/** Request shapes of the operator endpoints (validated at the edge with zod). */
import { z } from 'zod';
import { BUNDLE_VERSION } from '../../runtime/manifests';
import { grantHostProblem, grantSecretProblem } from '../../security/grant-host';

/** Tenant ids: what URLs, logs and SQL literals carry without escaping. */
export const tenantId = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'letters, digits and ._- (at most 64)');

const poolName = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[\w.:/@+-]+$/, 'letters, digits and ._:/@+- only');

const perMinute = z.number().int().positive().max(1_000_000_000).nullable();

/** An origin as browsers send it (`scheme://host[:port]`), or `*` for any. */
const origin = z
  .string()
  .max(300)
  .refine((o) => o === '*' || isOrigin(o), 'an origin: scheme://host[:port], no path');

function isOrigin(text: string): boolean {
  try {
    const url = new URL(text);
    return /^https?:$/.test(url.protocol) && url.origin === text;
  } catch {
    return false;
  }
}

const tenantFields = {
  name: z.string().min(1).max(200),
  default_pool: poolName.nullable(),
  rpm_limit: perMinute,
  tpm_limit: perMinute,
  cors_origins: z.array(origin).max(50).nullable(),
  disabled: z.boolean(),
};

/** `POST /operator/tenants`. */
export const newTenantSchema = z
  .object({
    id: tenantId,
    name: tenantFields.name,
    default_pool: tenantFields.default_pool.default(null),
    rpm_limit: tenantFields.rpm_limit.default(null),
    tpm_limit: tenantFields.tpm_limit.default(null),
    cors_origins: tenantFields.cors_origins.default(null),
    disabled: tenantFields.disabled.default(false),
  })
  .strict();

/** `PATCH /operator/tenants/{tenant}`: any of the fields; absent = unchanged, null = cleared. */
export const tenantPatchSchema = z.object(tenantFields).partial().strict();

/** `GET /operator/tenants` query. */
export const tenantListQuery = z
  .object({
    limit: z.coerce.number().int().min(1).max(500).default(100),
    after: tenantId.optional(),
  })
  .strict();

/** `POST /operator/tenants/{tenant}/keys`. */
export const newKeySchema = z
  .object({
    label: z.string().min(1).max(200).nullable().default(null),
    rpm_limit: perMinute.default(null),
    tpm_limit: perMinute.default(null),
  })
  .strict();

const grantHost = z.string().superRefine((h, ctx) => {
  const problem = grantHostProblem(h);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});
const grantSecret = z.string().superRefine((s, ctx) => {
  const problem = grantSecretProblem(s);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

/** `POST /operator/tenants/{tenant}/grants`: add a grant or set its flags. */
export const grantSchema = z
  .object({
    host: grantHost,
    secret_name: grantSecret.default(''),
    allow_http: z.boolean().default(false),
    allow_private: z.boolean().default(false),
  })
  .strict();

/** `DELETE /operator/tenants/{tenant}/grants?host=...&secret_name=...`. */
export const grantQuery = z
  .object({ host: z.string().min(1).max(255), secret_name: z.string().max(64).default('') })
  .strict();

/** Path parameters. */
export const tenantParams = z.object({ tenant: tenantId });
export const keyParams = z.object({ tenant: tenantId, key: z.string().min(1).max(64) });
export const bundleParams = z.object({
  tenant: tenantId,
  version: z.string().regex(BUNDLE_VERSION, 'a bundle version'),
});

export type NewTenant = z.output<typeof newTenantSchema>;
export type TenantPatch = z.output<typeof tenantPatchSchema>;
export type TenantListQuery = z.output<typeof tenantListQuery>;
export type NewKey = z.output<typeof newKeySchema>;
export type GrantBody = z.output<typeof grantSchema>;
export type BundleParams = z.output<typeof bundleParams>;
export type GrantQuery = z.output<typeof grantQuery>;
export type TenantParams = z.output<typeof tenantParams>;
export type KeyParams = z.output<typeof keyParams>;
