/**
 * `GET /admin/models/{id}/quiz?n=20` returns the quiz (D-optimal by default, `method=i-optimal`, or
 * `method=random` for the baseline); `POST /admin/models/{id}/quiz` takes the outcomes (or
 * `{"run": {"n": 20}}`: the worker asks the model itself and grades against the bank's references), fits the identity with the
 * Laplace posterior and stores it in D1 with source `quiz`. From then on every pool the model is in
 * routes with it (pools are cached a few seconds per isolate).
 */
import type { Context } from 'hono';
import { toModelRow } from '../../data/models';
import { clearGrantCache } from '../../data/grants';
import { clearPoolCache } from '../../data/pools';
import type { AppEnv } from '../../env';
import { bankAbility } from '../../onboarding/ability';
import { onboardingContext, type OnboardingContext } from '../../onboarding/context';
import { selectQuiz, type Quiz } from '../../onboarding/design';
import { pickItems } from '../../onboarding/items';
import { laplacePosterior } from '../../onboarding/laplace';
import { covFactor } from '../../onboarding/linalg';
import { nextItem } from '../../onboarding/adaptive';
import { runAdaptiveQuiz, runQuiz, type QuizAnswer } from '../../onboarding/run-quiz';
import { getModel, upsertIdentity, type ModelRow } from '../../onboarding/store';
import { upstreamDecision } from '../../routing/targets';
import { ApiError, badRequest } from '../../errors';
import type { ModelParams, QuizNext, QuizPost, QuizQuery, Valid } from './schemas';

/** Rows of items the worker can grade itself (prompt and reference present). */
function ungradable(ctx: OnboardingContext): number[] {
  const out: number[] = [];
  ctx.bank.items.forEach((it, i) => { if (!it.prompt || !it.reference) out.push(i); });
  return out;
}

/** `n` distinct rows by a seeded generator (mulberry32), avoiding `exclude`. */
function randomRows(count: number, n: number, seed: number, exclude: readonly number[]): number[] {
  const banned = new Set(exclude);
  const pool = Array.from({ length: count }, (_, i) => i).filter((i) => !banned.has(i));
  let s = seed >>> 0;
  const next = (): number => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  for (let i = 0; i < n; i++) {
    const j = i + Math.floor(next() * (pool.length - i));
    [pool[i], pool[j]] = [pool[j]!, pool[i]!];
  }
  return pool.slice(0, n);
}

function choose(ctx: OnboardingContext, n: number, method: 'd-optimal' | 'i-optimal' | 'random', seed: number, exclude: number[]): Quiz {
  const available = ctx.bank.params.count - exclude.length;
  if (n > available) throw new ApiError(400, `bank ${ctx.bank.key} has only ${available} usable items`, { code: 'quiz_too_large', param: 'n' });
  if (method === 'random') return { rows: randomRows(ctx.bank.params.count, n, seed, exclude), gains: [] };
  return selectQuiz(ctx.bank.params, ctx.prior, n, { exclude, criterion: method });
}

/** The tenant's model the path names; 404 `model_not_found` when it has none. */
async function modelOf(c: Context<AppEnv, string, Valid<{ param: ModelParams }>>): Promise<ModelRow> {
  const { id } = c.req.valid('param');
  const row = await getModel(c.env.DB, c.get('tenant').id, id);
  if (!row) throw new ApiError(404, `model ${JSON.stringify(id)} not found`, { code: 'model_not_found', param: 'id' });
  return row;
}

/**
 * Handler of `GET /admin/models/{id}/quiz`.
 *
 * @example
 * app.get('/models/:id/quiz', getQuiz); // ?n=20&bank=default&bundle=v1&method=d-optimal
 */
export function getQuiz(c: Context<AppEnv, string, Valid<{ param: ModelParams; query: QuizQuery }>>): Promise<Response> {
  return modelOf(c).then(async (row) => {
    const { n, bank, bundle, method, seed, gradable } = c.req.valid('query');
    const ctx = await onboardingContext(c.env, bundle, bank);
    const quiz = choose(ctx, n, method, seed, gradable ? ungradable(ctx) : []);
    return c.json({
      object: 'quiz', model: row.id, bundle_version: ctx.manifest.version, bank, prior: ctx.priorSource, method, n,
      expected_information_nats: method === 'd-optimal' ? quiz.gains.reduce((s, g) => s + g, 0) : null,
      ...(method === 'i-optimal' ? { predictive_variance_reduction: quiz.gains.reduce((s, g) => s + g, 0) } : {}),
      items: quiz.rows.map((r) => {
        const it = ctx.bank.items[r]!;
        return { id: it.id, ...(it.prompt !== undefined ? { prompt: it.prompt } : {}), gradable: Boolean(it.prompt && it.reference) };
      }),
    });
  });
}

/**
 * Handler of `POST /admin/models/{id}/quiz`.
 *
 * @example
 * app.post('/models/:id/quiz', postQuiz); // {"outcomes": [{"id": "70", "outcome": 1}, ...]}
 */
export function postQuiz(c: Context<AppEnv, string, Valid<{ param: ModelParams; json: QuizPost }>>): Promise<Response> {
  return modelOf(c).then(async (row) => {
    const r = { data: c.req.valid('json') };
    if (r.data.run) {
      // Refuse a model its grants do not cover before asking anyone (it would fail every item
      // anyway), deciding on the grants D1 holds now.
      clearGrantCache(c.get('tenant').id);
      const allowed = await upstreamDecision(toModelRow(row), c.env);
      if (!allowed.ok) throw allowed.refusal;
    }
    const ctx = await onboardingContext(c.env, r.data.bundle, r.data.bank);
    let rows: number[];
    let y: number[];
    let answers: QuizAnswer[] | undefined;
    if (r.data.outcomes) {
      rows = [];
      y = [];
      const seen = new Set<string>();
      for (const [i, o] of r.data.outcomes.entries()) {
        const rowIdx = ctx.bank.rowOf.get(o.id);
        if (rowIdx === undefined) throw badRequest(`item ${JSON.stringify(o.id)} is not in bank ${ctx.bank.key}`, `outcomes.${i}.id`, 'unknown_item');
        if (seen.has(o.id)) throw badRequest(`item ${JSON.stringify(o.id)} appears twice`, `outcomes.${i}.id`, 'duplicate_item');
        seen.add(o.id);
        rows.push(rowIdx);
        y.push(o.outcome);
      }
    } else {
      const n = r.data.run?.n ?? 20;
      const method = r.data.run?.method ?? 'i-optimal';
      if (method === 'adaptive') {
        const skip = ungradable(ctx);
        if (n > ctx.bank.params.count - skip.length) {
          throw badRequest(`bank ${ctx.bank.key} has only ${ctx.bank.params.count - skip.length} usable items`, 'run.n', 'quiz_too_large');
        }
        answers = await runAdaptiveQuiz(row, c.env, ctx.bank, ctx.prior, n, skip);
      } else {
        answers = await runQuiz(row, c.env, ctx.bank, choose(ctx, n, method, 0, ungradable(ctx)).rows);
      }
      const ok = answers.filter((a) => a.outcome !== null);
      if (!ok.length) {
        throw new ApiError(502, `the model answered none of the ${n} quiz items (${answers[0]?.error ?? 'no answer'})`, { code: 'quiz_upstream_failed' });
      }
      rows = ok.map((a) => a.row);
      y = ok.map((a) => a.outcome as number);
    }
    const post = laplacePosterior(pickItems(ctx.bank.params, rows), y, ctx.prior);
    if (!post.mean.every(Number.isFinite)) throw new ApiError(422, 'the identity fit did not converge', { code: 'fit_failed' });
    await upsertIdentity(c.env.DB, row.id, ctx.manifest.version,
      { vector: post.mean, std: post.std, cov_factor: covFactor(post.cov), source: 'quiz', n_items: rows.length });
    clearPoolCache(); // routed with the new identity at once in this isolate
    return c.json({
      object: 'model.identity', model: row.id, name: row.name, bundle_version: ctx.manifest.version, bank: r.data.bank, prior: ctx.priorSource,
      source: 'quiz', n_items: rows.length, identity: post.mean, std: post.std, ability: bankAbility(ctx.bank.params, post.mean, post.cov),
      converged: post.converged,
      iterations: post.iterations, ...(answers ? { answers: answers.map(({ row: _row, ...a }) => a) } : {}),
    });
  });
}

/**
 * Handler of `POST /admin/models/{id}/quiz/next`: given the outcomes so far (none to start), the
 * next item of an adaptive quiz and the posterior so far. Stateless: the caller keeps the answers
 * and posts them all to `POST /admin/models/{id}/quiz` at the end.
 *
 * @example
 * app.post('/models/:id/quiz/next', nextQuizItem); // {"outcomes": [{"id": "70", "outcome": 1}]}
 */
export function nextQuizItem(c: Context<AppEnv, string, Valid<{ param: ModelParams; json: QuizNext }>>): Promise<Response> {
  return modelOf(c).then(async (row) => {
    const r = { data: c.req.valid('json') };
    const ctx = await onboardingContext(c.env, r.data.bundle, r.data.bank);
    const rows: number[] = [];
    const y: number[] = [];
    for (const [i, o] of r.data.outcomes.entries()) {
      const rowIdx = ctx.bank.rowOf.get(o.id);
      if (rowIdx === undefined) throw badRequest(`item ${JSON.stringify(o.id)} is not in bank ${ctx.bank.key}`, `outcomes.${i}.id`, 'unknown_item');
      if (rows.includes(rowIdx)) throw badRequest(`item ${JSON.stringify(o.id)} appears twice`, `outcomes.${i}.id`, 'duplicate_item');
      rows.push(rowIdx);
      y.push(o.outcome);
    }
    const skip = r.data.gradable ? ungradable(ctx) : [];
    if (rows.length + skip.length >= ctx.bank.params.count) throw badRequest(`bank ${ctx.bank.key} has no items left`, 'outcomes', 'bank_exhausted');
    const { row: next, posterior } = nextItem(ctx.bank.params, ctx.prior, rows, y, { criterion: r.data.method, exclude: skip });
    const it = ctx.bank.items[next]!;
    return c.json({
      object: 'quiz.next', model: row.id, bundle_version: ctx.manifest.version, bank: r.data.bank, prior: ctx.priorSource,
      method: `adaptive-${r.data.method}`,
      asked: rows.length,
      item: { id: it.id, ...(it.prompt !== undefined ? { prompt: it.prompt } : {}), gradable: Boolean(it.prompt && it.reference) },
      identity: posterior.mean, std: posterior.std, ability: bankAbility(ctx.bank.params, posterior.mean, posterior.cov),
    });
  });
}
