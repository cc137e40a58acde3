/**
 * The operator's grant endpoints (docs/security.md): which hosts a tenant's own models may call and
 * which secret each may send there. `GET /operator/tenants/{tenant}/grants` lists them, `POST` adds
 * one (or sets its flags), `DELETE ...?host=&secret_name=` removes one. The tenant's cached grants
 * are dropped in this isolate; other isolates follow within POOL_CACHE_SECONDS, and a model whose
 * grant is gone is skipped at its next call without a request.
 */
import type { Context } from 'hono';
import { deleteGrant, listGrants, putGrant } from '../../data/grant-records';
import { clearGrantCache } from '../../data/grants';
import { requireTenant } from '../../data/tenant-records';
import type { AppEnv } from '../../env';
import { ApiError } from '../../errors';
import type { Valid } from '../admin/schemas';
import type { GrantBody, GrantQuery, TenantParams } from './schemas';

/**
 * Handler of `GET /operator/tenants/{tenant}/grants`.
 *
 * @example
 * operator.get('/tenants/:tenant/grants', validParams(tenantParams), listGrantsRoute);
 */
export async function listGrantsRoute(
  c: Context<AppEnv, string, Valid<{ param: TenantParams }>>,
): Promise<Response> {
  const { tenant } = c.req.valid('param');
  await requireTenant(c.env.DB, tenant);
  const rows = await listGrants(c.env.DB, tenant);
  return c.json({ object: 'list', data: rows.map((g) => ({ object: 'grant', ...g })) });
}

/**
 * Handler of `POST /operator/tenants/{tenant}/grants`: 201 for a new grant, 200 when it existed
 * (its flags set as given).
 *
 * @example
 * operator.post('/tenants/:tenant/grants', validParams(tenantParams), validBody(grantSchema), addGrant);
 */
export async function addGrant(
  c: Context<AppEnv, string, Valid<{ param: TenantParams; json: GrantBody }>>,
): Promise<Response> {
  const { tenant } = c.req.valid('param');
  await requireTenant(c.env.DB, tenant);
  const { grant, created } = await putGrant(c.env.DB, tenant, c.req.valid('json'));
  clearGrantCache(tenant);
  return c.json({ object: 'grant', ...grant }, created ? 201 : 200);
}

/**
 * Handler of `DELETE /operator/tenants/{tenant}/grants?host=...&secret_name=...` (secret_name ''
 * or absent: the host's grant without a secret).
 *
 * @example
 * operator.delete('/tenants/:tenant/grants', validParams(tenantParams), validQuery(grantQuery), removeGrant);
 */
export async function removeGrant(
  c: Context<AppEnv, string, Valid<{ param: TenantParams; query: GrantQuery }>>,
): Promise<Response> {
  const { tenant } = c.req.valid('param');
  const { host, secret_name } = c.req.valid('query');
  await requireTenant(c.env.DB, tenant);
  if (!(await deleteGrant(c.env.DB, tenant, host, secret_name)))
    throw new ApiError(
      404,
      `tenant ${tenant} has no grant of ${host} with ${secret_name || 'no secret'}`,
      {
        code: 'grant_not_found',
        param: 'host',
      },
    );
  clearGrantCache(tenant);
  return c.json({ object: 'grant', host, secret_name, deleted: true });
}
