/**
 * The quiz the worker runs itself: every chosen bank item (prompt + reference answer) is sent to
 * the model's own upstream through the provider adapters, the answer is graded against the
 * reference, and the outcomes feed the Laplace fit. An item whose call fails is left out (not
 * counted wrong), so an upstream hiccup lowers the item count, never the identity.
 */
import type { Env } from '../env';
import type { ChatRequest, UpstreamTarget } from '../providers/types';
import { tryTarget } from '../upstream/attempt';
import type { Bank } from './bank';
import { grade, quizMessage } from './grade';
import type { ModelRow } from './store';

/** One graded quiz item. */
export interface QuizAnswer {
  id: string;
  row: number;
  /** 1 correct, 0 wrong; null when the upstream call failed. */
  outcome: 0 | 1 | null;
  /** Short reason when the call failed (`timeout`, `http_503`, ...). */
  error?: string;
}

/** Most quiz calls in flight at once (be gentle with the model's provider). */
const CONCURRENCY = 4;
/** Answer budget per item: enough for a short reasoning plus "The answer is (X)". */
const MAX_TOKENS = 512;

/**
 * The upstream target of a model row (API key from the worker secret the row names).
 *
 * @example
 * const target = targetOf(row, env); // { name: 'phi-3', provider: 'openai', ... }
 */
export function targetOf(row: ModelRow, env: Env): UpstreamTarget {
  const secret = row.secret_name ? (env as unknown as Record<string, unknown>)[row.secret_name] : undefined;
  return {
    name: row.name,
    provider: row.provider,
    upstreamModel: row.upstream_model,
    ...(row.base_url ? { baseUrl: row.base_url } : {}),
    ...(typeof secret === 'string' ? { apiKey: secret } : {}),
  };
}

function contentOf(json: string): string {
  const body = JSON.parse(json) as { choices?: Array<{ message?: { content?: unknown } }> };
  const content = body.choices?.[0]?.message?.content;
  return typeof content === 'string' ? content : '';
}

/**
 * Asks the model every item at `rows` (which must have prompt and reference) and grades the answers.
 *
 * @example
 * const answers = await runQuiz(row, env, bank, quiz.rows);
 * answers.filter((a) => a.outcome !== null).length; // items that count
 */
export async function runQuiz(row: ModelRow, env: Env, bank: Bank, rows: readonly number[], fetcher: typeof fetch = fetch): Promise<QuizAnswer[]> {
  const target = targetOf(row, env);
  const timeoutMs = Number(env.UPSTREAM_TIMEOUT_MS ?? '15000') || 15000;
  const out: QuizAnswer[] = new Array(rows.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < rows.length) {
      const i = next++;
      const r = rows[i]!;
      const item = bank.items[r]!;
      const req: ChatRequest = {
        model: row.upstream_model,
        messages: [{ role: 'user', content: quizMessage(item.prompt ?? '', item.reference) }],
        max_tokens: MAX_TOKENS,
        temperature: 0,
        stream: false,
      };
      const res = await tryTarget(target, req, {
        timeoutMs, idleTimeoutMs: timeoutMs, fetch: fetcher, ...(env.AI ? { ai: env.AI } : {}),
      });
      if (res.kind !== 'answer') {
        out[i] = { id: item.id, row: r, outcome: null, error: res.attempt.reason ?? 'upstream_error' };
        continue;
      }
      try {
        out[i] = { id: item.id, row: r, outcome: grade(contentOf(await res.response.text()), item.reference ?? '') };
      } catch {
        out[i] = { id: item.id, row: r, outcome: null, error: 'bad_response' };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, rows.length) }, worker));
  return out;
}
