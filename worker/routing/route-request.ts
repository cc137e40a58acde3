/**
 * One routing decision for a chat body: pool (and experiment arm) -> bundle -> embedding ->
 * decision core. Shared by `/v1/chat/completions` and `/v1/route`.
 */
import type { RouterConfig } from '../config';
import type { ModelRow } from '../data/models';
import { getPool, type ExperimentArm, type Pool } from '../data/pools';
import type { Tenant } from '../data/tenants';
import {
  decide,
  neighbourColumn,
  promptTokens,
  resolveIdentity,
  UNCERTAINTY_PENALTY,
  type Candidate,
  type Decision,
} from '../decision';
import { embedPrompt, type EmbedResult } from '../embedding';
import { embeddingText, messageText } from '../embedding/prompt-text';
import type { AiEmbeddingBinding } from '../embedding/workers-ai';
import type { Env } from '../env';
import { ApiError, badRequest } from '../errors';
import { getBundle } from '../runtime/bundle-loader';
import type { ChatBody } from '../schemas/chat';
import { fallbackModelFor, withLastGoodBundle, type DegradedReason } from './degraded';
import type { FallbackModel } from './fallback-model';
import type { FixedArm } from './fixed-arm';
import { assignArm } from './experiment';
import { drawUniform, explorationMask, explore } from './explore';
import { parsePreference, resolvePreference, type Preference, type PresetName } from './preference';

export interface RoutedCandidate {
  model: ModelRow;
  identity: number[];
  identitySource: string;
  /** The identity's posterior covariance factor, where it has one (routed pessimistically). */
  covFactor?: number[][] | undefined;
}

export interface RouteOutcome {
  decisionId: string;
  pool: string;
  arm: string | null;
  bundleVersion: string;
  preference: number;
  /** The preset the preference came from, if it was one (`preference` is then its value). */
  preset: PresetName | null;
  /** Stds below its mean an uncertain (quiz) identity was routed at: the pool's, else the default. */
  uncertaintyPenalty: number;
  /** Routable pool members, aligned with the arrays of `decision`. */
  candidates: RoutedCandidate[];
  /**
   * The candidate the router serves first and the probability it was picked with: the policy's top
   * choice with propensity 1, or, in an exploring pool, a draw from the tempered policy.
   */
  pick: ServedPick;
  /** Pool members without an identity under this bundle (reported, not routed to). */
  unroutable: string[];
  decision: Decision;
  embedding: Pick<EmbedResult, 'source' | 'cacheHit'> & { space: string };
  /** Milliseconds per stage; `total` is the routing overhead. */
  timings: { bundle: number; embed: number; decide: number; total: number };
  /** Set when the pool's own bundle could not route and an older one did (routing/degraded.ts). */
  degraded: DegradedReason | null;
  /** Whether `pool` (the one the row names) keeps prompt text in its decision rows. */
  keepPrompts: boolean;
}

/** The served candidate (index into `candidates`), its propensity and the pool's temperature. */
export interface ServedPick {
  index: number;
  propensity: number;
  /** The pool's exploration temperature; null = not exploring (the top choice, propensity 1). */
  temperature: number | null;
}

/** Request-level inputs that do not come from the body. */
export interface RouteInputs {
  env: Env;
  config: RouterConfig;
  tenant: Tenant;
  body: ChatBody;
  /** `x-router-preference` header, if sent. */
  preferenceHeader?: string | undefined;
  /** `x-router-user` header, if sent (experiment unit when the body has no `user`). */
  userHeader?: string | undefined;
  /** Read the prompt's IRT item parameters (kept with a served decision for online learning). */
  itemParams?: boolean;
}

/**
 * `router` -> the tenant's default pool; `router/<name>` -> that pool; anything else -> null (400
 * `no_default_pool` for `router` without one, `model_not_found` for `router/`).
 *
 * @example
 * poolNameOf('router/fast', tenant); // 'fast'
 * poolNameOf('gpt-4o', tenant);      // null: a concrete model
 */
export function poolNameOf(model: string, tenant: Tenant): string | null {
  if (model === 'router') {
    if (!tenant.defaultPool)
      throw badRequest(
        'model "router" needs a default pool, and this tenant has none; use "router/<pool>"',
        'model',
        'no_default_pool',
      );
    return tenant.defaultPool;
  }
  if (model.startsWith('router/')) {
    const name = model.slice('router/'.length);
    if (!name) throw badRequest('model "router/" names no pool', 'model', 'model_not_found');
    return name;
  }
  return null;
}

async function requirePool(inputs: RouteInputs, name: string): Promise<Pool> {
  const pool = await getPool(inputs.env.DB, inputs.tenant.id, name, inputs.config.poolCacheMs);
  if (!pool)
    throw new ApiError(404, `unknown pool "${name}"`, {
      type: 'invalid_request_error',
      code: 'model_not_found',
      param: 'model',
    });
  return pool;
}

/**
 * Decides which pool member serves this request (no upstream call).
 *
 * @example
 * const r = await routeRequest({ env, config, tenant, body, preferenceHeader: c.req.header('x-router-preference') });
 * if ('outcome' in r) r.outcome.candidates[r.outcome.decision.chosen].model.name;
 */
export async function routeRequest(
  inputs: RouteInputs,
): Promise<{ outcome: RouteOutcome } | { fixed: FixedArm }> {
  const t0 = performance.now();
  const { body, tenant } = inputs;
  const decisionId = crypto.randomUUID();
  const poolName = poolNameOf(body.model, tenant);
  if (!poolName)
    throw badRequest(`model "${body.model}" is not a router model`, 'model', 'model_not_found');
  const bodyPreference = parsePreference(body.router?.preference, 'router.preference');
  const headerPreference = parsePreference(inputs.preferenceHeader, 'x-router-preference');

  let pool = await requirePool(inputs, poolName);
  let arm: string | null = null;
  let bundleVersion = pool.bundleVersion;
  let armPreference: Preference | undefined;
  if (pool.experiment) {
    const unit = body.user ?? inputs.userHeader ?? decisionId;
    const chosen = assignArm(pool.experiment, unit);
    const target = await armTarget(inputs, pool, chosen);
    if ('model' in target) {
      // a control arm: its one model serves unrouted
      const routingMs = performance.now() - t0;
      return {
        fixed: {
          decisionId,
          pool: pool.name,
          arm: chosen.name,
          model: target.model,
          routingMs,
          keepPrompts: pool.keepPrompts,
        },
      };
    }
    if (target.pool) {
      arm = chosen.name;
      pool = target.pool;
      bundleVersion = chosen.bundle_version ?? pool.bundleVersion;
      // The arm's preference wins over the caller's: otherwise callers would decide the arm's traffic.
      armPreference = chosen.preference;
    }
  }

  const requested = armPreference ?? bodyPreference ?? headerPreference;
  const routed = { t0, decisionId, pool, arm, requested };
  const { result, degraded } = await withLastGoodBundle(pool, bundleVersion, (version) =>
    decideWith(inputs, routed, version),
  );
  return { outcome: { ...result, degraded } };
}

/**
 * Where an experiment arm sends its traffic: its pool (the experiment's own when it names none),
 * or its one fixed model. An arm whose pool or model no longer exists must not fail its share of
 * the traffic: `{ pool: null }` (logged) routes as if there were no experiment.
 */
async function armTarget(
  inputs: RouteInputs,
  pool: Pool,
  arm: ExperimentArm,
): Promise<{ pool: Pool | null } | { model: ModelRow }> {
  const id = pool.experiment?.id;
  if (arm.model) {
    const model = pool.experiment?.armModels.get(arm.model);
    if (model) return { model };
    console.error(
      `experiment ${id}: arm ${arm.name} names unknown model ${arm.model}; arm ignored`,
    );
    return { pool: null };
  }
  if (!arm.pool || arm.pool === pool.name) return { pool };
  const armPool = await getPool(
    inputs.env.DB,
    inputs.tenant.id,
    arm.pool,
    inputs.config.poolCacheMs,
  );
  if (!armPool)
    console.error(`experiment ${id}: arm ${arm.name} names unknown pool ${arm.pool}; arm ignored`);
  return { pool: armPool };
}

/**
 * Routes the request or, when no bundle can route its pool and the pool names a fallback model,
 * says so (the caller serves the fallback model unrouted); any other failure is thrown. An
 * experiment arm with a fixed model is answered as `fixed` (served unrouted, logged with its arm).
 *
 * @example
 * const r = await routeOrFallback(inputs);
 * if ('fallback' in r) return serveFallback(r.fallback);
 * if ('fixed' in r) return serveFixedArm(r.fixed);
 */
export async function routeOrFallback(
  inputs: RouteInputs,
): Promise<{ outcome: RouteOutcome } | { fallback: FallbackModel } | { fixed: FixedArm }> {
  try {
    return await routeRequest(inputs);
  } catch (e) {
    const fallback = fallbackModelFor(e);
    if (!fallback) throw e;
    return { fallback };
  }
}

/** What routeRequest settled before the bundle: the pool (or arm's pool) and the caller's preference. */
interface Routed {
  t0: number;
  decisionId: string;
  pool: Pool;
  arm: string | null;
  /** Body, else header preference; undefined = the pool's default. */
  requested: Preference | undefined;
}

/** The decision with bundle `bundleVersion`: candidates, embedding, decision core. */
async function decideWith(
  inputs: RouteInputs,
  routed: Routed,
  bundleVersion: string,
): Promise<Omit<RouteOutcome, 'degraded'>> {
  const { t0, decisionId, pool, arm } = routed;
  const { body } = inputs;
  const tBundle = performance.now();
  const bundle = await getBundle(inputs.env.ASSETS, bundleVersion);
  const { manifest } = bundle;
  // Body wins over header (it is the more specific of the two); the pool's default otherwise. A
  // preset means the operating point this request's bundle calibrated for it.
  const requested = routed.requested ?? pool.defaultPreset ?? pool.defaultPreference;
  const preference = resolvePreference(requested, manifest.policy.presets);
  const preset = typeof requested === 'string' ? requested : null;

  const candidates: RoutedCandidate[] = [];
  const unroutable: string[] = [];
  for (const model of pool.members) {
    const identity = resolveIdentity(
      manifest,
      model.bundleModel,
      pool.identities.get(model.id)?.get(bundleVersion),
      model.name,
    );
    if (identity)
      candidates.push({
        model,
        identity: identity.vector,
        identitySource: identity.source,
        covFactor: identity.covFactor,
      });
    else unroutable.push(model.name);
  }
  if (candidates.length === 0) {
    const which = unroutable.length
      ? ` (unroutable: ${unroutable.join(', ')})`
      : ' (the pool is empty)';
    throw new ApiError(
      503,
      `pool "${pool.name}" has no model with an identity under bundle ${bundleVersion}${which}`,
      { type: 'service_unavailable', code: 'no_routable_candidates' },
    );
  }

  const tEmbed = performance.now();
  const embedded = await embedPrompt({
    tenantId: inputs.tenant.id,
    bundle,
    poolProvider: pool.embeddingProvider,
    text: embeddingText(body.messages, manifest.embedding.text),
    ...(body.router?.embedding ? { precomputed: body.router.embedding } : {}),
    ...(inputs.env.AI ? { ai: inputs.env.AI as unknown as AiEmbeddingBinding } : {}),
    workersAiModel: inputs.config.workersAiEmbeddingModel,
  });

  const tDecide = performance.now();
  // An exploring pool routes uncertain identities at their mean (the replay's `explore-mean`
  // lever): shown where their pessimistic estimate would be dominated, a newcomer gets drawn.
  const temperature = pool.explorationTemperature;
  const uncertaintyPenalty =
    temperature !== null ? 0 : (pool.uncertaintyPenalty ?? UNCERTAINTY_PENALTY);
  const decisionCandidates: Candidate[] = candidates.map(({ model, identity, covFactor }) => {
    const column = neighbourColumn(manifest, model.bundleModel);
    return {
      name: model.name,
      identity,
      ...(covFactor ? { covFactor } : {}),
      ...(column !== undefined ? { column } : {}),
      inputUsdPerMtok: model.inputUsdPerMtok,
      outputUsdPerMtok: model.outputUsdPerMtok,
      expectedOutputTokens: model.expectedOutputTokens,
    };
  });
  const decision = await decide(bundle, {
    embedding: embedded.vector,
    preference,
    candidates: decisionCandidates,
    promptTokens: promptTokens(body.messages.map(messageText)),
    uncertaintyPenalty,
    ...(inputs.itemParams ? { itemParams: true } : {}),
  });
  const pick = pickServed(decision, candidates, temperature);
  const tEnd = performance.now();

  return {
    decisionId,
    pool: pool.name,
    keepPrompts: pool.keepPrompts,
    arm,
    bundleVersion,
    preference,
    preset,
    uncertaintyPenalty,
    candidates,
    pick,
    unroutable,
    decision,
    embedding: {
      source: embedded.source,
      cacheHit: embedded.cacheHit,
      space: manifest.embedding.space,
    },
    timings: {
      bundle: tEmbed - tBundle,
      embed: tDecide - tEmbed,
      decide: tEnd - tDecide,
      total: tEnd - t0,
    },
  };
}

/**
 * The candidate to serve: the top choice, or in an exploring pool a draw from the tempered policy
 * among the top choice and the candidates still being learned (the replay's `gate` lever).
 */
function pickServed(
  decision: Decision,
  candidates: readonly RoutedCandidate[],
  temperature: number | null,
): ServedPick {
  const top = { index: decision.chosen, propensity: 1, temperature };
  if (temperature === null) return top;
  const eligible = explorationMask(
    decision.chosen,
    candidates.map((c) => c.covFactor !== undefined),
  );
  try {
    return { ...explore(decision.probs, temperature, drawUniform(), eligible), temperature };
  } catch (e) {
    // probabilities the sampler refuses (a policy graph's NaN): serve the top choice, never fail
    console.error('exploration: no draw from these probabilities; top choice served', e);
    return top;
  }
}
