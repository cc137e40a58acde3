// The prediction layer (decision/layer.ts) on the generated layered bundle (make_test_bundle.py
// --layer): neighbours.onnx written by the pipeline's own index and exporter, compared with the
// pipeline's Python twin, and routed end to end through /v1/route.
import { beforeAll, describe, expect, it } from 'vitest';
import {
  decide,
  layeredSuccess,
  neighbourColumn,
  parseManifest,
  type Candidate,
} from '../../../worker/decision';
import { getBundle, type LoadedBundle } from '../../../worker/runtime/bundle-loader';
import { call } from '../support/call';
import {
  seedBundle,
  seedBundleModels,
  seedModel,
  seedPool,
  seedTenant,
  testEnv,
} from '../support/seed';

interface Fixture {
  embeddings: number[][];
  columns: number[];
  p_irt: number[][];
  p_neighbour: number[][];
  p_success: number[][];
}

let layered: LoadedBundle;
let plain: LoadedBundle;
let fixture: Fixture;

function candidatesOf(bundle: LoadedBundle, withColumns: boolean): Candidate[] {
  return bundle.manifest.models.map((m, i) => ({
    name: m.name,
    identity: m.identity,
    inputUsdPerMtok: m.input_usd_per_mtok!,
    outputUsdPerMtok: m.output_usd_per_mtok!,
    expectedOutputTokens: m.mean_output_tokens!,
    ...(withColumns ? { column: i } : {}),
  }));
}

beforeAll(async () => {
  await seedBundle('test-v1');
  await seedBundle('test-layer-v1');
  layered = await getBundle(testEnv.ASSETS, 'test-layer-v1');
  plain = await getBundle(testEnv.ASSETS, 'test-v1');
  const res = await testEnv.FIXTURES.fetch('http://fixtures/0/test-layer-v1/layer-fixture.json');
  fixture = (await res.json()) as Fixture;
});

describe('prediction layer', () => {
  it('loads neighbours.onnx with the bundle', () => {
    expect(layered.neighbours).toBeDefined();
    expect(layered.manifest.predictor?.kind).toBe('irt+neighbours');
    expect(plain.neighbours).toBeUndefined();
  });

  it('matches the pipeline twin: neighbour estimates and the stack', async () => {
    const dim = layered.manifest.embedding.dim;
    const embedding = new Float32Array(fixture.embeddings.length * dim);
    fixture.embeddings.forEach((e, row) => embedding.set(e, row * dim));
    const inputs = fixture.embeddings.map((_, row) => ({
      embedding: embedding.subarray(row * dim, (row + 1) * dim),
      preference: 0.5,
      promptTokens: 10,
      candidates: fixture.columns.map((column) => ({
        ...candidatesOf(layered, false)[column]!,
        column,
      })),
    }));
    const p = await layeredSuccess(
      layered.neighbours!,
      layered.manifest,
      inputs,
      embedding,
      fixture.p_irt,
    );
    fixture.p_success.forEach((row, r) =>
      row.forEach((want, k) => expect(p[r]![k]!).toBeCloseTo(want, 5)),
    );
    // The fixture's neighbour estimates really move the answer away from the IRT's alone.
    const moved = fixture.p_success.flat().map((q, i) => Math.abs(q - fixture.p_irt.flat()[i]!));
    expect(Math.max(...moved)).toBeGreaterThan(0.05);
  });

  it('corrects only candidates with a column; the others keep the IRT estimate', async () => {
    const embedding = Float32Array.from(fixture.embeddings[0]!);
    const base = await decide(plain, {
      embedding,
      preference: 0.5,
      candidates: candidatesOf(plain, false),
      promptTokens: 12,
    });
    const mixed = candidatesOf(layered, true).map((c, i) =>
      i % 2 === 0 ? c : { ...c, column: undefined },
    );
    const d = await decide(layered, {
      embedding,
      preference: 0.5,
      candidates: mixed,
      promptTokens: 12,
    });
    const { slope_irt: a, slope_neighbours: b, bias } = layered.manifest.predictor!.stack;
    const nb = await layered.neighbours!.run({
      embedding: { type: 'float32', data: embedding, dims: [1, embedding.length] },
      columns: { type: 'int64', data: BigInt64Array.from([0n, 2n]), dims: [2] },
    });
    const logit = (p: number): number => Math.log(p) - Math.log1p(-p);
    [0, 2].forEach((col, j) => {
      const want =
        1 /
        (1 +
          Math.exp(
            -(
              bias[col]! +
              a * logit(base.pSuccess[col]!) +
              b * logit(Number(nb['p_neighbour']!.data[j]))
            ),
          ));
      expect(d.pSuccess[col]!).toBeCloseTo(want, 5);
    });
    for (const i of [1, 3]) expect(d.pSuccess[i]).toBeCloseTo(base.pSuccess[i]!, 6);
  });

  it('rejects a column the bundle does not have', async () => {
    const embedding = Float32Array.from(fixture.embeddings[0]!);
    const bad = candidatesOf(layered, true).map((c, i) => (i === 0 ? { ...c, column: 9 } : c));
    await expect(
      decide(layered, { embedding, preference: 0.5, candidates: bad, promptTokens: 12 }),
    ).rejects.toThrow(/column 9/);
    await expect(
      decide(plain, {
        embedding,
        preference: 0.5,
        candidates: candidatesOf(plain, true),
        promptTokens: 12,
      }),
    ).rejects.toThrow(/no prediction-layer columns/);
  });

  it('finds columns by name or alias, only in bundles with a layer', () => {
    expect(neighbourColumn(layered.manifest, 'test-small')).toBe(2);
    expect(neighbourColumn(layered.manifest, 'small')).toBe(2);
    expect(neighbourColumn(layered.manifest, 'unknown')).toBeUndefined();
    expect(neighbourColumn(plain.manifest, 'test-small')).toBeUndefined();
  });

  it('refuses a manifest whose predictor has no file or the wrong number of biases', () => {
    const raw = JSON.parse(JSON.stringify(layered.manifest)) as {
      files: object;
      predictor: { stack: object };
    };
    const noFile = { ...raw, files: { ...raw.files, neighbours: undefined } };
    expect(() => parseManifest(noFile)).toThrow(/predictor needs files.neighbours/);
    const short = {
      ...raw,
      predictor: { ...raw.predictor, stack: { ...raw.predictor.stack, bias: [0, 0] } },
    };
    expect(() => parseManifest(short)).toThrow(/bias has 2 entries, models has 4/);
  });

  it('routes a pool through the layer: bundle models corrected, a model without a bundle entry not', async () => {
    const { tenantId, key } = await seedTenant('default');
    const ids = await seedBundleModels(tenantId, 'http://127.0.0.1:9');
    const outsider = await seedModel({
      name: 'outsider',
      bundleModel: null,
      inputUsd: 0.5,
      outputUsd: 1,
      tenantId,
    });
    await testEnv.DB.prepare(
      `INSERT INTO model_identities (model_id, bundle_version, vector, source) VALUES (?1, 'test-layer-v1', ?2, 'manual')`,
    )
      .bind(outsider, JSON.stringify(layered.manifest.models[1]!.identity))
      .run();
    await testEnv.DB.prepare(
      `INSERT INTO model_identities (model_id, bundle_version, vector, source) VALUES (?1, 'test-v1', ?2, 'manual')`,
    )
      .bind(outsider, JSON.stringify(layered.manifest.models[1]!.identity))
      .run();
    await seedPool(tenantId, 'default', 'test-layer-v1', [...Object.values(ids), outsider]);
    await seedPool(tenantId, 'plain', 'test-v1', [...Object.values(ids), outsider]);
    const body = (model: string) => ({
      model,
      messages: [{ role: 'user', content: 'Explain quicksort and its worst case.' }],
    });
    const a = (await (await call('/v1/route', { key, body: body('router') })).json()) as {
      candidates: { model: string; predicted_quality: number }[];
    };
    const b = (await (await call('/v1/route', { key, body: body('router/plain') })).json()) as {
      candidates: { model: string; predicted_quality: number }[];
    };
    const q = (r: typeof a, m: string) =>
      r.candidates.find((c) => c.model === m)!.predicted_quality;
    // The outsider has test-medium's identity but no column: the IRT's estimate, the same in both bundles.
    expect(q(a, 'outsider')).toBeCloseTo(q(b, 'outsider'), 6);
    expect(q(b, 'outsider')).toBeCloseTo(q(b, 'test-medium'), 6);
    // test-medium has a column in the layered bundle: corrected there.
    expect(Math.abs(q(a, 'test-medium') - q(b, 'test-medium'))).toBeGreaterThan(1e-4);
  });
});
