// onnxruntime-web's wasm backend is not re-entrant: a run keeps its input/output pointers on the
// wasm stack across its awaits and restores the stack pointer when it ends. If a run that started
// earlier ends first and the next run starts while a later one is still in flight, that next run
// overwrites the later one's pointers (it then reads a null output: a 500 for concurrent requests).
// runtime/ort.ts makes every run take its turn; this interleaves runs in exactly that pattern.
import { beforeAll, describe, expect, it } from 'vitest';
import type { OnnxSession, OnnxTensor } from '../../../worker/decision';
import { getBundle, type LoadedBundle } from '../../../worker/runtime/bundle-loader';
import { seedBundle, testEnv } from '../support/seed';

let bundle: LoadedBundle;

beforeAll(async () => {
  await seedBundle('test-v1');
  bundle = await getBundle(testEnv.ASSETS, 'test-v1');
});

const f32 = (n: number, seed: number): Float32Array =>
  Float32Array.from({ length: n }, (_, i) => Math.sin(i + seed) / 2);

function irtFeeds(rows: number): Record<string, OnnxTensor> {
  const { embedding, identity_dim: d } = bundle.manifest;
  return {
    embedding: { type: 'float32', data: f32(embedding.dim, rows), dims: [1, embedding.dim] },
    identity: { type: 'float32', data: f32(rows * d, 7 * rows), dims: [rows, d] },
  };
}

function policyFeeds(k: number): Record<string, OnnxTensor> {
  const width = bundle.manifest.policy.features.reduce((s, f) => s + f.size, 0);
  return {
    embedding: {
      type: 'float32',
      data: f32(bundle.manifest.embedding.dim, 3),
      dims: [1, bundle.manifest.embedding.dim],
    },
    preference: { type: 'float32', data: Float32Array.of(0.4), dims: [1, 1] },
    features: { type: 'float32', data: f32(k * width, k), dims: [1, k, width] },
    mask: { type: 'float32', data: new Float32Array(k).fill(1), dims: [1, k] },
  };
}

async function values(session: OnnxSession, feeds: Record<string, OnnxTensor>): Promise<number[]> {
  const out = await session.run(
    Object.fromEntries(Object.entries(feeds).filter(([name]) => session.inputNames.includes(name))),
  );
  return [...(Object.values(out)[0]!.data as Float32Array)].map(Number);
}

async function microtasks(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await Promise.resolve();
}

describe('ORT runs in one isolate', () => {
  it('give each caller its own output when they overlap', async () => {
    // Twelve "requests", each an IRT run then a policy run, shapes differing between requests,
    // started a few microtasks apart: their runs overlap as a busy isolate's do.
    const request = async (i: number): Promise<number[][]> => [
      await values(bundle.irt, irtFeeds(1 + (i % 3))),
      await values(bundle.policy, policyFeeds(2 + (i % 4))),
    ];
    const alone: number[][][] = [];
    for (let i = 0; i < 12; i++) alone.push(await request(i));
    for (let lag = 0; lag < 4; lag++) {
      expect(
        await Promise.all(alone.map((_, i) => microtasks(lag * (i % 5)).then(() => request(i)))),
      ).toEqual(alone);
    }
  });
});
