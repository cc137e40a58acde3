/**
 * Deterministic traffic split: the same experiment and unit (user id, else decision id) always
 * land in the same arm, with probability proportional to the arm weights.
 */
import type { Experiment, ExperimentArm } from '../data/pools';

/** 32-bit FNV-1a of a string's UTF-16 code units; plenty for bucketing. */
function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/**
 * The arm `unit` belongs to in `experiment`.
 *
 * @example
 * assignArm({ id: 'e1', name: 'new bundle', arms: [{ name: 'control', weight: 0.9 }, { name: 'candidate', weight: 0.1, bundle_version: 'v2' }] }, 'user-42');
 */
export function assignArm(experiment: Experiment, unit: string): ExperimentArm {
  const total = experiment.arms.reduce((s, a) => s + a.weight, 0);
  const u = (fnv1a(`${experiment.id}\u0000${unit}`) / 2 ** 32) * total;
  let acc = 0;
  for (const arm of experiment.arms) {
    acc += arm.weight;
    if (u < acc) return arm;
  }
  return experiment.arms[experiment.arms.length - 1]!;
}
