/**
 * `GET /admin/models/{id}/quiz?n=20` returns the quiz (I-optimal by default, `method=d-optimal`, or
 * `method=random` for the baseline); `POST /admin/models/{id}/quiz` takes the outcomes (or
 * `{"run": {"n": 20}}`: the worker asks the model itself and grades against the bank's
 * references), fits the identity with the Laplace posterior and stores it in D1 with source
 * `quiz`. From then on every pool the model is in routes with it (pools are cached a few seconds
 * per isolate). The orchestration is onboarding/quiz-service.ts.
 */
import type { Context } from 'hono';
import { clearPoolCache } from '../../data/pools';
import type { AppEnv } from '../../env';
import { bankAbility } from '../../onboarding/ability';
import type { BankItem } from '../../onboarding/bank';
import { onboardingContext } from '../../onboarding/context';
import {
  chooseQuiz,
  fitIdentity,
  nextQuizRow,
  outcomeRows,
  quizModel,
  requireCallable,
  ungradable,
} from '../../onboarding/quiz-service';
import { ownModel } from './model-of';
import type { ModelParams, QuizNext, QuizPost, QuizQuery, Valid } from './schemas';

/** A bank item as the quiz endpoints show it. */
function itemView(it: BankItem): { id: string; prompt?: string; gradable: boolean } {
  return {
    id: it.id,
    ...(it.prompt !== undefined ? { prompt: it.prompt } : {}),
    gradable: Boolean(it.prompt && it.reference),
  };
}

/**
 * Handler of `GET /admin/models/{id}/quiz`.
 *
 * @example
 * admin.get('/models/:id/quiz', validParams(modelParams), validQuery(quizQuerySchema), getQuiz);
 * // GET /admin/models/mdl_1/quiz?n=20&method=d-optimal
 */
export async function getQuiz(
  c: Context<AppEnv, string, Valid<{ param: ModelParams; query: QuizQuery }>>,
): Promise<Response> {
  const row = await ownModel(c);
  const { n, bank, bundle, method, seed, gradable } = c.req.valid('query');
  const ctx = await onboardingContext(c.env, c.get('tenant').id, bundle, bank);
  const quiz = chooseQuiz(ctx, n, method, seed, gradable ? ungradable(ctx) : [], 'n');
  const gain = quiz.gains.reduce((s, g) => s + g, 0);
  return c.json({
    object: 'quiz',
    model: row.id,
    bundle_version: ctx.manifest.version,
    bank,
    prior: ctx.priorSource,
    method,
    n,
    expected_information_nats: method === 'd-optimal' ? gain : null,
    ...(method === 'i-optimal' ? { predictive_variance_reduction: gain } : {}),
    items: quiz.rows.map((r) => itemView(ctx.bank.items[r]!)),
  });
}

/**
 * Handler of `POST /admin/models/{id}/quiz`.
 *
 * @example
 * admin.post('/models/:id/quiz', validParams(modelParams), validBody(quizPostSchema), postQuiz);
 * // POST {"outcomes": [{"id": "70", "outcome": 1}, ...]} or {"run": {"n": 20}}
 */
export async function postQuiz(
  c: Context<AppEnv, string, Valid<{ param: ModelParams; json: QuizPost }>>,
): Promise<Response> {
  const row = await ownModel(c);
  const body = c.req.valid('json');
  if (body.run) await requireCallable(row, c.env);
  const ctx = await onboardingContext(c.env, c.get('tenant').id, body.bundle, body.bank);
  // the schema admits exactly one of `run` and `outcomes`
  const run = body.run ? await quizModel(row, c.env, ctx, body.run) : null;
  const graded = run ?? outcomeRows(ctx, body.outcomes ?? []);
  const post = await fitIdentity(c.env.DB, row, ctx, graded);
  clearPoolCache(c.get('tenant').id); // routed with the new identity at once in this isolate
  return c.json({
    object: 'model.identity',
    model: row.id,
    name: row.name,
    bundle_version: ctx.manifest.version,
    bank: body.bank,
    prior: ctx.priorSource,
    source: 'quiz',
    n_items: graded.rows.length,
    identity: post.mean,
    std: post.std,
    ability: bankAbility(ctx.bank.params, post.mean, post.cov),
    converged: post.converged,
    iterations: post.iterations,
    ...(run ? { answers: run.answers.map(({ row: _row, ...a }) => a) } : {}),
  });
}

/**
 * Handler of `POST /admin/models/{id}/quiz/next`: given the outcomes so far (none to start), the
 * next item of an adaptive quiz and the posterior so far. Stateless: the caller keeps the answers
 * and posts them all to `POST /admin/models/{id}/quiz` at the end.
 *
 * @example
 * const valid = [validParams(modelParams), validBody(quizNextSchema)] as const;
 * admin.post('/models/:id/quiz/next', ...valid, nextQuizItem);
 */
export async function nextQuizItem(
  c: Context<AppEnv, string, Valid<{ param: ModelParams; json: QuizNext }>>,
): Promise<Response> {
  const row = await ownModel(c);
  const body = c.req.valid('json');
  const ctx = await onboardingContext(c.env, c.get('tenant').id, body.bundle, body.bank);
  const graded = outcomeRows(ctx, body.outcomes);
  const { row: next, posterior } = nextQuizRow(
    ctx,
    graded,
    body.method,
    body.gradable ? ungradable(ctx) : [],
  );
  return c.json({
    object: 'quiz.next',
    model: row.id,
    bundle_version: ctx.manifest.version,
    bank: body.bank,
    prior: ctx.priorSource,
    method: `adaptive-${body.method}`,
    asked: graded.rows.length,
    item: itemView(ctx.bank.items[next]!),
    identity: posterior.mean,
    std: posterior.std,
    ability: bankAbility(ctx.bank.params, posterior.mean, posterior.cov),
  });
}
