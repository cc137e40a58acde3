/**
 * Adapts any onnxruntime flavour (onnxruntime-web, onnxruntime-node) to `OnnxSession` without
 * importing one: the caller passes its session and its `Tensor` class.
 */
import type { OnnxSession, OnnxTensor } from './types';

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

/** The `Tensor` constructor of the same ORT flavour. */
export type OrtTensorClass = new (type: 'float32' | 'int64', data: Float32Array | BigInt64Array, dims: readonly number[]) => unknown;

/**
 * Wraps an ORT session for the decision core.
 *
 * @example
 * import * as ort from 'onnxruntime-node';
 * const irt = fromOrtSession(await ort.InferenceSession.create('irt.onnx', { graphOptimizationLevel: 'basic' }), ort.Tensor);
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
        if (session.inputNames.includes(name)) ortFeeds[name] = new Tensor(t.type, t.data, t.dims) as never;
      }
      const out = await session.run(ortFeeds);
      const result: Record<string, OnnxTensor> = {};
      for (const [name, t] of Object.entries(out)) {
        result[name] = { type: t.type as OnnxTensor['type'], data: t.data as OnnxTensor['data'], dims: [...t.dims] };
      }
      return result;
    },
  };
}
