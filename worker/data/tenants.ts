/**
 * Tenants and their API keys (D1). Key lookups are cached briefly per isolate.
 */
import { staleFromCache } from './d1-fault';
import { MAX_STALE_MS, TtlCache } from './ttl-cache';

/** Requests and tokens per minute; null = no limit at this level (migration 0009). */
export interface RateLimits {
  rpm: number | null;
  tpm: number | null;
}

export interface Tenant {
  id: string;
  name: string;
  /** Pool name `model: "router"` routes over; null = none configured. */
  defaultPool: string | null;
  /** Limits shared by all of the tenant's keys. */
  limits: RateLimits;
  /** Browser origins allowed to call with the tenant's keys (`*` = any); empty = CORS off. */
  corsOrigins: string[];
  /** Disabled by the operator (migration 0012): its keys are refused, its rows kept. */
  disabled: boolean;
}

/** An unrevoked API key and the tenant it belongs to. */
export interface ApiKey {
  /** sha256 hex of the key (the key itself is never stored). */
  hash: string;
  /** This key's own limits, on top of its tenant's. */
  limits: RateLimits;
  tenant: Tenant;
}

const KEY_CACHE_MS = 5_000;
const byKey = new TtlCache<string, ApiKey | null>(1_000);

interface DbKeyRow {
  id: string;
  name: string;
  default_pool: string | null;
  tenant_rpm: number | null;
  tenant_tpm: number | null;
  cors_origins: string | null;
  disabled_at: string | null;
  key_rpm: number | null;
  key_tpm: number | null;
}

/** A positive limit, or null (the columns' CHECK keeps them positive; anything else is ignored). */
function limit(value: number | null): number | null {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : null;
}

/** The origins in `cors_origins`, or [] when unset or not a list of strings (logged). */
function parseOrigins(text: string | null, tenantId: string): string[] {
  if (text === null) return [];
  try {
    const list: unknown = JSON.parse(text);
    if (Array.isArray(list) && list.every((o) => typeof o === 'string')) return list as string[];
  } catch {
    // reported below
  }
  console.error(`tenant ${tenantId}: cors_origins is not a JSON list of strings; CORS stays off`);
  return [];
}

/**
 * The unrevoked key with this sha256 hex and its tenant, or null. While D1 fails, a key read in the
 * last MAX_STALE_MS keeps its answer (so a revocation made during an outage applies once D1 answers
 * again).
 *
 * @example
 * const key = await findApiKey(env.DB, await sha256Hex(bearer));
 * key?.tenant.id;
 */
export function findApiKey(db: D1Database, keyHash: string): Promise<ApiKey | null> {
  return byKey.getOrLoad(
    keyHash,
    KEY_CACHE_MS,
    async () => {
      const row = await db
        .prepare(
          `SELECT t.id, t.name, t.default_pool, t.rpm_limit AS tenant_rpm, t.tpm_limit AS tenant_tpm, t.cors_origins,
                t.disabled_at, k.rpm_limit AS key_rpm, k.tpm_limit AS key_tpm
                FROM api_keys k JOIN tenants t ON t.id = k.tenant_id
                WHERE k.key_hash = ?1 AND k.revoked_at IS NULL`,
        )
        .bind(keyHash)
        .first<DbKeyRow>();
      if (!row) return null;
      const tenant: Tenant = {
        id: row.id,
        name: row.name,
        defaultPool: row.default_pool,
        limits: { rpm: limit(row.tenant_rpm), tpm: limit(row.tenant_tpm) },
        corsOrigins: parseOrigins(row.cors_origins, row.id),
        disabled: row.disabled_at !== null,
      };
      return {
        hash: keyHash,
        limits: { rpm: limit(row.key_rpm), tpm: limit(row.key_tpm) },
        tenant,
      };
    },
    { staleOnErrorMs: MAX_STALE_MS, onStale: staleFromCache('api key lookup') },
  );
}

/**
 * The tenant owning an unrevoked key with this sha256 hex, or null (see `findApiKey`).
 *
 * @example
 * const tenant = await findTenantByKeyHash(env.DB, await sha256Hex(bearer));
 */
export async function findTenantByKeyHash(db: D1Database, keyHash: string): Promise<Tenant | null> {
  return (await findApiKey(db, keyHash))?.tenant ?? null;
}

/**
 * Forgets cached key lookups (after a key is revoked, or its tenant changed), so this isolate reads
 * them from D1 at the next request; other isolates follow within 5 seconds.
 *
 * @example
 * forgetApiKeys([revoked.key_hash]);
 */
export function forgetApiKeys(keyHashes: Iterable<string>): void {
  for (const hash of keyHashes) byKey.delete(hash);
}
