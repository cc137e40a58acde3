// The candidate features the worker feeds to policy.onnx must match the training side
// (model-assets/trainer/policy/episodes.py build_features) name by name.
import { describe, expect, it } from 'vitest';
import { FEATURE_NAMES } from '../../../worker/bundle/contract';
import { writeFeatures } from '../../../worker/decision/features';

const layout = [
  { name: 'identity', size: 2 },
  { name: 'cost_rel', size: 1 },
  { name: 'cost_norm', size: 1 },
  { name: 'p_success', size: 1 },
  { name: 'p_success_rel', size: 1 },
  { name: 'p_success_z', size: 1 },
] as const;

function rows(costsUsd: number[], pSuccess: number[]): number[][] {
  const identities = costsUsd.map((_, i) => [i, -i]);
  const out = new Float32Array(costsUsd.length * 7);
  writeFeatures(layout, { identities, costsUsd, pSuccess }, out, 0);
  return costsUsd.map((_, i) => Array.from(out.subarray(i * 7, i * 7 + 7)));
}

describe('writeFeatures', () => {
  it('builds every feature in layout order', () => {
    const [a, b, c] = rows([0.001, 0.004, 0.01], [0.2, 0.9, 0.5]);
    expect(a![0]).toBe(0);
    expect(b!.slice(0, 2)).toEqual([1, -1]);
    // cost_rel is linear in dollars; cost_norm is log min-max.
    expect(a![2]).toBeCloseTo(0.1, 6);
    expect(b![2]).toBeCloseTo(0.4, 6);
    expect(c![2]).toBeCloseTo(1, 6);
    expect(a![3]).toBeCloseTo(0, 6);
    expect(b![3]).toBeCloseTo(Math.log(4) / Math.log(10), 6);
    expect(c![3]).toBeCloseTo(1, 6);
    expect(a![5]).toBeCloseTo(-0.7, 6);
    expect(b![5]).toBeCloseTo(0, 6);
  });

  it('gives free models 0 instead of NaN', () => {
    for (const r of rows([0, 0], [0.5, 0.6])) {
      expect(r[2]).toBe(0);
      expect(r[3]).toBe(0);
      expect(r.every(Number.isFinite)).toBe(true);
    }
  });

  it('builds every candidate feature the contract names (contract.json, shared with the trainer)', () => {
    for (const name of FEATURE_NAMES) {
      const out = new Float32Array(2).fill(Number.NaN);
      writeFeatures(
        [{ name, size: 1 }],
        { identities: [[0.5], [0.25]], costsUsd: [1, 2], pSuccess: [0.4, 0.6] },
        out,
        0,
      );
      expect(Array.from(out).every(Number.isFinite), name).toBe(true);
    }
    expect(() =>
      writeFeatures(
        [{ name: 'cost_squared', size: 1 }],
        { identities: [[0]], costsUsd: [1], pSuccess: [0.5] },
        new Float32Array(1),
        0,
      ),
    ).toThrow(/no builder/);
  });
});
