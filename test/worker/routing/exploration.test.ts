// Exploration end to end: a pool with exploration_temperature serves a draw from the tempered
// policy among its top choice and the candidates still being learned, logs the draw's propensity
// exactly and says so in x-router-explored / x-router-propensity. Draws come from a seeded uniform
// source (setUniformSource) so the run is reproducible; the frequencies are checked against the
// tempered probabilities, not against a fixed sequence.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { clearPoolCache } from '../../../worker/data/pools';
import { mulberry32 } from '../../../worker/onboarding/random-rows';
import { explorationMask, setUniformSource, tempered } from '../../../worker/routing/explore';
import { call } from '../support/call';
import { seedBundle, seedModel, seedPool, seedTenant, testEnv } from '../support/seed';

const upstream = inject('upstreamUrl');
const TEMPERATURE = 2;
const messages = [{ role: 'user', content: 'Prove that there are infinitely many primes.' }];
let key: string;
let tenantId: string;

interface RouteBody {
  model: string;
  uncertainty_penalty: number;
  exploration: { temperature: number; explored: boolean; propensity: number } | null;
  candidates: { model: string; probability: number; identity_source: string }[];
}

async function route(pool: string, preference: number): Promise<Response> {
  return call('/v1/route', {
    key,
    body: { model: `router/${pool}`, messages, router: { preference } },
  });
}

beforeAll(async () => {
  await seedBundle('test-v1');
  ({ tenantId, key } = await seedTenant('explore'));
  const tag = crypto.randomUUID().slice(0, 8);
  const model = (name: string, bundleModel: string | null, i: number, o: number) =>
    seedModel({
      name,
      bundleModel,
      upstreamModel: `${name}-${tag}`,
      inputUsd: i,
      outputUsd: o,
      baseUrl: `${upstream}/v1`,
      tenantId,
    });
  const ids = [
    await model('ex-large', 'test-large', 10, 30),
    await model('ex-tiny', 'test-tiny', 0.05, 0.1),
    // the newcomer, last by name: a quiz identity with its posterior factor (uncertain)
    await model('zz-new', null, 1, 3),
  ];
  const v = [0.3, 0.2, -0.1, 0.4, 0.1, 0.5, -0.1, 0.2];
  await testEnv.DB.prepare(
    "INSERT INTO model_identities (model_id, bundle_version, vector, cov_factor, source, n_items) VALUES (?1, 'test-v1', ?2, ?3, 'quiz', 20)",
  )
    .bind(
      ids[2],
      JSON.stringify(v),
      JSON.stringify(v.map((_, i) => v.map((__, k) => (i === k ? 0.4 : 0)))),
    )
    .run();
  await seedPool(tenantId, 'explore', 'test-v1', ids);
  await seedPool(tenantId, 'plain', 'test-v1', ids);
  await testEnv.DB.prepare(
    "UPDATE pools SET exploration_temperature = ?2 WHERE tenant_id = ?1 AND name = 'explore'",
  )
    .bind(tenantId, TEMPERATURE)
    .run();
  clearPoolCache();
});

afterAll(() => setUniformSource(null));

/** A preference at which the newcomer is shown but not the top choice, and the probabilities there. */
async function splitPreference(): Promise<{ w: number; probs: number[]; names: string[] }> {
  for (const w of [0.5, 0.3, 0.7, 0.1, 0.9, 0.2, 0.8, 0.4, 0.6]) {
    const body = await (await route('explore', w)).json<RouteBody>();
    const probs = body.candidates.map((c) => c.probability);
    const top = probs.indexOf(Math.max(...probs));
    if (body.candidates[top]!.model !== 'zz-new' && probs[2]! > 0.02)
      return { w, probs, names: body.candidates.map((c) => c.model) };
  }
  throw new Error('no preference splits the policy between the top choice and the newcomer');
}

describe('exploration', () => {
  it('an exploring pool routes uncertain identities at their mean; a plain pool does not explore', async () => {
    setUniformSource(mulberry32(1));
    const explored = await (await route('explore', 0.5)).json<RouteBody>();
    expect(explored.uncertainty_penalty).toBe(0);
    expect(explored.exploration?.temperature).toBe(TEMPERATURE);
    const plainRes = await route('plain', 0.5);
    const plain = await plainRes.json<RouteBody>();
    expect(plain.uncertainty_penalty).toBe(1);
    expect(plain.exploration).toBeNull();
    expect(plainRes.headers.get('x-router-explored')).toBeNull();
  });

  it('serves each eligible candidate as often as its tempered probability, and reports that probability', async () => {
    setUniformSource(mulberry32(7));
    const { w, probs, names } = await splitPreference();
    const top = probs.indexOf(Math.max(...probs));
    const q = tempered(probs, TEMPERATURE, explorationMask(top, [false, false, true]));
    expect(
      q[names.indexOf('ex-large') === top ? names.indexOf('ex-tiny') : names.indexOf('ex-large')],
    ).toBe(0);
    const n = 300;
    const counts = new Map<string, number>();
    for (let i = 0; i < n; i++) {
      const res = await route('explore', w);
      const body = await res.json<RouteBody>();
      const served = names.indexOf(body.model);
      counts.set(body.model, (counts.get(body.model) ?? 0) + 1);
      expect(body.exploration!.propensity).toBe(q[served]);
      expect(body.exploration!.explored).toBe(served !== top);
      expect(res.headers.get('x-router-propensity')).toBe(String(q[served]));
      expect(res.headers.get('x-router-explored')).toBe(String(served !== top));
      expect(res.headers.get('x-router-choice')).toBe(names[top]);
    }
    for (const [i, name] of names.entries()) {
      const got = counts.get(name) ?? 0;
      const sd = Math.sqrt(n * q[i]! * (1 - q[i]!));
      expect(Math.abs(got - n * q[i]!), `${name}: ${got} of ${n}, q=${q[i]}`).toBeLessThanOrEqual(
        4 * sd + 1e-9,
      );
    }
    expect(counts.get('zz-new') ?? 0).toBeGreaterThan(0);
  });

  it('a served chat completion logs the propensity of the model it drew, and serves that model first', async () => {
    const { w, probs, names } = await splitPreference();
    const top = probs.indexOf(Math.max(...probs));
    const q = tempered(probs, TEMPERATURE, explorationMask(top, [false, false, true]));
    setUniformSource(() => 0.999999); // the last eligible candidate: the newcomer
    const res = await call('/v1/chat/completions', {
      key,
      body: { model: 'router/explore', messages, router: { preference: w } },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-router-model')).toBe('zz-new');
    expect(res.headers.get('x-router-explored')).toBe('true');
    const row = await testEnv.DB.prepare(
      'SELECT model, answered_by, propensity, probs FROM decision_log WHERE id = ?1',
    )
      .bind(res.headers.get('x-router-decision-id'))
      .first<{ model: string; answered_by: string; propensity: number; probs: string }>();
    expect(row!.model).toBe('zz-new');
    expect(row!.answered_by).toBe('zz-new');
    expect(row!.propensity).toBe(q[names.indexOf('zz-new')]);
    // the logged probabilities reproduce the logged propensity (what inverse propensity needs)
    const logged = JSON.parse(row!.probs) as number[];
    expect(tempered(logged, TEMPERATURE, explorationMask(top, [false, false, true]))[2]).toBe(
      row!.propensity,
    );

    setUniformSource(() => 0); // the first eligible in candidate order: the top choice here
    const topRes = await call('/v1/chat/completions', {
      key,
      body: { model: 'router/explore', messages, router: { preference: w } },
    });
    expect(topRes.headers.get('x-router-model')).toBe(names[top]);
    expect(topRes.headers.get('x-router-explored')).toBe('false');
    expect(topRes.headers.get('x-router-propensity')).toBe(String(q[top]));
  });
});
