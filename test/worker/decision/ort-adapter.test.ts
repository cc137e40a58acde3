// The adapter must pass a session only the inputs it declares: the exporter drops graph inputs a
// model does not read (the policy without an embedding input), and onnxruntime-web rejects feeds
// it does not declare.
import { describe, expect, it } from 'vitest';
import { fromOrtSession, type OrtLikeSession } from '../../../worker/decision/ort-adapter';

class FakeTensor {
  constructor(
    readonly type: string,
    readonly data: unknown,
    readonly dims: readonly number[],
  ) {}
}

describe('fromOrtSession', () => {
  it('feeds only the declared inputs and returns the outputs', async () => {
    const seen: string[][] = [];
    const session: OrtLikeSession = {
      inputNames: ['features', 'mask'],
      outputNames: ['probs'],
      async run(feeds) {
        seen.push(Object.keys(feeds).sort());
        return { probs: { type: 'float32', data: new Float32Array([1]), dims: [1, 1] } };
      },
    };
    const wrapped = fromOrtSession(session, FakeTensor);
    const t = { type: 'float32' as const, data: new Float32Array([0]), dims: [1, 1] };
    const out = await wrapped.run({ embedding: t, features: t, mask: t });
    expect(seen).toEqual([['features', 'mask']]);
    expect(out['probs']?.dims).toEqual([1, 1]);
  });
});
