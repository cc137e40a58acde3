/**
 * The benchmark worker: runs the router's own decision path (bundle loader from R2, local embedder,
 * IRT head, policy; worker/runtime + worker/embedding + worker/decision) inside workerd, so
 * `npm run bench` measures what a request pays for routing. Driven by bench/run.ts.
 *
 * POST /seed    { base, files }: copies bundle files from the driver's loopback server into R2.
 * POST /decide  { version, text, k, w }: one routing decision (embed + IRT + policy); the k
 *               candidates are built once per isolate (as a pool is cached), the rest per request.
 * POST /loop    { version, texts, k, w }: many decisions back to back, one clock reading around all.
 * GET  /memory  ORT's wasm linear memory in bytes (after the first session exists).
 * POST /noop    parses the same body as /decide and does nothing: the driver's round-trip baseline.
 */
import { getBundle, type LoadedBundle } from '../worker/runtime/bundle-loader';
import { warmOrt } from '../worker/runtime/ort';
import { embedLocal } from '../worker/embedding/local';
import type { TokenizerSpec } from '../worker/embedding/tokenizer';
import { decide, promptTokens, type Candidate, type Decision } from '../worker/decision';

interface Env {
  ASSETS: R2Bucket;
}

// Record ORT's wasm instance (worker/runtime/ort.ts creates it with `new WebAssembly.Instance`) to
// read its memory size. Benchmark-only; the served worker has no such hook.
const memories: WebAssembly.Memory[] = [];
const OriginalInstance = WebAssembly.Instance;
class RecordingInstance extends OriginalInstance {
  constructor(module: WebAssembly.Module, imports?: WebAssembly.Imports) {
    super(module, imports);
    for (const v of Object.values(this.exports))
      if (v instanceof WebAssembly.Memory) memories.push(v);
    for (const ns of Object.values(imports ?? {})) {
      for (const v of Object.values(ns)) if (v instanceof WebAssembly.Memory) memories.push(v);
    }
  }
}
(WebAssembly as { Instance: unknown }).Instance = RecordingInstance;

/** Deterministic standard normals (Box-Muller on a 32-bit LCG): the same candidates in every run. */
function normals(seed: number, n: number): number[] {
  let s = seed >>> 0;
  const u = (): number => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s + 1) / 4294967297;
  };
  return Array.from(
    { length: n },
    () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u()),
  );
}

/**
 * `k` candidates: the manifest's models, then (past their number) distinct variants of them: an
 * identity drawn from that model's posterior (identity_std) and prices scaled by exp(0.5 z). Plain
 * copies at a higher price would all be dominated, which would flatter a policy shown only the
 * non-dominated candidates.
 */
function makeCandidates(bundle: LoadedBundle, k: number): Candidate[] {
  const models = bundle.manifest.models;
  if (models.length === 0) throw new Error('bundle has no models');
  const d = bundle.manifest.identity_dim;
  const draws = normals(20261123, k * (d + 1)); // one stream: independent draws per candidate
  return Array.from({ length: k }, (_, i) => {
    const m = models[i % models.length]!;
    const copy = Math.floor(i / models.length);
    const z = draws.slice(i * (d + 1), (i + 1) * (d + 1));
    const identity =
      copy === 0 ? m.identity : m.identity.map((v, j) => v + (m.identity_std?.[j] ?? 0.1) * z[j]!);
    const scale = copy === 0 ? 1 : Math.exp(0.5 * z[d]!);
    return {
      name: `${m.name}#${i}`,
      identity,
      inputUsdPerMtok: (m.input_usd_per_mtok ?? 0.2 + i * 0.05) * scale,
      outputUsdPerMtok: (m.output_usd_per_mtok ?? 0.2 + i * 0.07) * scale,
      expectedOutputTokens: m.mean_output_tokens ?? 256,
      // With a prediction layer every candidate reads its model's neighbour column (the dearest case).
      ...(bundle.manifest.predictor ? { column: i % models.length } : {}),
    };
  });
}

const candidateSets = new Map<string, Candidate[]>();

/**
 * The `k` candidates of a bundle, built once per isolate: the router reads its candidates from the
 * pool cache (worker/data/pools.ts), so their identity arrays persist across requests and the
 * decision core's per-identity work (decision/decide.ts, identity keys) is not redone per request.
 */
function candidates(bundle: LoadedBundle, k: number): Candidate[] {
  const key = `${bundle.manifest.version}:${k}`;
  let set = candidateSets.get(key);
  if (!set) {
    set = makeCandidates(bundle, k);
    candidateSets.set(key, set);
  }
  return set;
}

/** Milliseconds spent embedding and deciding, summed over calls (workerd's clock has 1 ms steps,
 * so only sums over many decisions are meaningful). */
const phases = { embed: 0, decide: 0, shown: 0 };

async function route(
  bundle: LoadedBundle,
  text: string,
  cands: Candidate[],
  w: number,
): Promise<Decision> {
  if (!bundle.embedder) throw new Error('bench needs a bundle with a local embedder');
  const t0 = Date.now();
  const [embedding] = await embedLocal(
    bundle.embedder,
    bundle.manifest.tokenizer as unknown as TokenizerSpec,
    [text],
  );
  const t1 = Date.now();
  const d = await decide(bundle, {
    embedding: embedding!,
    preference: w,
    candidates: cands,
    promptTokens: promptTokens([text]),
  });
  phases.embed += t1 - t0;
  phases.decide += Date.now() - t1;
  phases.shown += d.shown.filter(Boolean).length;
  return d;
}

// As worker/index.ts does: ONNX Runtime initialises with the isolate, not with its first request.
void warmOrt();

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const url = new URL(request.url);
    try {
      if (url.pathname === '/noop') {
        // Same body and JSON parse as /decide, so the driver's difference is the routing alone.
        if (request.method === 'POST') await request.json();
        return Response.json({ ok: true });
      }
      if (url.pathname === '/memory') {
        return Response.json({ wasm_memory_bytes: memories.map((m) => m.buffer.byteLength) });
      }
      if (url.pathname === '/seed') {
        const { base, files } = await request.json<{ base: string; files: string[] }>();
        for (const key of files) {
          const r = await fetch(`${base}/${key}`);
          if (!r.ok)
            return Response.json({ error: `seed: ${key} -> ${r.status}` }, { status: 500 });
          await env.ASSETS.put(key, await r.arrayBuffer());
        }
        return Response.json({ seeded: files.length });
      }
      if (url.pathname === '/decide') {
        const { version, text, k, w } = await request.json<{
          version: string;
          text: string;
          k: number;
          w: number;
        }>();
        const t0 = Date.now();
        const bundle = await getBundle(env.ASSETS, version);
        const t1 = Date.now();
        const d = await route(bundle, text, candidates(bundle, k), w);
        return Response.json({
          chosen: d.chosen,
          bundle_ms: t1 - t0,
          decide_ms: Date.now() - t1,
          load_ms: bundle.loadMs,
          load_breakdown: bundle.loadBreakdown,
        });
      }
      if (url.pathname === '/loop') {
        const { version, texts, k, w } = await request.json<{
          version: string;
          texts: string[];
          k: number;
          w: number;
        }>();
        const bundle = await getBundle(env.ASSETS, version);
        const cands = candidates(bundle, k);
        phases.embed = 0;
        phases.decide = 0;
        phases.shown = 0;
        const t0 = Date.now();
        let check = 0;
        for (const text of texts) check += (await route(bundle, text, cands, w)).chosen;
        return Response.json({
          n: texts.length,
          total_ms: Date.now() - t0,
          embed_ms: phases.embed,
          decide_ms: phases.decide,
          shown: phases.shown,
          check,
        });
      }
      return Response.json({ error: 'not found' }, { status: 404 });
    } catch (e) {
      return Response.json({ error: e instanceof Error ? e.message : String(e) }, { status: 500 });
    }
  },
};
