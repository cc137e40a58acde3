/**
 * The routing decision: IRT head, candidate features, policy, argmax. Runtime-agnostic: it takes
 * ORT-like sessions and plain data, so the benchmark harness can run "the policy exactly as served"
 * in Node (wrap an onnxruntime-node/web session into `OnnxSession`).
 */
import { MAX_UNCERTAINTY_PENALTY, UNCERTAINTY_PENALTY } from '../bundle/contract';
import type { Manifest } from '../bundle/manifest';
import { ApiError } from '../errors';
import { expectedCostUsd } from './cost';
import { costRel, writeFeatures } from './features';
import { nonDominated } from './frontier';
import { isCovFactor, MAX_COV_FACTOR_ENTRY } from './identity';
import { itemFromProbes, probeIdentities } from './item-params';
import { layeredSuccess } from './layer';
import type { Candidate, DecideInput, Decision, OnnxSession } from './types';

export { MAX_UNCERTAINTY_PENALTY, UNCERTAINTY_PENALTY };

/**
 * Whether `k` is a usable uncertainty penalty: a number in [0, `MAX_UNCERTAINTY_PENALTY`].
 *
 * @example
 * isUncertaintyPenalty(0.5); // true
 * isUncertaintyPenalty(-1);  // false
 */
export function isUncertaintyPenalty(k: unknown): k is number {
  return typeof k === 'number' && k >= 0 && k <= MAX_UNCERTAINTY_PENALTY;
}

/** Success probabilities are float32: keep their logits finite. */
const P_FLOOR = 1e-7;

function logit(p: number): number {
  const q = Math.min(1 - P_FLOOR, Math.max(P_FLOOR, p));
  return Math.log(q / (1 - q));
}

/** What `decide` needs of a bundle: its manifest and its decision graphs. */
export interface DecisionBundle {
  manifest: Manifest;
  irt: OnnxSession;
  policy: OnnxSession;
  /** `neighbours.onnx`, for bundles with a prediction layer (`manifest.predictor`). */
  neighbours?: OnnxSession;
}

/** A request the decision core cannot answer (bad dimensions, empty candidate set, ...): a 400. */
export class DecisionInputError extends ApiError {
  override name = 'DecisionInputError';
  constructor(message: string) {
    super(400, message, { code: 'invalid_routing_input' });
  }
}

function check(manifest: Manifest, input: DecideInput, row: number): void {
  const where = `input ${row}`;
  if (input.embedding.length !== manifest.embedding.dim) {
    throw new DecisionInputError(
      `${where}: embedding has ${input.embedding.length} dims, bundle ${manifest.version} expects ${manifest.embedding.dim}`,
    );
  }
  if (!(input.preference >= 0 && input.preference <= 1)) {
    throw new DecisionInputError(`${where}: preference ${input.preference} is outside [0, 1]`);
  }
  if (input.candidates.length === 0) throw new DecisionInputError(`${where}: no candidates`);
  // Prices and lengths make the expected costs that dominance and the price rule compare; a NaN
  // there would silently reorder candidates.
  if (!Number.isFinite(input.promptTokens))
    throw new DecisionInputError(
      `${where}: promptTokens ${input.promptTokens} is not a finite number`,
    );
  const kappa = input.uncertaintyPenalty;
  if (kappa !== undefined && !isUncertaintyPenalty(kappa)) {
    throw new DecisionInputError(
      `${where}: uncertaintyPenalty ${kappa} is outside [0, ${MAX_UNCERTAINTY_PENALTY}]`,
    );
  }
  for (const c of input.candidates) {
    if (c.identity.length !== manifest.identity_dim) {
      throw new DecisionInputError(
        `${where}: candidate ${c.name} has a ${c.identity.length}-d identity, bundle expects ${manifest.identity_dim}`,
      );
    }
    if (![c.inputUsdPerMtok, c.outputUsdPerMtok, c.expectedOutputTokens].every(Number.isFinite)) {
      throw new DecisionInputError(
        `${where}: candidate ${c.name} has a price or expected length that is not a finite number`,
      );
    }
    if (
      c.column !== undefined &&
      !(
        Number.isInteger(c.column) &&
        c.column >= 0 &&
        c.column < manifest.models.length &&
        manifest.predictor
      )
    ) {
      throw new DecisionInputError(
        `${where}: candidate ${c.name} has column ${c.column}, but bundle ${manifest.version} has ${manifest.predictor ? manifest.models.length : 'no'} prediction-layer columns`,
      );
    }
    if (c.covFactor && !isCovFactor(c.covFactor, manifest.identity_dim)) {
      throw new DecisionInputError(
        `${where}: candidate ${c.name} has a covariance factor that is not at most ${manifest.identity_dim} ${manifest.identity_dim}-d vectors with entries within ${MAX_COV_FACTOR_ENTRY}`,
      );
    }
  }
}

// Identity arrays live as long as the pool cache that holds them, so each one's key is built once,
// not on every request: formatting 16 floats for each of 32 candidates was a third of the
// decision's JavaScript time.
const identityKeys = new WeakMap<readonly number[], string>();

/** A string equal for equal identity vectors (candidates with the same identity share an IRT row). */
function identityKey(identity: readonly number[]): string {
  let key = identityKeys.get(identity);
  if (key === undefined) {
    key = identity.join(',');
    identityKeys.set(identity, key);
  }
  return key;
}

/** Distinct identity vectors in first-seen order, each with its row ("slot") in the IRT input. */
class IdentityUnion {
  readonly vectors: (readonly number[])[] = [];
  private readonly slotOf = new Map<string, number>();

  slot(vector: readonly number[]): number {
    const key = identityKey(vector);
    let slot = this.slotOf.get(key);
    if (slot === undefined) {
      slot = this.vectors.length;
      this.slotOf.set(key, slot);
      this.vectors.push(vector);
    }
    return slot;
  }
}

const zeros = new Map<number, readonly number[]>();

/** One shared zero vector per dimension (its identity key is then built once). */
function zeroVector(d: number): readonly number[] {
  let z = zeros.get(d);
  if (!z) {
    z = new Array<number>(d).fill(0);
    zeros.set(d, z);
  }
  return z;
}

/**
 * The success probability `kappa` stds below the mean logit. The logit is bilinear in the identity
 * (contract, "IRT head"), so a.v = logit p(v) - logit p(0) for each factor vector v, and
 * a^T Sigma a = sum_v (a.v)^2.
 */
function pessimistic(
  pMean: number,
  pZero: number,
  pFactor: readonly number[],
  kappa: number,
): number {
  const base = logit(pZero);
  const variance = pFactor.reduce((s, p) => s + (logit(p) - base) ** 2, 0);
  const p = 1 / (1 + Math.exp(-(logit(pMean) - kappa * Math.sqrt(variance))));
  // A factor the IRT cannot read (NaN from its graph) must not fail the request: the mean stands.
  return Number.isFinite(p) ? p : pMean;
}

/**
 * The fallback order: the policy's candidates best first by probability (equal probabilities to the
 * cheaper, then the earlier one), then the dominated ones by the price rule `w*p - (1-w)*cost_rel`.
 */
function rank(
  probs: readonly number[],
  costs: readonly number[],
  shown: ReadonlySet<number>,
  pSuccess: readonly number[],
  w: number,
): number[] {
  const rel = costRel(costs);
  const utility = (i: number): number => w * pSuccess[i]! - (1 - w) * rel[i]!;
  const byProb = (a: number, b: number): number =>
    probs[b]! - probs[a]! || costs[a]! - costs[b]! || a - b;
  const byRule = (a: number, b: number): number =>
    utility(b) - utility(a) || costs[a]! - costs[b]! || a - b;
  const all = probs.map((_, i) => i);
  return [
    ...all.filter((i) => shown.has(i)).sort(byProb),
    ...all.filter((i) => !shown.has(i)).sort(byRule),
  ];
}

/**
 * The policy's `features` [B, K, F] and `mask` [B, K]: each row's shown candidates, in order, padded
 * to the largest shown set.
 */
function packShown(
  rows: readonly { full: Float32Array; shown: readonly number[] }[],
  width: number,
): { features: Float32Array; mask: Float32Array; kMax: number } {
  const kMax = Math.max(...rows.map((r) => r.shown.length));
  const features = new Float32Array(rows.length * kMax * width);
  const mask = new Float32Array(rows.length * kMax);
  rows.forEach(({ full, shown }, row) => {
    shown.forEach((k, slot) => {
      features.set(full.subarray(k * width, (k + 1) * width), (row * kMax + slot) * width);
      mask[row * kMax + slot] = 1;
    });
  });
  return { features, mask, kMax };
}

/**
 * Routes many prompts at once (one IRT and one policy run for the whole batch). Rows may have
 * different candidate sets; the policy sees them padded to the largest set with mask 0.
 *
 * @example
 * const decisions = await decideBatch(bundle, prompts.map((p) => ({
 *   embedding: p.vector, preference: 0.5, candidates, promptTokens: p.tokens,
 * })));
 * decisions[0].chosen; // index into candidates
 */
export async function decideBatch(
  bundle: DecisionBundle,
  inputs: readonly DecideInput[],
): Promise<Decision[]> {
  const { manifest } = bundle;
  if (inputs.length === 0) return [];
  inputs.forEach((input, row) => check(manifest, input, row));
  const b = inputs.length;
  const dim = manifest.embedding.dim;
  const d = manifest.identity_dim;

  // IRT takes one identity matrix for the whole batch: the union of all distinct identities, plus,
  // for uncertain identities, the zero vector and their covariance factors' vectors.
  const union = new IdentityUnion();
  const slots = inputs.map((input) =>
    input.candidates.map((c: Candidate) => union.slot(c.identity)),
  );
  const kappas = inputs.map((input) => input.uncertaintyPenalty ?? UNCERTAINTY_PENALTY);
  const spread = inputs.map((input, row) =>
    input.candidates.map((c: Candidate) =>
      c.covFactor?.length && kappas[row]! > 0
        ? { zero: union.slot(zeroVector(d)), factor: c.covFactor.map((v) => union.slot(v)) }
        : null,
    ),
  );
  // rows that keep their prompt's item parameters add the probe identities (item-params.ts)
  const probeSlots = inputs.some((input) => input.itemParams)
    ? probeIdentities(d).map((v) => union.slot(v))
    : null;
  const embedding = new Float32Array(b * dim);
  inputs.forEach((input, row) => embedding.set(input.embedding, row * dim));
  const kUnion = union.vectors.length;
  const identity = new Float32Array(kUnion * d);
  union.vectors.forEach((id, k) => identity.set(id, k * d));
  const irtOut = await bundle.irt.run({
    embedding: { type: 'float32', data: embedding, dims: [b, dim] },
    identity: { type: 'float32', data: identity, dims: [kUnion, d] },
  });
  const pAll = irtOut['p_success'];
  if (!pAll) throw new Error('irt.onnx returned no p_success');
  const pAt = (row: number, slot: number): number => Number(pAll.data[row * kUnion + slot]);

  const layout = manifest.policy.features;
  const width = layout.reduce((s, f) => s + f.size, 0);
  const prune = manifest.policy.candidates === 'non-dominated';
  const pIrt = inputs.map((_, row) =>
    slots[row]!.map((slot, i) => {
      const sp = spread[row]![i];
      return sp
        ? pessimistic(
            pAt(row, slot),
            pAt(row, sp.zero),
            sp.factor.map((f) => pAt(row, f)),
            kappas[row]!,
          )
        : pAt(row, slot);
    }),
  );
  const pLayer =
    bundle.neighbours && manifest.predictor
      ? await layeredSuccess(bundle.neighbours, manifest, inputs, embedding, pIrt)
      : pIrt;
  // Features are computed over the whole set (cost_rel, p_success_rel are relative to it), then
  // only the shown candidates' rows go to the policy.
  const perRow = inputs.map((input, row) => {
    const pSuccess = pLayer[row]!;
    const costs = input.candidates.map((c) => expectedCostUsd(c, input.promptTokens));
    if (!pSuccess.every(Number.isFinite))
      throw new Error(`the prediction graphs returned a non-finite p_success for input ${row}`);
    const full = new Float32Array(input.candidates.length * width);
    writeFeatures(
      layout,
      { identities: input.candidates.map((c) => c.identity), costsUsd: costs, pSuccess },
      full,
      0,
    );
    const shown = prune ? nonDominated(costs, pSuccess) : costs.map((_, i) => i);
    return { pSuccess, costs, full, shown };
  });
  const { features, mask, kMax } = packShown(perRow, width);
  const preference = Float32Array.from(inputs, (input) => input.preference);
  const policyOut = await bundle.policy.run({
    embedding: { type: 'float32', data: embedding, dims: [b, dim] },
    preference: { type: 'float32', data: preference, dims: [b, 1] },
    features: { type: 'float32', data: features, dims: [b, kMax, width] },
    mask: { type: 'float32', data: mask, dims: [b, kMax] },
  });
  const probsAll = policyOut['probs'];
  if (!probsAll) throw new Error('policy.onnx returned no probs');

  return inputs.map((input, row) => {
    const { pSuccess, costs, shown } = perRow[row]!;
    const probs: number[] = new Array<number>(input.candidates.length).fill(0);
    shown.forEach((k, slot) => {
      probs[k] = Number(probsAll.data[row * kMax + slot]);
    });
    const shownSet = new Set(shown);
    const order = rank(probs, costs, shownSet, pSuccess, input.preference);
    return {
      chosen: order[0]!,
      order,
      probs,
      shown: probs.map((_, i) => shownSet.has(i)),
      pSuccess,
      expectedCostUsd: costs,
      ...(input.itemParams && probeSlots
        ? {
            itemParams: itemFromProbes(
              probeSlots.map((slot) => pAt(row, slot)),
              d,
            ),
          }
        : {}),
    };
  });
}

/**
 * Routes one prompt: the candidate the policy prefers at this preference, the fallback order,
 * and per-candidate probabilities, predicted success and expected cost.
 *
 * @example
 * const d = await decide(bundle, { embedding, preference: 0.3, candidates, promptTokens: 42 });
 * candidates[d.chosen].name; d.order; d.pSuccess[d.chosen]; d.expectedCostUsd[d.chosen];
 */
export async function decide(bundle: DecisionBundle, input: DecideInput): Promise<Decision> {
  const [decision] = await decideBatch(bundle, [input]);
  return decision!;
}
