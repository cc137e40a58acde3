/**
 * The configuration as it will be once a file is applied: for the global models and each tenant the
 * file names, every model and pool that will exist (the file's list where it writes one, else what
 * the database has), with the id each has or will get, and the tenant's grants. Checks (checks.ts)
 * resolve names against it and the plan (plan.ts) diffs it against the database.
 */
import type { UpstreamGrant } from '../data/grants';
import type { Config, ModelConfig, PoolConfig, TenantConfig } from './schema';
import type { ModelRow, PoolRow, State, TenantRow } from './state';

/** One object that will exist: its id, what the file says (if it lists it) and what D1 has. */
export interface Slot<C, R> {
  id: string;
  /** Index in the file's list (for error paths), when the file lists it. */
  index?: number;
  config?: C;
  current?: R;
}

export interface TenantWorld {
  index: number;
  config: TenantConfig;
  current?: TenantRow;
  models: Map<string, Slot<ModelConfig, ModelRow>>;
  pools: Map<string, Slot<PoolConfig, PoolRow>>;
  grants: UpstreamGrant[];
}

export interface World {
  globals: Map<string, Slot<ModelConfig, ModelRow>>;
  tenants: Map<string, TenantWorld>;
}

/** Fresh ids for new rows, as the admin API makes them. */
export type NewId = (prefix: 'mdl' | 'pool' | 'exp') => string;

/**
 * Random ids (`mdl_<32 hex>`).
 *
 * @example
 * randomId('pool'); // 'pool_3f2a...'
 */
export const randomId: NewId = (prefix) => `${prefix}_${crypto.randomUUID().replace(/-/g, '')}`;

/** Slots for a scope: the file's list when given (existing ids kept), else the database's rows. */
function slots<C extends { name: string }, R extends { id: string; name: string }>(
  listed: readonly C[] | undefined,
  current: readonly R[],
  newId: () => string,
): Map<string, Slot<C, R>> {
  const byName = new Map(current.map((r) => [r.name, r]));
  const out = new Map<string, Slot<C, R>>();
  if (!listed) {
    for (const r of current) out.set(r.name, { id: r.id, current: r });
    return out;
  }
  listed.forEach((config, index) => {
    if (out.has(config.name)) return; // a duplicate: reported by the checks
    const row = byName.get(config.name);
    out.set(config.name, {
      id: row?.id ?? newId(),
      index,
      config,
      ...(row ? { current: row } : {}),
    });
  });
  return out;
}

/**
 * The world after applying `config` to `state`.
 *
 * @example
 * const world = worldAfter(config, state, randomId);
 */
export function worldAfter(config: Config, state: State, newId: NewId): World {
  const globals = slots(
    config.models,
    state.models.filter((m) => m.tenant_id === null),
    () => newId('mdl'),
  );
  const tenants = new Map<string, TenantWorld>();
  config.tenants.forEach((t, index) => {
    if (tenants.has(t.id)) return;
    const current = state.tenants.find((r) => r.id === t.id);
    const grants: UpstreamGrant[] = t.grants
      ? t.grants.map((g) => ({
          host: g.host,
          secretName: g.secret_name,
          allowHttp: g.allow_http,
          allowPrivate: g.allow_private,
        }))
      : state.grants
          .filter((g) => g.tenant_id === t.id)
          .map((g) => ({
            host: g.host,
            secretName: g.secret_name,
            allowHttp: g.allow_http === 1,
            allowPrivate: g.allow_private === 1,
          }));
    tenants.set(t.id, {
      index,
      config: t,
      ...(current ? { current } : {}),
      models: slots(
        t.models,
        state.models.filter((m) => m.tenant_id === t.id),
        () => newId('mdl'),
      ),
      pools: slots(
        t.pools,
        state.pools.filter((p) => p.tenant_id === t.id),
        () => newId('pool'),
      ),
      grants,
    });
  });
  return { globals, tenants };
}

/**
 * The id of the model a tenant means by `name` once applied: its own, else a global one (as the
 * router resolves names), or null.
 *
 * @example
 * modelIdFor(world, world.tenants.get('acme')!, 'gpt-4o'); // 'mdl_...'
 */
export function modelIdFor(world: World, tenant: TenantWorld, name: string): string | null {
  return tenant.models.get(name)?.id ?? world.globals.get(name)?.id ?? null;
}
