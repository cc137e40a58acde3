/**
 * The admin API inside workerd with real D1 and R2: register a model, get its quiz, post outcomes
 * (or let the worker run the quiz against the loopback upstream), and find the identity in D1.
 */
import { createExecutionContext } from 'cloudflare:test';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { createApp } from '../../../worker/app';
import { selectQuiz } from '../../../worker/onboarding/design';
import { packItems, pickItems } from '../../../worker/onboarding/items';
import { laplacePosterior } from '../../../worker/onboarding/laplace';
import { nextItem } from '../../../worker/onboarding/adaptive';
import { bankAbility } from '../../../worker/onboarding/ability';
import { seedBundle, testEnv } from '../support/seed';

const KEY = 'sk-admin-test';
const D = 8; // identity_dim of the generated test bundle
const ITEMS = 60;

/** Deterministic pseudo-random numbers (the bank must be the same on every run). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

/** A synthetic bank: items 0-19 answerable "Hello", 20-39 multiple choice "A", 40-59 without text. */
function makeBank(): {
  format: 1;
  name: string;
  bundle_version: string;
  identity_dim: number;
  items: Array<Record<string, unknown>>;
} {
  const r = rng(11);
  const items = Array.from({ length: ITEMS }, (_, i) => ({
    id: `q${i}`,
    a: Array.from({ length: D }, () => (r() - 0.5) * 3),
    c: (r() - 0.5) * 2,
    ...(i < 40 ? { prompt: `question ${i}` } : {}),
    ...(i < 20 ? { reference: 'Hello' } : i < 40 ? { reference: 'A' } : {}),
  }));
  return { format: 1, name: 'default', bundle_version: 'test-v1', identity_dim: D, items };
}

const bank = makeBank();

const app = createApp();

async function call(
  method: string,
  path: string,
  body?: unknown,
  key: string | null = KEY,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (key) headers.authorization = `Bearer ${key}`;
  const res = await app.request(
    path,
    {
      method,
      headers,
      ...(body === undefined
        ? {}
        : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    },
    testEnv,
    createExecutionContext(),
  );
  expect(res.headers.get('content-type')).toMatch(/application\/json/);
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

function errorOf(json: Record<string, unknown>): {
  message: string;
  type: string;
  param: string | null;
  code: string | null;
} {
  const e = json.error as {
    message: string;
    type: string;
    param: string | null;
    code: string | null;
  };
  expect(typeof e.message).toBe('string');
  expect(e).toHaveProperty('param');
  return e;
}

const baseModel = {
  provider: 'openai',
  upstream_model: 'phi-3-mini',
  input_usd_per_mtok: 0.1,
  output_usd_per_mtok: 0.1,
};

beforeAll(async () => {
  await seedBundle('test-v1');
  await testEnv.ASSETS.put('banks/test-v1/default.json', JSON.stringify(bank));
  const hash = [
    ...new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(KEY))),
  ]
    .map((b) => b.toString(16).padStart(2, '0'))
    .join('');
  await testEnv.DB.batch([
    testEnv.DB.prepare(
      "INSERT INTO tenants (id, name, default_pool) VALUES ('t-admin', 'Admin Co', 'main')",
    ),
    testEnv.DB.prepare("INSERT INTO tenants (id, name) VALUES ('t-other', 'Other')"),
    testEnv.DB.prepare("INSERT INTO api_keys (key_hash, tenant_id) VALUES (?1, 't-admin')").bind(
      hash,
    ),
    testEnv.DB.prepare(
      "INSERT INTO pools (id, tenant_id, name, bundle_version) VALUES ('p-main', 't-admin', 'main', 'test-v1')",
    ),
    testEnv.DB
      .prepare(`INSERT INTO models (id, tenant_id, name, provider, upstream_model, input_usd_per_mtok, output_usd_per_mtok)
      VALUES ('m-other', 't-other', 'theirs', 'openai', 'x', 1, 1)`),
    // the operator lets this tenant's models call the loopback upstream (docs/security.md)
    testEnv.DB.prepare(
      `INSERT INTO upstream_grants (tenant_id, host, secret_name, allow_http, allow_private)
      VALUES ('t-admin', ?1, '', 1, 1)`,
    ).bind(new URL(inject('upstreamUrl')).host),
  ]);
});

describe('POST /admin/models', () => {
  it('needs a tenant key', async () => {
    const r = await call('POST', '/admin/models', { name: 'x', ...baseModel }, null);
    expect(r.status).toBe(401);
    expect(errorOf(r.json).type).toBe('authentication_error');
  });

  it('rejects bad bodies with a 400 naming the field', async () => {
    expect((await call('POST', '/admin/models', '{nope')).status).toBe(400);
    const neg = await call('POST', '/admin/models', {
      name: 'x',
      ...baseModel,
      input_usd_per_mtok: -1,
    });
    expect(neg.status).toBe(400);
    expect(errorOf(neg.json).param).toBe('input_usd_per_mtok');
    const extra = await call('POST', '/admin/models', { name: 'x', ...baseModel, surprise: 1 });
    expect(extra.status).toBe(400);
    const provider = await call('POST', '/admin/models', {
      name: 'x',
      ...baseModel,
      provider: 'mystery',
    });
    expect(errorOf(provider.json).param).toBe('provider');
  });

  it('registers a model into a pool; duplicates and unknown pools are refused', async () => {
    const r = await call('POST', '/admin/models', { name: 'phi-3', ...baseModel, pools: ['main'] });
    expect(r.status).toBe(201);
    expect(r.json).toMatchObject({
      object: 'model',
      name: 'phi-3',
      pools: ['main'],
      identities: [],
    });
    expect(String(r.json.id)).toMatch(/^mdl_/);
    expect((await call('POST', '/admin/models', { name: 'phi-3', ...baseModel })).status).toBe(409);
    const pool = await call('POST', '/admin/models', {
      name: 'phi-4',
      ...baseModel,
      pools: ['nope'],
    });
    expect(pool.status).toBe(404);
    expect(errorOf(pool.json).param).toBe('pools');
    const row = await testEnv.DB.prepare(
      "SELECT count(*) AS n FROM models WHERE name = 'phi-4'",
    ).first<{ n: number }>();
    expect(row?.n).toBe(0);
  });
});

describe('quiz endpoints', () => {
  let id = '';
  beforeAll(async () => {
    id = String(
      (await call('POST', '/admin/models', { name: 'quizzed', ...baseModel, pools: ['main'] })).json
        .id,
    );
  });

  it('GET returns the D-optimal quiz the onboarding math picks, without reference answers', async () => {
    const r = await call('GET', `/admin/models/${id}/quiz?n=12&method=d-optimal`);
    expect(r.status).toBe(200);
    const items = r.json.items as Array<{
      id: string;
      prompt?: string;
      reference?: string;
      gradable: boolean;
    }>;
    const want = selectQuiz(
      packItems(
        bank.items.map((it) => it.a as number[]),
        bank.items.map((it) => it.c as number),
      ),
      {
        mean: new Array(D).fill(0),
        cov: Array.from({ length: D }, (_, i) =>
          Array.from({ length: D }, (__, j) => (i === j ? 1 : 0)),
        ),
      },
      12,
    );
    expect(items.map((it) => it.id)).toEqual(want.rows.map((row) => `q${row}`));
    expect(new Set(items.map((it) => it.id)).size).toBe(12);
    expect(items.every((it) => it.reference === undefined)).toBe(true);
    expect(r.json).toMatchObject({
      object: 'quiz',
      bundle_version: 'test-v1',
      method: 'd-optimal',
      n: 12,
    });
    expect((await call('GET', `/admin/models/${id}/quiz?n=3`)).json.method).toBe('i-optimal'); // the default
    expect(r.json.expected_information_nats as number).toBeGreaterThan(0);
  });

  it('GET supports the random baseline and gradable-only quizzes; bad queries are 4xx JSON', async () => {
    const rand = await call('GET', `/admin/models/quizzed/quiz?n=12&method=random&seed=3`);
    expect(rand.status).toBe(200);
    expect(new Set((rand.json.items as Array<{ id: string }>).map((it) => it.id)).size).toBe(12);
    const iopt = await call('GET', `/admin/models/${id}/quiz?n=8&method=i-optimal`);
    const wantI = selectQuiz(
      packItems(
        bank.items.map((it) => it.a as number[]),
        bank.items.map((it) => it.c as number),
      ),
      {
        mean: new Array(D).fill(0),
        cov: Array.from({ length: D }, (_, i) =>
          Array.from({ length: D }, (__, j) => (i === j ? 1 : 0)),
        ),
      },
      8,
      { criterion: 'i-optimal' },
    );
    expect((iopt.json.items as Array<{ id: string }>).map((it) => it.id)).toEqual(
      wantI.rows.map((row) => `q${row}`),
    );
    expect(iopt.json.predictive_variance_reduction as number).toBeGreaterThan(0);
    const grad = await call('GET', `/admin/models/${id}/quiz?n=40&gradable=true`);
    expect((grad.json.items as Array<{ gradable: boolean }>).every((it) => it.gradable)).toBe(true);
    expect((await call('GET', `/admin/models/${id}/quiz?n=41&gradable=true`)).status).toBe(400);
    expect(errorOf((await call('GET', `/admin/models/${id}/quiz?n=0`)).json).param).toBe('n');
    expect((await call('GET', `/admin/models/${id}/quiz?n=abc`)).status).toBe(400);
    expect((await call('GET', `/admin/models/${id}/quiz?bank=nope`)).status).toBe(404);
    expect((await call('GET', `/admin/models/${id}/quiz?bundle=nope`)).status).toBe(404);
    expect((await call('GET', `/admin/models/nope/quiz`)).status).toBe(404);
    expect((await call('GET', `/admin/models/m-other/quiz`)).status).toBe(404); // another tenant's model
  });

  it('POST outcomes stores a quiz identity in D1 that is more certain than the prior', async () => {
    const quiz = (await call('GET', `/admin/models/${id}/quiz?n=20`)).json.items as Array<{
      id: string;
    }>;
    const outcomes = quiz.map((it, i) => ({ id: it.id, outcome: i % 3 === 0 ? 0 : 1 }));
    const r = await call('POST', `/admin/models/${id}/quiz`, { outcomes });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({
      object: 'model.identity',
      source: 'quiz',
      n_items: 20,
      bundle_version: 'test-v1',
      converged: true,
    });
    const identity = r.json.identity as number[];
    const std = r.json.std as number[];
    expect(identity).toHaveLength(D);
    expect(std.every((s) => s > 0 && s < 1)).toBe(true);
    const row = await testEnv.DB.prepare(
      'SELECT vector, std, cov_factor, source, n_items FROM model_identities WHERE model_id = ?1 AND bundle_version = ?2',
    )
      .bind(id, 'test-v1')
      .first<{
        vector: string;
        std: string;
        cov_factor: string;
        source: string;
        n_items: number;
      }>();
    expect(row?.source).toBe('quiz');
    expect(row?.n_items).toBe(20);
    expect(JSON.parse(row!.vector)).toEqual(identity);
    // The posterior covariance as D vectors whose outer products sum to it: its diagonal is std^2.
    const factor = JSON.parse(row!.cov_factor) as number[][];
    expect(factor.map((v) => v.length)).toEqual(new Array(D).fill(D));
    std.forEach((s, k) =>
      expect(Math.sqrt(factor.reduce((sum, v) => sum + v[k]! ** 2, 0))).toBeCloseTo(s, 9),
    );
    // Cholesky columns (v_i zero above i), and a full covariance: the quiz correlates the components.
    factor.forEach((v, i) => v.slice(0, i).forEach((x) => expect(x).toBe(0)));
    const offDiagonal = Math.max(
      ...factor.flatMap((_, r) =>
        factor.map((__, c) =>
          r === c ? 0 : Math.abs(factor.reduce((sum, v) => sum + v[r]! * v[c]!, 0)),
        ),
      ),
    );
    expect(offDiagonal).toBeGreaterThan(1e-4);
    // posting again replaces the row
    const again = await call('POST', `/admin/models/${id}/quiz`, {
      outcomes: outcomes.slice(0, 5).map((o) => ({ ...o, outcome: true })),
    });
    expect(again.json.n_items).toBe(5);
    const shown = await call('GET', `/admin/models/${id}`);
    expect(shown.json.identities).toMatchObject([
      { bundle_version: 'test-v1', source: 'quiz', n_items: 5 },
    ]);
  });

  it('puts a model into a pool and takes it out again', async () => {
    const made = await call('POST', '/admin/models', { name: 'joiner', ...baseModel });
    expect(made.json.pools).toEqual([]);
    const joined = await call('PUT', '/admin/pools/main/members/joiner');
    expect(joined.status).toBe(200);
    expect(joined.json.pools).toEqual(['main']);
    expect((await call('PUT', '/admin/pools/main/members/joiner')).json.pools).toEqual(['main']); // idempotent
    expect((await call('DELETE', '/admin/pools/main/members/joiner')).json.pools).toEqual([]);
    expect((await call('PUT', '/admin/pools/nope/members/joiner')).status).toBe(404);
    expect((await call('PUT', '/admin/pools/main/members/m-other')).status).toBe(404);
  });

  it('routes the quizzed model at once; a pool member without identity is reported unroutable', async () => {
    const r = await call('POST', '/v1/route', {
      model: 'router',
      messages: [{ role: 'user', content: 'What is 2 + 2?' }],
    });
    expect(r.status).toBe(200);
    const cands = r.json.candidates as Array<{ model: string; identity_source: string }>;
    expect(cands.find((c) => c.model === 'quizzed')?.identity_source).toBe('quiz');
    expect(JSON.stringify(r.json.unroutable)).toContain('phi-3');
  });

  it('POST quiz/next walks an adaptive quiz: each item re-aimed at the posterior of the answers so far', async () => {
    const prior = {
      mean: new Array(D).fill(0),
      cov: Array.from({ length: D }, (_, i) =>
        Array.from({ length: D }, (__, j) => (i === j ? 1 : 0)),
      ),
    };
    const items = packItems(
      bank.items.map((it) => it.a as number[]),
      bank.items.map((it) => it.c as number),
    );
    const outcomes: Array<{ id: string; outcome: number }> = [];
    const rows: number[] = [];
    for (let k = 0; k < 6; k++) {
      const r = await call('POST', `/admin/models/${id}/quiz/next`, { outcomes });
      expect(r.status).toBe(200);
      expect(r.json).toMatchObject({ object: 'quiz.next', asked: k, method: 'adaptive-i-optimal' });
      const itemId = (r.json.item as { id: string }).id;
      const want = nextItem(
        items,
        prior,
        rows,
        outcomes.map((o) => o.outcome),
      ).row;
      expect(itemId).toBe(`q${want}`);
      expect(outcomes.map((o) => o.id)).not.toContain(itemId);
      rows.push(want);
      outcomes.push({ id: itemId, outcome: k % 2 });
    }
    const grad = await call('POST', `/admin/models/${id}/quiz/next`, {
      outcomes: [],
      gradable: true,
      method: 'd-optimal',
    });
    expect((grad.json.item as { gradable: boolean }).gradable).toBe(true);
    expect(
      (
        await call('POST', `/admin/models/${id}/quiz/next`, {
          outcomes: [{ id: 'nope', outcome: 1 }],
        })
      ).status,
    ).toBe(400);
    expect((await call('POST', `/admin/models/${id}/quiz/next`, { method: 'random' })).status).toBe(
      400,
    );
  });

  it('a bank carrying the prior of the models that answered it starts every quiz call from that prior', async () => {
    const prior = {
      mean: Array.from({ length: D }, (_, i) => (i === 0 ? 1.5 : 0.2)),
      cov: Array.from({ length: D }, (_, i) =>
        Array.from({ length: D }, (__, j) => (i === j ? 0.5 : 0.1)),
      ),
    };
    await testEnv.ASSETS.put(
      'banks/test-v1/with-prior.json',
      JSON.stringify({ ...bank, name: 'with-prior', prior: { ...prior, models: ['a', 'b', 'c'] } }),
    );
    const items = packItems(
      bank.items.map((it) => it.a as number[]),
      bank.items.map((it) => it.c as number),
    );
    const q = await call('GET', `/admin/models/${id}/quiz?n=10&bank=with-prior`);
    expect(q.json.prior).toBe('bank');
    expect((q.json.items as Array<{ id: string }>).map((it) => it.id)).toEqual(
      selectQuiz(items, prior, 10, { criterion: 'i-optimal' }).rows.map((row) => `q${row}`),
    );
    expect((await call('GET', `/admin/models/${id}/quiz?n=10`)).json.prior).toBe('bundle');
    await testEnv.ASSETS.put(
      'banks/test-v1/null-prior.json',
      JSON.stringify({ ...bank, name: 'null-prior', prior: null }),
    );
    expect((await call('GET', `/admin/models/${id}/quiz?n=10&bank=null-prior`)).json.prior).toBe(
      'bundle',
    );
    const outcomes = (q.json.items as Array<{ id: string }>).map((it, i) => ({
      id: it.id,
      outcome: i % 2,
    }));
    const rows = outcomes.map((o) => Number(o.id.slice(1)));
    const fit = await call('POST', `/admin/models/${id}/quiz`, { outcomes, bank: 'with-prior' });
    expect(fit.json.prior).toBe('bank');
    const want = laplacePosterior(
      pickItems(items, rows),
      outcomes.map((o) => o.outcome),
      prior,
    );
    (fit.json.identity as number[]).forEach((x, k) => expect(x).toBeCloseTo(want.mean[k]!, 9));
    // the overall ability on the bank, and how much better the quiz knows it than the prior did
    const ability = fit.json.ability as { expected_accuracy: number; logit_std: number };
    const wantAbility = bankAbility(items, want.mean, want.cov);
    expect(ability.expected_accuracy).toBeCloseTo(wantAbility.expected_accuracy, 9);
    expect(ability.logit_std).toBeCloseTo(wantAbility.logit_std, 9);
    expect(ability.logit_std).toBeLessThan(bankAbility(items, prior.mean, prior.cov).logit_std);
    const fromBundle = await call('POST', `/admin/models/${id}/quiz`, { outcomes });
    expect(fromBundle.json.prior).toBe('bundle');
    expect((fromBundle.json.identity as number[])[0]).not.toBeCloseTo(want.mean[0]!, 3);
    const next = await call('POST', `/admin/models/${id}/quiz/next`, {
      outcomes: [],
      bank: 'with-prior',
    });
    expect(next.json.prior).toBe('bank');
    // no answers yet: the prior's ability
    expect((next.json.ability as { logit_std: number }).logit_std).toBeCloseTo(
      bankAbility(items, prior.mean, prior.cov).logit_std,
      9,
    );
    expect((next.json.item as { id: string }).id).toBe(`q${nextItem(items, prior, [], []).row}`);
  });

  it('a bank whose prior is the wrong size or not positive definite is a 422, not a 500', async () => {
    const eye = Array.from({ length: D }, (_, i) =>
      Array.from({ length: D }, (__, j) => (i === j ? 1 : 0)),
    );
    const skew = eye.map((r, i) => r.map((x, j) => (i === 0 && j === 1 ? 0.5 : x)));
    const cases = [
      ['short', { mean: [0, 0], cov: eye }],
      ['singular', { mean: new Array(D).fill(0), cov: eye.map((r) => r.map(() => 1)) }],
      ['skew', { mean: new Array(D).fill(0), cov: skew }],
    ] as const;
    for (const [name, prior] of cases) {
      await testEnv.ASSETS.put(
        `banks/test-v1/${name}.json`,
        JSON.stringify({ ...bank, name, prior }),
      );
      const r = await call('GET', `/admin/models/${id}/quiz?n=5&bank=${name}`);
      expect(r.status).toBe(422);
      expect(errorOf(r.json)).toMatchObject({ code: 'bank_invalid', param: 'bank' });
      expect(errorOf(r.json).message).toMatch(/prior/);
    }
  });

  it('POST refuses unknown or repeated items and ambiguous bodies', async () => {
    const unknown = await call('POST', `/admin/models/${id}/quiz`, {
      outcomes: [{ id: 'zzz', outcome: 1 }],
    });
    expect(unknown.status).toBe(400);
    expect(errorOf(unknown.json).param).toBe('outcomes.0.id');
    const dup = await call('POST', `/admin/models/${id}/quiz`, {
      outcomes: [
        { id: 'q1', outcome: 1 },
        { id: 'q1', outcome: 0 },
      ],
    });
    expect(errorOf(dup.json).code).toBe('duplicate_item');
    expect(
      (await call('POST', `/admin/models/${id}/quiz`, { outcomes: [{ id: 'q1', outcome: 2 }] }))
        .status,
    ).toBe(400);
    expect(
      (
        await call('POST', `/admin/models/${id}/quiz`, {
          outcomes: [{ id: 'q1', outcome: 1 }],
          run: {},
        })
      ).status,
    ).toBe(400);
    expect((await call('POST', `/admin/models/${id}/quiz`, {})).status).toBe(400);
  });
});

describe('quiz run by the worker against the model upstream', () => {
  it('asks every gradable item, grades against the references and stores the identity', async () => {
    const created = await call('POST', '/admin/models', {
      name: 'loopback-model',
      ...baseModel,
      upstream_model: 'quiz-taker',
      base_url: inject('upstreamUrl'),
    });
    const id = String(created.json.id);
    const r = await call('POST', `/admin/models/${id}/quiz`, { run: { n: 16 } });
    expect(r.status).toBe(200);
    const answers = r.json.answers as Array<{ id: string; outcome: number | null }>;
    expect(answers).toHaveLength(16);
    // the stand-in always says "Hello from quiz-taker": right for reference "Hello", wrong for "A"
    for (const a of answers) expect(a.outcome).toBe(Number(a.id.slice(1)) < 20 ? 1 : 0);
    expect(answers.every((a) => Number(a.id.slice(1)) < 40)).toBe(true);
    expect(r.json.n_items).toBe(16);
    const seen = (await (
      await fetch(`${inject('upstreamUrl')}/__requests?model=quiz-taker`)
    ).json()) as unknown[];
    expect(seen.length).toBe(16);
  });

  it('runs an adaptive quiz (one item at a time) when asked to', async () => {
    const created = await call('POST', '/admin/models', {
      name: 'adaptive-quiz-model',
      ...baseModel,
      upstream_model: 'adaptive-taker',
      base_url: inject('upstreamUrl'),
    });
    const r = await call('POST', `/admin/models/${String(created.json.id)}/quiz`, {
      run: { n: 10, method: 'adaptive' },
    });
    expect(r.status).toBe(200);
    const answers = r.json.answers as Array<{ id: string; outcome: number | null }>;
    expect(answers).toHaveLength(10);
    for (const a of answers) expect(a.outcome).toBe(Number(a.id.slice(1)) < 20 ? 1 : 0);
  });

  it('answers 502 when the upstream fails every item', async () => {
    const created = await call('POST', '/admin/models', {
      name: 'broken-model',
      ...baseModel,
      upstream_model: 'fail-503',
      base_url: inject('upstreamUrl'),
    });
    const r = await call('POST', `/admin/models/${String(created.json.id)}/quiz`, {
      run: { n: 3 },
    });
    expect(r.status).toBe(502);
    expect(errorOf(r.json).code).toBe('quiz_upstream_failed');
  });
});
