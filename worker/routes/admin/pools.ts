/**
 * `PUT /admin/pools/{pool}/members/{model}` adds one of the tenant's models to one of its pools;
 * `DELETE` removes it. Both answer with the model (its pools and identities).
 */
import type { Context } from 'hono';
import { clearGrantCache } from '../../data/grants';
import { clearPoolCache } from '../../data/pools';
import type { AppEnv } from '../../env';
import { getModel, setPoolMember } from '../../data/tenant-models';
import { ApiError } from '../../errors';
import { modelView } from './models';
import type { MemberParams, Valid } from './schemas';

/**
 * Handler of both methods (`PUT` joins, `DELETE` leaves).
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
  clearPoolCache();
  clearGrantCache(tenant);
  return c.json(await modelView(c.env.DB, c.get('tenant').id, row));
}
