// The random quiz baseline: seeded, so a seed names one quiz; distinct rows; never an excluded one.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { mulberry32, randomRows } from '../../../worker/onboarding/random-rows';

describe('randomRows', () => {
  it('gives n distinct rows outside exclude, the same for the same seed', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 80 }),
        fc.nat(),
        fc.array(fc.nat({ max: 79 }), { maxLength: 20 }),
        (count, seed, excluded) => {
          const exclude = excluded.filter((r) => r < count);
          const usable = count - new Set(exclude).size;
          const n = Math.min(usable, 1 + (seed % 10));
          const rows = randomRows(count, n, seed, exclude);
          expect(rows).toHaveLength(n);
          expect(new Set(rows).size).toBe(n);
          expect(rows.every((r) => r >= 0 && r < count && !exclude.includes(r))).toBe(true);
          expect(randomRows(count, n, seed, exclude)).toEqual(rows);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('draws uniforms in [0, 1) that depend on the seed', () => {
    const a = mulberry32(1);
    const b = mulberry32(2);
    const xs = Array.from({ length: 1000 }, () => a());
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
    expect(Math.abs(xs.reduce((s, x) => s + x, 0) / xs.length - 0.5)).toBeLessThan(0.05);
    expect(b()).not.toBe(mulberry32(1)());
  });
});
