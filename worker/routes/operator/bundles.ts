/**
 * The operator's bundle-ownership endpoints (docs/security.md, "Bundles"): a bundle built from one
 * tenant's traffic is made that tenant's alone. `GET /operator/tenants/{tenant}/bundles` lists its
 * bundles, `PUT .../bundles/{version}` makes one its own (201; 200 when it was), `DELETE` gives it
 * back to every tenant. A bundle another tenant's pool or active experiment routes with is not
 * taken from under it (409 `bundle_in_use`), nor one another tenant owns (409 `bundle_owned`).
 */
import type { Context } from 'hono';
import {
  clearBundleOwner,
  otherUsers,
  ownedBundles,
  setBundleOwner,
  bundleOwner,
} from '../../data/bundle-owners';
import { requireTenant } from '../../data/tenant-records';
import { hasManifest } from '../../runtime/manifests';
import type { AppEnv } from '../../env';
import { ApiError } from '../../errors';
import type { Valid } from '../admin/schemas';
import type { BundleParams, TenantParams } from './schemas';

const view = (r: { version: string; tenant_id: string; created_at: string }) => ({
  object: 'bundle',
  version: r.version,
  tenant: r.tenant_id,
  created_at: r.created_at,
});

/**
 * Handler of `GET /operator/tenants/{tenant}/bundles`.
 *
 * @example
 * operator.get('/tenants/:tenant/bundles', validParams(tenantParams), listBundlesRoute);
 */
export async function listBundlesRoute(
  c: Context<AppEnv, string, Valid<{ param: TenantParams }>>,
): Promise<Response> {
  const { tenant } = c.req.valid('param');
  await requireTenant(c.env.DB, tenant);
  return c.json({ object: 'list', data: (await ownedBundles(c.env.DB, tenant)).map(view) });
}

/**
 * Handler of `PUT /operator/tenants/{tenant}/bundles/{version}`.
 *
 * @example
 * operator.put('/tenants/:tenant/bundles/:version', validParams(bundleParams), ownBundle);
 */
export async function ownBundle(
  c: Context<AppEnv, string, Valid<{ param: BundleParams }>>,
): Promise<Response> {
  const { tenant, version } = c.req.valid('param');
  await requireTenant(c.env.DB, tenant);
  if (!(await hasManifest(c.env.ASSETS, version)))
    throw new ApiError(404, `bundle ${JSON.stringify(version)} is not in R2`, {
      code: 'bundle_not_found',
      param: 'version',
    });
  if (version === c.env.DEFAULT_BUNDLE)
    throw new ApiError(409, `bundle ${version} is the worker's DEFAULT_BUNDLE, every tenant's`, {
      code: 'bundle_is_default',
      param: 'version',
    });
  const owner = await bundleOwner(c.env.DB, version);
  if (owner && owner.tenant_id !== tenant)
    throw new ApiError(409, `bundle ${version} is tenant ${owner.tenant_id}'s`, {
      code: 'bundle_owned',
      param: 'version',
    });
  const users = await otherUsers(c.env.DB, version, tenant);
  if (users.length > 0)
    throw new ApiError(409, `bundle ${version} is routed by ${users.join(', ')}; move them first`, {
      code: 'bundle_in_use',
      param: 'version',
    });
  const { owner: row, created } = await setBundleOwner(c.env.DB, version, tenant);
  return c.json(view(row), created ? 201 : 200);
}

/**
 * Handler of `DELETE /operator/tenants/{tenant}/bundles/{version}`: every tenant may use it again.
 *
 * @example
 * operator.delete('/tenants/:tenant/bundles/:version', validParams(bundleParams), disownBundle);
 */
export async function disownBundle(
  c: Context<AppEnv, string, Valid<{ param: BundleParams }>>,
): Promise<Response> {
  const { tenant, version } = c.req.valid('param');
  await requireTenant(c.env.DB, tenant);
  if (!(await clearBundleOwner(c.env.DB, version, tenant)))
    throw new ApiError(404, `tenant ${tenant} does not own bundle ${version}`, {
      code: 'bundle_not_owned',
      param: 'version',
    });
  return c.json({ object: 'bundle', version, tenant, deleted: true });
}
