/**
 * The tenant's own models: `POST /admin/models` registers one (optionally into pools), `GET
 * /admin/models` lists them, `GET /admin/models/{id}` shows one with its pools and stored
 * identities, `PATCH` changes it (re-checked against the grants exactly as a registration) and
 * `DELETE` removes it. Global (operator) models are never reachable here.
 */
import type { Context } from 'hono';
import { readConfig } from '../../config';
import { clearGrantCache, tenantGrants } from '../../data/grants';
import { clearPoolCache } from '../../data/pools';
import type { AppEnv } from '../../env';
import { checkUpstream } from '../../security/grants';
import { identitiesOf } from '../../data/identities';
import { onlineIdentitiesOf } from '../../data/online-identities';
import type { ModelRecord } from '../../data/models';
import {
  deleteModel,
  insertModel,
  listTenantModels,
  poolsOf,
  updateModel,
} from '../../data/tenant-models';
import { ownModel } from './model-of';
import type { ModelParams, ModelPatch, NewModelBody, Valid } from './schemas';

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
  return { ...modelFieldsView(row), pools, identities };
}

/** A model row's own fields as the admin API shows them. */
function modelFieldsView(row: ModelRecord): Record<string, unknown> {
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
  };
}

/**
 * The grant check of a model as it would be stored (docs/security.md); throws its refusal, else
 * returns the canonical base URL to store (null when the row has none).
 */
async function checkedBaseUrl(
  c: Context<AppEnv>,
  m: { provider: ModelRecord['provider']; base_url: string | null; secret_name: string | null },
): Promise<string | null> {
  const tenantId = c.get('tenant').id;
  clearGrantCache(tenantId); // an operator may have just granted (or revoked) a host: decide on what D1 says now
  const grants = await tenantGrants(c.env.DB, tenantId, readConfig(c.env).poolCacheMs);
  const decision = checkUpstream(
    { tenantId, provider: m.provider, baseUrl: m.base_url, secretName: m.secret_name },
    grants,
  );
  if (!decision.ok) throw decision.refusal;
  // the canonical URL, as checked (the host a grant names, default port dropped)
  return m.base_url ? decision.url : null;
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
  const secret_name = m.secret_name ?? null;
  const base_url = await checkedBaseUrl(c, { ...m, base_url: m.base_url ?? null, secret_name });
  const row = await insertModel(
    c.env.DB,
    tenantId,
    { ...m, base_url, secret_name, bundle_model: m.bundle_model ?? null },
    pools,
  );
  clearPoolCache(tenantId); // the new member is routable at once in this isolate (others within POOL_CACHE_SECONDS)
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
  return c.json(await modelView(c.env.DB, c.get('tenant').id, await ownModel(c)));
}

/**
 * Handler of `GET /admin/models`: the tenant's own models with their pools (identities: `GET
 * /admin/models/{id}`).
 *
 * @example
 * admin.get('/models', listOwnModels);
 */
export async function listOwnModels(c: Context<AppEnv>): Promise<Response> {
  const rows = await listTenantModels(c.env.DB, c.get('tenant').id);
  return c.json({
    object: 'list',
    data: rows.map(({ pools, ...row }) => ({ ...modelFieldsView(row), pools })),
  });
}

/**
 * Handler of `PATCH /admin/models/{id}`: the merged row is checked against the tenant's grants as a
 * new registration is (400 `invalid_base_url`, 403 `host_not_granted` / `secret_not_granted`), so
 * a price change on a model whose grant was revoked is refused too; 409 on a taken name.
 *
 * @example
 * admin.patch('/models/:id', validParams(modelParams), validBody(modelPatchSchema), patchModel);
 */
export async function patchModel(
  c: Context<AppEnv, string, Valid<{ param: ModelParams; json: ModelPatch }>>,
): Promise<Response> {
  const row = await ownModel(c);
  // absent fields keep the row's values (never overwritten by an undefined)
  const patch = Object.fromEntries(
    Object.entries(c.req.valid('json')).filter(([, v]) => v !== undefined),
  ) as ModelPatch;
  const merged = { ...row, ...patch };
  const base_url = await checkedBaseUrl(c, merged);
  const tenantId = c.get('tenant').id;
  const updated = await updateModel(c.env.DB, tenantId, row.id, { ...patch, base_url });
  clearPoolCache(tenantId);
  return c.json(await modelView(c.env.DB, tenantId, updated));
}

/**
 * Handler of `DELETE /admin/models/{id}`: removes the model, its identities and pool memberships
 * (409 `model_in_use` while a pool names it as `fallback_model`).
 *
 * @example
 * admin.delete('/models/:id', validParams(modelParams), removeModel);
 */
export async function removeModel(
  c: Context<AppEnv, string, Valid<{ param: ModelParams }>>,
): Promise<Response> {
  const row = await ownModel(c);
  const tenantId = c.get('tenant').id;
  await deleteModel(c.env.DB, tenantId, row);
  clearPoolCache(tenantId);
  return c.json({ object: 'model', id: row.id, name: row.name, deleted: true });
}
