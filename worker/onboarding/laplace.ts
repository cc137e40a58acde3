/**
 * Posterior of a new identity from quiz outcomes with the IRT head frozen: damped Newton to the
 * MAP from the prior mean, then the Laplace covariance (inverse Hessian). Twin of
 * `model-assets/trainer/onboard/laplace.py` (same steps, same stopping rule, parity-tested).
 */
import { cholesky, choleskySolve, inverseSpd, matVec, dot, type Matrix } from './linalg';
import { sigmoid, type GaussianPrior, type ItemParams } from './items';

/** Gaussian posterior of one identity. */
export interface Posterior {
  mean: number[];
  cov: Matrix;
  std: number[];
  iterations: number;
  converged: boolean;
  nItems: number;
}

/** Options of {@link laplacePosterior}. */
export interface LaplaceOptions {
  maxIter?: number;
  /** Stop when the Newton decrement g^T H^-1 g / 2 falls below this. */
  tol?: number;
}

function softplus(x: number): number {
  return Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)));
}

function negLogPosterior(
  theta: number[],
  items: ItemParams,
  y: ArrayLike<number>,
  mean: number[],
  prec: Matrix,
): number {
  const { dim, count, a, c } = items;
  let nll = 0;
  for (let j = 0; j < count; j++) {
    const u = dot(a.subarray(j * dim, (j + 1) * dim), theta) - c[j]!;
    nll += softplus(u) - y[j]! * u;
  }
  const r = theta.map((t, i) => t - mean[i]!);
  return nll + 0.5 * dot(r, matVec(prec, r));
}

function gradHess(
  theta: number[],
  items: ItemParams,
  y: ArrayLike<number>,
  mean: number[],
  prec: Matrix,
): { grad: number[]; hess: Matrix } {
  const { dim, count, a, c } = items;
  const r = theta.map((t, i) => t - mean[i]!);
  const grad = matVec(prec, r);
  const hess = prec.map((row) => row.slice());
  for (let j = 0; j < count; j++) {
    const aj = a.subarray(j * dim, (j + 1) * dim);
    const p = sigmoid(dot(aj, theta) - c[j]!);
    const g = p - y[j]!;
    const h = p * (1 - p);
    for (let i = 0; i < dim; i++) {
      grad[i] = grad[i]! + g * aj[i]!;
      const hi = hess[i]!;
      for (let k = 0; k < dim; k++) hi[k] = hi[k]! + h * aj[i]! * aj[k]!;
    }
  }
  return { grad, hess };
}

/**
 * MAP identity and its Laplace covariance given outcomes `y` (in [0, 1]) on `items`.
 *
 * @example
 * const post = laplacePosterior(pickItems(bank, quiz.rows), [1, 0, 1], prior);
 * post.mean; // identity vector for model_identities.vector
 * post.std;  // for model_identities.std
 */
export function laplacePosterior(
  items: ItemParams,
  y: ArrayLike<number>,
  prior: GaussianPrior,
  options: LaplaceOptions = {},
): Posterior {
  const maxIter = options.maxIter ?? 100;
  const tol = options.tol ?? 1e-14;
  if (y.length !== items.count)
    throw new RangeError(`expected ${items.count} outcomes, got ${y.length}`);
  for (let j = 0; j < y.length; j++) {
    const v = y[j]!;
    if (!(v >= 0 && v <= 1)) throw new RangeError('outcomes must lie in [0, 1]');
  }
  const mean = prior.mean.slice();
  const prec = inverseSpd(prior.cov);
  let theta = mean.slice();
  let loss = negLogPosterior(theta, items, y, mean, prec);
  let converged = false;
  let it: number;
  for (it = 1; it <= maxIter; it++) {
    const { grad, hess } = gradHess(theta, items, y, mean, prec);
    const step = choleskySolve(cholesky(hess), grad);
    const gs = dot(grad, step);
    if (0.5 * gs < tol) {
      converged = true;
      break;
    }
    let t = 1;
    let cand: number[];
    let candLoss: number;
    for (;;) {
      cand = theta.map((x, i) => x - t * step[i]!);
      candLoss = negLogPosterior(cand, items, y, mean, prec);
      if (candLoss <= loss - 0.25 * t * gs || t < 1e-10) break;
      t *= 0.5;
    }
    theta = cand;
    loss = candLoss;
  }
  if (it > maxIter) it = maxIter;
  const cov = inverseSpd(gradHess(theta, items, y, mean, prec).hess);
  return {
    mean: theta,
    cov,
    std: cov.map((row, i) => Math.sqrt(row[i]!)),
    iterations: it,
    converged,
    nItems: items.count,
  };
}
