// The three embedding sources through /v1/route: local (bundle embedder), precomputed (caller's
// vector; the same vector must give the same decision) and Workers AI (a fake of the binding that
// answers in the binding's { shape, data } format), plus its failure modes.
import { beforeAll, describe, expect, it } from 'vitest';
import { embedLocal } from '../../../worker/embedding/local';
import { tokenize, type TokenizerSpec } from '../../../worker/embedding/tokenizer';
import type { OnnxSession } from '../../../worker/decision/types';
import { getBundle } from '../../../worker/runtime/bundle-loader';
import type { Env } from '../../../worker/env';
import { call } from '../support/call';
import { seedBundle, seedBundleModels, seedPool, seedTenant, testEnv } from '../support/seed';

let key: string;
const prompt = 'Translate "good morning" into German and French.';
const messages = [
  { role: 'system', content: 'You are helpful.' },
  { role: 'user', content: prompt },
];

interface RouteBody {
  model: string;
  embedding: { source: string; space: string };
  candidates: { probability: number }[];
}

/** A deterministic fake Workers AI text-embedding model (64-d, L2-normalised). */
function fakeAi(calls: string[][]): Env['AI'] {
  return {
    async run(model: string, inputs: { text: string[] }) {
      calls.push([model, ...inputs.text]);
      const data = inputs.text.map((t) => {
        const v = Array.from({ length: 64 }, (_, i) => Math.sin(i + t.length));
        const n = Math.hypot(...v);
        return v.map((x) => x / n);
      });
      return { shape: [data.length, 64], data };
    },
  } as unknown as Env['AI'];
}

beforeAll(async () => {
  const manifest = await seedBundle('test-v1');
  // The same graphs as a "workers-ai" bundle: no embedder, vectors come from the AI binding.
  const files = manifest.files as Record<string, { key: string }>;
  const moved = (name: 'irt' | 'policy') => ({
    ...files[name]!,
    key: files[name]!.key.replace('test-v1', 'test-wai'),
  });
  for (const name of ['irt', 'policy'] as const) {
    await testEnv.ASSETS.put(
      moved(name).key,
      await (await testEnv.ASSETS.get(files[name]!.key))!.arrayBuffer(),
    );
  }
  const wai = {
    ...manifest,
    version: 'test-wai',
    tokenizer: null,
    files: { irt: moved('irt'), policy: moved('policy') },
    embedding: {
      ...(manifest.embedding as object),
      provider: 'workers-ai',
      model: '@cf/test/embedder',
      space: 'test-wai-space',
    },
  };
  await testEnv.ASSETS.put('bundles/test-wai/manifest.json', JSON.stringify(wai));

  const tenant = await seedTenant('default');
  key = tenant.key;
  const ids = Object.values(await seedBundleModels(tenant.tenantId, 'http://127.0.0.1:9/v1'));
  await seedPool(tenant.tenantId, 'default', 'test-v1', ids);
  await seedPool(tenant.tenantId, 'wai', 'test-wai', ids);
});

describe('embedding sources', () => {
  it('local: embeds the last user message with the bundle embedder; a precomputed copy routes the same', async () => {
    const local = await call('/v1/route', { key, body: { model: 'router', messages } });
    expect(local.status).toBe(200);
    expect(local.headers.get('x-router-embedding')).toBe('local');
    const a = await local.json<RouteBody>();
    expect(a.embedding).toMatchObject({ source: 'local', space: 'router-test-v1' });

    const bundle = await getBundle(testEnv.ASSETS, 'test-v1');
    const [vector] = await embedLocal(
      bundle.embedder!,
      bundle.manifest.tokenizer as unknown as TokenizerSpec,
      [prompt],
    );
    const pre = await call('/v1/route', {
      key,
      body: {
        model: 'router',
        messages,
        router: { embedding: { space: 'router-test-v1', vector: Array.from(vector!) } },
      },
    });
    const b = await pre.json<RouteBody>();
    expect(b.embedding.source).toBe('precomputed');
    expect(b.model).toBe(a.model);
    b.candidates.forEach((c, i) =>
      expect(c.probability).toBeCloseTo(a.candidates[i]!.probability, 5),
    );

    // A different prompt must be able to embed differently (the embedder is not constant).
    const other = await call('/v1/route', {
      key,
      body: { model: 'router', messages: [{ role: 'user', content: 'zzz qqq 12345 ###' }] },
    });
    const c = await other.json<RouteBody>();
    expect(c.candidates.map((x) => x.probability)).not.toEqual(
      a.candidates.map((x) => x.probability),
    );
  });

  it('workers-ai: calls the binding with the manifest model and caches the vector per prompt', async () => {
    const calls: string[][] = [];
    const res = await call('/v1/route', {
      key,
      body: { model: 'router/wai', messages },
      env: { AI: fakeAi(calls) },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-router-embedding')).toBe('workers-ai');
    expect(calls).toEqual([['@cf/test/embedder', prompt]]);
    await call('/v1/route', {
      key,
      body: { model: 'router/wai', messages },
      env: { AI: fakeAi(calls) },
    });
    expect(calls).toHaveLength(1);
  });

  it('workers-ai: 503 without the binding, 502 when it fails or answers the wrong shape', async () => {
    const fresh = [{ role: 'user', content: `uncached ${crypto.randomUUID()}` }];
    const none = await call('/v1/route', {
      key,
      body: { model: 'router/wai', messages: fresh },
      env: { AI: undefined },
    });
    expect(none.status).toBe(503);
    expect((await none.json<{ error: { code: string } }>()).error.code).toBe(
      'embedding_unavailable',
    );
    const failing = {
      async run() {
        throw new Error('AI binding not supported locally');
      },
    } as unknown as Env['AI'];
    const failed = await call('/v1/route', {
      key,
      body: { model: 'router/wai', messages: fresh },
      env: { AI: failing },
    });
    expect(failed.status).toBe(502);
    expect((await failed.json<{ error: { code: string } }>()).error.code).toBe('embedding_failed');
    const wrong = {
      async run() {
        return { shape: [1, 3], data: [[1, 2, 3]] };
      },
    } as unknown as Env['AI'];
    const bad = await call('/v1/route', {
      key,
      body: { model: 'router/wai', messages: fresh },
      env: { AI: wrong },
    });
    expect(bad.status).toBe(502);
  });
});

describe('embedLocal', () => {
  it('passes only the columns the longest text needs, and embeds as the full max_tokens width does', async () => {
    const bundle = await getBundle(testEnv.ASSETS, 'test-v1');
    const embedder = bundle.embedder!;
    const spec = bundle.manifest.tokenizer as unknown as TokenizerSpec;
    const widths: number[] = [];
    const recording: OnnxSession = {
      ...embedder,
      run: (feeds) => {
        widths.push(feeds['ids']!.dims[1]!);
        return embedder.run(feeds);
      },
    };
    const texts = ['short one', 'a longer prompt, with more words', ''];
    const trimmed = await embedLocal(recording, spec, texts);
    const longest = Math.max(
      ...texts.map((t) => Array.from(tokenize(t, spec)).filter((id) => id !== 0n).length),
    );
    expect(widths).toEqual([longest]);
    expect(longest).toBeLessThan(spec.max_tokens);
    for (const [i, text] of texts.entries()) {
      const full = await embedder.run({
        ids: { type: 'int64', data: tokenize(text, spec), dims: [1, spec.max_tokens] },
      });
      const ref = full['embedding']!.data as Float32Array;
      trimmed[i]!.forEach((x, j) => expect(x).toBeCloseTo(ref[j]!, 6));
    }
    expect(await embedLocal(recording, spec, [''])).toHaveLength(1);
    expect(widths.at(-1)).toBe(1);
  });
});
