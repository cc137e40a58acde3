/**
 * Exploration: an exploring pool serves a candidate drawn from the policy's probabilities at a
 * temperature instead of its top choice, and logs the probability it was drawn with (its
 * propensity), so that another policy can be scored offline from the logs by inverse propensity.
 * Twin of `model-assets/trainer/onboard/online.py` (`tempered`, `explore`, `exploration_mask`),
 * checked against its fixture (test/worker/onboarding/fixtures/online.json).
 */

/** Lowest temperature a pool may set (`pools.exploration_temperature`'s CHECK; below it, use off). */
export const MIN_TEMPERATURE = 0.05;
/** Highest temperature: above it every shown candidate is nearly equally likely. */
export const MAX_TEMPERATURE = 10;

/**
 * The policy's probabilities at temperature T: `q_i = p_i^(1/T) / sum_k p_k^(1/T)`, computed as
 * `exp((ln p_i - ln p_max) / T)` so a small T does not underflow the top candidate. A candidate with
 * `p_i = 0` (one the policy was not shown), or not `eligible`, gets 0.
 *
 * @example
 * tempered([0.6, 0.3, 0.1, 0], 2); // [0.473, 0.334, 0.193, 0] (rounded)
 * tempered([0.6, 0.3, 0.1, 0], 1, [true, false, true, true]); // [0.857, 0, 0.143, 0]
 */
export function tempered(
  probs: readonly number[],
  temperature: number,
  eligible?: readonly boolean[],
): number[] {
  if (!(temperature >= MIN_TEMPERATURE && temperature <= MAX_TEMPERATURE))
    throw new RangeError(`temperature must be in [${MIN_TEMPERATURE}, ${MAX_TEMPERATURE}]`);
  if (probs.length === 0 || probs.some((x) => !Number.isFinite(x) || x < 0))
    throw new RangeError('probabilities must be finite and non-negative');
  if (eligible && eligible.length !== probs.length)
    throw new RangeError('one eligibility flag per candidate');
  const p = probs.map((x, i) => (!eligible || eligible[i] ? x : 0));
  const max = Math.max(...p);
  if (!(max > 0)) throw new RangeError('no eligible candidate has a positive probability');
  const top = Math.log(max);
  const w = p.map((x) => (x > 0 ? Math.exp((Math.log(x) - top) / temperature) : 0));
  const total = w.reduce((s, x) => s + x, 0);
  return w.map((x) => x / total);
}

/** The candidate an exploring pool serves and the probability it was drawn with. */
export interface Draw {
  index: number;
  propensity: number;
}

/**
 * The first candidate whose cumulative tempered probability exceeds `u` (uniform in [0, 1)), and
 * its tempered probability. Rounding can leave the last sum just below u: the last candidate with
 * a positive probability is served then.
 *
 * @example
 * explore([0.6, 0.3, 0.1], 1, 0.65); // { index: 1, propensity: 0.3 }
 */
export function explore(
  probs: readonly number[],
  temperature: number,
  u: number,
  eligible?: readonly boolean[],
): Draw {
  if (!(u >= 0 && u < 1)) throw new RangeError('u must be in [0, 1)');
  const q = tempered(probs, temperature, eligible);
  let acc = 0;
  let last = 0;
  for (let i = 0; i < q.length; i++) {
    const qi = q[i]!;
    if (qi <= 0) continue;
    last = i;
    acc += qi;
    if (u < acc) return { index: i, propensity: qi };
  }
  return { index: last, propensity: q[last]! };
}

/**
 * Which candidates an exploring pool may serve: its top choice and every candidate still being
 * learned (one with an uncertain identity: a quiz or online one, routed with a covariance). No
 * request is spent on a trained model the policy ranks lower, which teaches nothing.
 *
 * @example
 * explorationMask(0, [false, false, true, false]); // [true, false, true, false]
 */
export function explorationMask(top: number, uncertain: readonly boolean[]): boolean[] {
  return uncertain.map((u, i) => i === top || u);
}

/** A uniform number in [0, 1) from the platform's CSPRNG (53 random bits). */
function cryptoUniform(): number {
  const [hi, lo] = crypto.getRandomValues(new Uint32Array(2));
  return ((hi! >>> 5) * 67108864 + (lo! >>> 6)) / 9007199254740992;
}

let uniform: () => number = cryptoUniform;

/**
 * One uniform draw in [0, 1) for an exploring request.
 *
 * @example
 * const { index, propensity } = explore(decision.probs, 1, drawUniform());
 */
export function drawUniform(): number {
  return uniform();
}

/**
 * Replaces the uniform source (tests inject a seeded one for reproducible draws); `null` restores
 * the CSPRNG.
 *
 * @example
 * setUniformSource(() => 0.5); // every exploring request draws u = 0.5
 * setUniformSource(null);
 */
export function setUniformSource(source: (() => number) | null): void {
  uniform = source ?? cryptoUniform;
}
