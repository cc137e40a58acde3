/**
 * The TypeScript onboarding math against the fixture that pins the Python twin
 * (test/model-assets/onboard/test_parity_fixture.py): same weights, same quiz, same posterior.
 */
import { describe, expect, it } from 'vitest';
import fixture from './fixtures/parity.json';
import { expectedItemWeights, quadrature, selectQuiz } from '../../../worker/onboarding/design';
import { laplacePosterior } from '../../../worker/onboarding/laplace';
import { nextItem } from '../../../worker/onboarding/adaptive';
import { packItems, pickItems } from '../../../worker/onboarding/items';
import { cholesky, inverseSpd, matVec } from '../../../worker/onboarding/linalg';

const items = packItems(fixture.a, fixture.c);
const prior = fixture.prior;

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

describe('onboarding math (parity with Python)', () => {
  it('quadrature has the normal moments', () => {
    const { z, w } = quadrature();
    let m0 = 0,
      m2 = 0,
      m4 = 0;
    z.forEach((x, k) => {
      m0 += w[k]!;
      m2 += w[k]! * x * x;
      m4 += w[k]! * x ** 4;
    });
    expect(m0).toBeCloseTo(1, 12);
    expect(m2).toBeCloseTo(1, 6);
    expect(m4).toBeCloseTo(3, 4);
  });

  it('expected item weights equal the Python ones', () => {
    expect(maxAbsDiff(expectedItemWeights(items, prior), fixture.weights)).toBeLessThan(1e-12);
  });

  for (const mode of ['prior', 'mean', 'i-optimal'] as const) {
    it(`selects the same quiz and posterior (${mode})`, () => {
      const want = fixture.quizzes[mode];
      const quiz = selectQuiz(
        items,
        prior,
        12,
        mode === 'i-optimal' ? { criterion: 'i-optimal' } : { expectation: mode },
      );
      expect(quiz.rows).toEqual(want.rows);
      expect(maxAbsDiff(quiz.gains, want.gains)).toBeLessThan(1e-9);
      const y = quiz.rows.map((r) => fixture.y[r]!);
      const post = laplacePosterior(pickItems(items, quiz.rows), y, prior);
      expect(post.converged).toBe(true);
      expect(post.iterations).toBe(want.posterior.iterations);
      expect(maxAbsDiff(post.mean, want.posterior.mean)).toBeLessThan(1e-9);
      expect(maxAbsDiff(post.cov.flat(), want.posterior.cov.flat())).toBeLessThan(1e-9);
    });
  }

  it('fits all items like Python and the uncertainty shrinks', () => {
    const post = laplacePosterior(items, fixture.y, prior);
    expect(maxAbsDiff(post.mean, fixture.full_posterior.mean)).toBeLessThan(1e-9);
    const quizPost = fixture.quizzes.prior.posterior;
    post.std.forEach((s, i) => expect(s).toBeLessThan(Math.sqrt(quizPost.cov[i]![i]!)));
  });

  for (const crit of ['i-optimal', 'd-optimal'] as const) {
    it(`asks the same adaptive quiz as Python (${crit})`, () => {
      const rows: number[] = [];
      const y: number[] = [];
      for (let k = 0; k < 10; k++) {
        const { row } = nextItem(items, prior, rows, y, { criterion: crit });
        rows.push(row);
        y.push(fixture.y[row]!);
      }
      expect(rows).toEqual(fixture.adaptive[crit]);
    });
  }

  it('excludes rows and refuses impossible sizes', () => {
    const quiz = selectQuiz(items, prior, 5, { exclude: fixture.quizzes.prior.rows.slice(0, 3) });
    for (const r of fixture.quizzes.prior.rows.slice(0, 3)) expect(quiz.rows).not.toContain(r);
    expect(() => selectQuiz(items, prior, 0)).toThrow(RangeError);
    expect(() => selectQuiz(items, prior, items.count + 1)).toThrow(RangeError);
    expect(() => laplacePosterior(pickItems(items, [0, 1]), [0, 2], prior)).toThrow(RangeError);
  });

  it('linear algebra: cholesky and inverse of an SPD matrix', () => {
    const l = cholesky(prior.cov);
    const back = l.map((row) => l.map((other) => row.reduce((s, x, k) => s + x * other[k]!, 0)));
    expect(maxAbsDiff(back.flat(), prior.cov.flat())).toBeLessThan(1e-12);
    const inv = inverseSpd(prior.cov);
    const eye = prior.cov.map((row) => matVec(inv, row));
    expect(
      maxAbsDiff(
        eye.flat(),
        prior.cov.map((_, i) => prior.cov.map((__, j) => (i === j ? 1 : 0))).flat(),
      ),
    ).toBeLessThan(1e-10);
    expect(() =>
      cholesky([
        [1, 2],
        [2, 1],
      ]),
    ).toThrow();
  });
});
