/**
 * What `POST /admin/experiments` checks beyond the body's shape: everything an arm names belongs
 * to, or is visible to, the tenant (its pools, models it can call, bundles in R2 no other tenant
 * owns), and no arm
 * shares its decision-log rows (pool and arm name) with an arm of another active experiment of
 * the tenant, or the two reports would count each other's requests.
 */
import { mayUseBundle } from '../data/bundle-owners';
import { listExperiments, poolIdOf } from '../data/experiments';
import { findModel } from '../data/models';
import type { Env } from '../env';
import { ApiError } from '../errors';
import type { NewExperiment } from '../routes/admin/experiment-schemas';
import { readManifest } from '../runtime/manifests';
import { armKeys } from './keys';

const notFound = (what: string, value: string, code: string, param: string): ApiError =>
  new ApiError(404, `${what} ${JSON.stringify(value)} not found`, { code, param });

/** The arm's pool, model and bundle exist for this tenant (404 naming the arm's field otherwise). */
async function checkArm(env: Env, tenantId: string, body: NewExperiment, i: number): Promise<void> {
  const arm = body.arms[i]!;
  const at = `arms.${i}`;
  if (arm.pool && !(await poolIdOf(env.DB, tenantId, arm.pool)))
    throw notFound('pool', arm.pool, 'pool_not_found', `${at}.pool`);
  if (arm.model && !(await findModel(env.DB, tenantId, arm.model)))
    throw notFound('model', arm.model, 'model_not_found', `${at}.model`);
  if (
    arm.bundle_version &&
    (!(await bundleExists(env, arm.bundle_version)) ||
      !(await mayUseBundle(env.DB, tenantId, arm.bundle_version)))
  )
    throw notFound('bundle', arm.bundle_version, 'bundle_not_found', `${at}.bundle_version`);
}

/** Whether R2 holds a manifest for `version` that parses (a broken one could route nothing). */
async function bundleExists(env: Env, version: string): Promise<boolean> {
  try {
    return (await readManifest(env.ASSETS, version)) !== null;
  } catch {
    return false;
  }
}

/**
 * Checks a new experiment against D1 and R2; returns its pool's id. 404 for an unknown pool,
 * arm pool, model or bundle; 409 `arm_conflict` when an arm's rows would mix with another active
 * experiment's.
 *
 * @example
 * const poolId = await checkExperiment(c.env, tenant.id, c.req.valid('json'));
 */
export async function checkExperiment(
  env: Env,
  tenantId: string,
  body: NewExperiment,
): Promise<string> {
  const poolId = await poolIdOf(env.DB, tenantId, body.pool);
  if (!poolId) throw notFound('pool', body.pool, 'pool_not_found', 'pool');
  for (let i = 0; i < body.arms.length; i++) await checkArm(env, tenantId, body, i);
  const mine = new Set(armKeys(body.pool, body.arms).map((k) => `${k.pool}\u0000${k.arm}`));
  for (const other of await listExperiments(env.DB, tenantId, { active: true })) {
    if (other.pool === body.pool) continue; // one active per pool: the insert answers 409
    const shared = armKeys(other.pool, other.arms).find((k) => mine.has(`${k.pool}\u0000${k.arm}`));
    if (shared)
      throw new ApiError(
        409,
        `arm ${JSON.stringify(shared.arm)} in pool ${JSON.stringify(shared.pool)} belongs to active experiment ${other.id}; rename the arm or stop that experiment`,
        { code: 'arm_conflict', param: 'arms' },
      );
  }
  return poolId;
}
