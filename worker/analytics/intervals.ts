/**
 * 95% intervals for experiment reports. Rates: Wilson's score interval for one proportion and
 * Newcombe's hybrid score interval (his method 10, built from the two Wilson intervals) for the
 * difference of two. Means: Student's t interval for one mean, and Welch's interval (unequal
 * variances, Welch-Satterthwaite degrees of freedom) for the difference of two. The t quantile
 * is computed from the regularised incomplete beta function (continued fraction), not a table.
 */

/** The standard normal quantile at 0.975. */
export const Z95 = 1.959963984540054;

/** A closed interval [low, high]. */
export type Interval = [number, number];

/** A sample's count, mean and sum of squared deviations from its mean. */
export interface Sample {
  n: number;
  mean: number | null;
  m2: number;
}

/**
 * Wilson's score interval for k successes in n trials (null when n = 0).
 *
 * @example
 * wilson(5, 100); // [0.0215, 0.1118] (rounded)
 */
export function wilson(k: number, n: number, z = Z95): Interval | null {
  if (n <= 0) return null;
  const p = k / n;
  const z2 = z * z;
  const centre = (p + z2 / (2 * n)) / (1 + z2 / n);
  const half = (z / (1 + z2 / n)) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n)) || 0;
  return [Math.max(0, centre - half), Math.min(1, centre + half)];
}

/**
 * Newcombe's hybrid score interval for p1 - p2 (k1 of n1 against k2 of n2); null when either n is 0.
 *
 * @example
 * newcombe(10, 100, 20, 100); // { diff: -0.1, ci: [-0.1995, -0.0001] } (rounded)
 */
export function newcombe(
  k1: number,
  n1: number,
  k2: number,
  n2: number,
): { diff: number; ci: Interval } | null {
  const w1 = wilson(k1, n1);
  const w2 = wilson(k2, n2);
  if (!w1 || !w2) return null;
  const p1 = k1 / n1;
  const p2 = k2 / n2;
  const diff = p1 - p2;
  const low = diff - Math.sqrt((p1 - w1[0]) ** 2 + (w2[1] - p2) ** 2);
  const high = diff + Math.sqrt((w1[1] - p1) ** 2 + (p2 - w2[0]) ** 2);
  return { diff, ci: [low, high] };
}

/** ln Gamma(x) for x > 0 (Lanczos, g = 7, 9 terms; about 15 significant digits). */
function logGamma(x: number): number {
  const c = [
    0.9999999999998099, 676.5203681218851, -1259.1392167224028, 771.3234287776531,
    -176.61503916999186, 12.507343278686905, -0.13857109526572012, 9.984369578019572e-6,
    1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const y = x - 1;
  let a = c[0]!;
  const t = y + 7.5;
  for (let i = 1; i < 9; i++) a += c[i]! / (y + i);
  return 0.5 * Math.log(2 * Math.PI) + (y + 0.5) * Math.log(t) - t + Math.log(a);
}

/** The continued fraction of the incomplete beta function (modified Lentz). */
function betaFraction(a: number, b: number, x: number): number {
  const tiny = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  d = 1 / (Math.abs(d) < tiny ? tiny : d);
  let h = d;
  for (let m = 1; m <= 300; m++) {
    const m2 = 2 * m;
    for (const num of [
      (m * (b - m) * x) / ((a + m2 - 1) * (a + m2)),
      (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1)),
    ]) {
      d = 1 + num * d;
      d = 1 / (Math.abs(d) < tiny ? tiny : d);
      c = 1 + num / c;
      if (Math.abs(c) < tiny) c = tiny;
      h *= d * c;
    }
    if (Math.abs(d * c - 1) < 1e-15) break;
  }
  return h;
}

/** The regularised incomplete beta function I_x(a, b). */
function incompleteBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(
    logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log(1 - x),
  );
  return x < (a + 1) / (a + b + 2)
    ? (front * betaFraction(a, b, x)) / a
    : 1 - (front * betaFraction(b, a, 1 - x)) / b;
}

/**
 * P(T <= t) for Student's t with `df` (> 0, not necessarily whole) degrees of freedom.
 *
 * @example
 * tCdf(2.228138851986, 10); // 0.975
 */
export function tCdf(t: number, df: number): number {
  const tail = 0.5 * incompleteBeta(df / (df + t * t), df / 2, 0.5);
  return t >= 0 ? 1 - tail : tail;
}

/**
 * The quantile of Student's t at probability p in (0.5, 1) (bisection on tCdf to 1e-12).
 *
 * @example
 * tQuantile(0.975, 10); // 2.2281
 */
export function tQuantile(p: number, df: number): number {
  let low = 0;
  let high = 1;
  while (tCdf(high, df) < p) high *= 2;
  for (let i = 0; i < 200 && high - low > 1e-12; i++) {
    const mid = (low + high) / 2;
    if (tCdf(mid, df) < p) low = mid;
    else high = mid;
  }
  return (low + high) / 2;
}

/**
 * Student's t 95% interval for a sample's mean; null when n < 2 (no variance to go on).
 *
 * @example
 * meanInterval({ n: 4, mean: 2.5, m2: 5 }); // [0.4457, 4.5543] (rounded)
 */
export function meanInterval(s: Sample): Interval | null {
  if (s.n < 2 || s.mean === null) return null;
  const se = Math.sqrt(s.m2 / (s.n - 1) / s.n);
  const half = tQuantile(0.975, s.n - 1) * se;
  return [s.mean - half, s.mean + half];
}

/**
 * Welch's 95% interval for mean(a) - mean(b), with its Welch-Satterthwaite degrees of freedom;
 * null when either sample has fewer than 2 values. Two samples without any variance give the
 * difference as a point interval (df null).
 *
 * @example
 * welch({ n: 4, mean: 2.5, m2: 5 }, { n: 3, mean: 1, m2: 2 }); // { diff: 1.5, ci: [-0.7317, 3.7317], df: 4.959 } (rounded)
 */
export function welch(
  a: Sample,
  b: Sample,
): { diff: number; ci: Interval; df: number | null } | null {
  if (a.n < 2 || b.n < 2 || a.mean === null || b.mean === null) return null;
  const va = a.m2 / (a.n - 1) / a.n;
  const vb = b.m2 / (b.n - 1) / b.n;
  const diff = a.mean - b.mean;
  const se2 = va + vb;
  if (!(se2 > 0)) return { diff, ci: [diff, diff], df: null };
  const df = (se2 * se2) / ((va * va) / (a.n - 1) + (vb * vb) / (b.n - 1));
  const half = tQuantile(0.975, df) * Math.sqrt(se2);
  return { diff, ci: [diff - half, diff + half], df };
}
