/**
 * The routing decision: IRT head, candidate features, policy, argmax. Runtime-agnostic: it takes
 * ORT-like sessions and plain data, so the benchmark harness can run "the policy exactly as served"
 * in Node (wrap an onnxruntime-node/web session into `OnnxSession`).
 */
import type { Manifest } from '../bundle/manifest';
import { expectedCostUsd } from './cost';
import { writeFeatures } from './features';
import type { Candidate, DecideInput, Decision, OnnxSession } from './types';

/** What `decide` needs of a bundle: its manifest and the two decision graphs. */
export interface DecisionBundle {
  manifest: Manifest;
  irt: OnnxSession;
  policy: OnnxSession;
}

/** A request the decision core cannot answer (bad dimensions, empty candidate set, ...). */
export class DecisionInputError extends Error {
  override name = 'DecisionInputError';
}

function check(manifest: Manifest, input: DecideInput, row: number): void {
  const where = `input ${row}`;
  if (input.embedding.length !== manifest.embedding.dim) {
    throw new DecisionInputError(`${where}: embedding has ${input.embedding.length} dims, bundle ${manifest.version} expects ${manifest.embedding.dim}`);
  }
  if (!(input.preference >= 0 && input.preference <= 1)) {
    throw new DecisionInputError(`${where}: preference ${input.preference} is outside [0, 1]`);
  }
  if (input.candidates.length === 0) throw new DecisionInputError(`${where}: no candidates`);
  for (const c of input.candidates) {
    if (c.identity.length !== manifest.identity_dim) {
      throw new DecisionInputError(`${where}: candidate ${c.name} has a ${c.identity.length}-d identity, bundle expects ${manifest.identity_dim}`);
    }
  }
}

/** Best first by probability; equal probabilities go to the cheaper candidate, then the earlier one. */
function rank(probs: readonly number[], costs: readonly number[]): number[] {
  return probs
    .map((_, i) => i)
    .sort((a, b) => (probs[b]! - probs[a]!) || (costs[a]! - costs[b]!) || (a - b));
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
export async function decideBatch(bundle: DecisionBundle, inputs: readonly DecideInput[]): Promise<Decision[]> {
  const { manifest } = bundle;
  if (inputs.length === 0) return [];
  inputs.forEach((input, row) => check(manifest, input, row));
  const b = inputs.length;
  const dim = manifest.embedding.dim;
  const d = manifest.identity_dim;

  // IRT takes one identity matrix for the whole batch: the union of all distinct candidates.
  const slotOf = new Map<string, number>();
  const unionIds: (readonly number[])[] = [];
  const slots = inputs.map((input) => input.candidates.map((c: Candidate) => {
    const key = `${c.name}\u0000${c.identity.join(',')}`;
    let slot = slotOf.get(key);
    if (slot === undefined) {
      slot = unionIds.length;
      slotOf.set(key, slot);
      unionIds.push(c.identity);
    }
    return slot;
  }));
  const embedding = new Float32Array(b * dim);
  inputs.forEach((input, row) => embedding.set(input.embedding, row * dim));
  const identity = new Float32Array(unionIds.length * d);
  unionIds.forEach((id, k) => identity.set(id, k * d));
  const irtOut = await bundle.irt.run({
    embedding: { type: 'float32', data: embedding, dims: [b, dim] },
    identity: { type: 'float32', data: identity, dims: [unionIds.length, d] },
  });
  const pAll = irtOut['p_success'];
  if (!pAll) throw new Error('irt.onnx returned no p_success');
  const kUnion = unionIds.length;

  const kMax = Math.max(...inputs.map((i) => i.candidates.length));
  const layout = manifest.policy.features;
  const width = layout.reduce((s, f) => s + f.size, 0);
  const features = new Float32Array(b * kMax * width);
  const mask = new Float32Array(b * kMax);
  const preference = new Float32Array(b);
  const perRow = inputs.map((input, row) => {
    const pSuccess = slots[row]!.map((slot) => Number(pAll.data[row * kUnion + slot]));
    const costs = input.candidates.map((c) => expectedCostUsd(c, input.promptTokens));
    writeFeatures(layout, { identities: input.candidates.map((c) => c.identity), costsUsd: costs, pSuccess },
      features, row * kMax * width);
    for (let k = 0; k < input.candidates.length; k++) mask[row * kMax + k] = 1;
    preference[row] = input.preference;
    return { pSuccess, costs };
  });
  const policyOut = await bundle.policy.run({
    embedding: { type: 'float32', data: embedding, dims: [b, dim] },
    preference: { type: 'float32', data: preference, dims: [b, 1] },
    features: { type: 'float32', data: features, dims: [b, kMax, width] },
    mask: { type: 'float32', data: mask, dims: [b, kMax] },
  });
  const probsAll = policyOut['probs'];
  if (!probsAll) throw new Error('policy.onnx returned no probs');

  return inputs.map((input, row) => {
    const k = input.candidates.length;
    const probs = Array.from({ length: k }, (_, i) => Number(probsAll.data[row * kMax + i]));
    const { pSuccess, costs } = perRow[row]!;
    const order = rank(probs, costs);
    return { chosen: order[0]!, order, probs, pSuccess, expectedCostUsd: costs };
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
