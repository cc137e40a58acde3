/**
 * What the schema alone cannot see: names that must be unique, references that must resolve once
 * the file is applied (pool members, fallback models, default pools, experiment pools and arms), the
 * upstream grants every tenant model needs (the same `checkUpstream` as the admin API and every
 * call), and models a pool outside the file still falls back to. Each problem names its place in
 * the file; any problem means nothing is applied.
 */
import { checkUpstream } from '../security/grants';
import type { ConfigError, DocPath, LoadedConfig } from './load';
import type { State } from './state';
import { modelIdFor, type TenantWorld, type World } from './world';

type At = LoadedConfig['at'];

/** Errors for every repeated key of `items` (the second and later occurrences). */
function duplicates<T>(
  items: readonly T[] | undefined,
  key: (item: T) => string,
  path: (index: number) => DocPath,
  what: string,
  at: At,
): ConfigError[] {
  const seen = new Set<string>();
  const out: ConfigError[] = [];
  (items ?? []).forEach((item, i) => {
    const k = key(item);
    if (seen.has(k)) out.push(at(path(i), `${what} ${JSON.stringify(k)} appears more than once`));
    seen.add(k);
  });
  return out;
}

function tenantChecks(world: World, t: TenantWorld, state: State, at: At): ConfigError[] {
  const base: DocPath = ['tenants', t.index];
  const c = t.config;
  const errors: ConfigError[] = [
    ...duplicates(
      c.grants,
      (g) => `${g.host} ${g.secret_name}`,
      (i) => [...base, 'grants', i],
      'grant',
      at,
    ),
    ...duplicates(
      c.models,
      (m) => m.name,
      (i) => [...base, 'models', i, 'name'],
      'model',
      at,
    ),
    ...duplicates(
      c.pools,
      (p) => p.name,
      (i) => [...base, 'pools', i, 'name'],
      'pool',
      at,
    ),
    ...duplicates(
      c.experiments,
      (e) => `${e.pool}/${e.name}`,
      (i) => [...base, 'experiments', i, 'name'],
      'experiment',
      at,
    ),
  ];
  const callable = (name: string): boolean => modelIdFor(world, t, name) !== null;
  if (c.default_pool !== null && !t.pools.has(c.default_pool))
    errors.push(
      at([...base, 'default_pool'], `no pool ${JSON.stringify(c.default_pool)} in this tenant`),
    );
  (c.models ?? []).forEach((m, i) => {
    const decision = checkUpstream(
      { tenantId: c.id, provider: m.provider, baseUrl: m.base_url, secretName: m.secret_name },
      t.grants,
    );
    if (!decision.ok)
      errors.push(
        at([...base, 'models', i, decision.refusal.param ?? 'base_url'], decision.refusal.message),
      );
  });
  (c.pools ?? []).forEach((p, i) => {
    p.members.forEach((m, k) => {
      if (!callable(m))
        errors.push(
          at(
            [...base, 'pools', i, 'members', k],
            `no model ${JSON.stringify(m)} this tenant can call`,
          ),
        );
    });
    if (p.fallback_model !== null && !callable(p.fallback_model))
      errors.push(
        at(
          [...base, 'pools', i, 'fallback_model'],
          `no model ${JSON.stringify(p.fallback_model)} this tenant can call`,
        ),
      );
  });
  // pools the file leaves alone must not lose the model they fall back to
  if (!c.pools)
    for (const p of state.pools.filter((p) => p.tenant_id === c.id && p.fallback_model !== null))
      if (!callable(p.fallback_model!))
        errors.push(
          at(
            [...base, 'models'],
            `pool ${JSON.stringify(p.name)} falls back to ${JSON.stringify(p.fallback_model)}, which this file deletes`,
          ),
        );
  (c.experiments ?? []).forEach((e, i) => {
    const path: DocPath = [...base, 'experiments', i];
    if (!t.pools.has(e.pool))
      errors.push(at([...path, 'pool'], `no pool ${JSON.stringify(e.pool)} in this tenant`));
    e.arms.forEach((arm, k) => {
      if (arm.pool !== undefined && !t.pools.has(arm.pool))
        errors.push(
          at([...path, 'arms', k, 'pool'], `no pool ${JSON.stringify(arm.pool)} in this tenant`),
        );
      if (arm.model !== undefined && !callable(arm.model))
        errors.push(
          at(
            [...path, 'arms', k, 'model'],
            `no model ${JSON.stringify(arm.model)} this tenant can call`,
          ),
        );
    });
  });
  return errors;
}

/**
 * Every problem the file would cause once applied to `state`.
 *
 * @example
 * const errors = checkConfig(loaded, state, world);
 * if (errors.length) throw ...; // nothing is applied
 */
export function checkConfig(loaded: LoadedConfig, state: State, world: World): ConfigError[] {
  const { config, at } = loaded;
  const errors: ConfigError[] = [
    ...duplicates(
      config.tenants,
      (t) => t.id,
      (i) => ['tenants', i, 'id'],
      'tenant',
      at,
    ),
    ...duplicates(
      config.models,
      (m) => m.name,
      (i) => ['models', i, 'name'],
      'model',
      at,
    ),
  ];
  (config.models ?? []).forEach((m, i) => {
    const decision = checkUpstream(
      { tenantId: null, provider: m.provider, baseUrl: m.base_url, secretName: m.secret_name },
      [],
    );
    if (!decision.ok)
      errors.push(
        at(['models', i, decision.refusal.param ?? 'secret_name'], decision.refusal.message),
      );
  });
  for (const t of world.tenants.values()) errors.push(...tenantChecks(world, t, state, at));
  return errors;
}
