/**
 * `POST /admin/models` registers a tenant-owned model (optionally into pools);
 * `GET /admin/models/{id}` shows it with its pools and stored identities.
 */
import type { Context } from 'hono';
import { readConfig } from '../../config';
import { clearGrantCache, tenantGrants } from '../../data/grants';
import { clearPoolCache } from '../../data/pools';
import type { AppEnv } from '../../env';
import { checkUpstream } from '../../security/grants';
import { ApiError } from '../../errors';
import { identitiesOf } from '../../data/identities';
import { onlineIdentitiesOf } from '../../data/online-identities';
import type { ModelRecord } from '../../data/models';
import { getModel, insertModel, poolsOf } from '../../data/tenant-models';
import type { ModelParams, NewModelBody, Valid } from './schemas';

/**
 * The public JSON form of a model row, with its pools and identities: the stored ones (quiz,
 * training, manual) and the tenant's online ones (source `online`, with `n_feedback` and
 * `base_source`), which route this tenant's pools where they exist.
 *
 * @example
 * return c.json(await modelView(c.env.DB, tenant.id, row));
 */
export async function modelView(
  db: D1Database,
  tenantId: string,
  row: ModelRecord,
): Promise<Record<string, unknown>> {
  const [pools, stored, online] = await Promise.all([
    poolsOf(db, row.id),
    identitiesOf(db, row.id),
    onlineIdentitiesOf(db, tenantId, row.id),
  ]);
  const identities = [...online, ...stored];
  return {
    object: 'model',
    id: row.id,
    name: row.name,
    provider: row.provider,
    upstream_model: row.upstream_model,
    base_url: row.base_url,
    secret_name: row.secret_name,
    input_usd_per_mtok: row.input_usd_per_mtok,
    output_usd_per_mtok: row.output_usd_per_mtok,
    expected_output_tokens: row.expected_output_tokens,
    bundle_model: row.bundle_model,
    created_at: row.created_at,
    pools,
    identities,
  };
}

/**
 * Handler of `POST /admin/models`: 201 with the new model, 409 on a duplicate name, 404 for an
 * unknown pool; 400 `invalid_base_url`, 403 `host_not_granted` / `secret_not_granted` when the
 * tenant's upstream grants do not cover its base URL and secret (docs/security.md).
 *
 * @example
 * admin.post('/models', validBody(newModelSchema), createModel);
 */
export async function createModel(
  c: Context<AppEnv, string, Valid<{ json: NewModelBody }>>,
): Promise<Response> {
  const { pools, ...m } = c.req.valid('json');
  const tenantId = c.get('tenant').id;
  clearGrantCache(tenantId); // an operator may have just granted (or revoked) a host: decide on what D1 says now
  const grants = await tenantGrants(c.env.DB, tenantId, readConfig(c.env).poolCacheMs);
  const decision = checkUpstream(
    {
      tenantId,
      provider: m.provider,
      baseUrl: m.base_url ?? null,
      secretName: m.secret_name ?? null,
    },
    grants,
  );
  if (!decision.ok) throw decision.refusal;
  const row = await insertModel(
    c.env.DB,
    tenantId,
    {
      // the canonical URL, as checked (the host a grant names, default port dropped)
      ...m,
      base_url: m.base_url ? decision.url : null,
      secret_name: m.secret_name ?? null,
      bundle_model: m.bundle_model ?? null,
    },
    pools,
  );
  clearPoolCache(); // the new member is routable at once in this isolate (others within POOL_CACHE_SECONDS)
  return c.json(await modelView(c.env.DB, tenantId, row), 201);
}

/**
 * Handler of `GET /admin/models/{id}` (id or name of one of the tenant's models).
 *
 * @example
 * admin.get('/models/:id', validParams(modelParams), showModel);
 */
export async function showModel(
  c: Context<AppEnv, string, Valid<{ param: ModelParams }>>,
): Promise<Response> {
  const { id } = c.req.valid('param');
  const row = await getModel(c.env.DB, c.get('tenant').id, id);
  if (!row)
    throw new ApiError(404, `model ${JSON.stringify(id)} not found`, {
      code: 'model_not_found',
      param: 'id',
    });
  return c.json(await modelView(c.env.DB, c.get('tenant').id, row));
}
