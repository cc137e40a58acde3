/**
 * Deterministic, sticky traffic split: the same experiment and unit (body `user`, else header
 * `x-router-user`, else the decision id) always land in the same arm, with probability
 * proportional to the arm weights.
 *
 * The split is weighted rendezvous hashing: every (unit, arm) pair gets a fixed uniform draw u,
 * the arm's score is -ln(u) / weight (an exponential variable with rate = weight), and the unit
 * goes to the arm with the lowest score. The lowest of independent exponentials is arm i with
 * probability weight_i / sum(weights), and a unit's draws never change, so changing weights moves
 * as few units as the change allows for a single arm: raising one arm's weight only moves units
 * into it, lowering it only moves units out of it (spread over the others in proportion to their
 * weights); the other arms keep each other's units. Draws are keyed by the arm's name, so the order
 * of the arms does not matter.
 */
import type { Experiment, ExperimentArm } from '../data/pools';

/** 32-bit FNV-1a of a string's UTF-16 code units, then murmur3's finaliser to spread its bits. */
function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * The fixed draw in (0, 1) of one unit for one arm of one experiment.
 *
 * @example
 * unitDraw('exp_1', 'user-42', 'control'); // e.g. 0.7305, the same on every call
 */
export function unitDraw(experimentId: string, unit: string, arm: string): number {
  return (hash32(`${experimentId}\u0000${unit}\u0000${arm}`) + 0.5) / 2 ** 32;
}

/**
 * The arm `unit` belongs to in `experiment` (arms of weight 0 get no traffic).
 *
 * @example
 * assignArm({ id: 'e1', name: 'new bundle', armModels: new Map(), arms: [{ name: 'control', weight: 0.9 }, { name: 'candidate', weight: 0.1, bundle_version: 'v2' }] }, 'user-42');
 */
export function assignArm(
  experiment: Pick<Experiment, 'id' | 'arms'>,
  unit: string,
): ExperimentArm {
  let best = experiment.arms[0]!;
  let bestScore = Infinity;
  for (const arm of experiment.arms) {
    if (!(arm.weight > 0)) continue;
    const score = -Math.log(unitDraw(experiment.id, unit, arm.name)) / arm.weight;
    if (score < bestScore) {
      best = arm;
      bestScore = score;
    }
  }
  return best;
}
