/**
 * The tenant's online identities of a model (learnt from its feedback, docs/worker.md "Online
 * learning"): `GET /admin/models/{id}/online-identity` shows them, `DELETE` rolls the model back
 * to its quiz, training or manifest identity (all bundle versions, or `?bundle=`). A global model
 * is allowed: its online identities are this tenant's own.
 */
import type { Context } from 'hono';
import { deleteOnlineIdentities, onlineIdentitiesOf } from '../../data/online-identities';
import { clearPoolCache } from '../../data/pools';
import type { AppEnv } from '../../env';
import { routableModel } from './model-of';
import type { ModelParams, OnlineQuery, Valid } from './schemas';

/**
 * Handler of `GET /admin/models/{id}/online-identity`.
 *
 * @example
 * admin.get('/models/:id/online-identity', validParams(modelParams), showOnline);
 */
export async function showOnline(
  c: Context<AppEnv, string, Valid<{ param: ModelParams }>>,
): Promise<Response> {
  const row = await routableModel(c);
  const identities = await onlineIdentitiesOf(c.env.DB, c.get('tenant').id, row.id);
  return c.json({ object: 'model.online_identities', model: row.id, name: row.name, identities });
}

/**
 * Handler of `DELETE /admin/models/{id}/online-identity[?bundle=]`: 200 with the bundle versions
 * rolled back (none is not an error). This isolate routes with the older identity at once, others
 * within `POOL_CACHE_SECONDS`; feedback already learnt from stays applied.
 *
 * @example
 * admin.delete('/models/:id/online-identity', validParams(modelParams), validQuery(onlineQuerySchema), rollbackOnline);
 */
export async function rollbackOnline(
  c: Context<AppEnv, string, Valid<{ param: ModelParams; query: OnlineQuery }>>,
): Promise<Response> {
  const row = await routableModel(c);
  const tenantId = c.get('tenant').id;
  const removed = await deleteOnlineIdentities(
    c.env.DB,
    tenantId,
    row.id,
    c.req.valid('query').bundle ?? null,
  );
  clearPoolCache(tenantId);
  return c.json({
    object: 'model.online_identities',
    model: row.id,
    name: row.name,
    rolled_back: removed,
    identities: await onlineIdentitiesOf(c.env.DB, tenantId, row.id),
  });
}
