// The real bundle the service ships (model-assets/bundles/DEFAULT), loaded into R2 and routed
// inside workerd. Skipped only while the pipeline has not produced a default bundle yet.
import { beforeAll, describe, expect, it } from 'vitest';
import { call } from '../support/call';
import { seedBundle, seedModel, seedPool, seedTenant, testEnv } from '../support/seed';

interface ManifestModel {
  name: string;
  input_usd_per_mtok?: number;
  output_usd_per_mtok?: number;
  mean_output_tokens?: number;
}
interface RouteBody {
  id: string;
  model: string;
  candidates: {
    model: string;
    probability: number;
    shown_to_policy: boolean;
    expected_cost_usd: number;
    predicted_quality: number;
  }[];
}

let version: string | null = null;
let key = '';
let provider = '';
/** manifest policy.candidates: which candidates the bundle's policy is shown (the shipped one: non-dominated; BUNDLES_DIR may point at either). */
let candidatesShown = 'all';

const prompts = [
  'What is the derivative of x^3 * sin(x)? Show the steps.',
  'Write a short, friendly email declining a meeting invitation.',
  'Which of these is a prime number? A. 21 B. 27 C. 29 D. 33',
  'Explain how a hash map handles collisions, with an example in Python.',
  'Summarise the causes of the French Revolution in three bullet points.',
  'Name the capital of Australia.',
];

beforeAll(async () => {
  const res = await testEnv.FIXTURES.fetch('http://fixtures/1/DEFAULT');
  if (!res.ok) return;
  version = (await res.text()).trim();
  const manifest = (await seedBundle(version, 1)) as {
    models: ManifestModel[];
    embedding: { provider: string };
    policy: { candidates?: string };
  };
  const tenant = await seedTenant('real');
  key = tenant.key;
  const ids: string[] = [];
  for (const m of manifest.models.slice(0, 8)) {
    ids.push(
      await seedModel({
        name: m.name,
        bundleModel: m.name,
        inputUsd: m.input_usd_per_mtok ?? 1,
        outputUsd: m.output_usd_per_mtok ?? 1,
        outputTokens: Math.max(1, Math.round(m.mean_output_tokens ?? 300)),
        baseUrl: 'http://127.0.0.1:9/v1',
        tenantId: tenant.tenantId,
      }),
    );
  }
  provider = manifest.embedding.provider;
  candidatesShown = manifest.policy.candidates ?? 'all';
  await seedPool(tenant.tenantId, 'real', version, ids);
});

describe('the default bundle', () => {
  it('routes real prompts, spending more at w = 1 than at w = 0 on average', async (ctx) => {
    // Workers AI bundles need the real binding to embed; the local embedder runs here.
    if (!version || provider !== 'local') ctx.skip();
    let cheapCost = 0;
    let qualityCost = 0;
    let hidden = 0;
    for (const content of prompts) {
      const answers: RouteBody[] = [];
      for (const preference of [0, 1]) {
        const res = await call('/v1/route', {
          key,
          body: { model: 'router', messages: [{ role: 'user', content }], router: { preference } },
        });
        expect(res.status, await res.clone().text()).toBe(200);
        expect(res.headers.get('x-router-bundle')).toBe(version);
        const body = await res.json<RouteBody>();
        expect(body.candidates.reduce((s, c) => s + c.probability, 0)).toBeCloseTo(1, 4);
        if (candidatesShown === 'all') {
          expect(body.candidates.every((c) => c.shown_to_policy)).toBe(true);
        } else {
          // A candidate the policy was not shown is dominated: another is no dearer and at least as good.
          expect(body.candidates.find((c) => c.model === body.model)!.shown_to_policy).toBe(true);
          for (const c of body.candidates.filter((x) => !x.shown_to_policy)) {
            expect(c.probability).toBe(0);
            expect(
              body.candidates.some(
                (o) =>
                  o.expected_cost_usd <= c.expected_cost_usd &&
                  o.predicted_quality >= c.predicted_quality &&
                  o !== c,
              ),
            ).toBe(true);
          }
        }
        // the decision log keeps what the policy was shown, aligned with candidates and probs
        const row = await testEnv.DB.prepare(
          'SELECT candidates, probs, shown FROM decision_log WHERE id = ?1',
        )
          .bind(body.id)
          .first<{ candidates: string; probs: string; shown: string }>();
        const logged = {
          candidates: JSON.parse(row!.candidates) as string[],
          probs: JSON.parse(row!.probs) as number[],
          shown: JSON.parse(row!.shown) as boolean[],
        };
        expect(logged.candidates).toEqual(body.candidates.map((c) => c.model));
        expect(logged.shown).toEqual(body.candidates.map((c) => c.shown_to_policy));
        logged.shown.forEach((seen, i) => {
          if (!seen) expect(logged.probs[i]).toBe(0);
        });
        hidden += logged.shown.filter((seen) => !seen).length;
        answers.push(body);
      }
      const cost = (b: RouteBody) =>
        b.candidates.find((c) => c.model === b.model)!.expected_cost_usd;
      cheapCost += cost(answers[0]!);
      qualityCost += cost(answers[1]!);
    }
    expect(cheapCost).toBeLessThanOrEqual(qualityCost);
    // a pruning bundle hides dominated candidates from the policy on these prompts, and the log says so
    if (candidatesShown !== 'all') expect(hidden).toBeGreaterThan(0);
  });
});
