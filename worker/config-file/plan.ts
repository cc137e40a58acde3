/**
 * The diff between what the database holds and what a (checked) config file declares: one change
 * per object to create, update or delete, each with the fields that differ, and the SQL statements
 * that make the database say what the file says. Applying the statements in one batch (one D1
 * transaction) and planning again gives no changes: that is what makes `apply` idempotent.
 *
 * Statement order respects the foreign keys: tenants, grants, models, pools, pool members and
 * experiments are written before anything is deleted (experiments, pools, then models).
 */
import { parseBaseUrl } from '../security/base-url';
import type {
  Config,
  ExperimentConfig,
  GrantConfig,
  ModelConfig,
  PoolConfig,
  TenantConfig,
} from './schema';
import type { ExperimentRow, GrantRow, ModelRow, PoolRow, State, TenantRow } from './state';
import { modelIdFor, type NewId, type TenantWorld, type World } from './world';

export type SqlValue = string | number | null;

/** One parametrised statement (`?1`, `?2`, ... bound to `params`). */
export interface Statement {
  sql: string;
  params: SqlValue[];
}

export type Kind = 'tenant' | 'grant' | 'model' | 'pool' | 'experiment';

/** A field whose value changes (`before` undefined: the object is new). */
export interface FieldDiff {
  field: string;
  before?: unknown;
  after: unknown;
}

export interface Change {
  action: 'create' | 'update' | 'delete';
  kind: Kind;
  /** `acme`, `acme/gpt-4o`, `(global)/gpt-4o`, `acme/main/new-bundle`, `acme: api.openai.com with OPENAI_API_KEY`. */
  name: string;
  diffs: FieldDiff[];
}

export interface Plan {
  changes: Change[];
  statements: Statement[];
  /** Things the file does that it may not mean (they do not stop the plan). */
  warnings: string[];
}

const NOW = `strftime('%Y-%m-%dT%H:%M:%fZ', 'now')`;

/** JSON with object keys sorted, to compare stored JSON with the file's whatever their key order. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object')
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  return JSON.stringify(value) ?? 'null';
}

/** Stored JSON text in canonical form (unparseable text kept as is: it will differ and be rewritten). */
function storedJson(text: string | null): string | null {
  if (text === null) return null;
  try {
    return canonicalJson(JSON.parse(text));
  } catch {
    return text;
  }
}

/** The fields of `after` that differ from `before` (every field when there is no `before`). */
function diff(
  before: Record<string, unknown> | undefined,
  after: Record<string, unknown>,
): FieldDiff[] {
  return Object.keys(after)
    .filter((k) => !before || canonicalJson(before[k]) !== canonicalJson(after[k]))
    .map((k) =>
      before ? { field: k, before: before[k], after: after[k] } : { field: k, after: after[k] },
    );
}

/** Collects changes and statements in the phases the foreign keys need. */
class Builder {
  readonly changes: Change[] = [];
  readonly warnings: string[] = [];
  private readonly phases: Statement[][] = Array.from({ length: 8 }, () => []);

  add(change: Change, phase: number, ...statements: Statement[]): void {
    this.changes.push(change);
    this.phases[phase]!.push(...statements);
  }

  also(phase: number, ...statements: Statement[]): void {
    this.phases[phase]!.push(...statements);
  }

  plan(): Plan {
    return { changes: this.changes, statements: this.phases.flat(), warnings: this.warnings };
  }
}

// Phases: 0 tenants, 1 grant deletes, 2 grants, 3 models, 4 pools, 5 members, 6 experiments, 7 deletes.
const st = (sql: string, ...params: SqlValue[]): Statement => ({ sql, params });

function tenantValues(c: TenantConfig): Record<string, unknown> {
  return {
    name: c.name,
    default_pool: c.default_pool,
    rpm_limit: c.rpm_limit,
    tpm_limit: c.tpm_limit,
    cors_origins: c.cors_origins,
    disabled: c.disabled,
  };
}

function tenantCurrent(r: TenantRow): Record<string, unknown> {
  const origins = storedJson(r.cors_origins);
  return {
    name: r.name,
    default_pool: r.default_pool,
    rpm_limit: r.rpm_limit,
    tpm_limit: r.tpm_limit,
    cors_origins: origins === null ? null : JSON.parse(origins),
    disabled: r.disabled_at !== null,
  };
}

function planTenant(b: Builder, t: TenantWorld): void {
  const c = t.config;
  const after = tenantValues(c);
  const diffs = diff(t.current && tenantCurrent(t.current), after);
  if (diffs.length === 0) return;
  const params: SqlValue[] = [
    c.id,
    c.name,
    c.default_pool,
    c.rpm_limit,
    c.tpm_limit,
    c.cors_origins === null ? null : JSON.stringify(c.cors_origins),
    c.disabled ? 1 : 0,
  ];
  const statement = t.current
    ? st(
        `UPDATE tenants SET name = ?2, default_pool = ?3, rpm_limit = ?4, tpm_limit = ?5, cors_origins = ?6,
           disabled_at = CASE WHEN ?7 THEN COALESCE(disabled_at, ${NOW}) END WHERE id = ?1`,
        ...params,
      )
    : st(
        `INSERT INTO tenants (id, name, default_pool, rpm_limit, tpm_limit, cors_origins, disabled_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, CASE WHEN ?7 THEN ${NOW} END)`,
        ...params,
      );
  b.add(
    { action: t.current ? 'update' : 'create', kind: 'tenant', name: c.id, diffs },
    0,
    statement,
  );
}

const grantName = (tenant: string, host: string, secret: string): string =>
  `${tenant}: ${host} ${secret ? `with ${secret}` : 'without a secret'}`;

function planGrants(b: Builder, t: TenantWorld, state: State): void {
  const listed = t.config.grants;
  if (!listed) return;
  const tenant = t.config.id;
  const key = (host: string, secret: string): string => `${host}\u0000${secret}`;
  const current = new Map<string, GrantRow>(
    state.grants.filter((g) => g.tenant_id === tenant).map((g) => [key(g.host, g.secret_name), g]),
  );
  const wanted = new Map<string, GrantConfig>(listed.map((g) => [key(g.host, g.secret_name), g]));
  for (const [k, g] of current) {
    if (wanted.has(k)) continue;
    b.add(
      {
        action: 'delete',
        kind: 'grant',
        name: grantName(tenant, g.host, g.secret_name),
        diffs: [],
      },
      1,
      st(
        'DELETE FROM upstream_grants WHERE tenant_id = ?1 AND host = ?2 AND secret_name = ?3',
        tenant,
        g.host,
        g.secret_name,
      ),
    );
  }
  for (const [k, g] of wanted) {
    const row = current.get(k);
    const after = { allow_http: g.allow_http, allow_private: g.allow_private };
    const diffs = diff(
      row && { allow_http: row.allow_http === 1, allow_private: row.allow_private === 1 },
      after,
    );
    if (diffs.length === 0) continue;
    b.add(
      {
        action: row ? 'update' : 'create',
        kind: 'grant',
        name: grantName(tenant, g.host, g.secret_name),
        diffs,
      },
      2,
      st(
        `INSERT INTO upstream_grants (tenant_id, host, secret_name, allow_http, allow_private) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (tenant_id, host, secret_name) DO UPDATE SET allow_http = excluded.allow_http, allow_private = excluded.allow_private`,
        tenant,
        g.host,
        g.secret_name,
        g.allow_http ? 1 : 0,
        g.allow_private ? 1 : 0,
      ),
    );
  }
}

/** The row a model config becomes; a tenant row's base URL in the canonical form the admin API stores. */
function modelValues(
  c: ModelConfig,
  tenantId: string | null,
): Omit<ModelRow, 'id' | 'tenant_id' | 'name'> {
  const parsed = tenantId !== null && c.base_url !== null ? parseBaseUrl(c.base_url) : null;
  return {
    provider: c.provider,
    upstream_model: c.upstream_model,
    base_url: parsed?.ok ? parsed.url.href : c.base_url,
    secret_name: c.secret_name,
    input_usd_per_mtok: c.input_usd_per_mtok,
    output_usd_per_mtok: c.output_usd_per_mtok,
    expected_output_tokens: c.expected_output_tokens,
    bundle_model: c.bundle_model,
  };
}

function modelCurrent(r: ModelRow): Record<string, unknown> {
  const { id: _id, tenant_id: _t, name: _n, ...fields } = r;
  return fields;
}

function planModels(
  b: Builder,
  scope: string,
  tenantId: string | null,
  listed: readonly ModelConfig[] | undefined,
  slots: TenantWorld['models'],
  current: readonly ModelRow[],
  state: State,
): void {
  if (!listed) return;
  for (const slot of slots.values()) {
    const c = slot.config!;
    const after = modelValues(c, tenantId);
    const diffs = diff(slot.current && modelCurrent(slot.current), after);
    if (diffs.length === 0) continue;
    const params: SqlValue[] = [
      slot.id,
      tenantId,
      c.name,
      after.provider,
      after.upstream_model,
      after.base_url,
      after.secret_name,
      after.input_usd_per_mtok,
      after.output_usd_per_mtok,
      after.expected_output_tokens,
      after.bundle_model,
    ];
    const statement = slot.current
      ? st(
          `UPDATE models SET provider = ?4, upstream_model = ?5, base_url = ?6, secret_name = ?7, input_usd_per_mtok = ?8,
             output_usd_per_mtok = ?9, expected_output_tokens = ?10, bundle_model = ?11 WHERE id = ?1 AND name = ?3`,
          ...params,
        )
      : st(
          `INSERT INTO models (id, tenant_id, name, provider, upstream_model, base_url, secret_name, input_usd_per_mtok,
             output_usd_per_mtok, expected_output_tokens, bundle_model) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)`,
          ...params,
        );
    b.add(
      {
        action: slot.current ? 'update' : 'create',
        kind: 'model',
        name: `${scope}/${c.name}`,
        diffs,
      },
      3,
      statement,
    );
  }
  for (const row of current) {
    if (slots.has(row.name)) continue;
    b.add(
      { action: 'delete', kind: 'model', name: `${scope}/${row.name}`, diffs: [] },
      7,
      st('DELETE FROM pool_members WHERE model_id = ?1', row.id),
      st('DELETE FROM model_identities WHERE model_id = ?1', row.id),
      st('DELETE FROM online_identities WHERE model_id = ?1', row.id),
      st('DELETE FROM models WHERE id = ?1', row.id),
    );
    if (tenantId === null) {
      const users = state.pools.filter(
        (p) =>
          p.fallback_model === row.name ||
          state.members.some((m) => m.pool_id === p.id && m.model_id === row.id),
      );
      if (users.length > 0)
        b.warnings.push(
          `global model ${row.name} is deleted; pools that use it: ${users.map((p) => `${p.tenant_id}/${p.name}`).join(', ')}`,
        );
    }
  }
}

function poolCurrent(r: PoolRow, memberNames: string[]): Record<string, unknown> {
  return {
    bundle_version: r.bundle_version,
    embedding_provider: r.embedding_provider,
    default_preference: r.default_preset ?? r.default_preference,
    uncertainty_penalty: r.uncertainty_penalty,
    fallback_model: r.fallback_model,
    online_learning: r.online_learning === 1,
    exploration_temperature: r.exploration_temperature,
    keep_prompts: r.keep_prompts === 1,
    members: memberNames,
  };
}

function planPools(b: Builder, world: World, t: TenantWorld, state: State): void {
  if (!t.config.pools) return;
  const tenant = t.config.id;
  const nameOfModel = new Map(state.models.map((m) => [m.id, m.name]));
  for (const slot of t.pools.values()) {
    const c = slot.config as PoolConfig;
    const wantIds = [...new Set(c.members.map((m) => modelIdFor(world, t, m)!))];
    const haveIds = slot.current
      ? state.members.filter((m) => m.pool_id === slot.current!.id).map((m) => m.model_id)
      : [];
    const after = {
      bundle_version: c.bundle_version,
      embedding_provider: c.embedding_provider,
      default_preference: c.default_preference,
      uncertainty_penalty: c.uncertainty_penalty,
      fallback_model: c.fallback_model,
      online_learning: c.online_learning,
      exploration_temperature: c.exploration_temperature,
      keep_prompts: c.keep_prompts,
      members: [...new Set(c.members)].sort(),
    };
    const before =
      slot.current &&
      poolCurrent(slot.current, haveIds.map((id) => nameOfModel.get(id) ?? id).sort());
    const sameMembers =
      wantIds.length === haveIds.length && wantIds.every((id) => haveIds.includes(id));
    const diffs = diff(before, after).filter((d) => d.field !== 'members' || !sameMembers);
    if (diffs.length === 0) continue;
    const pref = typeof c.default_preference === 'number' ? c.default_preference : null;
    const preset = typeof c.default_preference === 'string' ? c.default_preference : null;
    const params: SqlValue[] = [
      slot.id,
      tenant,
      c.name,
      c.bundle_version,
      c.embedding_provider,
      pref,
      preset,
      c.uncertainty_penalty,
      c.fallback_model,
      c.online_learning ? 1 : 0,
      c.exploration_temperature,
      c.keep_prompts ? 1 : 0,
    ];
    const statement = slot.current
      ? st(
          `UPDATE pools SET bundle_version = ?4, embedding_provider = ?5, default_preference = COALESCE(?6, default_preference),
             default_preset = ?7, uncertainty_penalty = ?8, fallback_model = ?9, online_learning = ?10,
             exploration_temperature = ?11, keep_prompts = ?12 WHERE id = ?1 AND tenant_id = ?2`,
          ...params,
        )
      : st(
          `INSERT INTO pools (id, tenant_id, name, bundle_version, embedding_provider, default_preference, default_preset,
             uncertainty_penalty, fallback_model, online_learning, exploration_temperature, keep_prompts)
           VALUES (?1, ?2, ?3, ?4, ?5, COALESCE(?6, 0.5), ?7, ?8, ?9, ?10, ?11, ?12)`,
          ...params,
        );
    b.add(
      {
        action: slot.current ? 'update' : 'create',
        kind: 'pool',
        name: `${tenant}/${c.name}`,
        diffs,
      },
      4,
      statement,
    );
    if (sameMembers) continue;
    for (const id of haveIds.filter((id) => !wantIds.includes(id)))
      b.also(5, st('DELETE FROM pool_members WHERE pool_id = ?1 AND model_id = ?2', slot.id, id));
    for (const id of wantIds.filter((id) => !haveIds.includes(id)))
      b.also(
        5,
        st('INSERT OR IGNORE INTO pool_members (pool_id, model_id) VALUES (?1, ?2)', slot.id, id),
      );
  }
  for (const row of state.pools.filter((p) => p.tenant_id === tenant)) {
    if (t.pools.has(row.name)) continue;
    b.add(
      { action: 'delete', kind: 'pool', name: `${tenant}/${row.name}`, diffs: [] },
      7,
      st('DELETE FROM pool_members WHERE pool_id = ?1', row.id),
      st('DELETE FROM experiments WHERE pool_id = ?1', row.id),
      st('DELETE FROM pools WHERE id = ?1', row.id),
    );
  }
}

function experimentValues(e: ExperimentConfig): Record<string, unknown> {
  return { active: e.active, arms: JSON.parse(canonicalJson(e.arms)) };
}

function planExperiments(b: Builder, t: TenantWorld, state: State, newId: NewId): void {
  const listed = t.config.experiments;
  if (!listed) return;
  const tenant = t.config.id;
  const poolName = new Map(state.pools.map((p) => [p.id, p.name]));
  const key = (pool: string, name: string): string => `${pool}\u0000${name}`;
  const current = new Map<string, ExperimentRow[]>();
  for (const e of state.experiments.filter((e) => e.tenant_id === tenant)) {
    const k = key(poolName.get(e.pool_id) ?? e.pool_id, e.name);
    current.set(k, [...(current.get(k) ?? []), e]);
  }
  const wanted = new Map(listed.map((e) => [key(e.pool, e.name), e]));
  const drop = (e: ExperimentRow, label: string): void =>
    b.add(
      { action: 'delete', kind: 'experiment', name: label, diffs: [] },
      6,
      st('DELETE FROM experiments WHERE id = ?1', e.id),
    );
  for (const [k, rows] of current) {
    const label = `${tenant}/${k.replace('\u0000', '/')}`;
    // rows of the same pool and name beyond the first, and those the file does not list, go
    rows.slice(wanted.has(k) ? 1 : 0).forEach((e) => drop(e, label));
  }
  for (const [k, e] of wanted) {
    const row = current.get(k)?.[0];
    const poolId = t.pools.get(e.pool)!.id;
    const after = experimentValues(e);
    const before = row && {
      active: row.active === 1,
      arms: JSON.parse(storedJson(row.arms) ?? 'null'),
    };
    const diffs = diff(before, after);
    if (diffs.length === 0) continue;
    const arms = canonicalJson(e.arms);
    // a stopped experiment says since when (migration 0011); starting it again clears that
    const statement = row
      ? st(
          `UPDATE experiments SET arms = ?2, active = ?3,
             stopped_at = CASE WHEN ?3 THEN NULL ELSE COALESCE(stopped_at, ${NOW}) END WHERE id = ?1`,
          row.id,
          arms,
          e.active ? 1 : 0,
        )
      : st(
          `INSERT INTO experiments (id, tenant_id, pool_id, name, arms, active, stopped_at)
           VALUES (?1, ?2, ?3, ?4, ?5, ?6, CASE WHEN ?6 THEN NULL ELSE ${NOW} END)`,
          newId('exp'),
          tenant,
          poolId,
          e.name,
          arms,
          e.active ? 1 : 0,
        );
    b.add(
      {
        action: row ? 'update' : 'create',
        kind: 'experiment',
        name: `${tenant}/${e.pool}/${e.name}`,
        diffs,
      },
      6,
      statement,
    );
  }
}

/**
 * The plan that turns `state` into what a checked `config` declares (`world`: worldAfter of both).
 *
 * @example
 * const world = worldAfter(config, state, randomId);
 * if (checkConfig(loaded, state, world).length === 0) planChanges(config, world, state, randomId);
 */
export function planChanges(config: Config, world: World, state: State, newId: NewId): Plan {
  const b = new Builder();
  planModels(
    b,
    '(global)',
    null,
    config.models,
    world.globals,
    state.models.filter((m) => m.tenant_id === null),
    state,
  );
  for (const t of world.tenants.values()) {
    planTenant(b, t);
    planGrants(b, t, state);
    planModels(
      b,
      t.config.id,
      t.config.id,
      t.config.models,
      t.models,
      state.models.filter((m) => m.tenant_id === t.config.id),
      state,
    );
    planPools(b, world, t, state);
    planExperiments(b, t, state, newId);
  }
  return b.plan();
}
