/**
 * Where an experiment's requests are found in the decision log: each arm's rows carry the arm's
 * name and the pool the arm routes in (its own `pool`, else the experiment's; a fixed-model arm
 * is logged under the experiment's pool).
 */
import type { ArmKey } from '../data/experiment-rows';
import type { ExperimentArm } from '../data/pools';

/**
 * The (pool, arm) pairs of an experiment on pool `pool`.
 *
 * @example
 * armKeys('main', [{ name: 'a', weight: 1 }, { name: 'b', weight: 1, pool: 'alt' }]);
 * // [{ pool: 'main', arm: 'a' }, { pool: 'alt', arm: 'b' }]
 */
export function armKeys(pool: string, arms: readonly ExperimentArm[]): ArmKey[] {
  return arms.map((a) => ({ pool: a.model ? pool : (a.pool ?? pool), arm: a.name }));
}
