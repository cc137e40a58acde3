/**
 * API keys as the operator API manages them (D1 `api_keys`; migrations 0001, 0009, 0012). A key is
 * made here from 24 random bytes, shown once in the answer that creates it and stored only as its
 * sha256, with a public id and its first PREFIX_LENGTH characters for listings. Revoking stamps
 * `revoked_at`; the row stays for audit.
 */
import { ApiError } from '../errors';
import { sha256Hex } from './hash';

/** A key as listed: never the key, nor its hash. */
export interface ApiKeyRecord {
  id: string;
  tenant_id: string;
  /** The key's first characters (null for keys made before migration 0012). */
  prefix: string | null;
  label: string | null;
  rpm_limit: number | null;
  tpm_limit: number | null;
  created_at: string;
  revoked_at: string | null;
}

/** What every key starts with (the demo key: `sk-router-demo-`). */
export const KEY_PREFIX = 'sk-router-';
/** Characters of a key kept for listings: `sk-router-` and 6 of its 48 random hex digits. */
export const PREFIX_LENGTH = KEY_PREFIX.length + 6;

const COLUMNS = 'id, tenant_id, prefix, label, rpm_limit, tpm_limit, created_at, revoked_at';

const hex = (bytes: Uint8Array): string =>
  [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');

/**
 * A fresh key (192 random bits) and the hash and prefix stored for it.
 *
 * @example
 * const { key, hash, prefix } = await newKey(); // key 'sk-router-3fa9c1...', prefix 'sk-router-3fa9c1'
 */
export async function newKey(): Promise<{ key: string; hash: string; prefix: string }> {
  const key = `${KEY_PREFIX}${hex(crypto.getRandomValues(new Uint8Array(24)))}`;
  return { key, hash: await sha256Hex(key), prefix: key.slice(0, PREFIX_LENGTH) };
}

/**
 * Creates a key for the tenant; returns the key (to show once) and its record.
 *
 * @example
 * const { key, record } = await createApiKey(env.DB, 'acme', { label: 'ci', rpm_limit: 60, tpm_limit: null });
 */
export async function createApiKey(
  db: D1Database,
  tenantId: string,
  fields: { label: string | null; rpm_limit: number | null; tpm_limit: number | null },
): Promise<{ key: string; record: ApiKeyRecord }> {
  const made = await newKey();
  const id = `key_${hex(crypto.getRandomValues(new Uint8Array(12)))}`;
  await db
    .prepare(
      `INSERT INTO api_keys (key_hash, tenant_id, id, prefix, label, rpm_limit, tpm_limit)
       VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)`,
    )
    .bind(made.hash, tenantId, id, made.prefix, fields.label, fields.rpm_limit, fields.tpm_limit)
    .run();
  const record = await getApiKey(db, tenantId, id);
  if (!record) throw new Error('api key row vanished after insert');
  return { key: made.key, record };
}

/**
 * The tenant's key with this id, or null (another tenant's key is null too).
 *
 * @example
 * await getApiKey(env.DB, 'acme', 'key_0c1d...');
 */
export function getApiKey(
  db: D1Database,
  tenantId: string,
  id: string,
): Promise<ApiKeyRecord | null> {
  return db
    .prepare(`SELECT ${COLUMNS} FROM api_keys WHERE tenant_id = ?1 AND id = ?2`)
    .bind(tenantId, id)
    .first<ApiKeyRecord>();
}

/**
 * Every key of the tenant, oldest first (revoked ones too, marked).
 *
 * @example
 * const keys = await listApiKeys(env.DB, 'acme');
 */
export async function listApiKeys(db: D1Database, tenantId: string): Promise<ApiKeyRecord[]> {
  const { results } = await db
    .prepare(`SELECT ${COLUMNS} FROM api_keys WHERE tenant_id = ?1 ORDER BY created_at, id`)
    .bind(tenantId)
    .all<ApiKeyRecord>();
  return results;
}

/**
 * Revokes the tenant's key (idempotent: a revoked key keeps its first `revoked_at`); returns the
 * record and the hash to forget from the key cache. 404 `api_key_not_found` when the tenant has no
 * such key.
 *
 * @example
 * const { record, hash } = await revokeApiKey(env.DB, 'acme', 'key_0c1d...');
 */
export async function revokeApiKey(
  db: D1Database,
  tenantId: string,
  id: string,
): Promise<{ record: ApiKeyRecord; hash: string }> {
  const row = await db
    .prepare(
      `UPDATE api_keys SET revoked_at = COALESCE(revoked_at, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
       WHERE tenant_id = ?1 AND id = ?2 RETURNING key_hash`,
    )
    .bind(tenantId, id)
    .first<{ key_hash: string }>();
  const record = row ? await getApiKey(db, tenantId, id) : null;
  if (!row || !record)
    throw new ApiError(404, `api key ${JSON.stringify(id)} not found`, {
      code: 'api_key_not_found',
      param: 'key',
    });
  return { record, hash: row.key_hash };
}
