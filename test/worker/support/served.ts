// A served chat completion's decision, and the feedback rows stored for a decision: what the
// feedback, online-learning and isolation tests all start from and check.
import { expect } from 'vitest';
import { call } from './call';
import { testEnv } from './seed';

type Message = { role: string; content: string };

/**
 * Serves one chat completion with `key` on `model` (the router by default), asserts it is a 200
 * and returns its decision id and the model that answered.
 *
 * @example
 * const { id } = await servedChat(key, 'router/main', [{ role: 'user', content: 'Hi' }]);
 */
export async function servedChat(
  key: string,
  model: string,
  messages: readonly Message[],
): Promise<{ id: string; model: string }> {
  const res = await call('/v1/chat/completions', { key, body: { model, messages } });
  expect(res.status).toBe(200);
  return {
    id: res.headers.get('x-router-decision-id')!,
    model: res.headers.get('x-router-model')!,
  };
}

/**
 * How many feedback rows D1 holds for `decisionId`, whoever sent them.
 *
 * @example
 * expect(await feedbackRows(theirs)).toBe(0);
 */
export async function feedbackRows(decisionId: string): Promise<number> {
  const row = await testEnv.DB.prepare('SELECT COUNT(*) AS n FROM feedback WHERE decision_id = ?1')
    .bind(decisionId)
    .first<{ n: number }>();
  return row!.n;
}
