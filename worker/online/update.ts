/**
 * The online identity update: a feedback score is one more outcome `y` in [0, 1] of (this prompt,
 * the model that answered), and the prompt one more logistic item `sigmoid(a . theta - c)` with
 * `a`, `c` read off irt.onnx at decision time. A batch of such events is folded into the model's
 * Gaussian posterior with the quiz's own Laplace fit, the current posterior as its prior (Bayes'
 * rule is sequential; the one approximation is the quiz's Laplace step). Twin of
 * `model-assets/trainer/onboard/online.py` (`update_identity`), checked against its fixture.
 */
import type { PromptItem } from '../decision/item-params';
import { packItems, type GaussianPrior } from '../onboarding/items';
import { laplacePosterior, type Posterior } from '../onboarding/laplace';
import type { Matrix } from '../onboarding/linalg';

/** Most feedback events one update folds in (one Newton solve), as `MAX_UPDATE_BATCH` in online.py. */
export const MAX_UPDATE_BATCH = 64;

/** One feedback event: the prompt's item parameters and the score. */
export interface FeedbackEvent {
  item: PromptItem;
  /** The score in [0, 1]. */
  y: number;
}

/**
 * The posterior after one batch of at most `MAX_UPDATE_BATCH` events; an empty batch returns the
 * current posterior. `nItems` counts this batch's events.
 *
 * @example
 * const post = updateIdentity({ mean: [0], cov: [[1]] }, [{ item: { a: [1], c: 0 }, y: 1 }]);
 * post.mean[0] > 0; // true
 */
export function updateIdentity(
  current: GaussianPrior,
  events: readonly FeedbackEvent[],
): Posterior {
  if (events.length > MAX_UPDATE_BATCH)
    throw new RangeError(
      `${events.length} feedback events in one update; at most ${MAX_UPDATE_BATCH}`,
    );
  if (events.length === 0) {
    const cov = current.cov.map((row) => row.slice());
    return {
      mean: current.mean.slice(),
      cov,
      std: cov.map((row, i) => Math.sqrt(row[i]!)),
      iterations: 0,
      converged: true,
      nItems: 0,
    };
  }
  const items = packItems(
    events.map((e) => e.item.a),
    events.map((e) => e.item.c),
  );
  return laplacePosterior(
    items,
    events.map((e) => e.y),
    current,
  );
}

/**
 * Events folded in, in order, `batch` (at most `MAX_UPDATE_BATCH`) at a time, each batch from the
 * last posterior (`update_in_batches` in online.py).
 *
 * @example
 * const post = updateInBatches({ mean, cov }, events); // events.length may exceed 64
 */
export function updateInBatches(
  current: GaussianPrior,
  events: readonly FeedbackEvent[],
  batch: number = MAX_UPDATE_BATCH,
): Posterior {
  if (!(Number.isInteger(batch) && batch >= 1 && batch <= MAX_UPDATE_BATCH))
    throw new RangeError(`batch must be in [1, ${MAX_UPDATE_BATCH}]`);
  let post = updateIdentity(current, []);
  for (let s = 0; s < events.length; s += batch) {
    const step = updateIdentity(post, events.slice(s, s + batch));
    post = {
      ...step,
      iterations: post.iterations + step.iterations,
      converged: post.converged && step.converged,
      nItems: post.nItems + step.nItems,
    };
  }
  return post;
}

/**
 * The covariance `sum_i v_i v_i^T` of a stored factor (`cov_factor`, linalg.ts `covFactor`).
 *
 * @example
 * covFromFactor([[2, 0], [0, 1]]); // [[4, 0], [0, 1]]
 */
export function covFromFactor(factor: readonly (readonly number[])[], d: number): Matrix {
  const cov = Array.from({ length: d }, () => new Array<number>(d).fill(0));
  for (const v of factor)
    for (let i = 0; i < d; i++) for (let k = 0; k < d; k++) cov[i]![k]! += v[i]! * v[k]!;
  return cov;
}

/**
 * A diagonal covariance from marginal stds (a trained identity's `identity_std`, as
 * `training_posterior` in online.py).
 *
 * @example
 * diagonalCov([0.1, 0.2]); // [[0.01, 0], [0, 0.04]] (up to rounding)
 */
export function diagonalCov(std: readonly number[]): Matrix {
  return std.map((s, i) => std.map((_, k) => (i === k ? s * s : 0)));
}
