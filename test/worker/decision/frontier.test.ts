import { describe, expect, it } from 'vitest';
import { nonDominated, parseManifest } from '../../../worker/decision';
import fixture from './fixtures/frontier.json';

/** The definition, O(K^2): i is kept unless some j costs no more and succeeds no less, one strictly. */
function bruteForce(costs: number[], p: number[]): number[] {
  return costs
    .map((_, i) => i)
    .filter(
      (i) =>
        !costs.some(
          (_, j) =>
            costs[j]! <= costs[i]! && p[j]! >= p[i]! && (costs[j]! < costs[i]! || p[j]! > p[i]!),
        ),
    );
}

describe('nonDominated', () => {
  it('drops a candidate that costs more and succeeds less often', () => {
    expect(nonDominated([1, 2, 3], [0.5, 0.4, 0.9])).toEqual([0, 2]);
  });

  it('drops equal-cost worse and equal-quality dearer candidates, keeps exact twins', () => {
    expect(nonDominated([1, 1, 2, 1], [0.5, 0.4, 0.5, 0.5])).toEqual([0, 3]);
    expect(nonDominated([2, 2], [0.7, 0.7])).toEqual([0, 1]);
    expect(nonDominated([5], [0.1])).toEqual([0]);
  });

  it('keeps a whole frontier (each dearer one better)', () => {
    expect(nonDominated([4, 1, 3, 2], [0.9, 0.2, 0.8, 0.5])).toEqual([0, 1, 2, 3]);
  });

  it('keeps what the shared fixture says (the Python trainer checks the same cases)', () => {
    for (const c of fixture.cases) expect(nonDominated(c.cost, c.p)).toEqual(c.kept);
  });

  it('matches the definition on random sets with ties', () => {
    let seed = 7;
    const rand = (): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    for (let t = 0; t < 300; t++) {
      const k = 1 + Math.floor(rand() * 40);
      // Few distinct values, so equal costs and equal p are common.
      const costs = Array.from({ length: k }, () => Math.floor(rand() * 6));
      const p = Array.from({ length: k }, () => Math.floor(rand() * 6) / 5);
      expect(nonDominated(costs, p)).toEqual(bruteForce(costs, p));
    }
  });
});

describe('manifest policy.candidates', () => {
  const base = {
    format: 1,
    version: 'v',
    identity_dim: 2,
    embedding: { space: 's', dim: 4, provider: 'dev' },
    files: {
      irt: { key: 'k', bytes: 1, sha256: 'a'.repeat(64) },
      policy: { key: 'k', bytes: 1, sha256: 'a'.repeat(64) },
    },
  };
  const withCandidates = (c: unknown) => ({
    ...base,
    policy: {
      features: [
        { name: 'p_success', size: 1 },
        { name: 'cost_rel', size: 1 },
      ],
      candidates: c,
    },
  });

  it('says which candidates the policy is shown: all unless the bundle says non-dominated', () => {
    expect(parseManifest(withCandidates(undefined)).policy.candidates).toBe('all');
    expect(parseManifest(withCandidates('non-dominated')).policy.candidates).toBe('non-dominated');
    expect(() => parseManifest(withCandidates('pareto'))).toThrow();
  });
});
