/**
 * Item parameters of a quiz bank as flat typed arrays, and the population prior of identities.
 * With the IRT head frozen, item j answers correctly with `sigmoid(a_j . theta - c_j)`.
 */

/** Bank item parameters: `a` is row-major [count, dim], `c` has one difficulty per item. */
export interface ItemParams {
  dim: number;
  count: number;
  a: Float64Array;
  c: Float64Array;
}

/** Gaussian population prior of identities (manifest `irt.prior`). */
export interface GaussianPrior {
  mean: number[];
  cov: number[][];
}

/**
 * Packs per-item vectors into {@link ItemParams}; throws on ragged or non-finite input.
 *
 * @example
 * const items = packItems([[1, 0], [0, 1]], [0.5, -0.5]); // items.count === 2, items.dim === 2
 */
export function packItems(
  a: ReadonlyArray<ReadonlyArray<number>>,
  c: ReadonlyArray<number>,
): ItemParams {
  if (a.length !== c.length)
    throw new Error(`item count mismatch: ${a.length} a rows, ${c.length} c values`);
  const count = a.length;
  const dim = count ? a[0]!.length : 0;
  const flat = new Float64Array(count * dim);
  a.forEach((row, i) => {
    if (row.length !== dim)
      throw new Error(`item ${i} has ${row.length} components, expected ${dim}`);
    for (let k = 0; k < dim; k++) {
      const x = row[k]!;
      if (!Number.isFinite(x)) throw new Error(`item ${i} has a non-finite parameter`);
      flat[i * dim + k] = x;
    }
  });
  const cs = Float64Array.from(c);
  if (!cs.every(Number.isFinite)) throw new Error('non-finite item difficulty');
  return { dim, count, a: flat, c: cs };
}

/**
 * The items at `rows`, in that order.
 *
 * @example
 * pickItems(packItems([[1], [2], [3]], [0, 0, 0]), [2, 0]).a; // Float64Array [3, 1]
 */
export function pickItems(items: ItemParams, rows: readonly number[]): ItemParams {
  const { dim } = items;
  const a = new Float64Array(rows.length * dim);
  const c = new Float64Array(rows.length);
  rows.forEach((r, i) => {
    if (!(r >= 0 && r < items.count)) throw new Error(`item row ${r} out of range`);
    a.set(items.a.subarray(r * dim, (r + 1) * dim), i * dim);
    c[i] = items.c[r]!;
  });
  return { dim, count: rows.length, a, c };
}

/** Numerically safe logistic function (same form as the Python twin). @example sigmoid(0); // 0.5 */
export function sigmoid(x: number): number {
  return 0.5 * (1 + Math.tanh(0.5 * x));
}
