/**
 * The operator's API-key endpoints: `POST /operator/tenants/{tenant}/keys` makes a key and shows it
 * once; `GET` lists them by id, label and prefix (never the key or its hash); `DELETE
 * .../keys/{key}` revokes one, at once in this isolate and within 5 seconds elsewhere.
 */
import type { Context } from 'hono';
import { createApiKey, listApiKeys, revokeApiKey, type ApiKeyRecord } from '../../data/api-keys';
import { requireTenant } from '../../data/tenant-records';
import { forgetApiKeys } from '../../data/tenants';
import type { AppEnv } from '../../env';
import type { Valid } from '../admin/schemas';
import type { KeyParams, NewKey, TenantParams } from './schemas';

/**
 * The public JSON form of a key (without the key).
 *
 * @example
 * keyView(record); // { object: 'api_key', id: 'key_...', prefix: 'sk-router-3fa9c1', ... }
 */
export function keyView(r: ApiKeyRecord): Record<string, unknown> {
  return {
    object: 'api_key',
    id: r.id,
    tenant: r.tenant_id,
    prefix: r.prefix,
    label: r.label,
    rpm_limit: r.rpm_limit,
    tpm_limit: r.tpm_limit,
    created_at: r.created_at,
    revoked: r.revoked_at !== null,
    revoked_at: r.revoked_at,
  };
}

/**
 * Handler of `POST /operator/tenants/{tenant}/keys`: 201 with the key in `key`, the only time it is
 * shown.
 *
 * @example
 * operator.post('/tenants/:tenant/keys', validParams(tenantParams), validBody(newKeySchema), createKey);
 */
export async function createKey(
  c: Context<AppEnv, string, Valid<{ param: TenantParams; json: NewKey }>>,
): Promise<Response> {
  const { tenant } = c.req.valid('param');
  await requireTenant(c.env.DB, tenant);
  const { key, record } = await createApiKey(c.env.DB, tenant, c.req.valid('json'));
  return c.json({ ...keyView(record), key }, 201, { 'cache-control': 'no-store' });
}

/**
 * Handler of `GET /operator/tenants/{tenant}/keys`.
 *
 * @example
 * operator.get('/tenants/:tenant/keys', validParams(tenantParams), listKeys);
 */
export async function listKeys(
  c: Context<AppEnv, string, Valid<{ param: TenantParams }>>,
): Promise<Response> {
  const { tenant } = c.req.valid('param');
  await requireTenant(c.env.DB, tenant);
  const rows = await listApiKeys(c.env.DB, tenant);
  return c.json({ object: 'list', data: rows.map(keyView) });
}

/**
 * Handler of `DELETE /operator/tenants/{tenant}/keys/{key}`: revokes the key (idempotent).
 *
 * @example
 * operator.delete('/tenants/:tenant/keys/:key', validParams(keyParams), revokeKey);
 */
export async function revokeKey(
  c: Context<AppEnv, string, Valid<{ param: KeyParams }>>,
): Promise<Response> {
  const { tenant, key } = c.req.valid('param');
  await requireTenant(c.env.DB, tenant);
  const { record, hash } = await revokeApiKey(c.env.DB, tenant, key);
  forgetApiKeys([hash]);
  return c.json(keyView(record));
}
