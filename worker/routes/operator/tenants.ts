/**
 * The operator's tenant endpoints: `POST /operator/tenants`, `GET /operator/tenants`,
 * `GET|PATCH|DELETE /operator/tenants/{tenant}`. A change reaches the tenant's cached keys (limits,
 * CORS origins, default pool and the disabled flag are read with the key) at once in this isolate
 * and within 5 seconds elsewhere.
 */
import type { Context } from 'hono';
import { forgetCorsOrigins } from '../../data/cors-origins';
import { clearGrantCache } from '../../data/grants';
import { clearPoolCache } from '../../data/pools';
import {
  deleteTenant,
  insertTenant,
  listTenants,
  requireTenant,
  tenantKeyHashes,
  updateTenant,
  type TenantRecord,
} from '../../data/tenant-records';
import { forgetApiKeys } from '../../data/tenants';
import type { AppEnv } from '../../env';
import type { Valid } from '../admin/schemas';
import type { NewTenant, TenantListQuery, TenantParams, TenantPatch } from './schemas';

/** The JSON list stored in `cors_origins`, or null when unset or unreadable. */
function origins(text: string | null): string[] | null {
  if (text === null) return null;
  try {
    const list: unknown = JSON.parse(text);
    return Array.isArray(list) ? list.filter((o): o is string => typeof o === 'string') : null;
  } catch {
    return null;
  }
}

/**
 * The public JSON form of a tenant.
 *
 * @example
 * return c.json(tenantView(await requireTenant(c.env.DB, 'acme')));
 */
export function tenantView(r: TenantRecord): Record<string, unknown> {
  return {
    object: 'tenant',
    id: r.id,
    name: r.name,
    default_pool: r.default_pool,
    rpm_limit: r.rpm_limit,
    tpm_limit: r.tpm_limit,
    cors_origins: origins(r.cors_origins),
    disabled: r.disabled_at !== null,
    disabled_at: r.disabled_at,
    created_at: r.created_at,
  };
}

/** `cors_origins` as the column stores it: JSON text, null, or undefined (unchanged). */
const originsColumn = (list: string[] | null | undefined): string | null | undefined =>
  list === undefined ? undefined : list === null ? null : JSON.stringify(list);

/**
 * Handler of `POST /operator/tenants`: 201 with the tenant, 409 `tenant_exists`.
 *
 * @example
 * operator.post('/tenants', validBody(newTenantSchema), createTenant);
 */
export async function createTenant(
  c: Context<AppEnv, string, Valid<{ json: NewTenant }>>,
): Promise<Response> {
  const { id, cors_origins, ...fields } = c.req.valid('json');
  const row = await insertTenant(c.env.DB, id, {
    ...fields,
    cors_origins: originsColumn(cors_origins) ?? null,
  });
  if (cors_origins) forgetCorsOrigins();
  return c.json(tenantView(row), 201);
}

/**
 * Handler of `GET /operator/tenants?limit=&after=`: tenants by id, a page at a time.
 *
 * @example
 * operator.get('/tenants', validQuery(tenantListQuery), listTenantsRoute);
 */
export async function listTenantsRoute(
  c: Context<AppEnv, string, Valid<{ query: TenantListQuery }>>,
): Promise<Response> {
  const { limit, after } = c.req.valid('query');
  const rows = await listTenants(c.env.DB, limit + 1, after ?? null);
  const page = rows.slice(0, limit);
  return c.json({
    object: 'list',
    data: page.map(tenantView),
    has_more: rows.length > limit,
    next_cursor: rows.length > limit ? (page.at(-1)?.id ?? null) : null,
  });
}

/**
 * Handler of `GET /operator/tenants/{tenant}`.
 *
 * @example
 * operator.get('/tenants/:tenant', validParams(tenantParams), showTenant);
 */
export async function showTenant(
  c: Context<AppEnv, string, Valid<{ param: TenantParams }>>,
): Promise<Response> {
  return c.json(tenantView(await requireTenant(c.env.DB, c.req.valid('param').tenant)));
}

/**
 * Handler of `PATCH /operator/tenants/{tenant}`: name, default pool, limits, CORS origins, and
 * `disabled` (a disabled tenant's keys get 403 `tenant_disabled`).
 *
 * @example
 * operator.patch('/tenants/:tenant', validParams(tenantParams), validBody(tenantPatchSchema), patchTenant);
 */
export async function patchTenant(
  c: Context<AppEnv, string, Valid<{ param: TenantParams; json: TenantPatch }>>,
): Promise<Response> {
  const { tenant } = c.req.valid('param');
  const { cors_origins, ...fields } = c.req.valid('json');
  const row = await updateTenant(c.env.DB, tenant, {
    ...fields,
    cors_origins: originsColumn(cors_origins),
  });
  forgetApiKeys(await tenantKeyHashes(c.env.DB, tenant));
  if (cors_origins !== undefined) forgetCorsOrigins();
  return c.json(tenantView(row));
}

/**
 * Handler of `DELETE /operator/tenants/{tenant}`: deletes a disabled tenant and all that is its own
 * (409 `tenant_active` for one not disabled).
 *
 * @example
 * operator.delete('/tenants/:tenant', validParams(tenantParams), removeTenant);
 */
export async function removeTenant(
  c: Context<AppEnv, string, Valid<{ param: TenantParams }>>,
): Promise<Response> {
  const { tenant } = c.req.valid('param');
  const hashes = await tenantKeyHashes(c.env.DB, tenant);
  await deleteTenant(c.env.DB, tenant);
  forgetApiKeys(hashes);
  clearPoolCache(tenant);
  clearGrantCache(tenant);
  forgetCorsOrigins();
  return c.json({ object: 'tenant', id: tenant, deleted: true });
}
