/**
 * A tenant's experiments as the admin API manages them (D1 `experiments`, migrations 0001 and
 * 0011): create (at most one active per pool, checked in the insert itself), list, read, change
 * weights, stop. A stopped experiment keeps its row, so its report stays readable. Routing reads
 * the active one with its pool (data/pools.ts).
 */
import { ApiError } from '../errors';
import type { ExperimentArm } from './pools';

/** An experiment row with its pool's name and arms parsed. */
export interface ExperimentRecord {
  id: string;
  tenant_id: string;
  pool_id: string;
  pool: string;
  name: string;
  arms: ExperimentArm[];
  active: boolean;
  created_at: string;
  stopped_at: string | null;
}

interface DbExperiment extends Omit<ExperimentRecord, 'arms' | 'active'> {
  arms: string;
  active: number;
}

const COLUMNS = `e.id, e.tenant_id, e.pool_id, p.name AS pool, e.name, e.arms, e.active, e.created_at, e.stopped_at`;
const FROM = 'FROM experiments e JOIN pools p ON p.id = e.pool_id';

/** Arms as stored; rows written by hand that do not parse read as no arms (never a failed call). */
function parseArms(text: string): ExperimentArm[] {
  try {
    const arms: unknown = JSON.parse(text);
    return Array.isArray(arms) ? (arms as ExperimentArm[]) : [];
  } catch {
    return [];
  }
}

function toRecord(r: DbExperiment): ExperimentRecord {
  return { ...r, arms: parseArms(r.arms), active: r.active === 1 };
}

/**
 * Inserts an active experiment on the tenant's pool `poolId`, unless the pool already has an
 * active one (409 `experiment_active`): the check is part of the INSERT, so two concurrent
 * creations cannot both succeed.
 *
 * @example
 * const exp = await insertExperiment(env.DB, 'acme', 'pool-1', 'cheap vs balanced', arms);
 */
export async function insertExperiment(
  db: D1Database,
  tenantId: string,
  poolId: string,
  name: string,
  arms: readonly ExperimentArm[],
): Promise<ExperimentRecord> {
  const id = `exp_${crypto.randomUUID().replace(/-/g, '')}`;
  const { meta } = await db
    .prepare(
      `INSERT INTO experiments (id, tenant_id, pool_id, name, arms, active)
       SELECT ?1, ?2, ?3, ?4, ?5, 1
       WHERE NOT EXISTS (SELECT 1 FROM experiments WHERE pool_id = ?3 AND active = 1)`,
    )
    .bind(id, tenantId, poolId, name, JSON.stringify(arms))
    .run();
  if (meta.changes !== 1)
    throw new ApiError(409, 'this pool already has an active experiment; stop it first', {
      code: 'experiment_active',
      param: 'pool',
    });
  const row = await getExperiment(db, tenantId, id);
  if (!row) throw new Error('experiment row vanished after insert');
  return row;
}

/**
 * The tenant's experiment `id`, or null (another tenant's reads as absent).
 *
 * @example
 * const exp = await getExperiment(env.DB, 'acme', 'exp_3f...');
 */
export async function getExperiment(
  db: D1Database,
  tenantId: string,
  id: string,
): Promise<ExperimentRecord | null> {
  const row = await db
    .prepare(`SELECT ${COLUMNS} ${FROM} WHERE e.tenant_id = ?1 AND e.id = ?2`)
    .bind(tenantId, id)
    .first<DbExperiment>();
  return row ? toRecord(row) : null;
}

/**
 * The tenant's experiments, newest first, optionally of one pool (by name) or only active ones.
 *
 * @example
 * await listExperiments(env.DB, 'acme', { pool: 'main', active: true });
 */
export async function listExperiments(
  db: D1Database,
  tenantId: string,
  filter: { pool?: string | undefined; active?: boolean | undefined } = {},
): Promise<ExperimentRecord[]> {
  const { results } = await db
    .prepare(
      `SELECT ${COLUMNS} ${FROM} WHERE e.tenant_id = ?1 AND (?2 IS NULL OR p.name = ?2)
       AND (?3 IS NULL OR e.active = ?3) ORDER BY e.created_at DESC, e.id`,
    )
    .bind(tenantId, filter.pool ?? null, filter.active === undefined ? null : Number(filter.active))
    .all<DbExperiment>();
  return results.map(toRecord);
}

/** A new weight for the arm at `index` of an experiment's stored arms. */
export interface WeightChange {
  index: number;
  weight: number;
}

/**
 * Sets the weights of some arms of an active experiment in one statement (json_set on the stored
 * array, by index: arms never change but for their weights), so two concurrent changes of
 * different arms both take effect; false when it is not (any more) active.
 *
 * @example
 * await setWeights(env.DB, 'acme', 'exp_3f...', [{ index: 1, weight: 4 }]);
 */
export async function setWeights(
  db: D1Database,
  tenantId: string,
  id: string,
  changes: readonly WeightChange[],
): Promise<boolean> {
  // the weight goes in as JSON text: a bound REAL would be written with 15 digits, not all 17
  const pairs = changes.map((_, i) => `?${2 * i + 3}, json(?${2 * i + 4})`).join(', ');
  const values = changes.flatMap((ch) => [`$[${ch.index}].weight`, JSON.stringify(ch.weight)]);
  const { meta } = await db
    .prepare(
      `UPDATE experiments SET arms = json_set(arms, ${pairs})
       WHERE tenant_id = ?1 AND id = ?2 AND active = 1`,
    )
    .bind(tenantId, id, ...values)
    .run();
  return meta.changes === 1;
}

/**
 * Stops an active experiment (active = 0, stopped_at = now); a stopped one stays as it is.
 *
 * @example
 * await stopExperiment(env.DB, 'acme', 'exp_3f...');
 */
export async function stopExperiment(db: D1Database, tenantId: string, id: string): Promise<void> {
  await db
    .prepare(
      `UPDATE experiments SET active = 0, stopped_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
       WHERE tenant_id = ?1 AND id = ?2 AND active = 1`,
    )
    .bind(tenantId, id)
    .run();
}

/**
 * The id of the tenant's pool `name`, or null.
 *
 * @example
 * await poolIdOf(env.DB, 'acme', 'main'); // 'pool-1'
 */
export async function poolIdOf(
  db: D1Database,
  tenantId: string,
  name: string,
): Promise<string | null> {
  const row = await db
    .prepare('SELECT id FROM pools WHERE tenant_id = ?1 AND name = ?2')
    .bind(tenantId, name)
    .first<{ id: string }>();
  return row?.id ?? null;
}
