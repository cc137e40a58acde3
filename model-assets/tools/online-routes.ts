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
import path from 'node:path';
import { createInterface } from 'node:readline';
import { z } from 'zod';
import {
  decideBatch,
  fromOrtSession,
  MAX_UNCERTAINTY_PENALTY,
  parseManifest,
  sessionOptions,
} from '../../worker/decision';
import type { Candidate, DecideInput, DecisionBundle, OrtTensorClass } from '../../worker/decision';

const candidateSchema = z.object({
  name: z.string().min(1),
  identity: z.array(z.number()),
  input_usd_per_mtok: z.number().nonnegative(),
  output_usd_per_mtok: z.number().nonnegative(),
  expected_output_tokens: z.number().nonnegative(),
  cov_factor: z.array(z.array(z.number())).optional(),
});
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

function arg(name: string): string {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? process.argv[i + 1] : undefined;
  if (v === undefined) throw new Error(`missing --${name}`);
  return v;
}

async function openBundle(dir: string): Promise<DecisionBundle> {
  const manifest = parseManifest(JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')));
  const ort = await import('onnxruntime-node');
  const open = async (name: string) =>
    fromOrtSession(
      (await ort.InferenceSession.create(path.join(dir, `${name}.onnx`), {
        ...sessionOptions(),
        intraOpNumThreads: 1,
        interOpNumThreads: 1,
      })) as never,
      ort.Tensor as unknown as OrtTensorClass,
    );
  return { manifest, irt: await open('irt'), policy: await open('policy') };
}

/** Routes one job: its candidates on each (row, preference) pair. */
async function routeJob(
  bundle: DecisionBundle,
  emb: Float32Array,
  tokens: readonly number[],
  job: Job,
): Promise<{ chosen: number[]; probs?: number[][] }> {
  const dim = bundle.manifest.embedding.dim;
  const list: Candidate[] = job.candidates.map((c) => ({
    name: c.name,
    identity: c.identity,
    inputUsdPerMtok: c.input_usd_per_mtok,
    outputUsdPerMtok: c.output_usd_per_mtok,
    expectedOutputTokens: c.expected_output_tokens,
    ...(c.cov_factor ? { covFactor: c.cov_factor } : {}),
  }));
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
  const bundle = await openBundle(arg('bundle'));
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
