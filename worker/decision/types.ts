/**
 * Plain data types of the decision core. Nothing here depends on Workers, Hono or a particular
 * ONNX runtime, so Node tooling (benchmarks, evaluation) can import the same code the worker serves.
 */

import type { PromptItem } from './item-params';

/** A tensor as every ORT flavour (web, node) understands it. */
export interface OnnxTensor {
  type: 'float32' | 'int64';
  data: Float32Array | BigInt64Array;
  dims: readonly number[];
}

/**
 * The part of an ORT `InferenceSession` the decision core uses. Wrap `onnxruntime-node` or
 * `onnxruntime-web` sessions with `fromOrtSession` (see decision/ort-adapter.ts) or by hand.
 */
export interface OnnxSession {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  run(feeds: Record<string, OnnxTensor>): Promise<Record<string, OnnxTensor>>;
}

/** One model the policy may choose, with everything the features need. */
export interface Candidate {
  /** Public model name (reported back; not used by the maths). */
  name: string;
  /** Identity vector for this bundle (length = manifest.identity_dim). */
  identity: readonly number[];
  inputUsdPerMtok: number;
  outputUsdPerMtok: number;
  /** Expected completion length of this model, in tokens. */
  expectedOutputTokens: number;
  /**
   * The identity's posterior uncertainty, where it has one (a quiz identity): vectors v_i, each of
   * length manifest.identity_dim, with covariance = sum_i v_i v_i^T (the columns of its Cholesky
   * factor). The candidate is then routed on a pessimistic success probability (decide.ts,
   * `UNCERTAINTY_PENALTY`). Absent: routed on the identity as it is.
   */
  covFactor?: readonly (readonly number[])[];
  /**
   * The candidate's column in the bundle's prediction layer (its index in `manifest.models`, from
   * `neighbourColumn`): set when the bundle has outcome rows of this model, whose neighbour estimate
   * then corrects the IRT's (decision/layer.ts). Absent: the IRT's estimate alone.
   */
  column?: number;
}

/** One routing question. */
export interface DecideInput {
  /** Prompt embedding in the bundle's space (length = manifest.embedding.dim). */
  embedding: Float32Array | readonly number[];
  /** w in [0, 1]: 0 = cheapest candidate, 1 = best quality regardless of cost; w acts as a price. */
  preference: number;
  candidates: readonly Candidate[];
  /** Prompt length in tokens (`promptTokens()` in decision/cost.ts: ceil(chars / 4)). */
  promptTokens: number;
  /**
   * How many posterior stds below its mean an uncertain candidate (one with `covFactor`) is routed
   * at: a number in [0, `MAX_UNCERTAINTY_PENALTY`], default `UNCERTAINTY_PENALTY` (decide.ts). 0
   * routes it at its mean. A pool sets it with `pools.uncertainty_penalty`.
   */
  uncertaintyPenalty?: number;
  /**
   * Also read the prompt's IRT item parameters off irt.onnx (`Decision.itemParams`): what an
   * online update needs of a prompt to learn from feedback on its answer (item-params.ts).
   */
  itemParams?: boolean;
}

/** The answer, with per-candidate numbers aligned to `DecideInput.candidates`. */
export interface Decision {
  /** Index of the chosen candidate (argmax of probs, ties to the cheaper). */
  chosen: number;
  /** All candidate indices, best first: the fallback order. */
  order: number[];
  /** Policy probabilities (0 for a candidate the policy was not shown). */
  probs: number[];
  /**
   * Whether the policy was shown the candidate: false when the bundle's policy sees only the
   * non-dominated candidates (manifest `policy.candidates`) and another one is at most as dear and
   * predicted to succeed at least as often.
   */
  shown: boolean[];
  /** IRT predicted success probability (the "predicted quality"). */
  pSuccess: number[];
  /** Expected cost of this request in USD. */
  expectedCostUsd: number[];
  /** The prompt's item parameters `{a, c}`, when the input asked for them (`DecideInput.itemParams`). */
  itemParams?: PromptItem;
}
