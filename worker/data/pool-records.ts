/**
 * A tenant's pools as the admin API manages them (D1 `pools`, `pool_members`; migrations 0001,
 * 0002, 0005, 0009, 0011): list, read, create, update, delete. Routing reads pools through
 * data/pools.ts, with its per-isolate cache; writers here expire that cache for the tenant.
 */
import { ApiError } from '../errors';
import type { PresetName } from '../routing/preference';
import type { EmbeddingProvider } from './pools';

/** A pool row with its members' names. */
export interface PoolRecord {
  id: string;
  tenant_id: string;
  name: string;
  bundle_version: string;
  embedding_provider: EmbeddingProvider | null;
  default_preference: number;
  default_preset: PresetName | null;
  uncertainty_penalty: number | null;
  fallback_model: string | null;
  online_learning: boolean;
  exploration_temperature: number | null;
  keep_prompts: boolean;
  created_at: string;
  members: string[];
}

/** The settings of a pool as stored (the default split into its number and preset columns). */
export interface PoolSettings {
  bundle_version: string;
  embedding_provider: EmbeddingProvider | null;
  /** A number goes to `default_preference` (clearing the preset); a preset to `default_preset`. */
  default_preference: number | PresetName;
  uncertainty_penalty: number | null;
  fallback_model: string | null;
  online_learning: boolean;
  exploration_temperature: number | null;
  keep_prompts: boolean;
}

const COLUMNS = `p.id, p.tenant_id, p.name, p.bundle_version, p.embedding_provider, p.default_preference,
  p.default_preset, p.uncertainty_penalty, p.fallback_model, p.online_learning,
  p.exploration_temperature, p.keep_prompts, p.created_at`;

/** A row as D1 gives it: SQLite has no booleans (0/1). */
type PoolRow = Omit<PoolRecord, 'members' | 'online_learning' | 'keep_prompts'> & {
  online_learning: number;
  keep_prompts: number;
};

const notFound = (name: string): ApiError =>
  new ApiError(404, `pool ${JSON.stringify(name)} not found`, {
    code: 'pool_not_found',
    param: 'pool',
  });

/** Reads pools (one tenant's, or one of them by name) with their members' names in one batch. */
async function readPools(
  db: D1Database,
  tenantId: string,
  name: string | null,
): Promise<PoolRecord[]> {
  const [pools, members] = await db.batch([
    db
      .prepare(
        `SELECT ${COLUMNS} FROM pools p WHERE p.tenant_id = ?1 AND (?2 IS NULL OR p.name = ?2) ORDER BY p.name`,
      )
      .bind(tenantId, name),
    db
      .prepare(
        `SELECT pm.pool_id, m.name FROM pool_members pm JOIN pools p ON p.id = pm.pool_id
         JOIN models m ON m.id = pm.model_id WHERE p.tenant_id = ?1 AND (?2 IS NULL OR p.name = ?2)
         ORDER BY m.name`,
      )
      .bind(tenantId, name),
  ]);
  const byPool = new Map<string, string[]>();
  for (const r of (members?.results ?? []) as Array<{ pool_id: string; name: string }>) {
    byPool.set(r.pool_id, [...(byPool.get(r.pool_id) ?? []), r.name]);
  }
  return ((pools?.results ?? []) as PoolRow[]).map((p) => ({
    ...p,
    online_learning: p.online_learning === 1,
    keep_prompts: p.keep_prompts === 1,
    members: byPool.get(p.id) ?? [],
  }));
}

/**
 * The tenant's pools, by name.
 *
 * @example
 * const pools = await listPoolRecords(env.DB, 'acme');
 */
export function listPoolRecords(db: D1Database, tenantId: string): Promise<PoolRecord[]> {
  return readPools(db, tenantId, null);
}

/**
 * The tenant's pool `name`; 404 `pool_not_found` when it has none.
 *
 * @example
 * const pool = await requirePoolRecord(env.DB, 'acme', 'main');
 */
export async function requirePoolRecord(
  db: D1Database,
  tenantId: string,
  name: string,
): Promise<PoolRecord> {
  const [row] = await readPools(db, tenantId, name);
  if (!row) throw notFound(name);
  return row;
}

/** The two default columns for a preference: a number, or a preset (the number then kept). */
function defaultColumns(pref: number | PresetName): {
  preference: number | null;
  preset: PresetName | null;
} {
  return typeof pref === 'number'
    ? { preference: pref, preset: null }
    : { preference: null, preset: pref };
}

const memberInserts = (db: D1Database, poolId: string, modelIds: readonly string[]) =>
  modelIds.map((mid) =>
    db.prepare('INSERT INTO pool_members (pool_id, model_id) VALUES (?1, ?2)').bind(poolId, mid),
  );

/**
 * Creates a pool with its members (model ids) in one batch; 409 `pool_exists` on a taken name.
 *
 * @example
 * await insertPool(env.DB, 'acme', 'main', { bundle_version: 'v1', default_preference: 'balanced', ... }, ids);
 */
export async function insertPool(
  db: D1Database,
  tenantId: string,
  name: string,
  s: PoolSettings,
  modelIds: readonly string[],
): Promise<PoolRecord> {
  const dup = await db
    .prepare('SELECT 1 FROM pools WHERE tenant_id = ?1 AND name = ?2')
    .bind(tenantId, name)
    .first();
  if (dup)
    throw new ApiError(409, `pool ${JSON.stringify(name)} already exists`, {
      code: 'pool_exists',
      param: 'name',
    });
  const id = `pool_${crypto.randomUUID().replace(/-/g, '')}`;
  const d = defaultColumns(s.default_preference);
  await db.batch([
    db
      .prepare(
        `INSERT INTO pools (id, tenant_id, name, bundle_version, embedding_provider, default_preference,
           default_preset, uncertainty_penalty, fallback_model, online_learning, exploration_temperature,
           keep_prompts)
         VALUES (?1, ?2, ?3, ?4, ?5, COALESCE(?6, 0.5), ?7, ?8, ?9, ?10, ?11, ?12)`,
      )
      .bind(
        id,
        tenantId,
        name,
        s.bundle_version,
        s.embedding_provider,
        d.preference,
        d.preset,
        s.uncertainty_penalty,
        s.fallback_model,
        s.online_learning ? 1 : 0,
        s.exploration_temperature,
        s.keep_prompts ? 1 : 0,
      ),
    ...memberInserts(db, id, modelIds),
  ]);
  return requirePoolRecord(db, tenantId, name);
}

/**
 * Updates the given settings (absent = unchanged) and, when `modelIds` is given, replaces the
 * members, in one batch.
 *
 * @example
 * await updatePool(env.DB, 'acme', pool, { default_preference: 0.3 }, undefined);
 */
export async function updatePool(
  db: D1Database,
  tenantId: string,
  pool: PoolRecord,
  s: Partial<PoolSettings>,
  modelIds: readonly string[] | undefined,
): Promise<PoolRecord> {
  const sets: string[] = [];
  const values: unknown[] = [pool.id];
  const set = (column: string, value: unknown): void => {
    values.push(value);
    sets.push(`${column} = ?${values.length}`);
  };
  if (s.bundle_version !== undefined) set('bundle_version', s.bundle_version);
  if (s.embedding_provider !== undefined) set('embedding_provider', s.embedding_provider);
  if (s.uncertainty_penalty !== undefined) set('uncertainty_penalty', s.uncertainty_penalty);
  if (s.fallback_model !== undefined) set('fallback_model', s.fallback_model);
  if (s.online_learning !== undefined) set('online_learning', s.online_learning ? 1 : 0);
  if (s.exploration_temperature !== undefined)
    set('exploration_temperature', s.exploration_temperature);
  if (s.keep_prompts !== undefined) set('keep_prompts', s.keep_prompts ? 1 : 0);
  if (s.default_preference !== undefined) {
    const d = defaultColumns(s.default_preference);
    if (d.preference !== null) set('default_preference', d.preference);
    set('default_preset', d.preset);
  }
  await db.batch([
    ...(sets.length > 0
      ? [db.prepare(`UPDATE pools SET ${sets.join(', ')} WHERE id = ?1`).bind(...values)]
      : []),
    ...(modelIds
      ? [
          db.prepare('DELETE FROM pool_members WHERE pool_id = ?1').bind(pool.id),
          ...memberInserts(db, pool.id, modelIds),
        ]
      : []),
  ]);
  return requirePoolRecord(db, tenantId, pool.name);
}

/**
 * Deletes the pool with its members and experiments (one batch). Refused with a 409 `pool_in_use`
 * while it is the tenant's default pool (`model: "router"` would then answer 404).
 *
 * @example
 * await deletePool(env.DB, 'acme', pool);
 */
export async function deletePool(
  db: D1Database,
  tenantId: string,
  pool: PoolRecord,
): Promise<void> {
  const tenant = await db
    .prepare('SELECT 1 FROM tenants WHERE id = ?1 AND default_pool = ?2')
    .bind(tenantId, pool.name)
    .first();
  if (tenant)
    throw new ApiError(
      409,
      `pool ${JSON.stringify(pool.name)} is the tenant's default pool; the operator changes that first`,
      { code: 'pool_in_use', param: 'pool' },
    );
  await db.batch([
    db.prepare('DELETE FROM pool_members WHERE pool_id = ?1').bind(pool.id),
    db.prepare('DELETE FROM experiments WHERE pool_id = ?1').bind(pool.id),
    db.prepare('DELETE FROM pools WHERE id = ?1 AND tenant_id = ?2').bind(pool.id, tenantId),
  ]);
}
