/**
 * Callable models (D1 `models`): global rows (tenant_id NULL) plus the tenant's own, which shadow
 * global rows of the same name. A tenant's own models as the admin API manages them:
 * tenant-models.ts.
 */
import type { ProviderKind } from '../providers/types';

/** A callable model, as routing and the upstream phase use it. */
export interface ModelRow {
  id: string;
  tenantId: string | null;
  name: string;
  provider: ProviderKind;
  upstreamModel: string;
  baseUrl: string | null;
  secretName: string | null;
  inputUsdPerMtok: number;
  outputUsdPerMtok: number;
  expectedOutputTokens: number;
  bundleModel: string | null;
}

/**
 * A `models` row as D1 stores it (snake_case columns; the admin API shows it so). Routing works
 * with its `ModelRow` form.
 */
export interface ModelRecord {
  id: string;
  tenant_id: string | null;
  name: string;
  provider: ProviderKind;
  upstream_model: string;
  base_url: string | null;
  secret_name: string | null;
  input_usd_per_mtok: number;
  output_usd_per_mtok: number;
  expected_output_tokens: number;
  bundle_model: string | null;
  created_at: string;
}

/** The columns of a `ModelRecord`, for `SELECT ${MODEL_COLUMNS} FROM models m ...`. */
export const MODEL_COLUMNS = `m.id, m.tenant_id, m.name, m.provider, m.upstream_model, m.base_url, m.secret_name,
  m.input_usd_per_mtok, m.output_usd_per_mtok, m.expected_output_tokens, m.bundle_model, m.created_at`;

/**
 * Maps a D1 record (snake_case) to a ModelRow.
 *
 * @example
 * const model = toModelRow(await getModel(env.DB, tenant.id, 'mdl_3f...'));
 */
export function toModelRow(r: Omit<ModelRecord, 'created_at'>): ModelRow {
  return {
    id: r.id,
    tenantId: r.tenant_id,
    name: r.name,
    provider: r.provider,
    upstreamModel: r.upstream_model,
    baseUrl: r.base_url,
    secretName: r.secret_name,
    inputUsdPerMtok: r.input_usd_per_mtok,
    outputUsdPerMtok: r.output_usd_per_mtok,
    expectedOutputTokens: r.expected_output_tokens,
    bundleModel: r.bundle_model,
  };
}

/**
 * Every model the tenant can call by name, tenant rows winning over global ones, sorted by name.
 *
 * @example
 * const models = await listModels(env.DB, tenant.id);
 */
export async function listModels(db: D1Database, tenantId: string): Promise<ModelRow[]> {
  const { results } = await db
    .prepare(
      `SELECT ${MODEL_COLUMNS} FROM models m WHERE m.tenant_id = ?1 OR m.tenant_id IS NULL
              ORDER BY m.name, m.tenant_id IS NULL`,
    )
    .bind(tenantId)
    .all<ModelRecord>();
  const seen = new Set<string>();
  const out: ModelRow[] = [];
  for (const r of results) {
    if (seen.has(r.name)) continue;
    seen.add(r.name);
    out.push(toModelRow(r));
  }
  return out;
}

/**
 * The model the tenant means by `name` (its own row first, else the global one), or null.
 *
 * @example
 * const model = await findModel(env.DB, tenant.id, 'gpt-4o');
 */
export async function findModel(
  db: D1Database,
  tenantId: string,
  name: string,
): Promise<ModelRow | null> {
  const row = await db
    .prepare(
      `SELECT ${MODEL_COLUMNS} FROM models m WHERE m.name = ?2 AND (m.tenant_id = ?1 OR m.tenant_id IS NULL)
              ORDER BY m.tenant_id IS NULL LIMIT 1`,
    )
    .bind(tenantId, name)
    .first<ModelRecord>();
  return row ? toModelRow(row) : null;
}
