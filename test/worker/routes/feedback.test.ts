// POST /v1/feedback end to end: a served decision keeps its prompt's item parameters, propensity and
// answering model; feedback on it is stored (a second one replaces the first); every decision the
// caller cannot rate gets the same 404, so another tenant's ids are not revealed.
import fc from 'fast-check';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { call } from '../support/call';
import { seedBundle, seedModel, seedPool, seedTenant, testEnv } from '../support/seed';
import { feedbackRows, servedChat } from '../support/served';

const upstream = inject('upstreamUrl');
const messages = [{ role: 'user', content: 'Name three sorting algorithms.' }];
let a: { tenantId: string; key: string };
let b: { tenantId: string; key: string };

async function servedPool(tenantId: string): Promise<void> {
  const tag = crypto.randomUUID().slice(0, 8);
  const ids = [
    await seedModel({
      name: 'fb-large',
      bundleModel: 'test-large',
      upstreamModel: `fb-large-${tag}`,
      inputUsd: 10,
      outputUsd: 30,
      baseUrl: `${upstream}/v1`,
      tenantId,
    }),
    await seedModel({
      name: 'fb-tiny',
      bundleModel: 'test-tiny',
      upstreamModel: `fb-tiny-${tag}`,
      inputUsd: 0.05,
      outputUsd: 0.1,
      baseUrl: `${upstream}/v1`,
      tenantId,
    }),
  ];
  await seedPool(tenantId, 'default', 'test-v1', ids);
}

/** A served chat completion's decision id and answering model. */
function served(key: string): Promise<{ id: string; model: string }> {
  return servedChat(key, 'router', messages);
}

function feedback(key: string, body: unknown): Promise<Response> {
  return call('/v1/feedback', { key, body });
}

beforeAll(async () => {
  await seedBundle('test-v1');
  a = await seedTenant('default');
  b = await seedTenant('default');
  await servedPool(a.tenantId);
  await servedPool(b.tenantId);
});

describe('decision row of a served request', () => {
  it('keeps the item parameters read off irt.onnx, propensity 1 and the answering model', async () => {
    const { id, model } = await served(a.key);
    const row = await testEnv.DB.prepare(
      'SELECT item_params, propensity, answered_by, model FROM decision_log WHERE id = ?1',
    )
      .bind(id)
      .first<{ item_params: string; propensity: number; answered_by: string; model: string }>();
    const item = JSON.parse(row!.item_params) as { a: number[]; c: number };
    expect(item.a).toHaveLength(8); // the test bundle's identity_dim
    expect(item.a.every(Number.isFinite)).toBe(true);
    expect(Number.isFinite(item.c)).toBe(true);
    expect(row!.propensity).toBe(1);
    expect(row!.answered_by).toBe(model);
  });

  it('a /v1/route decision keeps no item parameters and answered_by null', async () => {
    const res = await call('/v1/route', { key: a.key, body: { model: 'router', messages } });
    const row = await testEnv.DB.prepare(
      'SELECT item_params, propensity, answered_by FROM decision_log WHERE id = ?1',
    )
      .bind(res.headers.get('x-router-decision-id'))
      .first();
    expect(row).toEqual({ item_params: null, propensity: 1, answered_by: null });
  });
});

describe('POST /v1/feedback', () => {
  it('stores a score (201) and a second feedback replaces the first (200), learnt again', async () => {
    const { id, model } = await served(a.key);
    const first = await feedback(a.key, { decision_id: id, score: 0.25, comment: 'meh' });
    expect(first.status).toBe(201);
    expect(await first.json()).toEqual({
      object: 'router.feedback',
      decision_id: id,
      model,
      score: 0.25,
      thumbs: null,
      comment: 'meh',
      replaced: false,
    });
    await testEnv.DB.prepare(
      "UPDATE feedback SET applied_at = '2026-01-01T00:00:00Z' WHERE decision_id = ?1",
    )
      .bind(id)
      .run();
    const second = await feedback(a.key, { decision_id: id, thumbs: 'down' });
    expect(second.status).toBe(200);
    expect((await second.json<{ replaced: boolean }>()).replaced).toBe(true);
    const rows = await testEnv.DB.prepare(
      'SELECT tenant_id, model, score, thumbs, comment, applied_at, pool FROM feedback WHERE decision_id = ?1',
    )
      .bind(id)
      .all();
    expect(rows.results).toEqual([
      {
        tenant_id: a.tenantId,
        model,
        score: 0,
        thumbs: 'down',
        comment: null,
        applied_at: null,
        pool: 'default',
      },
    ]);
  });

  it('thumbs up is stored as score 1', async () => {
    const { id } = await served(a.key);
    const res = await feedback(a.key, { decision_id: id, thumbs: 'up' });
    expect(res.status).toBe(201);
    expect((await res.json<{ score: number }>()).score).toBe(1);
  });

  it("another tenant's decision, an unknown id and a /v1/route decision get the same 404", async () => {
    const { id: theirs } = await served(b.key);
    const routeOnly = (
      await call('/v1/route', { key: a.key, body: { model: 'router', messages } })
    ).headers.get('x-router-decision-id')!;
    const answers = await Promise.all(
      [theirs, crypto.randomUUID(), routeOnly].map(async (decision_id) => {
        const res = await feedback(a.key, { decision_id, score: 1 });
        return { status: res.status, body: await res.json() };
      }),
    );
    for (const ans of answers) {
      expect(ans.status).toBe(404);
      expect(ans.body).toEqual(answers[0]!.body);
    }
    expect(answers[0]!.body).toMatchObject({
      error: { type: 'not_found_error', code: 'decision_not_found', param: 'decision_id' },
    });
    // nothing was stored for the other tenant's decision
    expect(await feedbackRows(theirs)).toBe(0);
  });

  it('feedback that arrives just before its decision row finds the row within the grace pauses', async () => {
    const id = crypto.randomUUID();
    const insert = new Promise<void>((resolve) =>
      setTimeout(() => {
        void testEnv.DB.prepare(
          `INSERT INTO decision_log (id, tenant_id, pool, model, candidates, probs, routing_ms, attempts, status, answered_by)
           VALUES (?1, ?2, 'default', 'fb-tiny', '["fb-tiny"]', '[1]', 1, '[]', 'ok', 'fb-tiny')`,
        )
          .bind(id, a.tenantId)
          .run()
          .then(() => resolve());
      }, 50),
    );
    const res = await feedback(a.key, { decision_id: id, score: 1 });
    await insert;
    expect(res.status).toBe(201);
  });

  it('feedback before the decision row exists is a 404 that a retry after the row lands turns into 201', async () => {
    const id = crypto.randomUUID();
    expect((await feedback(a.key, { decision_id: id, score: 1 })).status).toBe(404);
    await testEnv.DB.prepare(
      `INSERT INTO decision_log (id, tenant_id, pool, model, candidates, probs, routing_ms, attempts, status, answered_by)
       VALUES (?1, ?2, 'default', 'fb-tiny', '["fb-tiny"]', '[1]', 1, '[]', 'ok', 'fb-tiny')`,
    )
      .bind(id, a.tenantId)
      .run();
    expect((await feedback(a.key, { decision_id: id, score: 1 })).status).toBe(201);
  });

  it.each([
    ['score 1.5', { score: 1.5 }, 'score'],
    ['score -0.1', { score: -0.1 }, 'score'],
    ['score "1"', { score: '1' }, 'score'],
    ['thumbs sideways', { thumbs: 'sideways' }, 'thumbs'],
    ['score and thumbs', { score: 1, thumbs: 'up' }, 'score'],
    ['neither', {}, 'score'],
    ['a 2001-character comment', { score: 1, comment: 'x'.repeat(2001) }, 'comment'],
    ['an unknown field', { score: 1, extra: true }, null],
  ])('400 invalid_value for %s', async (_label, extra, param) => {
    const res = await feedback(a.key, { decision_id: crypto.randomUUID(), ...extra });
    expect(res.status).toBe(400);
    const body = await res.json<{ error: { code: string; param: string | null } }>();
    expect(body.error.code).toBe('invalid_value');
    expect(body.error.param).toBe(param);
  });

  it('random and hostile bodies get a 4xx in the error shape, never a 5xx, and store nothing', async () => {
    const before = await testEnv.DB.prepare(
      'SELECT COUNT(*) AS n FROM feedback WHERE tenant_id = ?1',
    )
      .bind(a.tenantId)
      .first<{ n: number }>();
    const body = fc.oneof(
      fc.jsonValue(),
      fc.record(
        {
          decision_id: fc.oneof(fc.string({ unit: 'binary', maxLength: 200 }), fc.jsonValue()),
          score: fc.oneof(fc.double(), fc.jsonValue()),
          thumbs: fc.oneof(fc.constantFrom('up', 'down', 'UP', ''), fc.jsonValue()),
          comment: fc.oneof(fc.string({ unit: 'binary', maxLength: 100 }), fc.jsonValue()),
        },
        { requiredKeys: [] },
      ),
    );
    await fc.assert(
      fc.asyncProperty(body, async (b) => {
        const res = await call('/v1/feedback', { key: a.key, rawBody: JSON.stringify(b) ?? 'x' });
        const text = await res.text();
        expect(res.status, text.slice(0, 200)).toBeGreaterThanOrEqual(400);
        expect(res.status, text.slice(0, 200)).toBeLessThan(500);
        const err = (JSON.parse(text) as { error: Record<string, unknown> }).error;
        expect(Object.keys(err).sort()).toEqual(['code', 'message', 'param', 'type']);
        expect(text).not.toMatch(/\n\s+at |\.ts:\d+/);
      }),
      { numRuns: 150 },
    );
    const after = await testEnv.DB.prepare(
      'SELECT COUNT(*) AS n FROM feedback WHERE tenant_id = ?1',
    )
      .bind(a.tenantId)
      .first<{ n: number }>();
    expect(after!.n).toBe(before!.n);
  });

  it('needs an API key', async () => {
    expect((await call('/v1/feedback', { body: { decision_id: 'x', score: 1 } })).status).toBe(401);
  });
});
