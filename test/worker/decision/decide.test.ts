// The decision core on the generated bundle's real ONNX graphs, inside workerd. The test bundle's
// policy adds 6*w*p_success - 6*(1-w)*cost_norm to a random set MLP (see make_test_bundle.py), so
// w = 0 must pick the cheapest candidate and w = 1 the one with the highest predicted success.
import { beforeAll, describe, expect, it } from 'vitest';
import {
  decide,
  decideBatch,
  DecisionInputError,
  expectedCostUsd,
  nonDominated,
  UNCERTAINTY_PENALTY,
  type Candidate,
  type Decision,
  type DecisionBundle,
} from '../../../worker/decision';
import { embedLocal } from '../../../worker/embedding/local';
import type { TokenizerSpec } from '../../../worker/embedding/tokenizer';
import { getBundle, type LoadedBundle } from '../../../worker/runtime/bundle-loader';
import { seedBundle, testEnv } from '../support/seed';

let bundle: LoadedBundle;
let candidates: Candidate[];

const prompts = [
  'What is the capital of France?',
  'Prove that there are infinitely many primes.',
  'Write a haiku about autumn leaves.',
  'Explain the difference between TCP and UDP in detail.',
];

/** The test bundle as if built with --prune-dominated (manifest policy.candidates). */
function pruning(): DecisionBundle {
  return {
    ...bundle,
    manifest: {
      ...bundle.manifest,
      policy: { ...bundle.manifest.policy, candidates: 'non-dominated' },
    },
  };
}

async function embed(text: string): Promise<Float32Array> {
  return (
    await embedLocal(bundle.embedder!, bundle.manifest.tokenizer as unknown as TokenizerSpec, [
      text,
    ])
  )[0]!;
}

beforeAll(async () => {
  await seedBundle('test-v1');
  bundle = await getBundle(testEnv.ASSETS, 'test-v1');
  candidates = bundle.manifest.models.map((m) => ({
    name: m.name,
    identity: m.identity,
    inputUsdPerMtok: m.input_usd_per_mtok!,
    outputUsdPerMtok: m.output_usd_per_mtok!,
    expectedOutputTokens: m.mean_output_tokens!,
  }));
});

describe('decide', () => {
  it('returns aligned per-candidate numbers, probabilities summing to 1, and a full fallback order', async () => {
    const d = await decide(bundle, {
      embedding: await embed(prompts[0]!),
      preference: 0.5,
      candidates,
      promptTokens: 8,
    });
    expect(d.probs).toHaveLength(4);
    expect(d.probs.reduce((s, p) => s + p, 0)).toBeCloseTo(1, 5);
    expect([...d.order].sort()).toEqual([0, 1, 2, 3]);
    expect(d.order[0]).toBe(d.chosen);
    for (let i = 1; i < 4; i++)
      expect(d.probs[d.order[i - 1]!]!).toBeGreaterThanOrEqual(d.probs[d.order[i]!]!);
    for (const p of d.pSuccess) expect(p > 0 && p < 1).toBe(true);
    expect(d.expectedCostUsd[0]).toBeCloseTo(expectedCostUsd(candidates[0]!, 8), 12);
    expect(d.expectedCostUsd[0]).toBeCloseTo((10 * 8 + 30 * 600) / 1e6, 12);
  });

  it('picks the cheapest model at w = 0 and the highest predicted success at w = 1', async () => {
    for (const text of prompts) {
      const embedding = await embed(text);
      const cheap = await decide(bundle, {
        embedding,
        preference: 0,
        candidates,
        promptTokens: 20,
      });
      expect(candidates[cheap.chosen]!.name).toBe('test-tiny');
      const best = await decide(bundle, { embedding, preference: 1, candidates, promptTokens: 20 });
      const argmaxP = best.pSuccess.indexOf(Math.max(...best.pSuccess));
      expect(best.chosen).toBe(argmaxP);
    }
  });

  it('is permutation-equivariant in the candidates', async () => {
    const embedding = await embed(prompts[1]!);
    const a = await decide(bundle, { embedding, preference: 0.6, candidates, promptTokens: 12 });
    const perm = [2, 0, 3, 1];
    const b = await decide(bundle, {
      embedding,
      preference: 0.6,
      candidates: perm.map((i) => candidates[i]!),
      promptTokens: 12,
    });
    perm.forEach((src, dst) => {
      expect(b.probs[dst]).toBeCloseTo(a.probs[src]!, 5);
      expect(b.pSuccess[dst]).toBeCloseTo(a.pSuccess[src]!, 6);
    });
    expect(candidates[perm[b.chosen]!]!.name).toBe(candidates[a.chosen]!.name);
  });

  it('batch with different candidate sets equals one-by-one decisions', async () => {
    const inputs = await Promise.all(
      prompts.map(async (text, i) => ({
        embedding: await embed(text),
        preference: i / 3,
        candidates: candidates.slice(0, 4 - (i % 2)),
        promptTokens: 10 + i,
      })),
    );
    const batch = await decideBatch(bundle, inputs);
    for (const [i, input] of inputs.entries()) {
      const one = await decide(bundle, input);
      expect(batch[i]!.chosen).toBe(one.chosen);
      batch[i]!.probs.forEach((p, k) => expect(p).toBeCloseTo(one.probs[k]!, 5));
    }
  });

  it('keeps identical candidates in input order', async () => {
    const twin = { ...candidates[0]!, name: 'twin' };
    const d = await decide(bundle, {
      embedding: await embed(prompts[2]!),
      preference: 0.5,
      candidates: [candidates[0]!, twin],
      promptTokens: 5,
    });
    expect(d.probs[0]).toBe(d.probs[1]);
    expect(d.order).toEqual([0, 1]);
  });

  it('gives the IRT one row per distinct identity, however the candidates hold it', async () => {
    const rows: number[] = [];
    const irt: DecisionBundle['irt'] = {
      inputNames: bundle.irt.inputNames,
      outputNames: bundle.irt.outputNames,
      async run(feeds) {
        rows.push(feeds['identity']!.dims[0]!);
        return bundle.irt.run(feeds);
      },
    };
    // The same vector as a copy (another provider's listing of the model) and as the same array.
    const copy = { ...candidates[0]!, name: 'copy', identity: [...candidates[0]!.identity] };
    const other = { ...candidates[1]!, identity: candidates[1]!.identity.map((v) => v + 0.25) };
    const embedding = await embed(prompts[3]!);
    const inputs = [
      {
        embedding,
        preference: 0.4,
        candidates: [candidates[0]!, copy, candidates[1]!],
        promptTokens: 9,
      },
      { embedding, preference: 0.9, candidates: [other, candidates[0]!], promptTokens: 9 },
    ];
    const batch = await decideBatch({ ...bundle, irt }, inputs);
    expect(rows).toEqual([3]); // candidates[0] (and its copy), candidates[1], other
    expect(batch[0]!.pSuccess[1]).toBe(batch[0]!.pSuccess[0]);
    expect(batch[1]!.pSuccess[0]).not.toBe(
      (await decide(bundle, { ...inputs[1]!, candidates: [candidates[1]!] })).pSuccess[0],
    );
    for (const [i, input] of inputs.entries()) {
      const one = await decide(bundle, input);
      batch[i]!.pSuccess.forEach((p, k) => expect(p).toBeCloseTo(one.pSuccess[k]!, 6));
    }
  });

  describe('an identity with a covariance factor', () => {
    const logit = (p: number): number => Math.log(p / (1 - p));
    const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));
    const zeroLike = (v: readonly number[]): number[] => v.map(() => 0);
    /** a.v for this prompt, read off the IRT as the bilinear form allows: logit p(v) - logit p(0). */
    async function along(embedding: Float32Array, v: number[]): Promise<number> {
      const probe = await decide(bundle, {
        embedding,
        preference: 0.5,
        promptTokens: 9,
        candidates: [
          { ...candidates[0]!, identity: v },
          { ...candidates[0]!, identity: zeroLike(v) },
        ],
      });
      return logit(probe.pSuccess[0]!) - logit(probe.pSuccess[1]!);
    }

    it('is routed UNCERTAINTY_PENALTY posterior stds below its mean success logit', async () => {
      const embedding = await embed(prompts[1]!);
      const v = candidates[1]!.identity.map((x, i) => 0.3 * x + 0.05 * i);
      const av = await along(embedding, v);
      expect(Math.abs(av)).toBeGreaterThan(0.01);
      const input = { embedding, preference: 0.5, candidates, promptTokens: 9 };
      const sure = await decide(bundle, input);
      // Two vectors along v: the std is sqrt(0.8^2 + 0.6^2) |a.v| = |a.v|.
      const spread = [v.map((x) => 0.8 * x), v.map((x) => -0.6 * x)];
      const unsure = await decide(bundle, {
        ...input,
        candidates: candidates.map((c, i) => (i === 2 ? { ...c, covFactor: spread } : c)),
      });
      expect(unsure.pSuccess[2]).toBeCloseTo(
        sigmoid(logit(sure.pSuccess[2]!) - UNCERTAINTY_PENALTY * Math.abs(av)),
        4,
      );
      [0, 1, 3].forEach((k) => expect(unsure.pSuccess[k]).toBe(sure.pSuccess[k]));
      // A zero factor is no uncertainty at all.
      const zero = await decide(bundle, {
        ...input,
        candidates: candidates.map((c) => ({ ...c, covFactor: [zeroLike(v)] })),
      });
      zero.pSuccess.forEach((p, k) => expect(p).toBeCloseTo(sure.pSuccess[k]!, 6));
      // The input's own penalty replaces the default: 0 is the mean, 2.5 is 2.5 stds below it.
      for (const kappa of [0, 2.5]) {
        const d = await decide(bundle, {
          ...input,
          uncertaintyPenalty: kappa,
          candidates: candidates.map((c, i) => (i === 2 ? { ...c, covFactor: spread } : c)),
        });
        expect(d.pSuccess[2]).toBeCloseTo(
          sigmoid(logit(sure.pSuccess[2]!) - kappa * Math.abs(av)),
          4,
        );
        [0, 1, 3].forEach((k) => expect(d.pSuccess[k]).toBe(sure.pSuccess[k]));
      }
    });

    it('rejects a penalty that is not a number in [0, 5]', async () => {
      const embedding = await embed(prompts[0]!);
      for (const kappa of [-0.5, 5.5, Number.NaN, Number.POSITIVE_INFINITY]) {
        await expect(
          decide(bundle, {
            embedding,
            preference: 0.5,
            candidates,
            promptTokens: 1,
            uncertaintyPenalty: kappa,
          }),
        ).rejects.toThrow(/uncertaintyPenalty/);
      }
    });

    it('loses the w = 1 choice to a model it no longer surely beats', async () => {
      const embedding = await embed(prompts[0]!);
      const input = { embedding, preference: 1, candidates, promptTokens: 9 };
      const best = (await decide(bundle, input)).chosen;
      // Large doubt along the model's own identity: its success logit drops by 20 |a.theta|.
      const doubt = [candidates[best]!.identity.map((x) => 20 * x)];
      const doubted = await decide(bundle, {
        ...input,
        candidates: candidates.map((c, i) => (i === best ? { ...c, covFactor: doubt } : c)),
      });
      expect(doubted.chosen).not.toBe(best);
    });

    it('is rejected when its vectors do not have the identity size', async () => {
      const embedding = await embed(prompts[0]!);
      await expect(
        decide(bundle, {
          embedding,
          preference: 0.5,
          candidates: [{ ...candidates[0]!, covFactor: [[1, 2]] }],
          promptTokens: 1,
        }),
      ).rejects.toThrow(/covariance factor/);
      await expect(
        decide(bundle, {
          embedding,
          preference: 0.5,
          candidates: [
            { ...candidates[0]!, covFactor: [candidates[0]!.identity.map(() => Number.NaN)] },
          ],
          promptTokens: 1,
        }),
      ).rejects.toBeInstanceOf(DecisionInputError);
      await expect(
        decide(bundle, {
          embedding,
          preference: 0.5,
          candidates: [{ ...candidates[0]!, covFactor: [candidates[0]!.identity.map(() => 1e39)] }],
          promptTokens: 1,
        }),
      ).rejects.toBeInstanceOf(DecisionInputError);
    });
  });

  it('breaks equal probabilities toward the cheaper candidate', async () => {
    // The real IRT graph, and a policy whose probabilities are tied (uniform over unmasked
    // candidates), isolates the core's tie rule from any trained behaviour.
    const uniform: DecisionBundle['policy'] = {
      inputNames: ['embedding', 'preference', 'features', 'mask'],
      outputNames: ['probs'],
      async run(feeds) {
        const mask = feeds['mask']!.data as Float32Array;
        const n = mask.reduce((s, v) => s + v, 0);
        return {
          probs: { type: 'float32', data: mask.map((v) => v / n), dims: feeds['mask']!.dims },
        };
      },
    };
    const d = await decide(
      { ...bundle, policy: uniform },
      { embedding: await embed(prompts[2]!), preference: 0.5, candidates, promptTokens: 5 },
    );
    expect(d.order.map((i) => candidates[i]!.name)).toEqual([
      'test-tiny',
      'test-small',
      'test-medium',
      'test-large',
    ]);
  });

  it('shows a non-dominated policy only the candidates nothing beats on price and predicted success', async () => {
    // A dearer copy of every candidate: same identity (same p_success), 1.5x the price, so dominated.
    const dearer = candidates.map((c) => ({
      ...c,
      name: `${c.name}-dearer`,
      inputUsdPerMtok: c.inputUsdPerMtok * 1.5,
      outputUsdPerMtok: c.outputUsdPerMtok * 1.5,
    }));
    const all = [...dearer, ...candidates];
    const seen: { k: number; features: Float32Array; probs: Float32Array }[] = [];
    const spy = (inner: DecisionBundle['policy']): DecisionBundle['policy'] => ({
      inputNames: inner.inputNames,
      outputNames: inner.outputNames,
      async run(feeds) {
        const out = await inner.run(feeds);
        seen.push({
          k: feeds['features']!.dims[1]!,
          features: feeds['features']!.data as Float32Array,
          probs: out['probs']!.data as Float32Array,
        });
        return out;
      },
    });
    const input = {
      embedding: await embed(prompts[1]!),
      preference: 0.6,
      candidates: all,
      promptTokens: 12,
    };
    const pruned = await decide({ ...pruning(), policy: spy(bundle.policy) }, input);
    const full = await decide({ ...bundle, policy: spy(bundle.policy) }, input);
    const shown = nonDominated(full.expectedCostUsd, full.pSuccess);
    expect(shown.length).toBeGreaterThan(0);
    expect(shown.every((i) => i >= 4)).toBe(true); // every dearer copy is dominated by its original
    expect(seen.map((s) => s.k)).toEqual([shown.length, 8]);
    // The shown rows carry the features of the whole set (cost_norm is relative to the dearest copy),
    // and each slot's probability goes back to its own candidate.
    const width = bundle.manifest.policy.features.reduce((s, f) => s + f.size, 0);
    shown.forEach((k, slot) =>
      expect(Array.from(seen[0]!.features.subarray(slot * width, (slot + 1) * width))).toEqual(
        Array.from(seen[1]!.features.subarray(k * width, (k + 1) * width)),
      ),
    );
    shown.forEach((k, slot) => expect(pruned.probs[k]).toBe(seen[0]!.probs[slot]));
    pruned.probs.forEach((p, i) => {
      if (!shown.includes(i)) expect(p).toBe(0);
    });
    expect(pruned.probs.reduce((s, p) => s + p, 0)).toBeCloseTo(1, 5);
    expect(shown).toContain(pruned.chosen);
    expect(pruned.pSuccess).toEqual(full.pSuccess);
    // Fallback: the shown candidates by probability, then the dominated ones by the price rule.
    expect([...pruned.order].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect([...pruned.order.slice(0, shown.length)].sort((a, b) => a - b)).toEqual(shown);
    const top = Math.max(...pruned.expectedCostUsd);
    const rule = (i: number): number =>
      0.6 * pruned.pSuccess[i]! - (0.4 * pruned.expectedCostUsd[i]!) / top;
    for (let n = shown.length + 1; n < 8; n++)
      expect(rule(pruned.order[n - 1]!)).toBeGreaterThanOrEqual(rule(pruned.order[n]!));
  });

  it('pads rows with different numbers of shown candidates like one-by-one decisions', async () => {
    const bundleP = pruning();
    const dearer = candidates.map((c) => ({
      ...c,
      name: `${c.name}-dearer`,
      inputUsdPerMtok: c.inputUsdPerMtok * 2,
      outputUsdPerMtok: c.outputUsdPerMtok * 2,
    }));
    const inputs = await Promise.all(
      prompts.map(async (text, i) => ({
        embedding: await embed(text),
        preference: 0.3 + i / 6,
        promptTokens: 10 + i,
        candidates: i % 2 === 0 ? [...candidates, ...dearer] : candidates.slice(0, 2 + (i % 3)),
      })),
    );
    const batch = await decideBatch(bundleP, inputs);
    expect(new Set(batch.map((d) => d.shown.filter(Boolean).length)).size).toBeGreaterThan(1);
    for (const [i, input] of inputs.entries()) {
      const one = await decide(bundleP, input);
      expect(batch[i]!.order).toEqual(one.order);
      expect(batch[i]!.shown).toEqual(one.shown);
      batch[i]!.probs.forEach((p, k) => expect(p).toBeCloseTo(one.probs[k]!, 5));
    }
  });

  it('rejects a candidate whose expected cost is not a number', async () => {
    const embedding = await embed(prompts[0]!);
    await expect(
      decide(bundle, {
        embedding,
        preference: 0.5,
        candidates: [candidates[0]!, { ...candidates[1]!, inputUsdPerMtok: Number.NaN }],
        promptTokens: 3,
      }),
    ).rejects.toBeInstanceOf(DecisionInputError);
  });

  it('rejects wrong embedding size, identity size, preference and empty candidate sets', async () => {
    const embedding = await embed(prompts[0]!);
    const b = bundle as DecisionBundle;
    await expect(
      decide(b, { embedding: embedding.slice(1), preference: 0.5, candidates, promptTokens: 1 }),
    ).rejects.toBeInstanceOf(DecisionInputError);
    await expect(
      decide(b, { embedding, preference: 1.5, candidates, promptTokens: 1 }),
    ).rejects.toBeInstanceOf(DecisionInputError);
    await expect(
      decide(b, { embedding, preference: 0.5, candidates: [], promptTokens: 1 }),
    ).rejects.toBeInstanceOf(DecisionInputError);
    await expect(
      decide(b, {
        embedding,
        preference: 0.5,
        candidates: [{ ...candidates[0]!, identity: [1, 2] }],
        promptTokens: 1,
      }),
    ).rejects.toThrow(/identity/);
  });
});

describe('decide under concurrency', () => {
  it('gives the same answers when many requests share the sessions at once', async () => {
    const inputs = await Promise.all(
      prompts.map(async (text, i) => ({
        embedding: await embed(text),
        preference: i / 4,
        candidates,
        promptTokens: 9,
      })),
    );
    const sequential: Decision[] = [];
    for (const input of inputs) sequential.push(await decide(bundle, input));
    const concurrent = await Promise.all(
      [...inputs, ...inputs].map((input) => decide(bundle, input)),
    );
    concurrent.forEach((d, i) => expect(d.probs).toEqual(sequential[i % inputs.length]!.probs));
  });
});

describe('decide with itemParams', () => {
  it("reads the prompt's item parameters off irt.onnx: sigmoid(a . theta - c) is each candidate's p_success", async () => {
    for (const text of prompts) {
      const d = await decide(bundle, {
        embedding: await embed(text),
        preference: 0.5,
        candidates,
        promptTokens: 10,
        itemParams: true,
      });
      const item = d.itemParams!;
      expect(item.a).toHaveLength(bundle.manifest.identity_dim);
      candidates.forEach((cand, i) => {
        const logit = cand.identity.reduce((s, x, k) => s + x * item.a[k]!, 0) - item.c;
        // float32 probabilities through the int8 graph: equal to about 1e-5
        expect(1 / (1 + Math.exp(-logit))).toBeCloseTo(d.pSuccess[i]!, 4);
      });
    }
  });

  it('leaves the decision as it is and adds nothing when not asked', async () => {
    const embedding = await embed(prompts[2]!);
    const input = { embedding, preference: 0.4, candidates, promptTokens: 10 };
    const plain = await decide(bundle, input);
    const withItems = await decide(bundle, { ...input, itemParams: true });
    expect(plain.itemParams).toBeUndefined();
    expect(withItems.probs).toEqual(plain.probs);
    expect(withItems.pSuccess).toEqual(plain.pSuccess);
  });
});
