/** The overall deadline of one request: the configured budget, which the caller may only lower. */
import { badRequest } from '../errors';

/** The header a caller lowers its own deadline with. */
export const TIMEOUT_HEADER = 'x-router-timeout-ms';

/**
 * The request's budget in milliseconds: `configuredMs` (REQUEST_DEADLINE_MS), or the header's value
 * when that is lower. The header must be a whole number of milliseconds above 0 (else a 400);
 * a larger one is not an error, it just does not raise the budget.
 *
 * @example
 * requestBudgetMs(150000, '2000');    // 2000
 * requestBudgetMs(150000, '600000');  // 150000
 * requestBudgetMs(150000, undefined); // 150000
 */
export function requestBudgetMs(configuredMs: number, header: string | undefined): number {
  if (header === undefined) return configuredMs;
  const text = header.trim();
  if (!/^\d{1,15}$/.test(text) || Number(text) === 0) {
    throw badRequest(
      `${TIMEOUT_HEADER} must be a whole number of milliseconds above 0`,
      TIMEOUT_HEADER,
      'invalid_timeout',
    );
  }
  return Math.min(configuredMs, Number(text));
}
