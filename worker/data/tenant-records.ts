/**
 * Tenants as the operator API manages them (D1 `tenants`; migrations 0001, 0009, 0012): create,
 * read, list, update, disable and delete. Key lookups for authentication are data/tenants.ts.
 */
import { ApiError } from '../errors';

/** A `tenants` row as D1 stores it. */
export interface TenantRecord {
  id: string;
  name: string;
  default_pool: string | null;
  rpm_limit: number | null;
  tpm_limit: number | null;
  /** JSON list of origins, or null (CORS off). */
  cors_origins: string | null;
  disabled_at: string | null;
  created_at: string;
}

const COLUMNS =
  'id, name, default_pool, rpm_limit, tpm_limit, cors_origins, disabled_at, created_at';

/** The fields a create or update may set (`cors_origins` already as JSON text or null). */
export type TenantFields = Partial<
  Pick<TenantRecord, 'name' | 'default_pool' | 'rpm_limit' | 'tpm_limit' | 'cors_origins'>
> & { disabled?: boolean };

const notFound = (id: string): ApiError =>
  new ApiError(404, `tenant ${JSON.stringify(id)} not found`, {
    code: 'tenant_not_found',
    param: 'tenant',
  });

/**
 * The tenant with this id, or null.
 *
 * @example
 * const t = await getTenant(env.DB, 'acme');
 */
export function getTenant(db: D1Database, id: string): Promise<TenantRecord | null> {
  return db.prepare(`SELECT ${COLUMNS} FROM tenants WHERE id = ?1`).bind(id).first<TenantRecord>();
}

/**
 * The tenant with this id; 404 `tenant_not_found` when there is none.
 *
 * @example
 * const t = await requireTenant(env.DB, c.req.valid('param').tenant);
 */
export async function requireTenant(db: D1Database, id: string): Promise<TenantRecord> {
  const row = await getTenant(db, id);
  if (!row) throw notFound(id);
  return row;
}

/**
 * Up to `limit` tenants with ids after `after` (ascending), for cursor pagination.
 *
 * @example
 * const page = await listTenants(env.DB, 50, null);
 */
export async function listTenants(
  db: D1Database,
  limit: number,
  after: string | null,
): Promise<TenantRecord[]> {
  const { results } = await db
    .prepare(`SELECT ${COLUMNS} FROM tenants WHERE ?1 IS NULL OR id > ?1 ORDER BY id LIMIT ?2`)
    .bind(after, limit)
    .all<TenantRecord>();
  return results;
}

/**
 * Creates a tenant; 409 `tenant_exists` when the id is taken.
 *
 * @example
 * await insertTenant(env.DB, 'acme', { name: 'Acme', default_pool: 'main' });
 */
export async function insertTenant(
  db: D1Database,
  id: string,
  fields: TenantFields & { name: string },
): Promise<TenantRecord> {
  if (await getTenant(db, id))
    throw new ApiError(409, `tenant ${JSON.stringify(id)} already exists`, {
      code: 'tenant_exists',
      param: 'id',
    });
  await db
    .prepare(
      `INSERT INTO tenants (id, name, default_pool, rpm_limit, tpm_limit, cors_origins, disabled_at)
       VALUES (?1, ?2, ?3, ?4, ?5, ?6, CASE WHEN ?7 THEN strftime('%Y-%m-%dT%H:%M:%fZ', 'now') END)`,
    )
    .bind(
      id,
      fields.name,
      fields.default_pool ?? null,
      fields.rpm_limit ?? null,
      fields.tpm_limit ?? null,
      fields.cors_origins ?? null,
      fields.disabled ? 1 : 0,
    )
    .run();
  return requireTenant(db, id);
}

/** Columns an update may set, in a fixed order (the SQL never takes a column name from input). */
const UPDATABLE = ['name', 'default_pool', 'rpm_limit', 'tpm_limit', 'cors_origins'] as const;

/**
 * Updates the given fields (absent = unchanged); `disabled: true` stamps `disabled_at` (kept when
 * already set), `false` clears it. 404 when the tenant does not exist.
 *
 * @example
 * await updateTenant(env.DB, 'acme', { rpm_limit: 600, disabled: false });
 */
export async function updateTenant(
  db: D1Database,
  id: string,
  fields: TenantFields,
): Promise<TenantRecord> {
  const sets: string[] = [];
  const values: unknown[] = [id];
  for (const column of UPDATABLE) {
    if (fields[column] === undefined) continue;
    values.push(fields[column]);
    sets.push(`${column} = ?${values.length}`);
  }
  if (fields.disabled !== undefined)
    sets.push(
      fields.disabled
        ? `disabled_at = COALESCE(disabled_at, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))`
        : 'disabled_at = NULL',
    );
  if (sets.length > 0) {
    const r = await db
      .prepare(`UPDATE tenants SET ${sets.join(', ')} WHERE id = ?1`)
      .bind(...values)
      .run();
    if (r.meta.changes === 0) throw notFound(id);
  }
  return requireTenant(db, id);
}

/**
 * sha256 hashes of every key of the tenant (revoked ones too), to forget them from the key cache.
 *
 * @example
 * forgetApiKeys(await tenantKeyHashes(env.DB, 'acme'));
 */
export async function tenantKeyHashes(db: D1Database, tenantId: string): Promise<string[]> {
  const { results } = await db
    .prepare('SELECT key_hash FROM api_keys WHERE tenant_id = ?1')
    .bind(tenantId)
    .all<{ key_hash: string }>();
  return results.map((r) => r.key_hash);
}

/**
 * Deletes a tenant and everything that is its own (keys, grants, models with their identities,
 * pools with their members and experiments, decision-log rows, feedback, online identities), in
 * one batch: D1 runs a batch as a transaction, so either all of it goes or nothing does. Refused
 * (409 `tenant_active`) unless the tenant was disabled first, so one mistyped request cannot erase
 * a serving tenant.
 *
 * @example
 * await deleteTenant(env.DB, 'acme');
 */
export async function deleteTenant(db: D1Database, id: string): Promise<void> {
  const row = await requireTenant(db, id);
  if (row.disabled_at === null)
    throw new ApiError(409, `tenant ${JSON.stringify(id)} is active; disable it first`, {
      code: 'tenant_active',
      param: 'tenant',
    });
  const statements = [
    'DELETE FROM experiments WHERE tenant_id = ?1',
    'DELETE FROM pool_members WHERE pool_id IN (SELECT id FROM pools WHERE tenant_id = ?1)',
    'DELETE FROM pool_members WHERE model_id IN (SELECT id FROM models WHERE tenant_id = ?1)',
    'DELETE FROM pools WHERE tenant_id = ?1',
    'DELETE FROM model_identities WHERE model_id IN (SELECT id FROM models WHERE tenant_id = ?1)',
    'DELETE FROM models WHERE tenant_id = ?1',
    'DELETE FROM upstream_grants WHERE tenant_id = ?1',
    'DELETE FROM api_keys WHERE tenant_id = ?1',
    'DELETE FROM decision_log WHERE tenant_id = ?1',
    'DELETE FROM feedback WHERE tenant_id = ?1',
    // its posteriors of global models too (those of its own models go with them by cascade)
    'DELETE FROM online_identities WHERE tenant_id = ?1',
    'DELETE FROM tenants WHERE id = ?1',
  ];
  await db.batch(statements.map((sql) => db.prepare(sql).bind(id)));
}
