/**
 * `GET /v1/models`: `router`, `router/<pool>` for each of the tenant's pools, and the concrete
 * models the tenant may call by name (OpenAI list format).
 */
import type { Context } from 'hono';
import { listModels } from '../data/models';
import { listPoolNames } from '../data/pools';
import type { AppEnv } from '../env';

/**
 * @example
 * app.get('/v1/models', listModelsRoute);
 */
export async function listModelsRoute(c: Context<AppEnv>): Promise<Response> {
  const tenant = c.get('tenant');
  const [pools, models] = await Promise.all([
    listPoolNames(c.env.DB, tenant.id),
    listModels(c.env.DB, tenant.id),
  ]);
  const entry = (id: string, ownedBy: string, extra: Record<string, unknown> = {}) => ({
    id,
    object: 'model',
    created: 0,
    owned_by: ownedBy,
    ...extra,
  });
  const data = [
    ...(tenant.defaultPool ? [entry('router', 'router', { pool: tenant.defaultPool })] : []),
    ...pools.map((p) => entry(`router/${p}`, 'router', { pool: p })),
    ...models.map((m) => entry(m.name, m.provider)),
  ];
  return c.json({ object: 'list', data });
}
