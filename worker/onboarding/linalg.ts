/**
 * Small dense linear algebra for identity-sized matrices (d ~ 16-32), row-major `number[][]`.
 * Only what onboarding needs: Cholesky, solves and the inverse of symmetric positive-definite
 * matrices. Double precision throughout, like the Python twin (numpy float64).
 */

export type Matrix = number[][];
export type Vector = number[];

/**
 * Lower-triangular L with `A = L L^T` for a symmetric positive-definite A.
 * Throws when A is not positive definite (a broken prior or a NaN upstream).
 *
 * @example
 * cholesky([[4, 2], [2, 3]]); // [[2, 0], [1, 1.414...]]
 */
export function cholesky(a: Matrix): Matrix {
  const n = a.length;
  const l: Matrix = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  for (let i = 0; i < n; i++) {
    const li = l[i]!;
    for (let j = 0; j <= i; j++) {
      const lj = l[j]!;
      let s = a[i]![j]!;
      for (let k = 0; k < j; k++) s -= li[k]! * lj[k]!;
      if (i === j) {
        if (!(s > 0)) throw new Error('matrix is not positive definite');
        li[i] = Math.sqrt(s);
      } else {
        li[j] = s / lj[j]!;
      }
    }
  }
  return l;
}

/**
 * Vectors v_i with `A = sum_i v_i v_i^T`: the columns of A's Cholesky factor. This is how D1 stores
 * an identity's posterior covariance (`model_identities.cov_factor`) and how the decision core
 * reads it (decision/types.ts, `Candidate.covFactor`).
 *
 * @example
 * covFactor([[4, 0], [0, 1]]); // [[2, 0], [0, 1]]
 */
export function covFactor(a: Matrix): Matrix {
  const l = cholesky(a);
  return l.map((_, j) => l.map((row) => row[j]!));
}

/**
 * Solves `L L^T x = b` given the Cholesky factor L.
 *
 * @example
 * choleskySolve(cholesky([[4, 0], [0, 1]]), [8, 3]); // [2, 3]
 */
export function choleskySolve(l: Matrix, b: Vector): Vector {
  const n = l.length;
  const y = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    let s = b[i]!;
    const li = l[i]!;
    for (let k = 0; k < i; k++) s -= li[k]! * y[k]!;
    y[i] = s / li[i]!;
  }
  const x = new Array<number>(n);
  for (let i = n - 1; i >= 0; i--) {
    let s = y[i]!;
    for (let k = i + 1; k < n; k++) s -= l[k]![i]! * x[k]!;
    x[i] = s / l[i]![i]!;
  }
  return x;
}

/**
 * Inverse of a symmetric positive-definite matrix (symmetrised against rounding).
 *
 * @example
 * inverseSpd([[2, 0], [0, 4]]); // [[0.5, 0], [0, 0.25]]
 */
export function inverseSpd(a: Matrix): Matrix {
  const n = a.length;
  const l = cholesky(a);
  const cols = Array.from({ length: n }, (_, j) => choleskySolve(l, unit(n, j)));
  return Array.from({ length: n }, (_, i) =>
    Array.from({ length: n }, (_, j) => 0.5 * (cols[j]![i]! + cols[i]![j]!)),
  );
}

/**
 * `M v`.
 *
 * @example
 * matVec([[1, 2], [3, 4]], [1, 1]); // [3, 7]
 */
export function matVec(m: Matrix, v: ArrayLike<number>): Vector {
  return m.map((row) => {
    let s = 0;
    for (let k = 0; k < row.length; k++) s += row[k]! * v[k]!;
    return s;
  });
}

/**
 * Dot product of two equally long vectors.
 *
 * @example
 * dot([1, 2], [3, 4]); // 11
 */
export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let k = 0; k < a.length; k++) s += a[k]! * b[k]!;
  return s;
}

/** Deep copy of a matrix. @example copyMatrix([[1]]); // [[1]] */
export function copyMatrix(m: Matrix): Matrix {
  return m.map((row) => row.slice());
}

function unit(n: number, j: number): Vector {
  const e = new Array<number>(n).fill(0);
  e[j] = 1;
  return e;
}
