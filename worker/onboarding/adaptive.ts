/**
 * Adaptive quiz: the next item is one greedy design step started from the Laplace posterior of
 * the answers so far, so the quiz re-aims at where this model actually is (a fixed quiz is
 * designed for the average model). Twin of `next_item` in model-assets/trainer/onboard/design.py.
 */
import { selectQuiz, type Criterion } from './design';
import { pickItems, type GaussianPrior, type ItemParams } from './items';
import { laplacePosterior, type Posterior } from './laplace';

/** Options of {@link nextItem}. */
export interface NextOptions {
  criterion?: Criterion;
  /** Rows never to ask (besides those already asked). */
  exclude?: Iterable<number>;
}

/**
 * The next bank row to ask given the rows asked so far and their outcomes, with the posterior
 * those answers give.
 *
 * @example
 * const { row, posterior } = nextItem(bank.params, prior, [412, 7], [1, 0]);
 */
export function nextItem(
  items: ItemParams,
  prior: GaussianPrior,
  rows: readonly number[],
  outcomes: readonly number[],
  options: NextOptions = {},
): { row: number; posterior: Posterior } {
  const posterior = laplacePosterior(pickItems(items, rows), outcomes, prior);
  const exclude = [...rows, ...(options.exclude ?? [])];
  const step = selectQuiz(items, { mean: posterior.mean, cov: posterior.cov }, 1, {
    criterion: options.criterion ?? 'i-optimal',
    exclude,
  });
  return { row: step.rows[0]!, posterior };
}
