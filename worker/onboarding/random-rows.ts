/** The random quiz (`method=random`, the baseline the designed quizzes are measured against). */

/**
 * mulberry32: a small seeded generator of uniforms in [0, 1), so the same seed gives the same quiz.
 *
 * @example
 * const next = mulberry32(7);
 * next(); // the same first number for seed 7 on every run
 */
export function mulberry32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * `n` distinct rows of `0..count-1` by a seeded partial Fisher-Yates shuffle, avoiding `exclude`.
 *
 * @example
 * randomRows(60, 3, 0, [0, 1]); // e.g. [17, 42, 5]
 */
export function randomRows(
  count: number,
  n: number,
  seed: number,
  exclude: readonly number[],
): number[] {
  const banned = new Set(exclude);
  const pool = Array.from({ length: count }, (_, i) => i).filter((i) => !banned.has(i));
  const next = mulberry32(seed);
  for (let i = 0; i < n; i++) {
    const j = i + Math.floor(next() * (pool.length - i));
    [pool[i], pool[j]] = [pool[j]!, pool[i]!];
  }
  return pool.slice(0, n);
}
