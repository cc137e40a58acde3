/**
 * Which browser origins some tenant allows (`tenants.cors_origins`, migration 0009), for answering
 * CORS preflights, which carry no key. The whole set is read at once and cached per isolate for a
 * minute, so a flood of preflights from made-up origins costs at most one D1 read a minute.
 */
import { staleFromCache } from './d1-fault';
import { MAX_STALE_MS, TtlCache } from './ttl-cache';

const ORIGINS_CACHE_MS = 60_000;
const cache = new TtlCache<'all', ReadonlySet<string>>(1);

async function readAll(db: D1Database): Promise<ReadonlySet<string>> {
  const { results } = await db
    .prepare(
      `SELECT DISTINCT o.value AS origin FROM tenants t, json_each(t.cors_origins) o
              WHERE t.cors_origins IS NOT NULL AND json_type(t.cors_origins) = 'array' AND o.type = 'text'`,
    )
    .all<{ origin: string }>();
  return new Set(results.map((r) => r.origin));
}

/**
 * Whether any tenant allows `origin` (or allows every origin with `*`).
 *
 * @example
 * if (await someTenantAllows(env.DB, 'https://app.example.com')) { ... }
 */
export async function someTenantAllows(db: D1Database, origin: string): Promise<boolean> {
  const all = await cache.getOrLoad('all', ORIGINS_CACHE_MS, () => readAll(db), {
    staleOnErrorMs: MAX_STALE_MS,
    onStale: staleFromCache('cors origins'),
  });
  return all.has(origin) || all.has('*');
}

/**
 * Forgets the cached set (after the operator changed a tenant's origins): this isolate's next
 * preflight reads D1; others follow within a minute.
 *
 * @example
 * forgetCorsOrigins();
 */
export function forgetCorsOrigins(): void {
  cache.clear();
}
