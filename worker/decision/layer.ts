/**
 * The prediction layer (docs/bundle-contract.md, "Prediction layer"): a bundle with
 * `neighbours.onnx` corrects the IRT's success estimate of every candidate that has outcome rows in
 * the bundle (a "column": its index in `manifest.models`) by a neighbour estimate over the bundle's
 * train prompts:
 *
 *   p = sigmoid(bias[col] + slope_irt * logit(p_irt) + slope_neighbours * logit(p_neighbour))
 *
 * Candidates without a column (onboarded by quiz, or fitted by the operator) keep the IRT's estimate.
 * The pipeline's twin is `Stack.combine` in model-assets/trainer/predict/stack.py.
 */
import type { Manifest } from '../bundle/manifest';
import type { DecideInput, OnnxSession } from './types';

/** The clip of probabilities before their logit, as the pipeline's `stack.logit`. */
const LAYER_EPS = 1e-6;

function logit(p: number): number {
  const q = Math.min(1 - LAYER_EPS, Math.max(LAYER_EPS, p));
  return Math.log(q) - Math.log1p(-q);
}

/**
 * The candidate's column: the index in `manifest.models` of the entry whose name or alias is
 * `bundleModel`, or undefined.
 *
 * @example
 * neighbourColumn(manifest, 'gpt-4o_dir-gpt4o'); // e.g. 12
 */
export function neighbourColumn(
  manifest: Manifest,
  bundleModel: string | null | undefined,
): number | undefined {
  if (!bundleModel || !manifest.predictor) return undefined;
  const i = manifest.models.findIndex(
    (m) => m.name === bundleModel || m.aliases.includes(bundleModel),
  );
  return i >= 0 ? i : undefined;
}

/**
 * Success estimates through the layer: `pIrt[row][i]` for candidates without a column, the stack
 * over the IRT's and the neighbours' estimates for those with one. One `neighbours.onnx` run for
 * the whole batch, over the union of the columns it needs.
 *
 * @example
 * const p = await layeredSuccess(bundle.neighbours, manifest, inputs, embedding, pIrt);
 */
export async function layeredSuccess(
  neighbours: OnnxSession,
  manifest: Manifest,
  inputs: readonly DecideInput[],
  embedding: Float32Array,
  pIrt: readonly number[][],
): Promise<number[][]> {
  const spec = manifest.predictor;
  if (!spec) return pIrt.map((row) => [...row]);
  const slotOf = new Map<number, number>();
  for (const input of inputs) {
    for (const c of input.candidates) {
      if (c.column !== undefined && !slotOf.has(c.column)) slotOf.set(c.column, slotOf.size);
    }
  }
  if (slotOf.size === 0) return pIrt.map((row) => [...row]);
  const columns = BigInt64Array.from([...slotOf.keys()], (c) => BigInt(c));
  const out = await neighbours.run({
    embedding: { type: 'float32', data: embedding, dims: [inputs.length, manifest.embedding.dim] },
    columns: { type: 'int64', data: columns, dims: [columns.length] },
  });
  const pNb = out['p_neighbour'];
  if (!pNb) throw new Error('neighbours.onnx returned no p_neighbour');
  const k = columns.length;
  const { slope_irt: sIrt, slope_neighbours: sNb, bias } = spec.stack;
  return inputs.map((input, row) =>
    input.candidates.map((c, i) => {
      const p = pIrt[row]![i]!;
      if (c.column === undefined) return p;
      const nb = Number(pNb.data[row * k + slotOf.get(c.column)!]);
      return 1 / (1 + Math.exp(-(bias[c.column]! + sIrt * logit(p) + sNb * logit(nb))));
    }),
  );
}
