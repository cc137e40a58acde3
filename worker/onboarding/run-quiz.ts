/**
 * The quiz the worker runs itself: every chosen bank item (prompt + reference answer) is sent to
 * the model's own upstream through the provider adapters, the answer is graded against the
 * reference, and the outcomes feed the Laplace fit. An item whose call fails is left out (not
 * counted wrong), so an upstream hiccup lowers the item count, never the identity.
 */
import { readConfig } from '../config';
import { toModelRow, type ModelRecord } from '../data/models';
import type { Env } from '../env';
import type { ChatRequest } from '../providers/types';
import { toTarget } from '../routing/targets';
import { globalFetch, tryTarget } from '../upstream/attempt';
import { nextItem } from './adaptive';
import type { Bank } from './bank';
import type { Criterion } from './design';
import type { GaussianPrior } from './items';
import { grade, quizMessage } from './grade';

/** One graded quiz item. */
export interface QuizAnswer {
  id: string;
  row: number;
  /** 1 correct, 0 wrong; null when the upstream call failed. */
  outcome: 0 | 1 | null;
  /** Short reason when the call failed (`timeout`, `http_503`, ...). */
  error?: string;
}

/**
 * Most upstream calls one quiz run may make (LLM Bandit quizzes 20-50 prompts): one admin request
 * must not turn into hundreds of calls on the model's provider. The adaptive quiz, which replaces
 * a failed item by another, stops at this many calls too.
 */
export const MAX_QUIZ_CALLS = 50;
/** Most quiz calls in flight at once (be gentle with the model's provider). */
const CONCURRENCY = 4;
/** Answer budget per item: enough for a short reasoning plus "The answer is (X)". */
const MAX_TOKENS = 512;

function contentOf(json: string): string {
  const body = JSON.parse(json) as { choices?: Array<{ message?: { content?: unknown } }> };
  const content = body.choices?.[0]?.message?.content;
  return typeof content === 'string' ? content : '';
}

/**
 * Asks the model one bank item (which must have prompt and reference) and grades the answer.
 *
 * @example
 * const answer = await askItem(row, env, bank, 412); // { id: '412', row: 412, outcome: 1 }
 */
export async function askItem(
  row: ModelRecord,
  env: Env,
  bank: Bank,
  r: number,
  fetcher: typeof fetch = globalFetch,
): Promise<QuizAnswer> {
  const target = await toTarget(toModelRow(row), env);
  const { upstreamTimeoutMs: timeoutMs, completionTimeoutMs } = readConfig(env);
  const item = bank.items[r]!;
  const req: ChatRequest = {
    model: row.upstream_model,
    messages: [{ role: 'user', content: quizMessage(item.prompt ?? '', item.reference) }],
    max_tokens: MAX_TOKENS,
    temperature: 0,
    stream: false,
  };
  const res = await tryTarget(target, req, {
    timeoutMs,
    completionTimeoutMs,
    idleTimeoutMs: timeoutMs,
    fetch: fetcher,
    ...(env.AI ? { ai: env.AI } : {}),
  });
  if (res.kind !== 'answer')
    return { id: item.id, row: r, outcome: null, error: res.attempt.reason ?? 'upstream_error' };
  try {
    return {
      id: item.id,
      row: r,
      outcome: grade(contentOf(await res.response.text()), item.reference ?? ''),
    };
  } catch {
    return { id: item.id, row: r, outcome: null, error: 'bad_response' };
  }
}

/**
 * Asks the model every item at `rows` (a fixed quiz of at most MAX_QUIZ_CALLS; 4 calls in flight)
 * and grades the answers.
 *
 * @example
 * const answers = await runQuiz(row, env, bank, quiz.rows);
 * answers.filter((a) => a.outcome !== null).length; // items that count
 */
export async function runQuiz(
  row: ModelRecord,
  env: Env,
  bank: Bank,
  rows: readonly number[],
  fetcher: typeof fetch = globalFetch,
): Promise<QuizAnswer[]> {
  if (rows.length > MAX_QUIZ_CALLS)
    throw new RangeError(`a quiz run asks at most ${MAX_QUIZ_CALLS} items, not ${rows.length}`);
  const out: QuizAnswer[] = new Array(rows.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < rows.length) {
      const i = next++;
      out[i] = await askItem(row, env, bank, rows[i]!, fetcher);
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, rows.length) }, worker));
  return out;
}

/**
 * The adaptive quiz: one item at a time, each picked from the posterior of the answers so far
 * (onboarding/adaptive.ts). A failed call excludes that item and the next one is picked; at most
 * `min(2 n, MAX_QUIZ_CALLS)` calls are made. Sequential by nature: n round trips to the model.
 *
 * @example
 * const answers = await runAdaptiveQuiz(row, env, bank, prior, 20, ungradableRows);
 */
export async function runAdaptiveQuiz(
  row: ModelRecord,
  env: Env,
  bank: Bank,
  prior: GaussianPrior,
  n: number,
  exclude: readonly number[],
  criterion: Criterion = 'i-optimal',
  fetcher: typeof fetch = globalFetch,
): Promise<QuizAnswer[]> {
  const answers: QuizAnswer[] = [];
  const rows: number[] = [];
  const ys: number[] = [];
  const failed: number[] = [];
  const usable = bank.params.count - exclude.length;
  const maxCalls = Math.min(2 * n, MAX_QUIZ_CALLS);
  while (rows.length < n && answers.length < maxCalls && rows.length + failed.length < usable) {
    const { row: r } = nextItem(bank.params, prior, rows, ys, {
      criterion,
      exclude: [...exclude, ...failed],
    });
    const answer = await askItem(row, env, bank, r, fetcher);
    answers.push(answer);
    if (answer.outcome === null) {
      failed.push(r);
    } else {
      rows.push(r);
      ys.push(answer.outcome);
    }
  }
  return answers;
}
