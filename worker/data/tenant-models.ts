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
