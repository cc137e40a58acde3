// /v1/route, /v1/models, /healthz and the header contract, end to end through the worker's fetch
// handler with D1 and R2 bindings and the generated bundle.
import { beforeAll, describe, expect, it } from 'vitest';
import { degradedState } from '../../../worker/health/degraded-state';
import { call } from '../support/call';
import {
  seedBundle,
  seedBundleModels,
  seedModel,
  seedPool,
  seedTenant,
  testEnv,
} from '../support/seed';

let key: string;
let tenantId: string;
let modelIds: Record<string, string>;
const messages = [
  { role: 'system', content: 'Be brief.' },
  { role: 'user', content: 'Explain quicksort and its worst case.' },
];

const HEADER_CONTRACT = [
  'x-router-model',
  'x-router-pool',
  'x-router-preference',
  'x-router-bundle',
  'x-router-decision-id',
  'x-router-arm',
  'x-router-expected-cost-usd',
  'x-router-predicted-quality',
  'server-timing',
];

beforeAll(async () => {
  await seedBundle('test-v1');
  ({ tenantId, key } = await seedTenant('default'));
  modelIds = await seedBundleModels(tenantId, 'http://127.0.0.1:9/v1');
  await seedPool(tenantId, 'default', 'test-v1', Object.values(modelIds), {
    defaultPreference: 0.5,
  });
  await seedPool(tenantId, 'preset', 'test-v1', Object.values(modelIds), {
    defaultPreference: 0.5,
    defaultPreset: 'balanced',
  });
});

interface RouteBody {
  model: string;
  pool: string;
  preference: number;
  preset: string | null;
  bundle: string;
  candidates: {
    model: string;
    probability: number;
    shown_to_policy: boolean;
    predicted_quality: number;
    expected_cost_usd: number;
    identity_source: string;
  }[];
  fallback_order: string[];
  unroutable: string[];
}

describe('POST /v1/route', () => {
  it('answers the decision with the header contract', async () => {
    const res = await call('/v1/route', { key, body: { model: 'router', messages } });
    expect(res.status).toBe(200);
    for (const h of HEADER_CONTRACT) expect(res.headers.get(h), h).toBeTruthy();
    const body = await res.json<RouteBody>();
    expect(body.pool).toBe('default');
    expect(body.bundle).toBe('test-v1');
    expect(body.preference).toBe(0.5);
    expect(body.candidates).toHaveLength(4);
    expect(body.fallback_order[0]).toBe(body.model);
    expect(res.headers.get('x-router-model')).toBe(body.model);
    const chosen = body.candidates.find((c) => c.model === body.model)!;
    expect(Number(res.headers.get('x-router-expected-cost-usd'))).toBeCloseTo(
      chosen.expected_cost_usd,
      9,
    );
    expect(Number(res.headers.get('x-router-predicted-quality'))).toBeCloseTo(
      chosen.predicted_quality,
      3,
    );
    expect(res.headers.get('x-router-arm')).toBe('none');
    expect(res.headers.get('server-timing')).toMatch(
      /^route;dur=\d+(\.\d+)?;desc="routing overhead", .*app;dur=/,
    );
    expect(body.candidates.reduce((s, c) => s + c.probability, 0)).toBeCloseTo(1, 5);
    for (const c of body.candidates) expect(typeof c.shown_to_policy).toBe('boolean');
    // prompt tokens = ceil((9 + 37) / 4) = 12; test-large: (10 * 12 + 30 * 600) / 1e6
    expect(body.candidates.find((c) => c.model === 'test-large')!.expected_cost_usd).toBeCloseTo(
      0.01812,
      9,
    );
  });

  it('follows the preference: header, body (wins) and presets', async () => {
    const cheap = await (
      await call('/v1/route', {
        key,
        body: { model: 'router', messages },
        headers: { 'x-router-preference': 'cheap' },
      })
    ).json<RouteBody>();
    expect(cheap.preference).toBe(0);
    expect(cheap.model).toBe('test-tiny');
    const quality = await (
      await call('/v1/route', {
        key,
        body: { model: 'router/default', messages, router: { preference: 'quality' } },
        headers: { 'x-router-preference': '0' },
      })
    ).json<RouteBody>();
    expect(quality.preference).toBe(1);
    const best = quality.candidates.reduce((a, b) =>
      b.predicted_quality > a.predicted_quality ? b : a,
    );
    expect(quality.model).toBe(best.model);
    // "balanced" is the w the bundle calibrated (the test bundle's manifest says 0.7), not 0.5.
    const balanced = await call('/v1/route', {
      key,
      body: { model: 'router', messages, router: { preference: 'Balanced' } },
    });
    expect((await balanced.json<RouteBody>()).preference).toBe(0.7);
    expect(balanced.headers.get('x-router-preference')).toBe('0.7');
    // A pool whose default is a preset routes with the bundle's value for it; a request still wins.
    const byPool = await (
      await call('/v1/route', { key, body: { model: 'router/preset', messages } })
    ).json<RouteBody>();
    expect([byPool.preference, byPool.preset]).toEqual([0.7, 'balanced']);
    const asked = await (
      await call('/v1/route', {
        key,
        body: { model: 'router/preset', messages },
        headers: { 'x-router-preference': '0.2' },
      })
    ).json<RouteBody>();
    expect([asked.preference, asked.preset]).toEqual([0.2, null]);
  });

  it('writes the decision log to D1 after answering', async () => {
    const res = await call('/v1/route', {
      key,
      body: { model: 'router', messages, router: { preference: 0.3 } },
    });
    const id = res.headers.get('x-router-decision-id')!;
    const row = await testEnv.DB.prepare('SELECT * FROM decision_log WHERE id = ?1')
      .bind(id)
      .first<Record<string, unknown>>();
    expect(row).toMatchObject({
      tenant_id: tenantId,
      pool: 'default',
      bundle_version: 'test-v1',
      model: res.headers.get('x-router-model'),
      preference: 0.3,
      preset: null,
      status: 'route_only',
    });
    const named = await call('/v1/route', {
      key,
      body: { model: 'router', messages, router: { preference: 'balanced' } },
    });
    const namedRow = await testEnv.DB.prepare(
      'SELECT preference, preset FROM decision_log WHERE id = ?1',
    )
      .bind(named.headers.get('x-router-decision-id'))
      .first();
    expect(namedRow).toEqual({ preference: 0.7, preset: 'balanced' });
    expect(JSON.parse(row!.candidates as string)).toHaveLength(4);
    expect(JSON.parse(row!.probs as string)).toHaveLength(4);
    // the log says what the answer said: which candidates the policy saw
    const answered = await res.json<{ candidates: { shown_to_policy: boolean }[] }>();
    expect(JSON.parse(row!.shown as string)).toEqual(
      answered.candidates.map((c) => c.shown_to_policy),
    );
    expect(row!.routing_ms).toBeGreaterThanOrEqual(0);
  });

  it('reports members without an identity as unroutable and prefers a D1 identity over the manifest', async () => {
    const extra = await seedModel({
      name: 'no-identity',
      bundleModel: 'unknown-model',
      inputUsd: 1,
      outputUsd: 1,
      tenantId,
    });
    const quizzed = await seedModel({
      name: 'quizzed',
      bundleModel: null,
      inputUsd: 0.5,
      outputUsd: 1,
      tenantId,
    });
    await testEnv.DB.prepare(
      "INSERT INTO model_identities (model_id, bundle_version, vector, source, n_items) VALUES (?1, 'test-v1', ?2, 'quiz', 30)",
    )
      .bind(quizzed, JSON.stringify([0.1, 0.2, -0.3, 0.4, 0.0, 0.5, -0.1, 0.2]))
      .run();
    await seedPool(tenantId, 'mixed', 'test-v1', [modelIds['test-large']!, extra, quizzed]);
    const res = await call('/v1/route', { key, body: { model: 'router/mixed', messages } });
    expect(res.status).toBe(200);
    const body = await res.json<RouteBody>();
    expect(body.unroutable).toEqual(['no-identity']);
    expect(res.headers.get('x-router-unroutable')).toBe('no-identity');
    expect(body.candidates.map((c) => [c.model, c.identity_source])).toEqual([
      ['quizzed', 'quiz'],
      ['test-large', 'manifest'],
    ]);
  });

  it('routes a quiz identity with a stored covariance on a pessimistic success estimate', async () => {
    const vector = [0.1, 0.2, -0.3, 0.4, 0.0, 0.5, -0.1, 0.2];
    const store = async (name: string, covFactor: unknown): Promise<string> => {
      const id = await seedModel({
        name,
        bundleModel: null,
        inputUsd: 0.5,
        outputUsd: 1,
        tenantId,
      });
      await testEnv.DB.prepare(
        "INSERT INTO model_identities (model_id, bundle_version, vector, cov_factor, source, n_items) VALUES (?1, 'test-v1', ?2, ?3, 'quiz', 20)",
      )
        .bind(id, JSON.stringify(vector), covFactor === null ? null : JSON.stringify(covFactor))
        .run();
      return id;
    };
    const ids = [
      await store('q-sure', null),
      await store('q-unsure', [vector.map((x) => 2 * x)]),
      await store('q-garbled', [[1, 2]]),
      // finite in JSON and in JS, infinite in float32: would make the IRT return NaN
      await store('q-huge', [vector.map(() => 1e39)]),
    ];
    await seedPool(tenantId, 'doubt', 'test-v1', ids);
    const res = await call('/v1/route', { key, body: { model: 'router/doubt', messages } });
    expect(res.status).toBe(200);
    const q = Object.fromEntries(
      (await res.json<RouteBody>()).candidates.map((c) => [c.model, c.predicted_quality]),
    );
    // The same mean: lower when uncertain; a factor that does not fit the bundle is ignored, not fatal.
    expect(q['q-unsure']!).toBeLessThan(q['q-sure']! - 1e-3);
    expect(q['q-garbled']).toBe(q['q-sure']);
    expect(q['q-huge']).toBe(q['q-sure']);
  });

  it("routes quiz identities at the pool's own uncertainty penalty", async () => {
    const vector = [0.1, 0.2, -0.3, 0.4, 0.0, 0.5, -0.1, 0.2];
    const factor = [vector.map((x) => 2 * x)];
    const id = await seedModel({
      name: 'q-penalised',
      bundleModel: null,
      inputUsd: 0.5,
      outputUsd: 1,
      tenantId,
    });
    await testEnv.DB.prepare(
      "INSERT INTO model_identities (model_id, bundle_version, vector, cov_factor, source, n_items) VALUES (?1, 'test-v1', ?2, ?3, 'quiz', 20)",
    )
      .bind(id, JSON.stringify(vector), JSON.stringify(factor))
      .run();
    const sure = await seedModel({
      name: 'q-plain',
      bundleModel: null,
      inputUsd: 0.5,
      outputUsd: 1,
      tenantId,
    });
    await testEnv.DB.prepare(
      "INSERT INTO model_identities (model_id, bundle_version, vector, source, n_items) VALUES (?1, 'test-v1', ?2, 'quiz', 20)",
    )
      .bind(sure, JSON.stringify(vector))
      .run();
    const quality = async (
      pool: string,
      user = 'u',
    ): Promise<{
      penalty: number;
      arm: string | null;
      logged: unknown;
      q: Record<string, number>;
    }> => {
      const res = await call('/v1/route', {
        key,
        body: { model: `router/${pool}`, messages, user },
      });
      expect(res.status).toBe(200);
      const body = await res.json<
        RouteBody & { id: string; uncertainty_penalty: number; arm: string | null }
      >();
      const row = await testEnv.DB.prepare(
        'SELECT uncertainty_penalty FROM decision_log WHERE id = ?1',
      )
        .bind(body.id)
        .first<{ uncertainty_penalty: number }>();
      return {
        penalty: body.uncertainty_penalty,
        arm: body.arm,
        logged: row?.uncertainty_penalty,
        q: Object.fromEntries(body.candidates.map((c) => [c.model, c.predicted_quality])),
      };
    };
    for (const [name, penalty] of [
      ['kappa-default', undefined],
      ['kappa-0', 0],
      ['kappa-1', 1],
      ['kappa-3', 3],
    ] as const) {
      await seedPool(
        tenantId,
        name,
        'test-v1',
        [id, sure],
        penalty === undefined ? {} : { uncertaintyPenalty: penalty },
      );
    }
    const [byDefault, mean, one, three] = await Promise.all(
      ['kappa-default', 'kappa-0', 'kappa-1', 'kappa-3'].map((p) => quality(p)),
    );
    expect([byDefault!.penalty, mean!.penalty, one!.penalty, three!.penalty]).toEqual([1, 0, 1, 3]);
    expect([byDefault!.logged, mean!.logged, one!.logged, three!.logged]).toEqual([1, 0, 1, 3]);
    // 0 = the mean (the same as the identity without a factor); the default is 1; more is lower.
    expect(mean!.q['q-penalised']).toBe(mean!.q['q-plain']);
    expect(byDefault!.q['q-penalised']).toBe(one!.q['q-penalised']);
    expect(one!.q['q-penalised']!).toBeLessThan(mean!.q['q-penalised']! - 1e-3);
    expect(three!.q['q-penalised']!).toBeLessThan(one!.q['q-penalised']! - 1e-3);
    expect(three!.q['q-plain']).toBe(mean!.q['q-plain']);

    // An A/B arm that names another pool routes with that pool's penalty. (Twelve requests at
    // once, whose ORT runs overlap: before runtime/ort.ts serialised them, some of these failed.)
    const poolId = await seedPool(tenantId, 'kappa-ab', 'test-v1', [id, sure]);
    await testEnv.DB.prepare(
      "INSERT INTO experiments (id, tenant_id, pool_id, name, arms, active) VALUES ('e-kappa', ?1, ?2, 'penalty', ?3, 1)",
    )
      .bind(
        tenantId,
        poolId,
        JSON.stringify([
          { name: 'control', weight: 0.5 },
          { name: 'at-mean', weight: 0.5, pool: 'kappa-0' },
        ]),
      )
      .run();
    const arms = await Promise.all(
      Array.from({ length: 12 }, (_, u) => quality('kappa-ab', `user-${u}`)),
    );
    expect(new Set(arms.map((a) => a.arm))).toEqual(new Set(['control', 'at-mean']));
    for (const a of arms) {
      expect(a.penalty).toBe(a.arm === 'at-mean' ? 0 : 1);
      expect(a.q['q-penalised']).toBe(
        a.arm === 'at-mean' ? mean!.q['q-penalised'] : one!.q['q-penalised'],
      );
    }
  });

  it('refuses a pool uncertainty penalty outside [0, 5] at the database', async () => {
    await expect(
      seedPool(tenantId, 'kappa-bad', 'test-v1', [], { uncertaintyPenalty: -1 }),
    ).rejects.toThrow(/CHECK/);
    await expect(
      seedPool(tenantId, 'kappa-big', 'test-v1', [], { uncertaintyPenalty: 6 }),
    ).rejects.toThrow(/CHECK/);
  });

  it('splits traffic by experiment arm, deterministically per user, and can switch bundles', async () => {
    await seedBundle('test-v1', 0, 'test-v1b');
    const poolId = await seedPool(tenantId, 'exp', 'test-v1', [
      modelIds['test-large']!,
      modelIds['test-tiny']!,
    ]);
    await testEnv.DB.prepare(
      "INSERT INTO experiments (id, tenant_id, pool_id, name, arms, active) VALUES ('e1', ?1, ?2, 'bundle b', ?3, 1)",
    )
      .bind(
        tenantId,
        poolId,
        JSON.stringify([
          { name: 'control', weight: 0.5 },
          { name: 'candidate', weight: 0.5, bundle_version: 'test-v1b' },
        ]),
      )
      .run();
    const seen = new Map<string, string>();
    for (let u = 0; u < 16; u++) {
      const res = await call('/v1/route', {
        key,
        body: { model: 'router/exp', messages, user: `user-${u}` },
      });
      const arm = res.headers.get('x-router-arm')!;
      expect(res.headers.get('x-router-bundle')).toBe(arm === 'candidate' ? 'test-v1b' : 'test-v1');
      seen.set(`user-${u}`, arm);
    }
    expect(new Set(seen.values())).toEqual(new Set(['control', 'candidate']));
    const again = await call('/v1/route', {
      key,
      body: { model: 'router/exp', messages },
      headers: { 'x-router-user': 'user-3' },
    });
    expect(again.headers.get('x-router-arm')).toBe(seen.get('user-3'));
  });
  it('ignores an experiment whose arms are not valid JSON', async () => {
    const poolId = await seedPool(tenantId, 'exp-garbled', 'test-v1', [modelIds['test-tiny']!]);
    await testEnv.DB.prepare(
      "INSERT INTO experiments (id, tenant_id, pool_id, name, arms, active) VALUES ('e-garbled', ?1, ?2, 'garbled', '[{oops', 1)",
    )
      .bind(tenantId, poolId)
      .run();
    const res = await call('/v1/route', { key, body: { model: 'router/exp-garbled', messages } });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-router-arm')).toBe('none');
  });

  it('ignores an experiment arm that names a missing pool instead of failing its traffic', async () => {
    const poolId = await seedPool(tenantId, 'exp-broken', 'test-v1', [modelIds['test-tiny']!]);
    await testEnv.DB.prepare(
      "INSERT INTO experiments (id, tenant_id, pool_id, name, arms, active) VALUES ('e-broken', ?1, ?2, 'typo', ?3, 1)",
    )
      .bind(
        tenantId,
        poolId,
        JSON.stringify([{ name: 'candidate', weight: 1, pool: 'no-such-pool' }]),
      )
      .run();
    const res = await call('/v1/route', { key, body: { model: 'router/exp-broken', messages } });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-router-arm')).toBe('none');
    expect(res.headers.get('x-router-pool')).toBe('exp-broken');
  });
});

describe('GET /v1/models and /healthz', () => {
  it('lists router, router/<pool> and concrete models', async () => {
    const res = await call('/v1/models', { key });
    expect(res.status).toBe(200);
    const ids = (await res.json<{ data: { id: string }[] }>()).data.map((m) => m.id);
    expect(ids).toEqual(
      expect.arrayContaining(['router', 'router/default', 'test-large', 'test-tiny']),
    );
  });

  it('healthz is public and can warm the default bundle', async () => {
    const res = await call('/healthz?bundle=1');
    expect(res.status).toBe(200);
    // `status` also reports degraded modes, which other test files sharing this runtime cause.
    expect(await res.json()).toMatchObject({
      status: degradedState().degraded ? 'degraded' : 'ok',
      default_bundle: 'test-v1',
    });
    const missing = await call('/healthz?bundle=1', { env: { DEFAULT_BUNDLE: 'absent-v9' } });
    expect(missing.status).toBe(503);
  });
});
