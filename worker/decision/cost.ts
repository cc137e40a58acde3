/**
 * Cost model of the bundle contract: tokens = ceil(chars / 4); expected cost in USD =
 * (input price x prompt tokens + output price x expected output tokens) / 1e6.
 */
import type { Candidate } from './types';

/**
 * Prompt tokens of a request: ceil(characters / 4) over all message text.
 *
 * @example
 * promptTokens(['You are terse.', 'What is 2+2?']); // 7
 */
export function promptTokens(texts: readonly string[]): number {
  let chars = 0;
  for (const t of texts) chars += t.length;
  return Math.ceil(chars / 4);
}

/**
 * Expected cost in USD of sending a prompt of `tokens` tokens to `candidate`.
 *
 * @example
 * expectedCostUsd({ name: 'm', identity: [], inputUsdPerMtok: 5, outputUsdPerMtok: 15, expectedOutputTokens: 500 }, 100);
 * // (5 * 100 + 15 * 500) / 1e6 = 0.008
 */
export function expectedCostUsd(candidate: Candidate, tokens: number): number {
  return (
    (candidate.inputUsdPerMtok * tokens +
      candidate.outputUsdPerMtok * candidate.expectedOutputTokens) /
    1e6
  );
}

/**
 * What an answer actually cost in USD: the tokens the upstream reported, at the model's prices
 * (USD per million tokens): (input price x prompt tokens + output price x completion tokens) / 1e6.
 *
 * @example
 * actualCostUsd({ inputUsdPerMtok: 5, outputUsdPerMtok: 15 }, { promptTokens: 100, completionTokens: 20 });
 * // (5 * 100 + 15 * 20) / 1e6 = 0.0008
 */
export function actualCostUsd(
  prices: { inputUsdPerMtok: number; outputUsdPerMtok: number },
  usage: { promptTokens: number; completionTokens: number },
): number {
  return (
    (prices.inputUsdPerMtok * usage.promptTokens +
      prices.outputUsdPerMtok * usage.completionTokens) /
    1e6
  );
}
