/**
 * A routing server for the online-learning replay (model-assets/trainer/onboard/replay.py): the
 * served decision core (worker/decision on the bundle's int8 irt.onnx + policy.onnx, ORT node at
 * "basic") kept open across many small requests, because the replay routes a batch of traffic,
 * updates identities from its feedback, and routes the next batch with them (a Node start per
 * batch would cost more than the routing).
 *
 *   npx tsx model-assets/tools/online-routes.ts --bundle DIR --embeddings FILE --prompt-tokens FILE
 *
 * FILE of embeddings: f32 [P, dim] little-endian; prompt tokens: a JSON array [P]. Then one JSON
 * request per stdin line, one JSON answer per stdout line, in order:
 *   request: { jobs: [{ candidates: [{ name, identity, input_usd_per_mtok, output_usd_per_mtok,
 *     expected_output_tokens, cov_factor? }], rows: [row into the embeddings], preferences: [same
 *     length], uncertainty_penalty?, probs?: boolean }] }
 *   answer: { jobs: [{ chosen: [index into candidates], probs?: [[per candidate]] }] } or { error }
 * `probs` are the policy's probabilities as decide() returns them (0 for a candidate it was not
 * shown). Progress and errors go to stderr. The process ends when stdin closes.
 */
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { z } from 'zod';
import { decideBatch, MAX_UNCERTAINTY_PENALTY } from '../../worker/decision';
import type { DecideInput, DecisionBundle } from '../../worker/decision';
import { arg, candidateSchema, openNodeBundle, toCandidate } from './routing-cli';
const jobSchema = z
  .object({
    candidates: z.array(candidateSchema).min(1),
    rows: z.array(z.number().int().nonnegative()),
    preferences: z.array(z.number().min(0).max(1)),
    uncertainty_penalty: z.number().min(0).max(MAX_UNCERTAINTY_PENALTY).optional(),
    probs: z.boolean().optional(),
  })
  .refine((j) => j.rows.length === j.preferences.length, {
    message: 'rows and preferences differ in length',
  });
const requestSchema = z.object({ jobs: z.array(jobSchema) });
type Job = z.infer<typeof jobSchema>;

/** Decisions per decideBatch call (bounds the [B, K, F] feature tensor). */
const BATCH = 4096;

/** Routes one job: its candidates on each (row, preference) pair. */
async function routeJob(
  bundle: DecisionBundle,
  emb: Float32Array,
  tokens: readonly number[],
  job: Job,
): Promise<{ chosen: number[]; probs?: number[][] }> {
  const dim = bundle.manifest.embedding.dim;
  const list = job.candidates.map(toCandidate);
  const chosen: number[] = [];
  const probs: number[][] = [];
  for (let s = 0; s < job.rows.length; s += BATCH) {
    const inputs: DecideInput[] = [];
    for (let n = s; n < Math.min(job.rows.length, s + BATCH); n++) {
      const row = job.rows[n]!;
      if (row >= tokens.length)
        throw new Error(`row ${row} is beyond the ${tokens.length} embedded prompts`);
      inputs.push({
        embedding: emb.subarray(row * dim, (row + 1) * dim),
        preference: job.preferences[n]!,
        candidates: list,
        promptTokens: tokens[row]!,
        ...(job.uncertainty_penalty !== undefined
          ? { uncertaintyPenalty: job.uncertainty_penalty }
          : {}),
      });
    }
    for (const dec of await decideBatch(bundle, inputs)) {
      chosen.push(dec.chosen);
      if (job.probs) probs.push(dec.probs);
    }
  }
  return job.probs ? { chosen, probs } : { chosen };
}

async function main(): Promise<void> {
  const bundle = await openNodeBundle(arg('bundle'));
  const tokens = z
    .array(z.number().nonnegative())
    .parse(JSON.parse(readFileSync(arg('prompt-tokens'), 'utf8')));
  const buf = readFileSync(arg('embeddings'));
  const emb = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
  if (emb.length !== tokens.length * bundle.manifest.embedding.dim) {
    throw new Error(
      `embeddings hold ${emb.length / bundle.manifest.embedding.dim} rows, prompt tokens ${tokens.length}`,
    );
  }
  process.stderr.write(
    `[online-routes] ready: ${tokens.length} prompts, bundle ${bundle.manifest.version}\n`,
  );
  const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
  for await (const line of lines) {
    if (!line.trim()) continue;
    let answer: unknown;
    try {
      const req = requestSchema.parse(JSON.parse(line));
      const jobs = [];
      for (const job of req.jobs) jobs.push(await routeJob(bundle, emb, tokens, job));
      answer = { jobs };
    } catch (err) {
      answer = { error: err instanceof Error ? err.message : String(err) };
    }
    process.stdout.write(`${JSON.stringify(answer)}\n`);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(
    `[online-routes] error: ${err instanceof Error ? err.message : String(err)}\n`,
  );
  process.exit(1);
});
