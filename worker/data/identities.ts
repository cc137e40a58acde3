/**
 * Stored identities of models (D1 `model_identities`): one per model and bundle version, from
 * training, a quiz (with its posterior) or set by hand. Routing reads them with the pool
 * (pools.ts); onboarding writes them.
 */

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

/** What `upsertIdentity` writes: an identity and, where it was fitted, its posterior. */
export type NewIdentity = Pick<IdentityRow, 'vector' | 'std' | 'cov_factor' | 'source' | 'n_items'>;

/**
 * Writes (or replaces) the identity of a model under a bundle version.
 *
 * @example
 * await upsertIdentity(env.DB, 'mdl_3f...', 'v1',
 *   { vector: post.mean, std: post.std, cov_factor: covFactor(post.cov), source: 'quiz',
 *     n_items: 20 });
 */
export async function upsertIdentity(
  db: D1Database,
  modelId: string,
  bundleVersion: string,
  identity: NewIdentity,
): Promise<void> {
  const json = (v: unknown): string | null => (v === null ? null : JSON.stringify(v));
  await db
    .prepare(
      `INSERT INTO model_identities
         (model_id, bundle_version, vector, std, cov_factor, source, n_items, updated_at)
       VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
       ON CONFLICT (model_id, bundle_version) DO UPDATE SET
         vector = excluded.vector, std = excluded.std, cov_factor = excluded.cov_factor,
         source = excluded.source, n_items = excluded.n_items, updated_at = excluded.updated_at`,
    )
    .bind(
      modelId,
      bundleVersion,
      JSON.stringify(identity.vector),
      json(identity.std),
      json(identity.cov_factor),
      identity.source,
      identity.n_items,
    )
    .run();
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
  const { results } = await db
    .prepare(
      `SELECT bundle_version, vector, std, cov_factor, source, n_items, updated_at
       FROM model_identities WHERE model_id = ?1 ORDER BY bundle_version`,
    )
    .bind(modelId)
    .all<{
      bundle_version: string;
      vector: string;
      std: string | null;
      cov_factor: string | null;
      source: IdentityRow['source'];
      n_items: number | null;
      updated_at: string;
    }>();
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
