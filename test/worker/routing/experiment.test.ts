// The traffic split (weighted rendezvous hashing): shares follow the weights, a unit stays on its
// arm, and a weight change moves only the units it has to.
import { describe, expect, it } from 'vitest';
import type { ExperimentArm } from '../../../worker/data/pools';
import { assignArm, unitDraw } from '../../../worker/routing/experiment';

const UNITS = Array.from({ length: 20_000 }, (_, i) => `user-${i}`);

function split(id: string, arms: ExperimentArm[]): Map<string, string> {
  return new Map(UNITS.map((u) => [u, assignArm({ id, arms }, u).name]));
}

function shares(assigned: Map<string, string>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const arm of assigned.values()) out[arm] = (out[arm] ?? 0) + 1 / assigned.size;
  return out;
}

describe('assignArm', () => {
  it('gives each arm its weight share (within 4 standard errors over 20,000 units)', () => {
    for (const [id, weights] of [
      ['e-even', [1, 1]],
      ['e-skew', [0.9, 0.1]],
      ['e-three', [2, 1, 1]],
    ] as const) {
      const arms = weights.map((w, i) => ({ name: `arm${i}`, weight: w }));
      const got = shares(split(id, arms));
      const total = weights.reduce((a, b) => a + b, 0);
      weights.forEach((w, i) => {
        const p = w / total;
        const se = Math.sqrt((p * (1 - p)) / UNITS.length);
        expect(Math.abs((got[`arm${i}`] ?? 0) - p), `${id} arm${i}`).toBeLessThan(4 * se);
      });
    }
  });

  it('is deterministic, ignores the order of the arms and never picks a zero-weight arm', () => {
    const arms = [
      { name: 'a', weight: 1 },
      { name: 'b', weight: 2 },
      { name: 'z', weight: 0 },
    ];
    const first = split('e-det', arms);
    expect(split('e-det', [...arms].reverse())).toEqual(first);
    expect([...first.values()]).not.toContain('z');
    // another experiment splits the same units independently
    const other = split('e-other', arms);
    const same = UNITS.filter((u) => other.get(u) === first.get(u)).length / UNITS.length;
    expect(same).toBeGreaterThan(0.5); // 5/9 expected for independent 1:2 splits
    expect(same).toBeLessThan(0.61);
  });

  it('raising one weight only moves units into that arm; lowering it only moves units out', () => {
    const before = split('e-move', [
      { name: 'a', weight: 1 },
      { name: 'b', weight: 1 },
      { name: 'c', weight: 1 },
    ]);
    const raised = split('e-move', [
      { name: 'a', weight: 1 },
      { name: 'b', weight: 2 },
      { name: 'c', weight: 1 },
    ]);
    let moved = 0;
    for (const u of UNITS) {
      if (raised.get(u) === before.get(u)) continue;
      moved++;
      expect(raised.get(u)).toBe('b');
    }
    // b goes from 1/3 to 1/2: one sixth of the units has to move, and no more does
    expect(Math.abs(moved / UNITS.length - 1 / 6)).toBeLessThan(0.012);
    for (const u of UNITS) {
      if (before.get(u) !== raised.get(u)) expect(before.get(u)).not.toBe('b');
    }
  });

  it('draws are uniform in (0, 1)', () => {
    const draws = UNITS.map((u) => unitDraw('e-u', u, 'a'));
    expect(Math.min(...draws)).toBeGreaterThan(0);
    expect(Math.max(...draws)).toBeLessThan(1);
    const deciles = new Array<number>(10).fill(0);
    for (const d of draws) deciles[Math.floor(d * 10)]!++;
    for (const n of deciles) expect(Math.abs(n / UNITS.length - 0.1)).toBeLessThan(0.01);
  });
});
