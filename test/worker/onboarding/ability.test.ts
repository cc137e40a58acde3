// The overall ability the quiz answers report (worker/onboarding/ability.ts).
import { describe, expect, it } from 'vitest';
import { bankAbility } from '../../../worker/onboarding/ability';
import { packItems, sigmoid } from '../../../worker/onboarding/items';

describe('bankAbility', () => {
  const items = packItems(
    [
      [1, 0],
      [0, 2],
      [1, 1],
    ],
    [0, 1, -0.5],
  );

  it('is the mean predicted success at the posterior mean and the std of the mean logit', () => {
    const mean = [0.4, -0.3];
    const cov = [
      [0.5, 0.1],
      [0.1, 0.2],
    ];
    const got = bankAbility(items, mean, cov);
    const logits = [0.4, -0.6 - 1, 0.1 + 0.5];
    expect(got.expected_accuracy).toBeCloseTo(logits.reduce((s, u) => s + sigmoid(u), 0) / 3, 12);
    const abar = [2 / 3, 1]; // mean item vector
    const variance = abar[0]! ** 2 * 0.5 + 2 * abar[0]! * abar[1]! * 0.1 + abar[1]! ** 2 * 0.2;
    expect(got.logit_std).toBeCloseTo(Math.sqrt(variance), 12);
  });

  it('shrinks with the covariance and is zero for a certain identity', () => {
    const wide = bankAbility(
      items,
      [0, 0],
      [
        [1, 0],
        [0, 1],
      ],
    ).logit_std;
    const narrow = bankAbility(
      items,
      [0, 0],
      [
        [0.25, 0],
        [0, 0.25],
      ],
    ).logit_std;
    expect(narrow).toBeCloseTo(wide / 2, 12);
    expect(
      bankAbility(
        items,
        [0, 0],
        [
          [0, 0],
          [0, 0],
        ],
      ).logit_std,
    ).toBe(0);
  });

  it('refuses an empty bank', () => {
    expect(() => bankAbility(packItems([], []), [], [])).toThrow(RangeError);
  });
});
