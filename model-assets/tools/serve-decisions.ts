/**
 * "The policy exactly as served", in Node: the worker's own decision core (worker/decision) and
 * local embedder (worker/embedding/local.ts) on a bundle's int8 ONNX files, batched over many
 * prompts and preferences. The Python benchmark harness (model-assets/trainer/eval/served.py)
 * writes a request, runs this, and reads the raw arrays back.
 *
 *   npx tsx model-assets/tools/serve-decisions.ts --request req.json --out DIR [--runtime node|web]
 *
 * Request (JSON): { bundle, embed?: { texts }, probe?: { rows, scale }, route?: { texts,
 * prompt_tokens, preferences, candidates: [{ name, identity|null, input_usd_per_mtok,
 * output_usd_per_mtok, expected_output_tokens, cov_factor?, neighbours? }] } }. A candidate with a
 * `cov_factor` (a quiz identity's posterior covariance factor) is routed as the worker routes it: its
 * success `UNCERTAINTY_PENALTY` posterior stds below its mean (worker/decision/decide.ts). A candidate
 * named in the manifest has a prediction-layer column when the bundle has one (decision/layer.ts),
 * unless it says `neighbours: false` (a model refitted on new data, which the bundle's outcome rows
 * do not describe).
 * Output in DIR (little-endian, row-major): embeddings.f32 [N, dim] (embed), probe.f32
 * [R, 1 + 2d] (irt.onnx p_success for identities 0, +scale e_i, -scale e_i; probe rows index
 * embed.texts), route_choices.i32 [W, P] and route_p_success.f32 [P, K] (route), meta.json.
 * ORT runs with the worker's `sessionOptions` (graph optimisation "basic", int8 weights folded
 * at load), on either runtime: int8 results then equal onnxruntime-web's in workerd.
 */
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import {
  decideBatch,
  fromOrtSession,
  neighbourColumn,
  parseManifest,
  resolveIdentity,
  sessionOptions,
} from '../../worker/decision';
import type {
  Candidate,
  DecideInput,
  DecisionBundle,
  Manifest,
  OnnxSession,
  OrtTensorClass,
} from '../../worker/decision';
import { embedLocal } from '../../worker/embedding/local';
import type { TokenizerSpec } from '../../worker/embedding/tokenizer';
import { arg } from './routing-cli';

const candidateSchema = z.object({
  name: z.string().min(1),
  identity: z.array(z.number()).nullable(),
  input_usd_per_mtok: z.number().nonnegative(),
  output_usd_per_mtok: z.number().nonnegative(),
  expected_output_tokens: z.number().nonnegative(),
  cov_factor: z.array(z.array(z.number())).optional(),
  neighbours: z.boolean().default(true),
});
const requestSchema = z.object({
  bundle: z.string().min(1),
  embed: z.object({ texts: z.array(z.string()) }).optional(),
  probe: z
    .object({
      rows: z.array(z.number().int().nonnegative()),
      scale: z.number().positive().default(0.5),
    })
    .optional(),
  route: z
    .object({
      texts: z.array(z.string()),
      prompt_tokens: z.array(z.number().nonnegative()),
      preferences: z.array(z.number().min(0).max(1)).min(1),
      candidates: z.array(candidateSchema).min(1),
    })
    .optional(),
});
type Request = z.infer<typeof requestSchema>;

/** Decisions per decideBatch call: bounds memory of the [B, K, F] feature tensor. */
const BATCH = 2048;
const EMBED_BATCH = 256;

interface Runtime {
  open(file: string): Promise<OnnxSession>;
}

async function runtime(kind: string): Promise<Runtime> {
  if (kind === 'web') {
    const ort = await import('onnxruntime-web');
    ort.env.wasm.numThreads = 1;
    return {
      async open(file) {
        const s = await ort.InferenceSession.create(
          new Uint8Array(readFileSync(file)),
          sessionOptions(),
        );
        return fromOrtSession(s as never, ort.Tensor as unknown as OrtTensorClass);
      },
    };
  }
  const ort = await import('onnxruntime-node');
  return {
    async open(file) {
      const s = await ort.InferenceSession.create(file, {
        ...sessionOptions(),
        intraOpNumThreads: 1,
        interOpNumThreads: 1,
      });
      return fromOrtSession(s as never, ort.Tensor as unknown as OrtTensorClass);
    },
  };
}

function progress(msg: string): void {
  process.stderr.write(`[serve-decisions] ${msg}\n`);
}

async function embedAll(
  embedder: OnnxSession,
  manifest: Manifest,
  texts: readonly string[],
  label: string,
): Promise<Float32Array> {
  const dim = manifest.embedding.dim;
  const out = new Float32Array(texts.length * dim);
  for (let s = 0; s < texts.length; s += EMBED_BATCH) {
    const vecs = await embedLocal(
      embedder,
      manifest.tokenizer as unknown as TokenizerSpec,
      texts.slice(s, s + EMBED_BATCH),
    );
    vecs.forEach((v, i) => out.set(v, (s + i) * dim));
    if ((s / EMBED_BATCH) % 20 === 0)
      progress(`${label}: embedded ${Math.min(s + EMBED_BATCH, texts.length)}/${texts.length}`);
  }
  return out;
}

async function probe(
  irt: OnnxSession,
  manifest: Manifest,
  emb: Float32Array,
  rows: readonly number[],
  scale: number,
): Promise<Float32Array> {
  const dim = manifest.embedding.dim;
  const d = manifest.identity_dim;
  const ids = new Float32Array((1 + 2 * d) * d);
  for (let i = 0; i < d; i++) {
    ids[(1 + i) * d + i] = scale;
    ids[(1 + d + i) * d + i] = -scale;
  }
  const out = new Float32Array(rows.length * (1 + 2 * d));
  for (let s = 0; s < rows.length; s += BATCH) {
    const chunk = rows.slice(s, s + BATCH);
    const e = new Float32Array(chunk.length * dim);
    chunk.forEach((r, i) => e.set(emb.subarray(r * dim, (r + 1) * dim), i * dim));
    const res = await irt.run({
      embedding: { type: 'float32', data: e, dims: [chunk.length, dim] },
      identity: { type: 'float32', data: ids, dims: [1 + 2 * d, d] },
    });
    out.set(res['p_success']!.data as Float32Array, s * (1 + 2 * d));
  }
  return out;
}

function candidates(
  manifest: Manifest,
  route: NonNullable<Request['route']>,
): { list: Candidate[]; sources: Record<string, string> } {
  const sources: Record<string, string> = {};
  const list = route.candidates.map((c) => {
    const resolved = resolveIdentity(
      manifest,
      c.name,
      c.identity ? { vector: c.identity, source: 'manual' } : undefined,
    );
    if (!resolved)
      throw new Error(
        `model ${c.name} has no identity in bundle ${manifest.version} and none was given`,
      );
    const column = c.neighbours ? neighbourColumn(manifest, c.name) : undefined;
    sources[c.name] =
      (resolved.source === 'manual' ? 'given' : resolved.source) +
      (column !== undefined ? '+neighbours' : '');
    return {
      name: c.name,
      identity: resolved.vector,
      inputUsdPerMtok: c.input_usd_per_mtok,
      outputUsdPerMtok: c.output_usd_per_mtok,
      expectedOutputTokens: c.expected_output_tokens,
      ...(c.cov_factor ? { covFactor: c.cov_factor } : {}),
      ...(column !== undefined ? { column } : {}),
    };
  });
  return { list, sources };
}

async function main(): Promise<void> {
  const req = requestSchema.parse(JSON.parse(readFileSync(arg('request'), 'utf8')));
  const outDir = arg('out');
  mkdirSync(outDir, { recursive: true });
  const rt = await runtime(arg('runtime', 'node'));
  const manifest = parseManifest(
    JSON.parse(readFileSync(path.join(req.bundle, 'manifest.json'), 'utf8')),
  );
  if (manifest.embedding.provider !== 'local')
    throw new Error('only bundles with a local embedder can be served offline');
  const open = (name: 'embedder' | 'irt' | 'policy') =>
    rt.open(path.join(req.bundle, `${name}.onnx`));
  const t0 = performance.now();
  const [embedder, irt, policy] = await Promise.all([
    open('embedder'),
    open('irt'),
    open('policy'),
  ]);
  const neighbours =
    manifest.predictor && manifest.files.neighbours
      ? await rt.open(path.join(req.bundle, 'neighbours.onnx'))
      : undefined;
  const bundle: DecisionBundle = { manifest, irt, policy, ...(neighbours ? { neighbours } : {}) };
  const meta: Record<string, unknown> = {
    version: manifest.version,
    dim: manifest.embedding.dim,
    identity_dim: manifest.identity_dim,
  };

  if (req.embed) {
    const emb = await embedAll(embedder, manifest, req.embed.texts, 'embed');
    writeFileSync(path.join(outDir, 'embeddings.f32'), Buffer.from(emb.buffer));
    if (req.probe) {
      const p = await probe(irt, manifest, emb, req.probe.rows, req.probe.scale);
      writeFileSync(path.join(outDir, 'probe.f32'), Buffer.from(p.buffer));
    }
  }
  if (req.route) {
    const route = req.route;
    const { list, sources } = candidates(manifest, route);
    meta['identity_sources'] = sources;
    const emb = await embedAll(embedder, manifest, route.texts, 'route');
    const dim = manifest.embedding.dim;
    const p = route.texts.length;
    const w = route.preferences.length;
    const k = list.length;
    const choices = new Int32Array(w * p);
    const pSuccess = new Float32Array(p * k);
    const total = w * p;
    const tRoute = performance.now();
    for (let s = 0; s < total; s += BATCH) {
      // Decision index n = row * W + wi: one prompt's preferences are neighbours.
      const inputs: DecideInput[] = [];
      for (let n = s; n < Math.min(total, s + BATCH); n++) {
        const row = Math.floor(n / w);
        inputs.push({
          embedding: emb.subarray(row * dim, (row + 1) * dim),
          preference: route.preferences[n % w]!,
          candidates: list,
          promptTokens: route.prompt_tokens[row]!,
        });
      }
      const decisions = await decideBatch(bundle, inputs);
      decisions.forEach((dec, i) => {
        const n = s + i;
        const row = Math.floor(n / w);
        choices[(n % w) * p + row] = dec.chosen;
        if (n % w === 0) pSuccess.set(dec.pSuccess, row * k);
      });
      if ((s / BATCH) % 10 === 0)
        progress(`route: ${Math.min(s + BATCH, total)}/${total} decisions`);
    }
    meta['route_ms_per_decision'] = (performance.now() - tRoute) / Math.max(1, total);
    writeFileSync(path.join(outDir, 'route_choices.i32'), Buffer.from(choices.buffer));
    writeFileSync(path.join(outDir, 'route_p_success.f32'), Buffer.from(pSuccess.buffer));
  }
  meta['seconds'] = (performance.now() - t0) / 1000;
  writeFileSync(path.join(outDir, 'meta.json'), JSON.stringify(meta, null, 1));
  progress(`done in ${(meta['seconds'] as number).toFixed(1)}s`);
}

main().catch((err: unknown) => {
  process.stderr.write(
    `[serve-decisions] error: ${err instanceof Error ? err.message : String(err)}\n`,
  );
  process.exit(1);
});
