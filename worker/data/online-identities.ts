/**
 * Online identities (D1 `online_identities`, migration 0011): a tenant's posterior of one model's
 * identity under one bundle, learnt from that tenant's feedback; and the pending feedback an
 * update folds in. Routing reads them with the pool (pools.ts); online/apply.ts writes them.
 */

/** Where an online posterior started: the stored identity's source, or the manifest's. */
export type BaseSource = 'training' | 'quiz' | 'manual' | 'manifest';

/** One pending feedback event, with what its update needs. */
export interface PendingFeedback {
  tenantId: string;
  decisionId: string;
  modelId: string;
  /** The model's `bundle_model` (its manifest entry, for a first update without a stored identity). */
  bundleModel: string | null;
  bundleVersion: string;
  score: number;
  /** The feedback row's version: a replaced row is not marked applied by an update that read the old one. */
  updatedAt: string;
  /** The decision's `item_params` JSON (parsed by the caller). */
  itemParams: string;
}

/**
 * The oldest feedback not yet learnt from, at most `limit` rows, of pools with online learning on
 * and decisions that kept their item parameters. The model is resolved by name as a direct call
 * would (the tenant's own row first, else the global one).
 *
 * @example
 * const rows = await pendingFeedback(env.DB, 256);
 */
export async function pendingFeedback(db: D1Database, limit: number): Promise<PendingFeedback[]> {
  const { results } = await db
    .prepare(
      `SELECT f.tenant_id AS tenantId, f.decision_id AS decisionId, m.id AS modelId,
              m.bundle_model AS bundleModel, d.bundle_version AS bundleVersion, f.score AS score,
              f.updated_at AS updatedAt, d.item_params AS itemParams
       FROM feedback f
       JOIN decision_log d ON d.tenant_id = f.tenant_id AND d.id = f.decision_id
       JOIN pools p ON p.tenant_id = f.tenant_id AND p.name = f.pool
       JOIN models m ON m.id = (
         SELECT m2.id FROM models m2 WHERE m2.name = f.model
           AND (m2.tenant_id = f.tenant_id OR m2.tenant_id IS NULL)
         ORDER BY m2.tenant_id IS NULL LIMIT 1)
       WHERE f.applied_at IS NULL AND p.online_learning = 1
         AND d.item_params IS NOT NULL AND d.bundle_version IS NOT NULL
       ORDER BY f.updated_at, f.decision_id LIMIT ?1`,
    )
    .bind(limit)
    .all<PendingFeedback>();
  return results;
}

/** A stored identity to start an online posterior from (`model_identities`). */
export interface StoredIdentity {
  vector: number[];
  std: number[] | null;
  covFactor: number[][] | null;
  source: Exclude<BaseSource, 'manifest'>;
}

/** An online posterior as stored. */
export interface OnlineIdentity {
  vector: number[];
  covFactor: number[][];
  std: number[];
  nFeedback: number;
  baseSource: BaseSource;
  updatedAt: string;
}

/** JSON text parsed, or null when it does not parse. */
function parse<T>(text: string | null): T | null {
  if (text === null) return null;
  try {
    return JSON.parse(text) as T;
  } catch {
    return null;
  }
}

/**
 * The tenant's online posterior and the stored identity of one model under one bundle (either may
 * be null), in one batch.
 *
 * @example
 * const { online, stored } = await identityState(env.DB, 't1', 'mdl_3f...', 'v1');
 */
export async function identityState(
  db: D1Database,
  tenantId: string,
  modelId: string,
  bundleVersion: string,
): Promise<{ online: OnlineIdentity | null; stored: StoredIdentity | null }> {
  const [online, stored] = await db.batch([
    db
      .prepare(
        `SELECT vector, cov_factor, std, n_feedback, base_source, updated_at FROM online_identities
         WHERE tenant_id = ?1 AND model_id = ?2 AND bundle_version = ?3`,
      )
      .bind(tenantId, modelId, bundleVersion),
    db
      .prepare(
        `SELECT vector, std, cov_factor, source FROM model_identities
         WHERE model_id = ?1 AND bundle_version = ?2`,
      )
      .bind(modelId, bundleVersion),
  ]);
  type OnlineRow = {
    vector: string;
    cov_factor: string;
    std: string;
    n_feedback: number;
    base_source: BaseSource;
    updated_at: string;
  };
  type StoredRow = {
    vector: string;
    std: string | null;
    cov_factor: string | null;
    source: StoredIdentity['source'];
  };
  const o = (online?.results ?? [])[0] as OnlineRow | undefined;
  const s = (stored?.results ?? [])[0] as StoredRow | undefined;
  const oVector = o ? parse<number[]>(o.vector) : null;
  const oFactor = o ? parse<number[][]>(o.cov_factor) : null;
  const sVector = s ? parse<number[]>(s.vector) : null;
  return {
    online:
      o && oVector && oFactor
        ? {
            vector: oVector,
            covFactor: oFactor,
            std: parse<number[]>(o.std) ?? [],
            nFeedback: o.n_feedback,
            baseSource: o.base_source,
            updatedAt: o.updated_at,
          }
        : null,
    stored:
      s && sVector
        ? {
            vector: sVector,
            std: parse<number[]>(s.std),
            covFactor: parse<number[][]>(s.cov_factor),
            source: s.source,
          }
        : null,
  };
}

/** What one update writes. */
export interface OnlineWrite {
  tenantId: string;
  modelId: string;
  bundleVersion: string;
  vector: number[];
  covFactor: number[][];
  std: number[];
  nFeedback: number;
  baseSource: BaseSource;
  /** The decay lever's factor on the pool's uncertainty penalty (migration 0013); null = none. */
  penaltyScale: number | null;
  /** The posterior this update started from (null: the first one), for the optimistic check. */
  previous: { nFeedback: number; updatedAt: string } | null;
  /** The feedback rows folded in (each at the version that was read). */
  applied: readonly { decisionId: string; updatedAt: string }[];
  /** Feedback rows that cannot be learnt from (no usable item parameters or base): marked, not folded. */
  skipped: readonly { decisionId: string; updatedAt: string }[];
  /** This update's time stamp (ISO): `updated_at` of the identity, `applied_at` of its feedback. */
  at: string;
}

/**
 * Writes an updated posterior and marks its feedback applied, in one transaction. Optimistic: when
 * another update changed the posterior since it was read, nothing is written and the feedback
 * stays pending for the next run; a feedback replaced since it was read stays pending too.
 *
 * @example
 * await saveOnlineUpdate(env.DB, { tenantId, modelId, bundleVersion, ...posterior, applied, skipped: [], previous, at });
 */
export async function saveOnlineUpdate(db: D1Database, w: OnlineWrite): Promise<void> {
  const mark = (rows: OnlineWrite['applied'], guarded: boolean): D1PreparedStatement[] =>
    rows.map((r) =>
      db
        .prepare(
          `UPDATE feedback SET applied_at = ?3 WHERE tenant_id = ?1 AND decision_id = ?2
             AND applied_at IS NULL AND updated_at = ?4
             AND (?5 = 0 OR EXISTS (SELECT 1 FROM online_identities WHERE tenant_id = ?1
               AND model_id = ?6 AND bundle_version = ?7 AND updated_at = ?3 AND n_feedback = ?8))`,
        )
        .bind(
          w.tenantId,
          r.decisionId,
          w.at,
          r.updatedAt,
          guarded ? 1 : 0,
          w.modelId,
          w.bundleVersion,
          w.nFeedback,
        ),
    );
  const statements = mark(w.skipped, false);
  if (w.applied.length > 0) {
    statements.unshift(
      db
        .prepare(
          `INSERT INTO online_identities
             (tenant_id, model_id, bundle_version, vector, cov_factor, std, n_feedback, base_source, updated_at,
              penalty_scale)
           VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?12)
           ON CONFLICT (tenant_id, model_id, bundle_version) DO UPDATE SET
             vector = excluded.vector, cov_factor = excluded.cov_factor, std = excluded.std,
             n_feedback = excluded.n_feedback, updated_at = excluded.updated_at,
             penalty_scale = excluded.penalty_scale
           WHERE online_identities.n_feedback = ?10 AND online_identities.updated_at = ?11`,
        )
        .bind(
          w.tenantId,
          w.modelId,
          w.bundleVersion,
          JSON.stringify(w.vector),
          JSON.stringify(w.covFactor),
          JSON.stringify(w.std),
          w.nFeedback,
          w.baseSource,
          w.at,
          w.previous?.nFeedback ?? null,
          w.previous?.updatedAt ?? null,
          w.penaltyScale,
        ),
    );
    statements.push(...mark(w.applied, true));
  }
  if (statements.length > 0) await db.batch(statements);
}

/** An online identity as the admin API shows it. */
export interface OnlineIdentityView {
  bundle_version: string;
  vector: number[];
  std: number[];
  cov_factor: number[][];
  source: 'online';
  base_source: BaseSource;
  n_feedback: number;
  /** Factor on the pool's uncertainty penalty (the decay lever); null = none. */
  penalty_scale: number | null;
  updated_at: string;
}

/**
 * The tenant's online identities of a model (one per bundle version).
 *
 * @example
 * (await onlineIdentitiesOf(env.DB, 't1', 'mdl_3f...'))[0].n_feedback; // 200
 */
export async function onlineIdentitiesOf(
  db: D1Database,
  tenantId: string,
  modelId: string,
): Promise<OnlineIdentityView[]> {
  const { results } = await db
    .prepare(
      `SELECT bundle_version, vector, std, cov_factor, n_feedback, base_source, penalty_scale, updated_at
       FROM online_identities WHERE tenant_id = ?1 AND model_id = ?2 ORDER BY bundle_version`,
    )
    .bind(tenantId, modelId)
    .all<{
      bundle_version: string;
      vector: string;
      std: string;
      cov_factor: string;
      n_feedback: number;
      base_source: BaseSource;
      penalty_scale: number | null;
      updated_at: string;
    }>();
  return results.map((r) => ({
    bundle_version: r.bundle_version,
    vector: parse<number[]>(r.vector) ?? [],
    std: parse<number[]>(r.std) ?? [],
    cov_factor: parse<number[][]>(r.cov_factor) ?? [],
    source: 'online',
    base_source: r.base_source,
    n_feedback: r.n_feedback,
    penalty_scale: r.penalty_scale,
    updated_at: r.updated_at,
  }));
}

/**
 * Deletes the tenant's online identities of a model (under one bundle version, or all): routing
 * goes back to the quiz, training or manifest identity. Returns the bundle versions removed.
 *
 * @example
 * await deleteOnlineIdentities(env.DB, 't1', 'mdl_3f...', 'v1'); // ['v1']
 */
export async function deleteOnlineIdentities(
  db: D1Database,
  tenantId: string,
  modelId: string,
  bundleVersion: string | null,
): Promise<string[]> {
  const { results } = await db
    .prepare(
      `DELETE FROM online_identities WHERE tenant_id = ?1 AND model_id = ?2
         AND (?3 IS NULL OR bundle_version = ?3) RETURNING bundle_version`,
    )
    .bind(tenantId, modelId, bundleVersion)
    .all<{ bundle_version: string }>();
  return results.map((r) => r.bundle_version).sort();
}
