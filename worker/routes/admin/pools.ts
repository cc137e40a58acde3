/**
 * The tenant's pools: `GET /admin/pools` lists them, `POST /admin/pools` creates one, `GET|PATCH|
 * DELETE /admin/pools/{pool}` read, change and remove one (members, bundle version, default
 * preference or preset, uncertainty penalty, fallback model, online learning, exploration
 * temperature, keeping prompts); `PUT|DELETE /admin/pools/{pool}/members/{model}` add or remove
 * one member. A write expires the tenant's
 * cached pools in this isolate (others follow within POOL_CACHE_SECONDS).
 */
import type { Context } from 'hono';
import { mayUseBundle } from '../../data/bundle-owners';
import { clearGrantCache } from '../../data/grants';
import { findModel } from '../../data/models';
import {
  deletePool,
  insertPool,
  listPoolRecords,
  requirePoolRecord,
  updatePool,
  type PoolRecord,
} from '../../data/pool-records';
import { clearPoolCache } from '../../data/pools';
import type { AppEnv } from '../../env';
import { getModel, resolveCallable, setPoolMember } from '../../data/tenant-models';
import { ApiError } from '../../errors';
import { hasManifest } from '../../runtime/manifests';
import { modelView } from './models';
import type { MemberParams, NewPool, PoolParams, PoolPatch, Valid } from './schemas';

/**
 * The public JSON form of a pool; `default_preference` is the preset name when one is set.
 *
 * @example
 * return c.json(poolView(await requirePoolRecord(c.env.DB, tenant.id, 'main')));
 */
export function poolView(p: PoolRecord): Record<string, unknown> {
  return {
    object: 'pool',
    id: p.id,
    name: p.name,
    bundle_version: p.bundle_version,
    embedding_provider: p.embedding_provider,
    default_preference: p.default_preset ?? p.default_preference,
    uncertainty_penalty: p.uncertainty_penalty,
    fallback_model: p.fallback_model,
    online_learning: p.online_learning,
    exploration_temperature: p.exploration_temperature,
    keep_prompts: p.keep_prompts,
    members: p.members,
    created_at: p.created_at,
  };
}

/**
 * 404 `bundle_not_found` unless R2 holds the bundle's manifest (a typo would 503 every request) and
 * the tenant may route with it (no other tenant owns it; the same answer, so as not to say it exists).
 */
async function requireBundle(c: Context<AppEnv>, version: string): Promise<void> {
  if (
    !(await hasManifest(c.env.ASSETS, version)) ||
    !(await mayUseBundle(c.env.DB, c.get('tenant').id, version))
  )
    throw new ApiError(404, `bundle ${JSON.stringify(version)} is not in R2`, {
      code: 'bundle_not_found',
      param: 'bundle_version',
    });
}

/** 404 `model_not_found` unless the tenant can call `name` (its own model, else a global one). */
async function requireFallback(c: Context<AppEnv>, name: string | null | undefined): Promise<void> {
  if (!name) return;
  if (!(await findModel(c.env.DB, c.get('tenant').id, name)))
    throw new ApiError(404, `fallback_model ${JSON.stringify(name)} names no model you can call`, {
      code: 'model_not_found',
      param: 'fallback_model',
    });
}

/**
 * Handler of `GET /admin/pools`.
 *
 * @example
 * admin.get('/pools', listPools);
 */
export async function listPools(c: Context<AppEnv>): Promise<Response> {
  const rows = await listPoolRecords(c.env.DB, c.get('tenant').id);
  return c.json({ object: 'list', data: rows.map(poolView) });
}

/**
 * Handler of `GET /admin/pools/{pool}`.
 *
 * @example
 * admin.get('/pools/:pool', validParams(poolParams), showPool);
 */
export async function showPool(
  c: Context<AppEnv, string, Valid<{ param: PoolParams }>>,
): Promise<Response> {
  const { pool } = c.req.valid('param');
  return c.json(poolView(await requirePoolRecord(c.env.DB, c.get('tenant').id, pool)));
}

/**
 * Handler of `POST /admin/pools`: 201 with the pool; 409 `pool_exists`, 404 `bundle_not_found` or
 * `model_not_found` (a member or the fallback model the tenant cannot call).
 *
 * @example
 * admin.post('/pools', validBody(newPoolSchema), createPool);
 */
export async function createPool(
  c: Context<AppEnv, string, Valid<{ json: NewPool }>>,
): Promise<Response> {
  const { name, members, ...settings } = c.req.valid('json');
  const tenantId = c.get('tenant').id;
  await requireBundle(c, settings.bundle_version);
  await requireFallback(c, settings.fallback_model);
  const ids = await resolveCallable(c.env.DB, tenantId, members, 'members');
  const row = await insertPool(c.env.DB, tenantId, name, settings, ids);
  clearPoolCache(tenantId);
  return c.json(poolView(row), 201);
}

/**
 * Handler of `PATCH /admin/pools/{pool}`: the given settings; `members` replaces the list.
 *
 * @example
 * admin.patch('/pools/:pool', validParams(poolParams), validBody(poolPatchSchema), patchPool);
 */
export async function patchPool(
  c: Context<AppEnv, string, Valid<{ param: PoolParams; json: PoolPatch }>>,
): Promise<Response> {
  const tenantId = c.get('tenant').id;
  const pool = await requirePoolRecord(c.env.DB, tenantId, c.req.valid('param').pool);
  const { members, ...settings } = c.req.valid('json');
  if (settings.bundle_version !== undefined) await requireBundle(c, settings.bundle_version);
  await requireFallback(c, settings.fallback_model);
  const ids = members && (await resolveCallable(c.env.DB, tenantId, members, 'members'));
  const row = await updatePool(c.env.DB, tenantId, pool, settings, ids);
  clearPoolCache(tenantId);
  return c.json(poolView(row));
}

/**
 * Handler of `DELETE /admin/pools/{pool}`: the pool, its members and experiments (409 `pool_in_use`
 * for the tenant's default pool).
 *
 * @example
 * admin.delete('/pools/:pool', validParams(poolParams), removePool);
 */
export async function removePool(
  c: Context<AppEnv, string, Valid<{ param: PoolParams }>>,
): Promise<Response> {
  const tenantId = c.get('tenant').id;
  const pool = await requirePoolRecord(c.env.DB, tenantId, c.req.valid('param').pool);
  await deletePool(c.env.DB, tenantId, pool);
  clearPoolCache(tenantId);
  return c.json({ object: 'pool', id: pool.id, name: pool.name, deleted: true });
}

/**
 * Handler of `PUT` and `DELETE /admin/pools/{pool}/members/{model}` (`PUT` joins, `DELETE`
 * leaves); both answer with the model (its pools and identities).
 *
 * @example
 * admin.put('/pools/:pool/members/:model', validParams(memberParams), poolMember);
 */
export async function poolMember(
  c: Context<AppEnv, string, Valid<{ param: MemberParams }>>,
): Promise<Response> {
  const tenant = c.get('tenant').id;
  const { pool, model } = c.req.valid('param');
  const row = await getModel(c.env.DB, tenant, model);
  if (!row)
    throw new ApiError(404, `model ${JSON.stringify(model)} not found`, {
      code: 'model_not_found',
      param: 'model',
    });
  const ok = await setPoolMember(c.env.DB, tenant, pool, row.id, c.req.method === 'PUT');
  if (!ok)
    throw new ApiError(404, `pool ${JSON.stringify(pool)} not found`, {
      code: 'pool_not_found',
      param: 'pool',
    });
  clearPoolCache(tenant);
  clearGrantCache(tenant);
  return c.json(await modelView(c.env.DB, c.get('tenant').id, row));
}
