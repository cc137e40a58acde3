/**
 * Candidate features for policy.onnx, built in the order the manifest lists them
 * (vocabulary in docs/bundle-contract.md, "Candidate features").
 */
import type { FeatureName } from '../bundle/manifest';

/** Per-candidate inputs of the feature builder (one request, real candidates only). */
export interface FeatureInputs {
  identities: readonly (readonly number[])[];
  costsUsd: readonly number[];
  pSuccess: readonly number[];
}

/** Costs can be 0 (free models); the log needs a floor. */
const MIN_COST = 1e-12;

function costNorm(costs: readonly number[]): number[] {
  const logs = costs.map((c) => Math.log(Math.max(c, MIN_COST)));
  const lo = Math.min(...logs);
  const hi = Math.max(...logs);
  return logs.map((l) => (hi > lo ? (l - lo) / (hi - lo) : 0));
}

/**
 * Cost over the largest in the set: linear in dollars, so a preference is one price per dollar.
 *
 * @example
 * costRel([1, 4]); // [0.25, 1]
 */
export function costRel(costs: readonly number[]): number[] {
  const top = Math.max(...costs);
  return costs.map((c) => (top > 0 ? c / top : 0));
}

/**
 * Writes the features of K candidates into `out` (row-major [K, F]) at `offset`.
 * `p_success_z` uses the population standard deviation (ddof = 0), like numpy's default.
 *
 * @example
 * const out = new Float32Array(2 * 3);
 * writeFeatures([{ name: 'identity', size: 1 }, { name: 'cost_norm', size: 1 }, { name: 'p_success', size: 1 }],
 *   { identities: [[0.1], [0.2]], costsUsd: [0.01, 0.001], pSuccess: [0.9, 0.4] }, out, 0);
 * // out = [0.1, 1, 0.9, 0.2, 0, 0.4]
 */
export function writeFeatures(
  layout: readonly { name: FeatureName; size: number }[],
  inputs: FeatureInputs,
  out: Float32Array,
  offset: number,
): void {
  const k = inputs.costsUsd.length;
  const width = layout.reduce((s, f) => s + f.size, 0);
  const cn = costNorm(inputs.costsUsd);
  const cr = costRel(inputs.costsUsd);
  const p = inputs.pSuccess;
  const pMax = Math.max(...p);
  const pMean = p.reduce((s, v) => s + v, 0) / k;
  const pStd = Math.sqrt(p.reduce((s, v) => s + (v - pMean) ** 2, 0) / k);
  for (let i = 0; i < k; i++) {
    let at = offset + i * width;
    for (const f of layout) {
      switch (f.name) {
        case 'identity': {
          const id = inputs.identities[i] ?? [];
          for (let j = 0; j < f.size; j++) out[at + j] = id[j] ?? 0;
          break;
        }
        case 'cost_norm':
          out[at] = cn[i] ?? 0;
          break;
        case 'cost_rel':
          out[at] = cr[i] ?? 0;
          break;
        case 'p_success':
          out[at] = p[i] ?? 0;
          break;
        case 'p_success_rel':
          out[at] = (p[i] ?? 0) - pMax;
          break;
        case 'p_success_z':
          out[at] = ((p[i] ?? 0) - pMean) / (pStd + 1e-3);
          break;
        // the manifest admits only the contract's names; one added there needs a builder here
        default:
          throw new RangeError(`no builder for candidate feature ${f.name}`);
      }
      at += f.size;
    }
  }
}
