/**
 * Adapts any onnxruntime flavour (onnxruntime-web, onnxruntime-node) to `OnnxSession` without
 * importing one: the caller passes its session and its `Tensor` class.
 */
import served from './session-options.json';
import type { OnnxSession, OnnxTensor } from './types';

/** ORT's graph optimisation levels. */
export type GraphOptimizationLevel = 'disabled' | 'basic' | 'extended' | 'all';

/** The shape of an ORT tensor as returned by `session.run`. */
export interface OrtLikeTensor {
  readonly type: string;
  readonly data: unknown;
  readonly dims: readonly number[];
}

/** The shape of an ORT `InferenceSession`. */
export interface OrtLikeSession {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  run(feeds: Record<string, never>): Promise<Record<string, OrtLikeTensor>>;
}

/**
 * Session options for every bundle graph, in the worker and in the Node tools that score "the
 * policy exactly as served" (model-assets/tools; parity.mjs reads the same ./session-options.json).
 *
 * - `basic`: int8 results equal across onnxruntime-web and onnxruntime-node at this level.
 * - `disable_quant_qdq`: by default ORT's constant folding leaves DequantizeLinear nodes alone (so
 *   that QDQ fusions, which `basic` never runs, can see them), so the int8 weights were dequantised
 *   on every run: about a quarter of the policy's run time. Folded once at session creation, the
 *   policy's outputs are bit-identical and the IRT head's differ by at most 1.2e-7 (a MatMul on a
 *   constant weight is pre-packed).
 *
 * A fresh object per call: onnxruntime-web writes its own defaults into `extra.session`.
 *
 * @example
 * const session = await ort.InferenceSession.create(bytes, { ...sessionOptions(), executionProviders: ['wasm'] });
 */
export function sessionOptions(): {
  graphOptimizationLevel: GraphOptimizationLevel;
  extra: { session: Record<string, string> };
} {
  return {
    graphOptimizationLevel: served.graphOptimizationLevel as GraphOptimizationLevel,
    extra: { session: { ...served.extra.session } },
  };
}

/** The `Tensor` constructor of the same ORT flavour. */
export type OrtTensorClass = new (
  type: 'float32' | 'int64',
  data: Float32Array | BigInt64Array,
  dims: readonly number[],
) => unknown;

/**
 * Wraps an ORT session for the decision core.
 *
 * @example
 * import * as ort from 'onnxruntime-node';
 * const irt = fromOrtSession(await ort.InferenceSession.create('irt.onnx', sessionOptions()), ort.Tensor);
 */
export function fromOrtSession(session: OrtLikeSession, Tensor: OrtTensorClass): OnnxSession {
  return {
    inputNames: session.inputNames,
    outputNames: session.outputNames,
    async run(feeds: Record<string, OnnxTensor>): Promise<Record<string, OnnxTensor>> {
      const ortFeeds: Record<string, never> = {};
      // A graph may not read every contract input (the exporter drops unused ones, e.g. a policy
      // that sees the prompt only through p_success); onnxruntime-web rejects undeclared feeds.
      for (const [name, t] of Object.entries(feeds)) {
        if (session.inputNames.includes(name))
          ortFeeds[name] = new Tensor(t.type, t.data, t.dims) as never;
      }
      const out = await session.run(ortFeeds);
      const result: Record<string, OnnxTensor> = {};
      for (const [name, t] of Object.entries(out)) {
        result[name] = {
          type: t.type as OnnxTensor['type'],
          data: t.data as OnnxTensor['data'],
          dims: [...t.dims],
        };
      }
      return result;
    },
  };
}
