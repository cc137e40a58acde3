/**
 * Cost/quality dominance among a request's candidates. A candidate that costs at least as much as
 * another and is predicted to succeed no more often is never the better buy at any preference,
 * so the policy need not look at it: its run time grows with the candidates it attends over.
 */

/**
 * Indices (ascending) of the candidates no other candidate dominates. `j` dominates `i` when
 * `cost[j] <= cost[i]` and `p[j] >= p[i]`, one of them strictly. Exact twins (same cost, same p)
 * dominate neither and are both kept. O(K log K).
 *
 * @example
 * nonDominated([1, 2, 3], [0.5, 0.4, 0.9]); // [0, 2]: candidate 1 costs more than 0 and is worse
 */
export function nonDominated(costs: readonly number[], pSuccess: readonly number[]): number[] {
  const byCost = costs
    .map((_, i) => i)
    .sort((a, b) => costs[a]! - costs[b]! || pSuccess[b]! - pSuccess[a]!);
  const kept: number[] = [];
  let best = -Infinity; // highest p of the candidates seen so far (all of them no dearer)
  let bestCost = -Infinity;
  for (const i of byCost) {
    const p = pSuccess[i]!;
    const twin = p === best && costs[i] === bestCost;
    if (p > best || twin) {
      kept.push(i);
      best = p;
      bestCost = costs[i]!;
    }
  }
  return kept.sort((a, b) => a - b);
}
