/**
 * Tokens a chat completion is counted for before it is called, as OpenAI counts them: prompt
 * tokens (characters / 4, the cost model's rule) plus the most it may write, `max_completion_tokens`
 * or `max_tokens`, else the largest expected output among the models it may go to, per choice (`n`).
 */
import type { Context } from 'hono';
import { readConfig } from '../../config';
import { findModel } from '../../data/models';
import { getPool } from '../../data/pools';
import { promptTokens } from '../../decision/cost';
import { messageText } from '../../embedding/prompt-text';
import type { AppEnv } from '../../env';
import { poolNameOf } from '../../routing/route-request';
import type { ChatBody } from '../../schemas/chat';

/** The expected completion length of the pool's largest writer, or of the named model. */
async function expectedOutput(c: Context<AppEnv>, body: ChatBody): Promise<number> {
  const tenant = c.get('tenant');
  const poolName = poolNameOf(body.model, tenant);
  if (poolName !== null) {
    const pool = await getPool(c.env.DB, tenant.id, poolName, readConfig(c.env).poolCacheMs);
    return pool ? Math.max(0, ...pool.members.map((m) => m.expectedOutputTokens)) : 0;
  }
  return (await findModel(c.env.DB, tenant.id, body.model))?.expectedOutputTokens ?? 0;
}

/**
 * @example
 * const tokens = await estimateTokens(c, c.req.valid('json')); // e.g. 12 prompt + 512 expected = 524
 */
export async function estimateTokens(c: Context<AppEnv>, body: ChatBody): Promise<number> {
  const prompt = promptTokens(body.messages.map(messageText));
  const perChoice =
    body.max_completion_tokens ?? body.max_tokens ?? (await expectedOutput(c, body));
  return prompt + perChoice * (body.n ?? 1);
}
