// Online identity learning end to end: served answers, feedback, the cron trigger's update
// (worker/index.ts `scheduled`), routing with the tenant's online identity, the per-pool switch,
// the admin view and rollback. Two tenants share one global model with one quiz identity: one
// tenant's feedback must never move the other's routing.
import { createScheduledController } from 'cloudflare:test';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import worker from '../../../worker/index';
import type { Env } from '../../../worker/env';
import { clearPoolCache } from '../../../worker/data/pools';
import { applyPendingFeedback } from '../../../worker/online/apply';
import { decayedPenalty, logitStd, meanItem } from '../../../worker/online/decay';
import { covFromFactor, updateInBatches } from '../../../worker/online/update';
import { call } from '../support/call';
import { seedBundle, seedModel, seedPool, seedTenant, testEnv } from '../support/seed';
import { servedChat } from '../support/served';

const upstream = inject('upstreamUrl');
/** The test bundle under a version of this file's own, with a default quiz bank of its own. */
const V = 'test-online-v1';
const bankItems = [
  [1, 0.2, -0.3, 0.1, 0, 0.4, -0.2, 0.3],
  [1, -0.5, 0.1, 0.6, -0.2, 0, 0.3, -0.1],
  [1, 0.3, 0.4, -0.2, 0.5, -0.3, 0, 0.2],
];
const bank = {
  format: 1,
  identity_dim: 8,
  items: bankItems.map((a, i) => ({ id: `b${i}`, a, c: 0.1 * i })),
};
const tag = crypto.randomUUID().slice(0, 8);
const globalName = `g-shared-${tag}`;
const quizVector = [0.1, 0.2, -0.3, 0.4, 0.0, 0.5, -0.1, 0.2];
// a full-rank posterior factor (a quiz's is the Cholesky factor of its covariance): stds 0.5
const quizFactor = quizVector.map((_, i) => quizVector.map((__, k) => (i === k ? 0.5 : 0)));
const prompts = [
  'What is the capital of France?',
  'Prove that there are infinitely many primes.',
  'Write a haiku about autumn leaves.',
  'Explain the difference between TCP and UDP in detail.',
  'Translate "good morning" into German.',
  'Why is the sky blue?',
];
let globalId: string;
let a: { tenantId: string; key: string };
let b: { tenantId: string; key: string };

interface RouteBody {
  candidates: { model: string; predicted_quality: number; identity_source: string }[];
}

/** The global model as a candidate of `pool` for `key`: its identity source and predicted quality. */
async function sharedAsRouted(key: string, pool: string): Promise<{ source: string; q: number }> {
  clearPoolCache();
  const res = await call('/v1/route', {
    key,
    body: { model: `router/${pool}`, messages: [{ role: 'user', content: prompts[0] }] },
  });
  expect(res.status).toBe(200);
  const c = (await res.json<RouteBody>()).candidates.find((x) => x.model === globalName)!;
  return { source: c.identity_source, q: c.predicted_quality };
}

/** Chat completions on `pool` with feedback `score` on each answer; returns the decision ids. */
async function answerAndRate(key: string, pool: string, score: number): Promise<string[]> {
  const ids: string[] = [];
  for (const content of prompts) {
    const { id } = await servedChat(key, `router/${pool}`, [{ role: 'user', content }]);
    const fb = await call('/v1/feedback', { key, body: { decision_id: id, score } });
    expect(fb.status).toBe(201);
    ids.push(id);
  }
  return ids;
}

/** Runs the worker's cron trigger once, as wrangler's /__scheduled does. */
async function runScheduled(): Promise<void> {
  await worker.scheduled(createScheduledController({ cron: '* * * * *' }), testEnv as Env);
}

beforeAll(async () => {
  await seedBundle('test-v1', 0, V);
  await testEnv.ASSETS.put(`banks/${V}/default.json`, JSON.stringify(bank));
  a = await seedTenant('g-only');
  b = await seedTenant('g-only');
  globalId = await seedModel({
    name: globalName,
    bundleModel: null,
    upstreamModel: `g-shared-${tag}`,
    inputUsd: 1,
    outputUsd: 3,
    baseUrl: `${upstream}/v1`,
    tenantId: null,
  });
  await testEnv.DB.prepare(
    "INSERT INTO model_identities (model_id, bundle_version, vector, cov_factor, source, n_items) VALUES (?1, ?4, ?2, ?3, 'quiz', 20)",
  )
    .bind(globalId, JSON.stringify(quizVector), JSON.stringify(quizFactor), V)
    .run();
  for (const t of [a, b]) {
    const large = await seedModel({
      name: 'large',
      bundleModel: 'test-large',
      inputUsd: 10,
      outputUsd: 30,
      baseUrl: `${upstream}/v1`,
      tenantId: t.tenantId,
    });
    await seedPool(t.tenantId, 'g-only', V, [globalId]);
    await seedPool(t.tenantId, 'mixed', V, [globalId, large]);
  }
});

describe('online identity learning', () => {
  it("one tenant's feedback on a shared global model moves only that tenant's routing", async () => {
    const beforeA = await sharedAsRouted(a.key, 'mixed');
    const beforeB = await sharedAsRouted(b.key, 'mixed');
    expect(beforeA).toEqual(beforeB);
    expect(beforeA.source).toBe('quiz');

    const ids = await answerAndRate(a.key, 'g-only', 0);
    await runScheduled();

    const afterA = await sharedAsRouted(a.key, 'mixed');
    const afterB = await sharedAsRouted(b.key, 'mixed');
    expect(afterA.source).toBe('online');
    expect(afterA.q).toBeLessThan(beforeA.q - 0.01); // every answer scored 0
    expect(afterB).toEqual(beforeB);

    // the stored posterior is the update math applied to the quiz posterior and the logged items
    const rows = await testEnv.DB.prepare(
      `SELECT d.item_params, f.score FROM feedback f JOIN decision_log d ON d.id = f.decision_id
       WHERE f.tenant_id = ?1 ORDER BY f.updated_at, f.decision_id`,
    )
      .bind(a.tenantId)
      .all<{ item_params: string; score: number }>();
    expect(rows.results).toHaveLength(ids.length);
    const want = updateInBatches(
      { mean: quizVector, cov: covFromFactor(quizFactor, 8) },
      rows.results.map((r) => ({ item: JSON.parse(r.item_params), y: r.score })),
    );
    const stored = await testEnv.DB.prepare(
      'SELECT tenant_id, vector, std, n_feedback, base_source FROM online_identities WHERE model_id = ?1',
    )
      .bind(globalId)
      .all<{
        tenant_id: string;
        vector: string;
        std: string;
        n_feedback: number;
        base_source: string;
      }>();
    expect(stored.results).toHaveLength(1);
    const row = stored.results[0]!;
    expect(row.tenant_id).toBe(a.tenantId);
    expect(row.n_feedback).toBe(ids.length);
    expect(row.base_source).toBe('quiz');
    (JSON.parse(row.vector) as number[]).forEach((x, i) =>
      expect(x).toBeCloseTo(want.mean[i]!, 12),
    );
    const pending = await testEnv.DB.prepare(
      'SELECT COUNT(*) AS n FROM feedback WHERE tenant_id = ?1 AND applied_at IS NULL',
    )
      .bind(a.tenantId)
      .first<{ n: number }>();
    expect(pending!.n).toBe(0);
  });

  it("decays the penalty with the logit std over the bundle's default bank (the decay lever)", async () => {
    const row = await testEnv.DB.prepare(
      'SELECT cov_factor, penalty_scale FROM online_identities WHERE tenant_id = ?1 AND model_id = ?2',
    )
      .bind(a.tenantId, globalId)
      .first<{ cov_factor: string; penalty_scale: number }>();
    const abar = meanItem(Float64Array.from(bankItems.flat()), 8);
    const now = logitStd(abar, covFromFactor(JSON.parse(row!.cov_factor), 8));
    const start = logitStd(abar, covFromFactor(quizFactor, 8));
    expect(row!.penalty_scale).toBeCloseTo(decayedPenalty(1, now, start), 12);
    expect(row!.penalty_scale).toBeLessThan(1);
  });

  it('routes with the decayed penalty: scale s routes s times the pool penalty below the mean', async () => {
    const setScale = (s: number | null) =>
      testEnv.DB.prepare(
        'UPDATE online_identities SET penalty_scale = ?3 WHERE tenant_id = ?1 AND model_id = ?2',
      )
        .bind(a.tenantId, globalId, s)
        .run();
    const setPenalty = (k: number | null) =>
      testEnv.DB.prepare(
        "UPDATE pools SET uncertainty_penalty = ?2 WHERE tenant_id = ?1 AND name = 'mixed'",
      )
        .bind(a.tenantId, k)
        .run();
    const { penalty_scale: s } = (await testEnv.DB.prepare(
      'SELECT penalty_scale FROM online_identities WHERE tenant_id = ?1 AND model_id = ?2',
    )
      .bind(a.tenantId, globalId)
      .first<{ penalty_scale: number }>())!;
    const decayed = (await sharedAsRouted(a.key, 'mixed')).q;
    await setScale(null);
    const full = (await sharedAsRouted(a.key, 'mixed')).q;
    await setPenalty(s);
    const byPool = (await sharedAsRouted(a.key, 'mixed')).q;
    await setPenalty(null);
    await setScale(s);
    expect(decayed).toBeGreaterThan(full);
    expect(decayed).toBeCloseTo(byPool, 6);
  });

  it('GET /admin/models/:id/online-identity shows source online, feedback count and std; the other tenant has none', async () => {
    const res = await call(`/admin/models/${globalName}/online-identity`, { key: a.key });
    expect(res.status).toBe(200);
    const body = await res.json<{
      identities: { source: string; n_feedback: number; std: number[]; base_source: string }[];
    }>();
    expect(body.identities).toHaveLength(1);
    const id = body.identities[0]!;
    expect(id).toMatchObject({ source: 'online', n_feedback: prompts.length, base_source: 'quiz' });
    expect(id.std).toHaveLength(8);
    // feedback narrows the quiz posterior (stds 0.5)
    expect(id.std.every((s) => s < 0.5 + 1e-9)).toBe(true);
    expect(id.std.some((s) => s < 0.5 - 1e-3)).toBe(true);
    const other = await call(`/admin/models/${globalName}/online-identity`, { key: b.key });
    expect((await other.json<{ identities: unknown[] }>()).identities).toEqual([]);
  });

  it('a pool with online_learning off neither learns from its feedback nor routes with online identities', async () => {
    await testEnv.DB.prepare(
      "UPDATE pools SET online_learning = 0 WHERE tenant_id = ?1 AND name IN ('g-only', 'mixed')",
    )
      .bind(b.tenantId)
      .run();
    const before = await sharedAsRouted(b.key, 'mixed');
    await answerAndRate(b.key, 'g-only', 1);
    await runScheduled();
    const pending = await testEnv.DB.prepare(
      'SELECT COUNT(*) AS n FROM feedback WHERE tenant_id = ?1 AND applied_at IS NULL',
    )
      .bind(b.tenantId)
      .first<{ n: number }>();
    expect(pending!.n).toBe(prompts.length);
    expect(await sharedAsRouted(b.key, 'mixed')).toEqual(before);

    // switched off in A's mixed pool: that pool routes with the quiz identity again
    await testEnv.DB.prepare(
      "UPDATE pools SET online_learning = 0 WHERE tenant_id = ?1 AND name = 'mixed'",
    )
      .bind(a.tenantId)
      .run();
    expect((await sharedAsRouted(a.key, 'mixed')).source).toBe('quiz');
    await testEnv.DB.prepare(
      "UPDATE pools SET online_learning = 1 WHERE tenant_id = ?1 AND name = 'mixed'",
    )
      .bind(a.tenantId)
      .run();
    expect((await sharedAsRouted(a.key, 'mixed')).source).toBe('online');
  });

  it('DELETE /admin/models/:id/online-identity rolls back to the quiz identity', async () => {
    const quiz = await sharedAsRouted(b.key, 'mixed'); // B routes with the quiz identity
    const res = await call(`/admin/models/${globalId}/online-identity`, {
      key: a.key,
      method: 'DELETE',
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ rolled_back: [V], identities: [] });
    expect(await sharedAsRouted(a.key, 'mixed')).toEqual(quiz);
    // B's key cannot roll back (or see) A's: it has none, and nothing of A's changes
    const other = await call(`/admin/models/${globalId}/online-identity`, {
      key: b.key,
      method: 'DELETE',
    });
    expect(await other.json()).toMatchObject({ rolled_back: [] });
  });

  it("GET /admin/models/:id lists a tenant model's online identity beside its stored ones", async () => {
    const own = await seedModel({
      name: `own-${tag}`,
      bundleModel: 'test-small',
      inputUsd: 0.2,
      outputUsd: 0.6,
      baseUrl: `${upstream}/v1`,
      tenantId: a.tenantId,
    });
    await seedPool(a.tenantId, 'own-only', V, [own]);
    await answerAndRate(a.key, 'own-only', 1);
    await runScheduled();
    const res = await call(`/admin/models/${own}`, { key: a.key });
    const body = await res.json<{ identities: Record<string, unknown>[] }>();
    expect(body.identities).toHaveLength(1);
    expect(body.identities[0]).toMatchObject({
      bundle_version: V,
      source: 'online',
      base_source: 'manifest',
      n_feedback: prompts.length,
    });
  });

  it('a run folds in at most its bound; the rest waits for the next run', async () => {
    const t = await seedTenant('g-only');
    await seedPool(t.tenantId, 'g-only', V, [globalId]);
    await answerAndRate(t.key, 'g-only', 1);
    const first = await applyPendingFeedback(testEnv, 4);
    expect(first).toMatchObject({ applied: 4, identities: 1, conflicts: 0 });
    const second = await applyPendingFeedback(testEnv, 4);
    expect(second).toMatchObject({ applied: prompts.length - 4, identities: 1 });
    const row = await testEnv.DB.prepare(
      'SELECT n_feedback FROM online_identities WHERE tenant_id = ?1 AND model_id = ?2',
    )
      .bind(t.tenantId, globalId)
      .first<{ n_feedback: number }>();
    expect(row!.n_feedback).toBe(prompts.length);
  });
});
