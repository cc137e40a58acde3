/**
 * Quiz orchestration behind the admin quiz endpoints (routes/admin/quiz.ts): which items to ask,
 * what an operator's outcomes mean in bank rows, asking the model itself, and fitting and storing
 * the identity. Failures are ApiErrors naming the field at fault.
 */
import { upsertIdentity } from '../data/identities';
import { clearGrantCache } from '../data/grants';
import { toModelRow, type ModelRecord } from '../data/models';
import type { Env } from '../env';
import { ApiError, badRequest } from '../errors';
import { upstreamDecision } from '../routing/targets';
import { nextItem } from './adaptive';
import type { OnboardingContext } from './context';
import { selectQuiz, type Criterion, type Quiz } from './design';
import { pickItems } from './items';
import { laplacePosterior, type Posterior } from './laplace';
import { covFactor } from './linalg';
import { randomRows } from './random-rows';
import { runAdaptiveQuiz, runQuiz, type QuizAnswer } from './run-quiz';

export type QuizMethod = Criterion | 'random';

/** One outcome an operator reports: bank item id, 1 right / 0 wrong (or a fraction). */
export interface Outcome {
  id: string;
  outcome: number;
}

/** Outcomes as bank rows: the items (`rows`) and the answers (`y`), aligned. */
export interface Graded {
  rows: number[];
  y: number[];
}

/**
 * Rows of items the worker cannot grade itself (prompt or reference missing).
 *
 * @example
 * const skip = ungradable(ctx); // excluded from a quiz the worker runs
 */
export function ungradable(ctx: OnboardingContext): number[] {
  const out: number[] = [];
  ctx.bank.items.forEach((it, i) => {
    if (!it.prompt || !it.reference) out.push(i);
  });
  return out;
}

/**
 * The quiz of `n` items by `method`, avoiding `exclude`; 400 `quiz_too_large` (naming `param`)
 * when the bank has fewer usable items.
 *
 * @example
 * chooseQuiz(ctx, 20, 'i-optimal', 0, [], 'n').rows; // 20 bank rows
 */
export function chooseQuiz(
  ctx: OnboardingContext,
  n: number,
  method: QuizMethod,
  seed: number,
  exclude: number[],
  param: string,
): Quiz {
  const available = ctx.bank.params.count - exclude.length;
  if (n > available)
    throw badRequest(
      `bank ${ctx.bank.key} has only ${available} usable items`,
      param,
      'quiz_too_large',
    );
  if (method === 'random')
    return { rows: randomRows(ctx.bank.params.count, n, seed, exclude), gains: [] };
  return selectQuiz(ctx.bank.params, ctx.prior, n, { exclude, criterion: method });
}

/**
 * The bank rows of reported outcomes; 400 `unknown_item` / `duplicate_item` naming
 * `outcomes.<i>.id`.
 *
 * @example
 * outcomeRows(ctx, [{ id: '70', outcome: 1 }]); // { rows: [70], y: [1] }
 */
export function outcomeRows(ctx: OnboardingContext, outcomes: readonly Outcome[]): Graded {
  const rows: number[] = [];
  const y: number[] = [];
  for (const [i, o] of outcomes.entries()) {
    const row = ctx.bank.rowOf.get(o.id);
    const param = `outcomes.${i}.id`;
    if (row === undefined)
      throw badRequest(
        `item ${JSON.stringify(o.id)} is not in bank ${ctx.bank.key}`,
        param,
        'unknown_item',
      );
    if (rows.includes(row))
      throw badRequest(`item ${JSON.stringify(o.id)} appears twice`, param, 'duplicate_item');
    rows.push(row);
    y.push(o.outcome);
  }
  return { rows, y };
}

/**
 * Refuses a model its grants do not cover before anyone is asked (it would fail every item anyway),
 * deciding on the grants D1 holds now.
 *
 * @example
 * await requireCallable(model, env); // throws 403 host_not_granted, ...
 */
export async function requireCallable(model: ModelRecord, env: Env): Promise<void> {
  if (model.tenant_id !== null) clearGrantCache(model.tenant_id);
  const allowed = await upstreamDecision(toModelRow(model), env);
  if (!allowed.ok) throw allowed.refusal;
}

/**
 * Asks the model `n` gradable items (a fixed quiz by `method`, or the adaptive one) and grades the
 * answers; 502 `quiz_upstream_failed` when it answered none.
 *
 * @example
 * const { rows, y, answers } = await quizModel(model, env, ctx, { n: 20, method: 'i-optimal' });
 */
export async function quizModel(
  model: ModelRecord,
  env: Env,
  ctx: OnboardingContext,
  run: { n: number; method: Criterion | 'adaptive' },
): Promise<Graded & { answers: QuizAnswer[] }> {
  const { n, method } = run;
  const skip = ungradable(ctx);
  let answers: QuizAnswer[];
  if (method === 'adaptive') {
    const usable = ctx.bank.params.count - skip.length;
    if (n > usable)
      throw badRequest(
        `bank ${ctx.bank.key} has only ${usable} usable items`,
        'run.n',
        'quiz_too_large',
      );
    answers = await runAdaptiveQuiz(model, env, ctx.bank, ctx.prior, n, skip);
  } else {
    answers = await runQuiz(model, env, ctx.bank, chooseQuiz(ctx, n, method, 0, skip, 'n').rows);
  }
  const ok = answers.filter((a) => a.outcome !== null);
  if (!ok.length) {
    const why = answers[0]?.error ?? 'no answer';
    throw new ApiError(502, `the model answered none of the ${n} quiz items (${why})`, {
      code: 'quiz_upstream_failed',
    });
  }
  return { rows: ok.map((a) => a.row), y: ok.map((a) => a.outcome as number), answers };
}

/**
 * Fits the identity (Laplace posterior from the bank's prior) and stores it in D1 with source
 * `quiz` under the context's bundle; 422 `fit_failed` when the fit does not converge.
 *
 * @example
 * const post = await fitIdentity(env.DB, model, ctx, { rows, y });
 */
export async function fitIdentity(
  db: D1Database,
  model: ModelRecord,
  ctx: OnboardingContext,
  graded: Graded,
): Promise<Posterior> {
  const post = laplacePosterior(pickItems(ctx.bank.params, graded.rows), graded.y, ctx.prior);
  if (!post.mean.every(Number.isFinite))
    throw new ApiError(422, 'the identity fit did not converge', { code: 'fit_failed' });
  await upsertIdentity(db, model.id, ctx.manifest.version, {
    vector: post.mean,
    std: post.std,
    cov_factor: covFactor(post.cov),
    source: 'quiz',
    n_items: graded.rows.length,
  });
  return post;
}

/**
 * The next item of an adaptive quiz given the outcomes so far, and the posterior so far; 400
 * `bank_exhausted` when no item is left.
 *
 * @example
 * const { row, posterior } = nextQuizRow(ctx, graded, 'i-optimal', []);
 */
export function nextQuizRow(
  ctx: OnboardingContext,
  graded: Graded,
  criterion: Criterion,
  exclude: number[],
): { row: number; posterior: Posterior } {
  if (graded.rows.length + exclude.length >= ctx.bank.params.count) {
    throw badRequest(`bank ${ctx.bank.key} has no items left`, 'outcomes', 'bank_exhausted');
  }
  return nextItem(ctx.bank.params, ctx.prior, graded.rows, graded.y, { criterion, exclude });
}
