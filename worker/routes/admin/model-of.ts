/**
 * The model an admin path names, looked up for the key's tenant: its own only (`ownModel`), or any it
 * can route with, its own first, else a global one (`routableModel`). Both answer 404
 * `model_not_found` for anything else, another tenant's model included.
 */
import type { Context } from 'hono';
import type { ModelRecord } from '../../data/models';
import { getModel, getRoutableModel } from '../../data/tenant-models';
import type { AppEnv } from '../../env';
import { ApiError } from '../../errors';
import type { ModelParams, Valid } from './schemas';

function notFound(id: string): ApiError {
  return new ApiError(404, `model ${JSON.stringify(id)} not found`, {
    code: 'model_not_found',
    param: 'id',
  });
}

/**
 * The tenant's own model the path names (another tenant's model, or a global one, is "none").
 *
 * @example
 * const row = await ownModel(c); // 404 model_not_found when the tenant has no such model
 */
export async function ownModel(
  c: Context<AppEnv, string, Valid<{ param: ModelParams }>>,
): Promise<ModelRecord> {
  const { id } = c.req.valid('param');
  const row = await getModel(c.env.DB, c.get('tenant').id, id);
  if (!row) throw notFound(id);
  return row;
}

/**
 * A model the tenant can route with, by the path's id or name: its own first, else a global one
 * (for what is the tenant's own about it, such as its online identities).
 *
 * @example
 * const row = await routableModel(c); // the global gpt-4o, if the tenant has none of that name
 */
export async function routableModel(
  c: Context<AppEnv, string, Valid<{ param: ModelParams }>>,
): Promise<ModelRecord> {
  const { id } = c.req.valid('param');
  const row = await getRoutableModel(c.env.DB, c.get('tenant').id, id);
  if (!row) throw notFound(id);
  return row;
}
