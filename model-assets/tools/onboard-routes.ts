/**
 * Routes one set of test prompts through the served decision core (worker/decision on the
 * bundle's int8 irt.onnx + policy.onnx, ORT node at "basic") once per *pool variant*: the same
 * pool with a different identity for the onboarded model. The onboarding benchmark
 * (model-assets/trainer/onboard/evaluate.py) embeds the prompts once with serve-decisions.ts and
 * hands the embeddings here, so N variants cost N routing passes and no re-embedding.
 *
 *   npx tsx model-assets/tools/onboard-routes.ts --request req.json --out DIR
 *
 * Request (JSON): { bundle, embeddings: "<file of f32 [P, dim]>", prompt_tokens: [P],
 *   preferences: [W], variants: [{ name, candidates: [{ name, identity, input_usd_per_mtok,
 *   output_usd_per_mtok, expected_output_tokens, cov_factor? }] }], uncertainty_penalty? }
 * (cov_factor: the identity's posterior covariance factor, routed as the worker routes a quiz identity,
 * `uncertainty_penalty` stds below its mean: a pool's `pools.uncertainty_penalty`, the worker's default if absent)
 * Output in DIR: choices.i32 [V, W, P] (little-endian, row-major), meta.json.
 */
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { decideBatch, MAX_UNCERTAINTY_PENALTY } from '../../worker/decision';
import type { DecideInput } from '../../worker/decision';
import { arg, candidateSchema, openNodeBundle, toCandidate } from './routing-cli';
const requestSchema = z.object({
  bundle: z.string().min(1),
  embeddings: z.string().min(1),
  prompt_tokens: z.array(z.number().nonnegative()).min(1),
  preferences: z.array(z.number().min(0).max(1)).min(1),
  variants: z
    .array(z.object({ name: z.string(), candidates: z.array(candidateSchema).min(1) }))
    .min(1),
  uncertainty_penalty: z.number().min(0).max(MAX_UNCERTAINTY_PENALTY).optional(),
});

/** Decisions per decideBatch call (bounds the [B, K, F] feature tensor). */
const BATCH = 4096;

async function main(): Promise<void> {
  const req = requestSchema.parse(JSON.parse(readFileSync(arg('request'), 'utf8')));
  const outDir = arg('out');
  mkdirSync(outDir, { recursive: true });
  const bundle = await openNodeBundle(req.bundle);
  const { manifest } = bundle;
  const dim = manifest.embedding.dim;
  const buf = readFileSync(req.embeddings);
  const emb = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
  const p = req.prompt_tokens.length;
  if (emb.length !== p * dim)
    throw new Error(`embeddings hold ${emb.length / dim} rows, expected ${p}`);
  const w = req.preferences.length;
  const v = req.variants.length;
  const choices = new Int32Array(v * w * p);
  const t0 = performance.now();
  for (const [vi, variant] of req.variants.entries()) {
    const list = variant.candidates.map(toCandidate);
    const total = w * p;
    for (let s = 0; s < total; s += BATCH) {
      const inputs: DecideInput[] = [];
      for (let n = s; n < Math.min(total, s + BATCH); n++) {
        const row = Math.floor(n / w);
        inputs.push({
          embedding: emb.subarray(row * dim, (row + 1) * dim),
          preference: req.preferences[n % w]!,
          candidates: list,
          promptTokens: req.prompt_tokens[row]!,
          ...(req.uncertainty_penalty !== undefined
            ? { uncertaintyPenalty: req.uncertainty_penalty }
            : {}),
        });
      }
      const decisions = await decideBatch(bundle, inputs);
      decisions.forEach((dec, i) => {
        const n = s + i;
        choices[vi * w * p + (n % w) * p + Math.floor(n / w)] = dec.chosen;
      });
    }
    process.stderr.write(`[onboard-routes] variant ${vi + 1}/${v} (${variant.name}) routed\n`);
  }
  const seconds = (performance.now() - t0) / 1000;
  writeFileSync(path.join(outDir, 'choices.i32'), Buffer.from(choices.buffer));
  writeFileSync(
    path.join(outDir, 'meta.json'),
    JSON.stringify(
      {
        version: manifest.version,
        variants: v,
        preferences: w,
        prompts: p,
        seconds,
        ms_per_decision: (seconds * 1000) / Math.max(1, v * w * p),
      },
      null,
      1,
    ),
  );
  process.stderr.write(
    `[onboard-routes] done: ${v} variants x ${w} preferences x ${p} prompts in ${seconds.toFixed(1)}s\n`,
  );
}

main().catch((err: unknown) => {
  process.stderr.write(
    `[onboard-routes] error: ${err instanceof Error ? err.message : String(err)}\n`,
  );
  process.exit(1);
});
