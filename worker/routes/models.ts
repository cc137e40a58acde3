/**
 * `GET /v1/models`: `router`, `router/<pool>` for each of the tenant's pools, and the concrete
 * models the tenant may call by name (OpenAI list format). `GET /v1/models/{id}` is one entry of
 * the same list (routes/model.ts).
 */
import type { Context } from 'hono';
import { listModels } from '../data/models';
import { listPoolNames } from '../data/pools';
import type { AppEnv } from '../env';

/** One entry of the list, as OpenAI's `model` object (plus `pool` for the router's own names). */
export interface ModelEntry {
  id: string;
  object: 'model';
  created: number;
  owned_by: string;
  pool?: string;
}

/**
 * Every model name the tenant may send as `model`, in the list's order.
 *
 * @example
 * (await modelEntries(c)).map((m) => m.id); // ['router', 'router/default', 'gpt-4o', ...]
 */
export async function modelEntries(c: Context<AppEnv>): Promise<ModelEntry[]> {
  const tenant = c.get('tenant');
  const [pools, models] = await Promise.all([
    listPoolNames(c.env.DB, tenant.id),
    listModels(c.env.DB, tenant.id),
  ]);
  const entry = (id: string, ownedBy: string, pool?: string): ModelEntry => ({
    id,
    object: 'model',
    created: 0,
    owned_by: ownedBy,
    ...(pool !== undefined ? { pool } : {}),
  });
  return [
    ...(tenant.defaultPool ? [entry('router', 'router', tenant.defaultPool)] : []),
    ...pools.map((p) => entry(`router/${p}`, 'router', p)),
    ...models.map((m) => entry(m.name, m.provider)),
  ];
}

/**
 * @example
 * app.get('/v1/models', listModelsRoute);
 */
export async function listModelsRoute(c: Context<AppEnv>): Promise<Response> {
  return c.json({ object: 'list', data: await modelEntries(c) });
}
