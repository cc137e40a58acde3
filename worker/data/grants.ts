/**
 * Upstream grants (D1 `upstream_grants`, migration 0008): which hosts a tenant's own models may
 * call, and which worker secret each may carry there. Read per tenant and cached per isolate for
 * `POOL_CACHE_SECONDS`, like pools; admin writes clear the cache.
 */
import { TtlCache } from './ttl-cache';

/** One grant: the tenant may call `host`, sending the secret `secretName` ('' = no secret). */
export interface UpstreamGrant {
  /** Lower-case `hostname[:port]` as in a URL's `host`; matched exactly. */
  host: string;
  secretName: string;
  /** http:// allowed (else https only). */
  allowHttp: boolean;
  /** A loopback, private, link-local or internal host allowed (security/internal-host.ts). */
  allowPrivate: boolean;
}

const cache = new TtlCache<string, UpstreamGrant[]>(1_000);

async function readGrants(db: D1Database, tenantId: string): Promise<UpstreamGrant[]> {
  const { results } = await db
    .prepare(
      'SELECT host, secret_name, allow_http, allow_private FROM upstream_grants WHERE tenant_id = ?1',
    )
    .bind(tenantId)
    .all<{ host: string; secret_name: string; allow_http: number; allow_private: number }>();
  return results.map((r) => ({
    host: r.host,
    secretName: r.secret_name,
    allowHttp: r.allow_http === 1,
    allowPrivate: r.allow_private === 1,
  }));
}

/**
 * Every grant of the tenant (cached for `ttlMs` in this isolate).
 *
 * @example
 * const grants = await tenantGrants(env.DB, tenant.id, 5000);
 * grants.some((g) => g.host === 'api.openai.com' && g.secretName === 'OPENAI_API_KEY');
 */
export function tenantGrants(
  db: D1Database,
  tenantId: string,
  ttlMs: number,
): Promise<UpstreamGrant[]> {
  return cache.getOrLoad(tenantId, ttlMs, () => readGrants(db, tenantId));
}

/**
 * Drops the cached grants of one tenant (its admin writes), or of all (tests): the next check
 * reads D1. One tenant's writes never flush another's entries.
 *
 * @example
 * clearGrantCache(tenant.id);
 */
export function clearGrantCache(tenantId?: string): void {
  if (tenantId === undefined) cache.clear();
  else cache.delete(tenantId);
}
