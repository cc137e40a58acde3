/**
 * Tenants and their API keys (D1). Key lookups are cached briefly per isolate.
 */
import { staleFromCache } from './d1-fault';
import { MAX_STALE_MS, TtlCache } from './ttl-cache';

export interface Tenant {
  id: string;
  name: string;
  /** Pool name `model: "router"` routes over; null = none configured. */
  defaultPool: string | null;
}

const KEY_CACHE_MS = 5_000;
const byKey = new TtlCache<string, Tenant | null>(1_000);

/**
 * The tenant owning an unrevoked key with this sha256 hex, or null. While D1 fails, a key read in
 * the last MAX_STALE_MS keeps its answer (so a revocation made during an outage applies once D1
 * answers again).
 *
 * @example
 * const tenant = await findTenantByKeyHash(env.DB, await sha256Hex(bearer));
 */
export async function findTenantByKeyHash(db: D1Database, keyHash: string): Promise<Tenant | null> {
  return byKey.getOrLoad(keyHash, KEY_CACHE_MS, async () => {
    const row = await db
      .prepare(`SELECT t.id, t.name, t.default_pool FROM api_keys k JOIN tenants t ON t.id = k.tenant_id
                WHERE k.key_hash = ?1 AND k.revoked_at IS NULL`)
      .bind(keyHash)
      .first<{ id: string; name: string; default_pool: string | null }>();
    return row ? { id: row.id, name: row.name, defaultPool: row.default_pool } : null;
  }, { staleOnErrorMs: MAX_STALE_MS, onStale: staleFromCache('api key lookup') });
}
