/**
 * A tenant's own models as the admin API manages them (D1 `models`, `pool_members`; tables of
 * migrations/0001_init.sql): registration, lookup by id or name, pool membership.
 */
import { ApiError } from '../errors';
import { MODEL_COLUMNS, type ModelRecord } from './models';

/** Fields of a new model (validated at the edge, see routes/admin/schemas.ts). */
export type NewModel = Omit<ModelRecord, 'id' | 'tenant_id' | 'created_at'>;

/**
 * Inserts a tenant-owned model and adds it to the named pools of that tenant, in one batch. A
 * duplicate name is a 409 `model_exists`, an unknown pool a 404 `pool_not_found`.
 *
 * @example
 * const row = await insertModel(env.DB, 'acme', { name: 'phi-3', ... }, ['main']);
 */
export async function insertModel(
  db: D1Database,
  tenantId: string,
  model: NewModel,
  pools: readonly string[],
): Promise<ModelRecord> {
  const dup = await db
    .prepare('SELECT 1 FROM models WHERE tenant_id = ?1 AND name = ?2')
    .bind(tenantId, model.name)
    .first();
  if (dup)
    throw new ApiError(409, `model ${JSON.stringify(model.name)} already exists`, {
      code: 'model_exists',
      param: 'name',
    });
  const poolIds: string[] = [];
  for (const pool of new Set(pools)) {
    const row = await db
      .prepare('SELECT id FROM pools WHERE tenant_id = ?1 AND name = ?2')
      .bind(tenantId, pool)
      .first<{ id: string }>();
    if (!row)
      throw new ApiError(404, `pool ${JSON.stringify(pool)} does not exist`, {
        code: 'pool_not_found',
        param: 'pools',
      });
    poolIds.push(row.id);
  }
  const id = `mdl_${crypto.randomUUID().replace(/-/g, '')}`;
  await db.batch([
    db
      .prepare(
        `INSERT INTO models (id, tenant_id, name, provider, upstream_model, base_url, secret_name,
         input_usd_per_mtok, output_usd_per_mtok, expected_output_tokens, bundle_model)
       VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)`,
      )
      .bind(
        id,
        tenantId,
        model.name,
        model.provider,
        model.upstream_model,
        model.base_url,
        model.secret_name,
        model.input_usd_per_mtok,
        model.output_usd_per_mtok,
        model.expected_output_tokens,
        model.bundle_model,
      ),
    ...poolIds.map((pid) =>
      db.prepare('INSERT INTO pool_members (pool_id, model_id) VALUES (?1, ?2)').bind(pid, id),
    ),
  ]);
  const row = await getModel(db, tenantId, id);
  if (!row) throw new Error('model row vanished after insert');
  return row;
}

/**
 * The tenant's own model with this id (or, failing that, name); null when absent. Global models
 * (tenant_id NULL) are not returned: a tenant key must not change what every tenant routes with.
 *
 * @example
 * const row = await getModel(env.DB, 'acme', 'mdl_3f...');
 */
export function getModel(
  db: D1Database,
  tenantId: string,
  idOrName: string,
): Promise<ModelRecord | null> {
  return db
    .prepare(
      `SELECT ${MODEL_COLUMNS} FROM models m WHERE m.tenant_id = ?1 AND (m.id = ?2 OR m.name = ?2)
       ORDER BY m.id = ?2 DESC LIMIT 1`,
    )
    .bind(tenantId, idOrName)
    .first<ModelRecord>();
}

/**
 * Names of the tenant's pools this model belongs to.
 *
 * @example
 * await poolsOf(env.DB, 'mdl_3f...'); // ['default']
 */
export async function poolsOf(db: D1Database, modelId: string): Promise<string[]> {
  const { results } = await db
    .prepare(
      `SELECT p.name FROM pool_members m JOIN pools p ON p.id = m.pool_id
       WHERE m.model_id = ?1 ORDER BY p.name`,
    )
    .bind(modelId)
    .all<{ name: string }>();
  return results.map((r) => r.name);
}

/**
 * Adds (`join = true`) or removes a tenant model to/from a tenant pool; false when either is
 * unknown.
 *
 * @example
 * await setPoolMember(env.DB, 'acme', 'main', 'mdl_3f...', true);
 */
export async function setPoolMember(
  db: D1Database,
  tenantId: string,
  pool: string,
  modelId: string,
  join: boolean,
): Promise<boolean> {
  const row = await db
    .prepare('SELECT id FROM pools WHERE tenant_id = ?1 AND name = ?2')
    .bind(tenantId, pool)
    .first<{ id: string }>();
  if (!row) return false;
  await db
    .prepare(
      join
        ? 'INSERT OR IGNORE INTO pool_members (pool_id, model_id) VALUES (?1, ?2)'
        : 'DELETE FROM pool_members WHERE pool_id = ?1 AND model_id = ?2',
    )
    .bind(row.id, modelId)
    .run();
  return true;
}

/**
 * The tenant's own models, by name, each with the names of the pools it is in.
 *
 * @example
 * const models = await listTenantModels(env.DB, 'acme'); // [{ id, name, ..., pools: ['main'] }]
 */
export async function listTenantModels(
  db: D1Database,
  tenantId: string,
): Promise<Array<ModelRecord & { pools: string[] }>> {
  const [models, members] = await db.batch([
    db
      .prepare(`SELECT ${MODEL_COLUMNS} FROM models m WHERE m.tenant_id = ?1 ORDER BY m.name`)
      .bind(tenantId),
    db
      .prepare(
        `SELECT pm.model_id, p.name FROM pool_members pm JOIN pools p ON p.id = pm.pool_id
         JOIN models m ON m.id = pm.model_id WHERE m.tenant_id = ?1 ORDER BY p.name`,
      )
      .bind(tenantId),
  ]);
  const poolsByModel = new Map<string, string[]>();
  for (const r of (members?.results ?? []) as Array<{ model_id: string; name: string }>) {
    poolsByModel.set(r.model_id, [...(poolsByModel.get(r.model_id) ?? []), r.name]);
  }
  return ((models?.results ?? []) as ModelRecord[]).map((m) => ({
    ...m,
    pools: poolsByModel.get(m.id) ?? [],
  }));
}

/** Columns a model update may set, in a fixed order (never a column name from input). */
const MODEL_UPDATABLE = [
  'name',
  'provider',
  'upstream_model',
  'base_url',
  'secret_name',
  'input_usd_per_mtok',
  'output_usd_per_mtok',
  'expected_output_tokens',
  'bundle_model',
] as const;

/**
 * Writes the given fields of the tenant's model `id` (absent = unchanged). A name another of its
 * models has is a 409 `model_exists`. The caller has checked the merged row against the grants.
 *
 * @example
 * await updateModel(env.DB, 'acme', 'mdl_3f...', { input_usd_per_mtok: 0.4 });
 */
export async function updateModel(
  db: D1Database,
  tenantId: string,
  id: string,
  fields: Partial<NewModel>,
): Promise<ModelRecord> {
  if (fields.name !== undefined) {
    const dup = await db
      .prepare('SELECT 1 FROM models WHERE tenant_id = ?1 AND name = ?2 AND id <> ?3')
      .bind(tenantId, fields.name, id)
      .first();
    if (dup)
      throw new ApiError(409, `model ${JSON.stringify(fields.name)} already exists`, {
        code: 'model_exists',
        param: 'name',
      });
  }
  const sets: string[] = [];
  const values: unknown[] = [tenantId, id];
  for (const column of MODEL_UPDATABLE) {
    if (fields[column] === undefined) continue;
    values.push(fields[column]);
    sets.push(`${column} = ?${values.length}`);
  }
  if (sets.length > 0)
    await db
      .prepare(`UPDATE models SET ${sets.join(', ')} WHERE tenant_id = ?1 AND id = ?2`)
      .bind(...values)
      .run();
  const row = await getModel(db, tenantId, id);
  if (!row) throw new Error('model row vanished after update');
  return row;
}

/**
 * Deletes the tenant's model with its identities and pool memberships (one batch). Refused with a
 * 409 `model_in_use` while one of the tenant's pools names it as its `fallback_model`: that pool
 * would lose its degraded-mode answer without a word.
 *
 * @example
 * await deleteModel(env.DB, 'acme', row);
 */
export async function deleteModel(
  db: D1Database,
  tenantId: string,
  row: ModelRecord,
): Promise<void> {
  const user = await db
    .prepare('SELECT name FROM pools WHERE tenant_id = ?1 AND fallback_model = ?2 LIMIT 1')
    .bind(tenantId, row.name)
    .first<{ name: string }>();
  if (user)
    throw new ApiError(
      409,
      `model ${JSON.stringify(row.name)} is the fallback_model of pool ${JSON.stringify(user.name)}; change that first`,
      { code: 'model_in_use', param: 'id' },
    );
  await db.batch([
    db.prepare('DELETE FROM pool_members WHERE model_id = ?1').bind(row.id),
    db.prepare('DELETE FROM model_identities WHERE model_id = ?1').bind(row.id),
    db.prepare('DELETE FROM models WHERE tenant_id = ?1 AND id = ?2').bind(tenantId, row.id),
  ]);
}

/**
 * Ids of the models `refs` name (an id or name of the tenant's own model, else the name of a
 * global one), in order, duplicates dropped; a name that resolves to nothing is a 404
 * `model_not_found` naming `param`.
 *
 * @example
 * await resolveCallable(env.DB, 'acme', ['phi-3', 'gpt-4o'], 'members'); // ['mdl_3f...', 'm-global-4o']
 */
export async function resolveCallable(
  db: D1Database,
  tenantId: string,
  refs: readonly string[],
  param: string,
): Promise<string[]> {
  const ids: string[] = [];
  for (const ref of new Set(refs)) {
    const row = await db
      .prepare(
        `SELECT id FROM models WHERE (tenant_id = ?1 AND (id = ?2 OR name = ?2)) OR (tenant_id IS NULL AND name = ?2)
         ORDER BY tenant_id IS NULL, id = ?2 DESC LIMIT 1`,
      )
      .bind(tenantId, ref)
      .first<{ id: string }>();
    if (!row)
      throw new ApiError(404, `model ${JSON.stringify(ref)} not found`, {
        code: 'model_not_found',
        param,
      });
    if (!ids.includes(row.id)) ids.push(row.id);
  }
  return ids;
}

/**
 * A model the tenant can route with, by id or name: its own first, else a global one. Only for what
 * is the tenant's own about a model (its online identities): a global row itself stays read-only.
 *
 * @example
 * const row = await getRoutableModel(env.DB, 'acme', 'gpt-4o'); // the global gpt-4o, if acme has none
 */
export function getRoutableModel(
  db: D1Database,
  tenantId: string,
  idOrName: string,
): Promise<ModelRecord | null> {
  return db
    .prepare(
      `SELECT ${MODEL_COLUMNS} FROM models m WHERE (m.tenant_id = ?1 OR m.tenant_id IS NULL)
         AND (m.id = ?2 OR m.name = ?2)
       ORDER BY m.tenant_id IS NULL, m.id = ?2 DESC LIMIT 1`,
    )
    .bind(tenantId, idOrName)
    .first<ModelRecord>();
}
