/**
 * Which tenant owns a bundle version (D1 `bundle_owners`, migration 0014; docs/security.md,
 * "Bundles"). An owned bundle is routed only by its tenant's pools and experiments; a version with
 * no row is the operator's, open to every tenant. Checked where a tenant names a bundle (pools,
 * experiment arms), so routing itself reads nothing more.
 */

/** An owned bundle as the operator API shows it. */
export interface BundleOwnerRecord {
  version: string;
  tenant_id: string;
  created_at: string;
}

/**
 * Whether `tenantId` may name `version`: it owns it, or nobody does.
 *
 * @example
 * if (!(await mayUseBundle(env.DB, 'acme', 'v-acme-1'))) throw notFound();
 */
export async function mayUseBundle(
  db: D1Database,
  tenantId: string,
  version: string,
): Promise<boolean> {
  const owner = await bundleOwner(db, version);
  return !owner || owner.tenant_id === tenantId;
}

/**
 * The owner of `version`, or null when nobody owns it.
 *
 * @example
 * await bundleOwner(env.DB, 'v-acme-1'); // { version: 'v-acme-1', tenant_id: 'acme', ... }
 */
export async function bundleOwner(
  db: D1Database,
  version: string,
): Promise<BundleOwnerRecord | null> {
  return db
    .prepare('SELECT version, tenant_id, created_at FROM bundle_owners WHERE version = ?1')
    .bind(version)
    .first<BundleOwnerRecord>();
}

/**
 * The bundles `tenantId` owns, by version.
 *
 * @example
 * await ownedBundles(env.DB, 'acme'); // [{ version: 'v-acme-1', ... }]
 */
export async function ownedBundles(db: D1Database, tenantId: string): Promise<BundleOwnerRecord[]> {
  const { results } = await db
    .prepare(
      'SELECT version, tenant_id, created_at FROM bundle_owners WHERE tenant_id = ?1 ORDER BY version',
    )
    .bind(tenantId)
    .all<BundleOwnerRecord>();
  return results;
}

/**
 * Other tenants' pools and active experiments that route with `version` (ownership must not take
 * a bundle from under them), as `tenant/pool` and `tenant/experiment` names. An experiment row
 * whose arms are not JSON (routing ignores it) names no bundle rather than failing the query.
 *
 * @example
 * await otherUsers(env.DB, 'v-acme-1', 'acme'); // ['globex/pool main']
 */
export async function otherUsers(
  db: D1Database,
  version: string,
  tenantId: string,
): Promise<string[]> {
  const { results } = await db
    .prepare(
      `SELECT tenant_id || '/pool ' || name AS who FROM pools WHERE bundle_version = ?1 AND tenant_id <> ?2
       UNION ALL
       SELECT DISTINCT e.tenant_id || '/experiment ' || e.id
         FROM experiments e, json_each(CASE WHEN json_valid(e.arms) THEN e.arms ELSE '[]' END) a
        WHERE e.active = 1 AND e.tenant_id <> ?2 AND json_extract(a.value, '$.bundle_version') = ?1
       ORDER BY 1 LIMIT 10`,
    )
    .bind(version, tenantId)
    .all<{ who: string }>();
  return results.map((r) => r.who);
}

/**
 * Makes `version` the tenant's; `created` is false when it already was.
 *
 * @example
 * await setBundleOwner(env.DB, 'v-acme-1', 'acme');
 */
export async function setBundleOwner(
  db: D1Database,
  version: string,
  tenantId: string,
): Promise<{ owner: BundleOwnerRecord; created: boolean }> {
  const { meta } = await db
    .prepare(
      'INSERT INTO bundle_owners (version, tenant_id) VALUES (?1, ?2) ON CONFLICT (version) DO NOTHING',
    )
    .bind(version, tenantId)
    .run();
  const owner = await bundleOwner(db, version);
  if (!owner) throw new Error('bundle owner row vanished after insert');
  return { owner, created: meta.changes === 1 };
}

/**
 * Gives `version` back to the operator (every tenant may use it); false when the tenant did not own it.
 *
 * @example
 * await clearBundleOwner(env.DB, 'v-acme-1', 'acme');
 */
export async function clearBundleOwner(
  db: D1Database,
  version: string,
  tenantId: string,
): Promise<boolean> {
  const { meta } = await db
    .prepare('DELETE FROM bundle_owners WHERE version = ?1 AND tenant_id = ?2')
    .bind(version, tenantId)
    .run();
  return meta.changes === 1;
}
