/**
 * Quiz selection, the twin of `model-assets/trainer/onboard/design.py` (same numbers: a parity test
 * runs both on one fixture).
 *
 * The prior-expected Fisher information of item j is `w_j a_j a_j^T`, `w_j = E[p_j (1 - p_j)]` under
 * theta ~ N(m, S); w_j depends only on `u_j ~ N(a_j . m - c_j, a_j^T S a_j)`, computed with a fixed
 * 61-point normal quadrature. Greedy D-optimal: add the item with the largest
 * `log(1 + w_j a_j^T M^-1 a_j)`, update `M^-1` by Sherman-Morrison; O(count * dim) per pick.
 */
import { matVec, copyMatrix, dot } from './linalg';
import { sigmoid, type GaussianPrior, type ItemParams } from './items';

const QUAD_POINTS = 61;

/**
 * Nodes and weights (sum 1) of the normal quadrature shared with Python.
 *
 * @example
 * const { z, w } = quadrature(); // z[0] === -6, z[60] === 6
 */
export function quadrature(): { z: Float64Array; w: Float64Array } {
  const z = new Float64Array(QUAD_POINTS);
  const w = new Float64Array(QUAD_POINTS);
  let total = 0;
  for (let k = 0; k < QUAD_POINTS; k++) {
    z[k] = -6 + (12 * k) / (QUAD_POINTS - 1);
    w[k] = Math.exp(-0.5 * z[k]! * z[k]!);
    total += w[k]!;
  }
  for (let k = 0; k < QUAD_POINTS; k++) w[k]! /= total;
  return { z, w };
}

/** Where the information is evaluated: averaged over the prior, or at its mean only. */
export type Expectation = 'prior' | 'mean';

/**
 * `w_j = E[p_j (1 - p_j)]` for every item.
 *
 * @example
 * expectedItemWeights(packItems([[1]], [0]), { mean: [0], cov: [[1]] }, 'mean'); // Float64Array [0.25]
 */
export function expectedItemWeights(
  items: ItemParams,
  prior: GaussianPrior,
  expectation: Expectation = 'prior',
): Float64Array {
  const { dim, count, a, c } = items;
  const out = new Float64Array(count);
  const { z, w } = quadrature();
  for (let j = 0; j < count; j++) {
    const aj = a.subarray(j * dim, (j + 1) * dim);
    const mu = dot(aj, prior.mean) - c[j]!;
    if (expectation === 'mean') {
      const p = sigmoid(mu);
      out[j] = p * (1 - p);
      continue;
    }
    const sd = Math.sqrt(Math.max(dot(aj, matVec(prior.cov, aj)), 0));
    let s = 0;
    for (let k = 0; k < QUAD_POINTS; k++) {
      const p = sigmoid(mu + sd * z[k]!);
      s += p * (1 - p) * w[k]!;
    }
    out[j] = s;
  }
  return out;
}

/** `a_j^T M a_j` for the item starting at `off` (M symmetric), without allocating: the hot loop. */
function quadForm(a: Float64Array, off: number, dim: number, m: number[][]): number {
  let total = 0;
  for (let i = 0; i < dim; i++) {
    const row = m[i]!;
    let t = 0;
    for (let k = 0; k < dim; k++) t += row[k]! * a[off + k]!;
    total += a[off + i]! * t;
  }
  return total;
}

/** `Q = mean_j w_j a_j a_j^T` over the whole bank. */
function fisherAverage(items: ItemParams, w: Float64Array): number[][] {
  const { dim, count, a } = items;
  const q = Array.from({ length: dim }, () => new Array<number>(dim).fill(0));
  for (let j = 0; j < count; j++) {
    const aj = a.subarray(j * dim, (j + 1) * dim);
    const wj = w[j]! / count;
    for (let i = 0; i < dim; i++) {
      const qi = q[i]!;
      for (let k = 0; k < dim; k++) qi[k] = qi[k]! + wj * aj[i]! * aj[k]!;
    }
  }
  return q;
}

/** `S Q S` for symmetric S. */
function sandwich(s: number[][], q: number[][]): number[][] {
  const sq = s.map((row) => q[0]!.map((_, k) => row.reduce((acc, x, i) => acc + x * q[i]![k]!, 0)));
  return sq.map((row) => s[0]!.map((_, k) => row.reduce((acc, x, i) => acc + x * s[i]![k]!, 0)));
}

/** A quiz: bank rows in pick order, with each pick's criterion gain (D-optimal: log-det nats). */
export interface Quiz {
  rows: number[];
  gains: number[];
}

/**
 * Selection criterion: `d-optimal` (log det of the expected posterior precision) or `i-optimal`
 * (bank-average predictive variance of the logit, `tr(Q Sigma)`, `Q = mean_j w_j a_j a_j^T`).
 */
export type Criterion = 'd-optimal' | 'i-optimal';

/** Options of {@link selectQuiz}. */
export interface SelectOptions {
  expectation?: Expectation;
  criterion?: Criterion;
  /** Rows that may not be picked (e.g. items without a reference answer when the worker grades). */
  exclude?: Iterable<number>;
}

/**
 * Greedy optimal-design quiz of `n` distinct bank rows (deterministic; ties go to the lower row);
 * D-optimal unless `options.criterion` says `i-optimal` (O(count * dim^2) a pick instead of O(count * dim)).
 *
 * @example
 * const quiz = selectQuiz(items, { mean: [0, 0], cov: [[1, 0], [0, 1]] }, 20);
 * quiz.rows; // [412, 7, ...]
 */
export function selectQuiz(
  items: ItemParams,
  prior: GaussianPrior,
  n: number,
  options: SelectOptions = {},
): Quiz {
  const { dim, count, a } = items;
  if (!Number.isInteger(n) || n < 1 || n > count)
    throw new RangeError(`quiz size must be in [1, ${count}], got ${n}`);
  const w = expectedItemWeights(items, prior, options.expectation ?? 'prior');
  const cov = copyMatrix(prior.cov);
  const quad = new Float64Array(count);
  for (let j = 0; j < count; j++) quad[j] = quadForm(a, j * dim, dim, cov);
  const available = new Uint8Array(count).fill(1);
  for (const r of options.exclude ?? []) if (r >= 0 && r < count) available[r] = 0;
  const qMat = options.criterion === 'i-optimal' ? fisherAverage(items, w) : null;
  const rows: number[] = [];
  const gains: number[] = [];
  for (let step = 0; step < n; step++) {
    let best = -1;
    let bestScore = -Infinity;
    const b = qMat ? sandwich(cov, qMat) : null;
    for (let j = 0; j < count; j++) {
      if (!available[j]) continue;
      const s = b
        ? (w[j]! * quadForm(a, j * dim, dim, b)) / (1 + w[j]! * quad[j]!)
        : w[j]! * quad[j]!;
      if (s > bestScore) {
        bestScore = s;
        best = j;
      }
    }
    if (best < 0) throw new RangeError('not enough selectable items in the bank');
    const ab = a.subarray(best * dim, (best + 1) * dim);
    const v = matVec(cov, ab);
    const wb = w[best]!;
    const denom = 1 + wb * dot(ab, v);
    for (let i = 0; i < dim; i++) {
      const row = cov[i]!;
      for (let k = 0; k < dim; k++) row[k] = row[k]! - (wb * v[i]! * v[k]!) / denom;
    }
    for (let j = 0, off = 0; j < count; j++, off += dim) {
      let t = 0;
      for (let k = 0; k < dim; k++) t += a[off + k]! * v[k]!;
      quad[j] = quad[j]! - (wb * t * t) / denom;
    }
    available[best] = 0;
    rows.push(best);
    gains.push(qMat ? bestScore : Math.log(denom));
  }
  return { rows, gains };
}
