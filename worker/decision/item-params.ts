/**
 * A prompt's IRT item parameters read off irt.onnx at decision time: with the contract's bilinear
 * head, `logit p(theta) = a . theta - c`, so the success probabilities at the probe identities 0
 * and +-s e_i give `c = -logit p(0)` and `a_i = (logit p(s e_i) - logit p(-s e_i)) / 2s`. The same
 * probes as the pipeline's (`model-assets/trainer/eval/served.py`, `item_params`), so a feedback
 * event carries the parameters a quiz bank would hold for the same prompt.
 */

/** Probe step s, as `PROBE_SCALE` in model-assets/trainer/eval/served.py. */
export const PROBE_SCALE = 0.5;

/** A prompt's item parameters under one bundle: discriminations `a` (identity_dim) and difficulty `c`. */
export interface PromptItem {
  a: number[];
  c: number;
}

/** Float32 success probabilities are clipped here before the logit, as the pipeline clips them. */
const P_CLIP = 1e-7;

const probeSets = new Map<number, readonly (readonly number[])[]>();

/**
 * The 2d + 1 probe identities for d-dimensional identities: 0, then +s e_i, then -s e_i. One shared
 * set per dimension (the decision core caches identity keys per array).
 *
 * @example
 * probeIdentities(2); // [[0, 0], [0.5, 0], [0, 0.5], [-0.5, 0], [0, -0.5]]
 */
export function probeIdentities(d: number): readonly (readonly number[])[] {
  let set = probeSets.get(d);
  if (!set) {
    const unit = (i: number, s: number): number[] =>
      Array.from({ length: d }, (_, k) => (k === i ? s : 0));
    set = [
      new Array<number>(d).fill(0),
      ...Array.from({ length: d }, (_, i) => unit(i, PROBE_SCALE)),
      ...Array.from({ length: d }, (_, i) => unit(i, -PROBE_SCALE)),
    ];
    probeSets.set(d, set);
  }
  return set;
}

function logit(p: number): number {
  const q = Math.min(1 - P_CLIP, Math.max(P_CLIP, p));
  return Math.log(q) - Math.log1p(-q);
}

/**
 * Item parameters from irt.onnx's `p_success` at the probe identities (in `probeIdentities` order).
 *
 * @example
 * const s = 1 / (1 + Math.exp(-1)); // a = 2, c = 0 at s = 0.5: logits 0, +1, -1
 * itemFromProbes([0.5, s, 1 - s], 1); // { a: [2], c: 0 } (up to rounding)
 */
export function itemFromProbes(p: readonly number[], d: number): PromptItem {
  const base = logit(p[0]!);
  const a = Array.from(
    { length: d },
    (_, i) => (logit(p[1 + i]!) - logit(p[1 + d + i]!)) / (2 * PROBE_SCALE),
  );
  return { a, c: -base };
}
