/**
 * The overall ability a quiz has measured, over the bank's prompts. Most of what a short quiz gets
 * wrong about a model is this one number (docs/benchmarks/onboarding.md, "How far a quiz can go in a
 * pool of four"): its posterior std says whether more items are worth asking before the model takes
 * traffic in a small pool.
 */
import { sigmoid, type ItemParams } from './items';
import type { Matrix } from './linalg';

/** What the quiz answers report about the model's overall ability on the bank. */
export interface BankAbility {
  /** Mean predicted success over the bank's items at the posterior mean identity. */
  expected_accuracy: number;
  /** Posterior std of the model's mean success logit over the bank's items. */
  logit_std: number;
}

/**
 * The model's predicted accuracy on the bank and how sure the posterior is of its overall level:
 * `mean_j sigmoid(a_j . theta - c_j)` and `sqrt(abar^T Sigma abar)` with `abar` the mean item vector.
 *
 * @example
 * const ability = bankAbility(bank.params, post.mean, post.cov);
 * ability.logit_std; // about 0.3 after 20 mmlu-pro items, 0.17 after 100
 */
export function bankAbility(items: ItemParams, mean: readonly number[], cov: Matrix): BankAbility {
  const { dim, count, a, c } = items;
  if (count === 0) throw new RangeError('a bank without items has no ability to report');
  const abar = new Array<number>(dim).fill(0);
  let accuracy = 0;
  for (let j = 0; j < count; j++) {
    let logit = -c[j]!;
    for (let k = 0; k < dim; k++) {
      const ajk = a[j * dim + k]!;
      logit += ajk * mean[k]!;
      abar[k]! += ajk / count;
    }
    accuracy += sigmoid(logit) / count;
  }
  let variance = 0;
  for (let k = 0; k < dim; k++) {
    for (let l = 0; l < dim; l++) variance += abar[k]! * cov[k]![l]! * abar[l]!;
  }
  return { expected_accuracy: accuracy, logit_std: Math.sqrt(Math.max(variance, 0)) };
}
