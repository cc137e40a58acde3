/**
 * Upstream grants as the operator API manages them (D1 `upstream_grants`, migration 0008): list,
 * add (or change the flags of) and remove one host x secret pair of a tenant. Reading them for the
 * checks, with the per-isolate cache, is data/grants.ts.
 */

/** A grant row as the API shows it. */
export interface GrantRecord {
  host: string;
  /** '' = the host without a secret. */
  secret_name: string;
  allow_http: boolean;
  allow_private: boolean;
  created_at: string;
}

interface DbGrant {
  host: string;
  secret_name: string;
  allow_http: number;
  allow_private: number;
  created_at: string;
}

const toRecord = (r: DbGrant): GrantRecord => ({
  host: r.host,
  secret_name: r.secret_name,
  allow_http: r.allow_http === 1,
  allow_private: r.allow_private === 1,
  created_at: r.created_at,
});

/**
 * The tenant's grants, by host then secret.
 *
 * @example
 * await listGrants(env.DB, 'acme'); // [{ host: 'api.openai.com', secret_name: 'OPENAI_API_KEY', ... }]
 */
export async function listGrants(db: D1Database, tenantId: string): Promise<GrantRecord[]> {
  const { results } = await db
    .prepare(
      `SELECT host, secret_name, allow_http, allow_private, created_at FROM upstream_grants
       WHERE tenant_id = ?1 ORDER BY host, secret_name`,
    )
    .bind(tenantId)
    .all<DbGrant>();
  return results.map(toRecord);
}

/**
 * Adds the grant, or sets the flags of an existing one; `created` says which.
 *
 * @example
 * await putGrant(env.DB, 'acme', { host: 'api.openai.com', secret_name: 'OPENAI_API_KEY', allow_http: false, allow_private: false });
 */
export async function putGrant(
  db: D1Database,
  tenantId: string,
  g: Omit<GrantRecord, 'created_at'>,
): Promise<{ grant: GrantRecord; created: boolean }> {
  const [before, , after] = await db.batch<DbGrant>([
    db
      .prepare(
        'SELECT host, secret_name, allow_http, allow_private, created_at FROM upstream_grants WHERE tenant_id = ?1 AND host = ?2 AND secret_name = ?3',
      )
      .bind(tenantId, g.host, g.secret_name),
    db
      .prepare(
        `INSERT INTO upstream_grants (tenant_id, host, secret_name, allow_http, allow_private) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (tenant_id, host, secret_name) DO UPDATE SET allow_http = excluded.allow_http, allow_private = excluded.allow_private`,
      )
      .bind(tenantId, g.host, g.secret_name, g.allow_http ? 1 : 0, g.allow_private ? 1 : 0),
    db
      .prepare(
        'SELECT host, secret_name, allow_http, allow_private, created_at FROM upstream_grants WHERE tenant_id = ?1 AND host = ?2 AND secret_name = ?3',
      )
      .bind(tenantId, g.host, g.secret_name),
  ]);
  const row = after?.results[0];
  if (!row) throw new Error('grant row vanished after insert');
  return { grant: toRecord(row), created: (before?.results.length ?? 0) === 0 };
}

/**
 * Removes one grant; false when the tenant had no such grant.
 *
 * @example
 * await deleteGrant(env.DB, 'acme', 'api.openai.com', 'OPENAI_API_KEY'); // true
 */
export async function deleteGrant(
  db: D1Database,
  tenantId: string,
  host: string,
  secretName: string,
): Promise<boolean> {
  const r = await db
    .prepare('DELETE FROM upstream_grants WHERE tenant_id = ?1 AND host = ?2 AND secret_name = ?3')
    .bind(tenantId, host, secretName)
    .run();
  return r.meta.changes > 0;
}
