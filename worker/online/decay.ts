/**
 * The uncertainty penalty an uncertain identity is routed with as feedback narrows it: the
 * replay's `decay` lever (`decayed_penalty`, `serving_penalty` in model-assets/trainer/onboard/
 * online.py). The penalty shrinks with the posterior std of the model's mean success logit over the
 * bank's items, `sqrt(abar' S abar)`, relative to where it started (the quiz), and is 0 while the
 * pool explores (`explore-mean`). Without it a model stays `penalty` stds below its mean however
 * much is known, and once feedback has corrected an over-rated quiz mean the remaining std still
 * pushes it below what it is.
 */
import type { Matrix } from '../onboarding/linalg';

/**
 * `sqrt(abar' S abar)`: the posterior std of the mean success logit over items whose mean
 * discrimination vector is `abar` (bankAbility's `logit_std`).
 *
 * @example
 * logitStd([1, 0], [[0.25, 0], [0, 1]]); // 0.5
 */
export function logitStd(abar: readonly number[], cov: Matrix): number {
  let v = 0;
  for (let i = 0; i < abar.length; i++)
    for (let k = 0; k < abar.length; k++) v += abar[i]! * cov[i]![k]! * abar[k]!;
  return Math.sqrt(Math.max(v, 0));
}

/**
 * `penalty * min(1, logitStdNow / logitStdStart)`: never above `penalty`.
 *
 * @example
 * decayedPenalty(1, 0.15, 0.3); // 0.5
 */
export function decayedPenalty(
  penalty: number,
  logitStdNow: number,
  logitStdStart: number,
): number {
  if (!(logitStdNow >= 0 && logitStdStart > 0))
    throw new RangeError('logit stds must be non-negative, the starting one positive');
  return penalty * Math.min(1, logitStdNow / logitStdStart);
}

/**
 * The penalty a pool routes an uncertain identity with: 0 while it explores, else decayed.
 *
 * @example
 * servingPenalty(1, 0.15, 0.3, true);  // 0
 * servingPenalty(1, 0.15, 0.3, false); // 0.5
 */
export function servingPenalty(
  penalty: number,
  logitStdNow: number,
  logitStdStart: number,
  exploring: boolean,
): number {
  const decayed = decayedPenalty(penalty, logitStdNow, logitStdStart);
  return exploring ? 0 : decayed;
}

/**
 * The mean of a bank's item discrimination vectors (`a` row-major [count, dim]).
 *
 * @example
 * meanItem(Float64Array.from([1, 0, 3, 2]), 2); // [2, 1]
 */
export function meanItem(a: Float64Array, dim: number): number[] {
  const count = a.length / dim;
  const abar = new Array<number>(dim).fill(0);
  for (let j = 0; j < count; j++) for (let k = 0; k < dim; k++) abar[k]! += a[j * dim + k]! / count;
  return abar;
}
