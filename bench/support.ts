/**
 * What both workerd benchmarks share: building a bench worker exactly as wrangler deploys it,
 * running it in Miniflare, real mmlu-pro prompts, and summary statistics.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { Miniflare } from 'miniflare';

export const root = path.resolve(import.meta.dirname, '..');

/** Reads `--name value` from the command line. */
export function arg(name: string, fallback: string): string;
export function arg(name: string, fallback?: string): string | undefined;
export function arg(name: string, fallback?: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

/**
 * p50 / p99 (nearest rank), mean and count, rounded to microseconds.
 *
 * @example
 * stats([1, 2, 3]); // { p50: 2, p99: 3, mean: 2, n: 3 }
 */
export function stats(xs: number[]): { p50: number; p99: number; mean: number; n: number } {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))]!;
  const r = (x: number) => Math.round(x * 1000) / 1000;
  return {
    p50: r(q(0.5)),
    p99: r(q(0.99)),
    mean: r(xs.reduce((a, b) => a + b, 0) / xs.length),
    n: xs.length,
  };
}

/**
 * The first `n` mmlu-pro prompts (question plus lettered options, as the data README defines the
 * prompt text), read from the shared data at run time.
 *
 * @example
 * mmluProPrompts(2)[0]; // 'Typical advertising regulatory bodies suggest ...\nA. ...'
 */
export function mmluProPrompts(n: number): string[] {
  const file = path.join(
    process.env['ROUTER_DATA'] ?? path.join(root, '..', 'shared', 'data'),
    'mmlu-pro',
    'mmlu_pro_questions.jsonl',
  );
  const out: string[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const q = JSON.parse(line) as { question: string; options: string[] };
    out.push(
      [q.question, ...q.options.map((o, i) => `${String.fromCharCode(65 + i)}. ${o}`)].join('\n'),
    );
    if (out.length >= n) break;
  }
  return out;
}

/**
 * Builds a bench worker with `wrangler deploy --dry-run` (so it is bundled as deployed) into
 * `outDir`; returns wrangler's output, which reports the upload size.
 *
 * @example
 * buildWorker('bench/wrangler.toml', path.join(root, 'bench', '.out'));
 */
export function buildWorker(config: string, outDir: string): string {
  rmSync(outDir, { recursive: true, force: true });
  return execFileSync(
    'npx',
    ['--no-install', 'wrangler', 'deploy', '--dry-run', '--outdir', outDir, '-c', config],
    { cwd: root, encoding: 'utf8', env: { ...process.env, WRANGLER_SEND_METRICS: 'false' } },
  );
}

/**
 * A Miniflare instance running the built worker in `outDir` with an R2 bucket `ASSETS`.
 *
 * @example
 * const mf = startWorker(outDir, { r2Persist: '/tmp/r2' });
 */
export function startWorker(outDir: string, extra: { r2Persist?: string } = {}): Miniflare {
  return new Miniflare({
    // Modules listed by hand: ORT's glue has a dynamic import() Miniflare cannot follow (never taken).
    modulesRoot: outDir,
    modules: [
      { type: 'ESModule', path: path.join(outDir, 'worker.js') },
      ...readdirSync(outDir)
        .filter((f) => f.endsWith('.wasm'))
        .map((f) => ({ type: 'CompiledWasm' as const, path: path.join(outDir, f) })),
    ],
    compatibilityDate: '2026-04-01',
    r2Buckets: ['ASSETS'],
    ...extra,
  });
}

/** One fresh isolate's first routed request, as bench/run.ts records it. */
export interface FirstRequest {
  round_trip_ms: number;
  bundle_load_ms: number;
  decide_ms: number;
  load_breakdown: unknown;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s[Math.floor(s.length / 2)]!;
}

/**
 * Markdown rows saying where a fresh isolate's first routed request spends its time: the median
 * over isolates of every stage the bundle loader times (manifest, ORT init, then per graph its
 * R2 read, sha256, session and warm run) and of the decision itself. Graphs load in a pipeline, so
 * per-graph stages overlap and their sum exceeds the bundle load.
 *
 * @example
 * firstRequestRows([{ round_trip_ms: 300, bundle_load_ms: 250, decide_ms: 20,
 *   load_breakdown: { manifest_ms: 16, ort_init_ms: 0, files: {} } }]);
 * // ['| round trip (driver -> workerd -> driver) | 300 |', ...]
 */
export function firstRequestRows(runs: FirstRequest[]): string[] {
  const rows: [string, number][] = [
    ['round trip (driver -> workerd -> driver)', median(runs.map((r) => r.round_trip_ms))],
    ['bundle load (all stages below, pipelined)', median(runs.map((r) => r.bundle_load_ms))],
  ];
  const breakdowns = runs.map(
    (r) =>
      (r.load_breakdown ?? {}) as {
        manifest_ms?: number;
        ort_init_ms?: number;
        files?: Record<string, Record<string, number>>;
      },
  );
  rows.push(['  manifest (R2 read + parse)', median(breakdowns.map((b) => b.manifest_ms ?? NaN))]);
  rows.push(['  ORT init waited for', median(breakdowns.map((b) => b.ort_init_ms ?? NaN))]);
  const graphs = [...new Set(breakdowns.flatMap((b) => Object.keys(b.files ?? {})))];
  for (const g of graphs) {
    for (const stage of ['fetch_ms', 'hash_ms', 'session_ms', 'warm_ms']) {
      const v = median(breakdowns.map((b) => b.files?.[g]?.[stage] ?? NaN));
      rows.push([`  ${g}.onnx ${stage.replace('_ms', '')}`, v]);
    }
  }
  rows.push(['decision (embed + IRT + policy, first run)', median(runs.map((r) => r.decide_ms))]);
  return rows.map(([k, v]) => `| ${k} | ${Number.isNaN(v) ? '-' : v.toFixed(1)} |`);
}
