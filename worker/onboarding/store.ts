/**
 * D1 access of onboarding: tenant-owned model rows, pool membership, and quiz identities
 * (`model_identities`, source `quiz`). Tables are those of migrations/0001_init.sql.
 */
import type { DbModel } from '../data/models';
import { ApiError } from '../errors';

/** A `models` row as onboarding reads it: the D1 row of `data/models.ts` plus its creation time. */
export type ModelRow = DbModel & { created_at: string };

/** Fields of a new model (validated at the edge, see routes/admin/schemas.ts). */
export type NewModel = Omit<ModelRow, 'id' | 'tenant_id' | 'created_at'>;

/** A stored identity of one model under one bundle. */
export interface IdentityRow {
  bundle_version: string;
  vector: number[];
  std: number[] | null;
  /** The posterior covariance as vectors v_i with cov = sum_i v_i v_i^T (linalg.ts `covFactor`). */
  cov_factor: number[][] | null;
  source: 'training' | 'quiz' | 'manual';
  n_items: number | null;
  updated_at: string;
}

/**
 * Inserts a tenant-owned model and adds it to the named pools of that tenant, in one batch. A
 * duplicate name is a 409 `model_exists`, an unknown pool a 404 `pool_not_found`.
 *
 * @example
 * const row = await insertModel(env.DB, 'acme', { name: 'phi-3', provider: 'openai', ... }, ['default']);
 */
export async function insertModel(db: D1Database, tenantId: string, model: NewModel, pools: readonly string[]): Promise<ModelRow> {
  const dup = await db.prepare('SELECT 1 FROM models WHERE tenant_id = ?1 AND name = ?2').bind(tenantId, model.name).first();
  if (dup) throw new ApiError(409, `model ${JSON.stringify(model.name)} already exists`, { code: 'model_exists', param: 'name' });
  const poolIds: string[] = [];
  for (const pool of new Set(pools)) {
    const row = await db.prepare('SELECT id FROM pools WHERE tenant_id = ?1 AND name = ?2').bind(tenantId, pool).first<{ id: string }>();
    if (!row) throw new ApiError(404, `pool ${JSON.stringify(pool)} does not exist`, { code: 'pool_not_found', param: 'pools' });
    poolIds.push(row.id);
  }
  const id = `mdl_${crypto.randomUUID().replace(/-/g, '')}`;
  await db.batch([
    db.prepare(
      `INSERT INTO models (id, tenant_id, name, provider, upstream_model, base_url, secret_name,
         input_usd_per_mtok, output_usd_per_mtok, expected_output_tokens, bundle_model)
       VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)`,
    ).bind(id, tenantId, model.name, model.provider, model.upstream_model, model.base_url, model.secret_name,
      model.input_usd_per_mtok, model.output_usd_per_mtok, model.expected_output_tokens, model.bundle_model),
    ...poolIds.map((pid) => db.prepare('INSERT INTO pool_members (pool_id, model_id) VALUES (?1, ?2)').bind(pid, id)),
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
export function getModel(db: D1Database, tenantId: string, idOrName: string): Promise<ModelRow | null> {
  return db.prepare(
    `SELECT * FROM models WHERE tenant_id = ?1 AND (id = ?2 OR name = ?2) ORDER BY id = ?2 DESC LIMIT 1`,
  ).bind(tenantId, idOrName).first<ModelRow>();
}

/**
 * Names of the tenant's pools this model belongs to.
 *
 * @example
 * await poolsOf(env.DB, 'mdl_3f...'); // ['default']
 */
export async function poolsOf(db: D1Database, modelId: string): Promise<string[]> {
  const { results } = await db.prepare(
    'SELECT p.name FROM pool_members m JOIN pools p ON p.id = m.pool_id WHERE m.model_id = ?1 ORDER BY p.name',
  ).bind(modelId).all<{ name: string }>();
  return results.map((r) => r.name);
}

/** What `upsertIdentity` writes: an identity and, where it was fitted, its posterior. */
export type NewIdentity = Pick<IdentityRow, 'vector' | 'std' | 'cov_factor' | 'source' | 'n_items'>;

/**
 * Writes (or replaces) the identity of a model under a bundle version.
 *
 * @example
 * await upsertIdentity(env.DB, 'mdl_3f...', 'v1',
 *   { vector: post.mean, std: post.std, cov_factor: covFactor(post.cov), source: 'quiz', n_items: 20 });
 */
export async function upsertIdentity(db: D1Database, modelId: string, bundleVersion: string, identity: NewIdentity): Promise<void> {
  const json = (v: unknown): string | null => (v === null ? null : JSON.stringify(v));
  await db.prepare(
    `INSERT INTO model_identities (model_id, bundle_version, vector, std, cov_factor, source, n_items, updated_at)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
     ON CONFLICT (model_id, bundle_version) DO UPDATE SET
       vector = excluded.vector, std = excluded.std, cov_factor = excluded.cov_factor, source = excluded.source,
       n_items = excluded.n_items, updated_at = excluded.updated_at`,
  ).bind(modelId, bundleVersion, JSON.stringify(identity.vector), json(identity.std), json(identity.cov_factor),
    identity.source, identity.n_items).run();
}

/** A stored factor for display; null when absent or not JSON (routing ignores such a row too). */
function parseFactor(text: string | null): number[][] | null {
  if (!text) return null;
  try {
    return JSON.parse(text) as number[][];
  } catch {
    return null;
  }
}

/**
 * Every stored identity of a model (one per bundle version).
 *
 * @example
 * (await identitiesOf(env.DB, 'mdl_3f...'))[0].source; // 'quiz'
 */
export async function identitiesOf(db: D1Database, modelId: string): Promise<IdentityRow[]> {
  const { results } = await db.prepare(
    'SELECT bundle_version, vector, std, cov_factor, source, n_items, updated_at FROM model_identities WHERE model_id = ?1 ORDER BY bundle_version',
  ).bind(modelId).all<{ bundle_version: string; vector: string; std: string | null; cov_factor: string | null; source: IdentityRow['source']; n_items: number | null; updated_at: string }>();
  return results.map((r) => ({
    bundle_version: r.bundle_version,
    vector: JSON.parse(r.vector) as number[],
    std: r.std ? (JSON.parse(r.std) as number[]) : null,
    cov_factor: parseFactor(r.cov_factor),
    source: r.source,
    n_items: r.n_items,
    updated_at: r.updated_at,
  }));
}

/**
 * Adds (`join = true`) or removes a tenant model to/from a tenant pool; false when either is unknown.
 *
 * @example
 * await setPoolMember(env.DB, 'acme', 'main', 'mdl_3f...', true);
 */
export async function setPoolMember(db: D1Database, tenantId: string, pool: string, modelId: string, join: boolean): Promise<boolean> {
  const row = await db.prepare('SELECT id FROM pools WHERE tenant_id = ?1 AND name = ?2').bind(tenantId, pool).first<{ id: string }>();
  if (!row) return false;
  await db.prepare(join
    ? 'INSERT OR IGNORE INTO pool_members (pool_id, model_id) VALUES (?1, ?2)'
    : 'DELETE FROM pool_members WHERE pool_id = ?1 AND model_id = ?2').bind(row.id, modelId).run();
  return true;
}
