/**
 * Pools with their members, stored identities and active experiment, read from D1 in one batch
 * and cached per isolate for `POOL_CACHE_SECONDS`.
 */
import { z } from 'zod';
import { isUncertaintyPenalty, MAX_UNCERTAINTY_PENALTY } from '../decision/decide';
import type { ResolvedIdentity } from '../decision/identity';
import { MAX_TEMPERATURE, MIN_TEMPERATURE } from '../routing/explore';
import { PRESET_NAMES, type PresetName } from '../routing/preference';
import { MODEL_COLUMNS, toModelRow, type ModelRecord, type ModelRow } from './models';
import { staleFromCache } from './d1-fault';
import { MAX_STALE_MS, TtlCache } from './ttl-cache';

export type EmbeddingProvider = 'local' | 'workers-ai' | 'precomputed';

/**
 * One arm of an experiment as stored (`experiments.arms`): what its share of the traffic is routed
 * with. `model` serves that one model unrouted (a control); otherwise the arm routes with its pool,
 * bundle version and preference, each defaulting to the experiment pool's own.
 */
const armSchema = z.object({
  name: z.string().min(1),
  weight: z.number().nonnegative(),
  bundle_version: z.string().min(1).optional(),
  pool: z.string().min(1).optional(),
  preference: z.union([z.number().min(0).max(1), z.enum(PRESET_NAMES)]).optional(),
  model: z.string().min(1).optional(),
  control: z.boolean().optional(),
});
export type ExperimentArm = z.infer<typeof armSchema>;

export interface Experiment {
  id: string;
  name: string;
  arms: ExperimentArm[];
  /** The models that `model` arms name, by name, as this tenant calls them (its own row first). */
  armModels: Map<string, ModelRow>;
}

export interface Pool {
  id: string;
  tenantId: string;
  name: string;
  bundleVersion: string;
  embeddingProvider: EmbeddingProvider | null;
  defaultPreference: number;
  /** A preset to route with when the request names none; wins over `defaultPreference`. */
  defaultPreset: PresetName | null;
  /** Stds below its mean an uncertain (quiz) identity is routed at; null = the router's default. */
  uncertaintyPenalty: number | null;
  members: ModelRow[];
  /**
   * The model to call unrouted when no bundle can route this pool (`pools.fallback_model`, a model
   * the tenant can call by name: its own, else a global one); null = none, or a name that resolves
   * to no such model (logged).
   */
  fallbackModel: ModelRow | null;
  /**
   * Stored identities: model id -> bundle version -> identity. With online learning on, the
   * tenant's online posterior (`online_identities`) stands in for the quiz, training or manifest one.
   */
  identities: Map<string, Map<string, ResolvedIdentity>>;
  /** `pools.online_learning`: feedback on this pool's answers updates identities, and it routes with them. */
  onlineLearning: boolean;
  /** `pools.exploration_temperature`: serve a draw from the tempered policy; null = the top choice. */
  explorationTemperature: number | null;
  experiment: Experiment | null;
  /**
   * Whether the tenant opted in to keeping this pool's prompt text in its decision rows
   * (`keep_prompts`, migration 0011; for `npm run export-logs`); off unless set.
   */
  keepPrompts: boolean;
}

const cache = new TtlCache<string, Pool | null>(500);
/** The cache key of a tenant's pool (NUL cannot occur in a tenant id). */
const poolKey = (tenantId: string, name: string): string => `${tenantId}\u0000${name}`;

interface DbPool {
  id: string;
  tenant_id: string;
  name: string;
  bundle_version: string;
  embedding_provider: EmbeddingProvider | null;
  default_preference: number;
  default_preset: PresetName | null;
  uncertainty_penalty: number | null;
  fallback_model: string | null;
  keep_prompts: number;
  online_learning: number;
  exploration_temperature: number | null;
}

/** JSON text from D1, or undefined when it does not parse (a bad row must not fail requests). */
function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function parseVector(text: string): number[] | null {
  const v = parseJson(text);
  return Array.isArray(v) && v.every((x) => typeof x === 'number') ? (v as number[]) : null;
}

const covFactorSchema = z.array(z.array(z.number()));

/**
 * A stored covariance factor, or undefined when there is none or it is not a list of number lists
 * (logged: the model is then routed at its mean, never failed). Whether it fits a bundle (size,
 * entry bound) is checked per bundle in decision/identity.ts (`isCovFactor`, logged once per load).
 */
function parseCovFactor(text: string | null, modelId: string): number[][] | undefined {
  if (text === null) return undefined;
  const r = covFactorSchema.safeParse(parseJson(text));
  if (!r.success)
    console.error(
      `model_identities ${modelId}: cov_factor is not a list of number lists; routed at its mean`,
    );
  return r.success ? r.data : undefined;
}

/**
 * The pool's uncertainty penalty, or null (the router's default) when unset or unusable. The
 * column's CHECK keeps it in [0, MAX_UNCERTAINTY_PENALTY]; should a row get past it anyway, the
 * pool routes with the default instead of failing every request (logged).
 */
function parsePenalty(value: unknown, poolId: string): number | null {
  if (value === null || value === undefined) return null;
  if (isUncertaintyPenalty(value)) return value;
  console.error(
    `pool ${poolId}: uncertainty_penalty ${String(value)} is not a number in [0, ${MAX_UNCERTAINTY_PENALTY}]; default used`,
  );
  return null;
}

/** The models that `model` arms name, resolved as a direct request would (the tenant's row first). */
async function readArmModels(
  db: D1Database,
  tenantId: string,
  arms: readonly ExperimentArm[],
): Promise<Map<string, ModelRow>> {
  const names = [...new Set(arms.flatMap((a) => (a.model ? [a.model] : [])))];
  const found = new Map<string, ModelRow>();
  if (names.length === 0) return found;
  const { results } = await db
    .prepare(
      `SELECT ${MODEL_COLUMNS} FROM models m, json_each(?2) n
       WHERE m.name = n.value AND (m.tenant_id = ?1 OR m.tenant_id IS NULL)
       ORDER BY m.tenant_id IS NULL`,
    )
    .bind(tenantId, JSON.stringify(names))
    .all<ModelRecord>();
  for (const r of results) if (!found.has(r.name)) found.set(r.name, toModelRow(r));
  return found;
}

/** The pool's active experiment, or null when its arms do not parse (logged, never a failed request). */
async function readExperiment(
  db: D1Database,
  tenantId: string,
  row: { id: string; name: string; arms: string },
): Promise<Experiment | null> {
  const arms = z.array(armSchema).min(1).safeParse(parseJson(row.arms));
  if (!arms.success || !arms.data.some((a) => a.weight > 0)) {
    console.error(`experiment ${row.id}: invalid arms, ignored`);
    return null;
  }
  const armModels = await readArmModels(db, tenantId, arms.data);
  return { id: row.id, name: row.name, arms: arms.data, armModels };
}

/**
 * A covariance factor scaled by the decay lever's factor: routing `kappa` stds below the mean with
 * `s * factor` is routing `s * kappa` stds below it (decide.ts), so the pool's penalty decays as
 * the online posterior narrows (online/decay.ts). A factor outside [0, 1] is ignored.
 */
function scaled(factor: number[][] | undefined, s: number | null): number[][] | undefined {
  if (!factor || s === null || !(s >= 0 && s <= 1)) return factor;
  return factor.map((v) => v.map((x) => x * s));
}

/**
 * The pool's exploration temperature, or null (off) when unset or unusable (logged; the column's
 * CHECK keeps it in [MIN_TEMPERATURE, MAX_TEMPERATURE]).
 */
function parseTemperature(value: unknown, poolId: string): number | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'number' && value >= MIN_TEMPERATURE && value <= MAX_TEMPERATURE)
    return value;
  console.error(
    `pool ${poolId}: exploration_temperature ${String(value)} is not in [${MIN_TEMPERATURE}, ${MAX_TEMPERATURE}]; not exploring`,
  );
  return null;
}

async function readPool(db: D1Database, tenantId: string, name: string): Promise<Pool | null> {
  const pool = await db
    .prepare(
      `SELECT id, tenant_id, name, bundle_version, embedding_provider, default_preference, default_preset,
              uncertainty_penalty, fallback_model, keep_prompts, online_learning, exploration_temperature
       FROM pools WHERE tenant_id = ?1 AND name = ?2`,
    )
    .bind(tenantId, name)
    .first<DbPool>();
  if (!pool) return null;
  const [members, identities, experiment, fallback, online] = await db.batch([
    db
      .prepare(
        `SELECT ${MODEL_COLUMNS} FROM pool_members pm JOIN models m ON m.id = pm.model_id
                WHERE pm.pool_id = ?1 ORDER BY m.name`,
      )
      .bind(pool.id),
    db
      .prepare(
        `SELECT mi.model_id, mi.bundle_version, mi.vector, mi.cov_factor, mi.source FROM model_identities mi
                JOIN pool_members pm ON pm.model_id = mi.model_id WHERE pm.pool_id = ?1`,
      )
      .bind(pool.id),
    db
      .prepare(
        `SELECT id, name, arms FROM experiments WHERE pool_id = ?1 AND active = 1
                ORDER BY created_at DESC LIMIT 1`,
      )
      .bind(pool.id),
    // The tenant's own model of that name wins over a global one, as for a direct request.
    db
      .prepare(
        `SELECT ${MODEL_COLUMNS} FROM models m WHERE m.name = ?2 AND (m.tenant_id = ?1 OR m.tenant_id IS NULL)
                ORDER BY m.tenant_id IS NULL LIMIT 1`,
      )
      .bind(pool.tenant_id, pool.fallback_model ?? ''),
    // This tenant's online posteriors only: another tenant's feedback never reaches this pool (and
    // none at all when the pool has online learning off: tenant_id = NULL matches no row).
    db
      .prepare(
        `SELECT oi.model_id, oi.bundle_version, oi.vector, oi.cov_factor, oi.base_source, oi.penalty_scale FROM online_identities oi
                JOIN pool_members pm ON pm.model_id = oi.model_id WHERE pm.pool_id = ?1 AND oi.tenant_id = ?2`,
      )
      .bind(pool.id, pool.online_learning ? pool.tenant_id : null),
  ]);
  const idMap = new Map<string, Map<string, ResolvedIdentity>>();
  type OnlineDbRow = {
    model_id: string;
    bundle_version: string;
    vector: string;
    cov_factor: string;
    base_source: string;
    penalty_scale: number | null;
  };
  type IdentityDbRow = {
    model_id: string;
    bundle_version: string;
    vector: string;
    cov_factor: string | null;
    source: ResolvedIdentity['source'];
  };
  for (const r of (identities?.results ?? []) as IdentityDbRow[]) {
    const vector = parseVector(r.vector);
    if (!vector) continue;
    const perBundle = idMap.get(r.model_id) ?? new Map<string, ResolvedIdentity>();
    const covFactor = parseCovFactor(r.cov_factor, r.model_id);
    perBundle.set(r.bundle_version, {
      vector,
      source: r.source,
      ...(covFactor ? { covFactor } : {}),
    });
    idMap.set(r.model_id, perBundle);
  }
  for (const r of (online?.results ?? []) as OnlineDbRow[]) {
    const vector = parseVector(r.vector);
    if (!vector) continue;
    const perBundle = idMap.get(r.model_id) ?? new Map<string, ResolvedIdentity>();
    // A quiz identity stays uncertain while it learns; a trained, manual or manifest one is routed
    // at its mean, as it was before its first update.
    const covFactor =
      r.base_source === 'quiz'
        ? scaled(parseCovFactor(r.cov_factor, r.model_id), r.penalty_scale)
        : undefined;
    perBundle.set(r.bundle_version, {
      vector,
      source: 'online',
      ...(covFactor ? { covFactor } : {}),
    });
    idMap.set(r.model_id, perBundle);
  }
  const expRow = (experiment?.results ?? [])[0] as
    { id: string; name: string; arms: string } | undefined;
  const exp = expRow ? await readExperiment(db, pool.tenant_id, expRow) : null;
  const fallbackRow = ((fallback?.results ?? []) as ModelRecord[])[0];
  if (pool.fallback_model !== null && !fallbackRow) {
    console.error(
      `pool ${pool.id}: fallback_model names no model this tenant can call; no fallback`,
    );
  }
  return {
    id: pool.id,
    tenantId: pool.tenant_id,
    name: pool.name,
    bundleVersion: pool.bundle_version,
    embeddingProvider: pool.embedding_provider,
    defaultPreference: pool.default_preference,
    defaultPreset: pool.default_preset,
    uncertaintyPenalty: parsePenalty(pool.uncertainty_penalty, pool.id),
    members: ((members?.results ?? []) as ModelRecord[]).map(toModelRow),
    identities: idMap,
    experiment: exp,
    fallbackModel: pool.fallback_model !== null && fallbackRow ? toModelRow(fallbackRow) : null,
    keepPrompts: pool.keep_prompts === 1,
    onlineLearning: pool.online_learning !== 0,
    explorationTemperature: parseTemperature(pool.exploration_temperature, pool.id),
  };
}

/**
 * The tenant's pool `name` with members, identities and active experiment, or null. While D1
 * fails, a pool read in the last MAX_STALE_MS keeps routing as it was.
 *
 * @example
 * const pool = await getPool(env.DB, tenant.id, 'default', 5000);
 */
export function getPool(
  db: D1Database,
  tenantId: string,
  name: string,
  ttlMs: number,
): Promise<Pool | null> {
  return cache.getOrLoad(poolKey(tenantId, name), ttlMs, () => readPool(db, tenantId, name), {
    staleOnErrorMs: MAX_STALE_MS,
    onStale: staleFromCache('pool'),
  });
}

/**
 * Names of the tenant's pools (for `/v1/models`).
 *
 * @example
 * await listPoolNames(env.DB, tenant.id); // ['default', 'code']
 */
export async function listPoolNames(db: D1Database, tenantId: string): Promise<string[]> {
  const { results } = await db
    .prepare('SELECT name FROM pools WHERE tenant_id = ?1 ORDER BY name')
    .bind(tenantId)
    .all<{ name: string }>();
  return results.map((r) => r.name);
}

/**
 * Expires one tenant's cached pools (after that tenant's writes), or every tenant's (tests); see
 * TtlCache.clear. One tenant's writes never expire another's entries.
 *
 * @example
 * clearPoolCache(tenant.id); // the tenant's next request reads its pool from D1
 */
export function clearPoolCache(tenantId?: string): void {
  if (tenantId === undefined) cache.clear();
  else cache.expireWhere((key) => key.startsWith(`${tenantId}\u0000`));
}
