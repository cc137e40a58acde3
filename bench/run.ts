/**
 * `npm run bench -- [--json PATH] [--docs] [--bundle DIR] [--n 1000] [--fresh 5]`: the routing overhead
 * inside workerd (Miniflare running bench/worker.ts, built by wrangler like the real worker).
 *
 * - per decision (embed + IRT + policy, distinct real prompts, warm) for 8, 32 and 128 candidates:
 *   p50/p99 of the driver's round trip minus that of an empty request sent just before (workerd's
 *   clock only ticks in whole milliseconds, so single decisions cannot be timed inside it), and the
 *   in-worker mean over a back-to-back loop;
 * - 1, 8 and 32 concurrent clients against one isolate at 32 candidates: round trip p50/p99 and
 *   decisions per second (an isolate runs one request's JavaScript at a time, so requests queue);
 * - the first routed request in a fresh isolate (R2 read, sha256 checks, ORT init, three sessions,
 *   one decision), over several fresh isolates;
 * - ORT's wasm linear memory; the asset bundle's size raw and gzip; the worker upload size.
 */
import {
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import type { Miniflare } from 'miniflare';
import {
  arg,
  buildWorker,
  firstRequestRows,
  mmluProPrompts,
  root,
  startWorker,
  stats,
  type FirstRequest,
} from './support';

const outDir = path.join(root, 'bench', '.out');
const persist = path.join(root, 'bench', '.wrangler', 'r2');

function log(msg: string): void {
  console.log(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}`);
}

function defaultBundle(): string {
  const file = path.join(root, 'model-assets', 'bundles', 'DEFAULT');
  if (!existsSync(file)) throw new Error('no model-assets/bundles/DEFAULT; pass --bundle DIR');
  return path.join(root, 'model-assets', 'bundles', readFileSync(file, 'utf8').trim());
}

/** Builds bench/worker.ts exactly as wrangler deploys it; returns the reported upload size. */
function build(): { raw_kib: number; gzip_kib: number } {
  const text = buildWorker('bench/wrangler.toml', outDir);
  const m = /Total Upload: ([\d.]+) KiB \/ gzip: ([\d.]+) KiB/.exec(text);
  if (!m) throw new Error(`could not read the upload size from wrangler:\n${text}`);
  return { raw_kib: Number(m[1]), gzip_kib: Number(m[2]) };
}

async function call(
  mf: Miniflare,
  pathname: string,
  body?: unknown,
): Promise<{ ms: number; json: Record<string, unknown> }> {
  const t0 = performance.now();
  const res = await mf.dispatchFetch(
    `http://bench${pathname}`,
    body === undefined ? {} : { method: 'POST', body: JSON.stringify(body) },
  );
  const text = await res.text();
  const ms = performance.now() - t0;
  if (!res.ok) throw new Error(`${pathname}: ${res.status} ${text}`);
  return { ms, json: JSON.parse(text) as Record<string, unknown> };
}

async function main(): Promise<void> {
  const bundleDir = path.resolve(arg('bundle') ?? defaultBundle());
  const n = Number(arg('n', '1000'));
  const fresh = Number(arg('fresh', '5'));
  const sizes = [8, 32, 128];
  const manifest = JSON.parse(readFileSync(path.join(bundleDir, 'manifest.json'), 'utf8')) as {
    version: string;
    files: Record<string, { key: string }>;
  };
  const version = manifest.version;

  log('building bench/worker.ts with wrangler (as deployed)');
  const upload = build();
  log(`worker upload ${upload.raw_kib} KiB, gzip ${upload.gzip_kib} KiB`);

  const files: Record<string, { bytes: number; gzip_bytes: number }> = {};
  for (const f of readdirSync(bundleDir)) {
    const bytes = readFileSync(path.join(bundleDir, f));
    if (!statSync(path.join(bundleDir, f)).isFile()) continue;
    files[f] = { bytes: bytes.length, gzip_bytes: gzipSync(bytes, { level: 9 }).length };
  }
  const total = Object.values(files).reduce(
    (a, f) => ({ bytes: a.bytes + f.bytes, gzip_bytes: a.gzip_bytes + f.gzip_bytes }),
    { bytes: 0, gzip_bytes: 0 },
  );
  log(
    `bundle ${version}: ${(total.bytes / 1024).toFixed(1)} KiB raw, ${(total.gzip_bytes / 1024).toFixed(1)} KiB gzip`,
  );

  // Seed R2 (persisted, so every fresh isolate below finds the bundle without a seeding request).
  rmSync(persist, { recursive: true, force: true });
  mkdirSync(persist, { recursive: true });
  {
    const mf = startWorker(outDir, { r2Persist: persist });
    const bucket = await mf.getR2Bucket('ASSETS');
    // Plain ArrayBuffers: Miniflare's Node-to-workerd proxy rejects Node Buffers (pooled views).
    const bytes = (file: string): ArrayBuffer => {
      const b = readFileSync(file);
      return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
    };
    await bucket.put(
      `bundles/${version}/manifest.json`,
      bytes(path.join(bundleDir, 'manifest.json')),
    );
    for (const entry of Object.values(manifest.files)) {
      await bucket.put(entry.key, bytes(path.join(bundleDir, path.basename(entry.key))));
    }
    await mf.dispose();
  }

  const texts = mmluProPrompts(n + 200 + fresh);
  log(`first request in ${fresh} fresh isolates`);
  const first: FirstRequest[] = [];
  for (let i = 0; i < fresh; i++) {
    const mf = startWorker(outDir, { r2Persist: persist });
    await mf.ready;
    const r = await call(mf, '/decide', { version, text: texts[i], k: 32, w: 0.5 });
    first.push({
      round_trip_ms: Math.round(r.ms * 10) / 10,
      bundle_load_ms: Number(r.json['load_ms']),
      decide_ms: Number(r.json['decide_ms']),
      load_breakdown: r.json['load_breakdown'],
    });
    log(
      `  fresh isolate ${i + 1}/${fresh}: ${r.ms.toFixed(0)} ms (bundle load ${String(r.json['load_ms'])} ms)`,
    );
    await mf.dispose();
  }

  const mf = startWorker(outDir, { r2Persist: persist });
  await mf.ready;
  const warmTexts = texts.slice(fresh, fresh + 200);
  const runTexts = texts.slice(fresh + 200, fresh + 200 + n);
  for (const t of warmTexts) await call(mf, '/decide', { version, text: t, k: 32, w: 0.5 });
  const noop: number[] = [];
  for (let i = 0; i < n; i++) noop.push((await call(mf, '/noop')).ms);
  const noopStats = stats(noop);
  log(`empty request round trip: p50 ${noopStats.p50} ms, p99 ${noopStats.p99} ms`);
  const overhead: Record<string, unknown> = {};
  for (const k of sizes) {
    for (const t of warmTexts.slice(0, 50))
      await call(mf, '/decide', { version, text: t, k, w: 0.5 });
    // Each decision is paired with an empty request just before it; the difference cancels the
    // driver-to-workerd transport and slow drifts of machine load.
    const rt: number[] = [];
    const net: number[] = [];
    for (let i = 0; i < n; i++) {
      const body = { version, text: runTexts[i], k, w: (i % 11) / 10 };
      const base = (await call(mf, '/noop', body)).ms;
      const ms = (await call(mf, '/decide', body)).ms;
      rt.push(ms);
      net.push(Math.max(0, ms - base));
      if ((i + 1) % 250 === 0) log(`  k=${k}: ${i + 1}/${n} decisions`);
    }
    const loop = (await call(mf, '/loop', { version, texts: runTexts, k, w: 0.5 })).json;
    const inWorkerMean = Number(loop['total_ms']) / Number(loop['n']);
    overhead[String(k)] = {
      ...stats(net),
      round_trip: stats(rt),
      in_worker_loop_mean_ms: Math.round(inWorkerMean * 1000) / 1000,
      in_worker_mean_embed_ms:
        Math.round((Number(loop['embed_ms']) / Number(loop['n'])) * 1000) / 1000,
      in_worker_mean_irt_policy_ms:
        Math.round((Number(loop['decide_ms']) / Number(loop['n'])) * 1000) / 1000,
      // Candidates the policy attended over (all k unless the bundle shows only non-dominated ones).
      mean_shown_to_policy: Math.round((Number(loop['shown']) / Number(loop['n'])) * 10) / 10,
    };
    const o = overhead[String(k)] as { p50: number; p99: number };
    log(
      `k=${k}: routing overhead p50 ${o.p50} ms, p99 ${o.p99} ms; in-worker loop mean ${inWorkerMean.toFixed(3)} ms ` +
        `(embed ${String(overhead[String(k)] && (overhead[String(k)] as Record<string, number>)['in_worker_mean_embed_ms'])} ms)`,
    );
  }
  // Concurrent clients against one isolate: it runs one request's JavaScript (and ORT's synchronous
  // wasm) at a time, so a request's latency includes queueing behind the others; throughput is what
  // this harness gets from one isolate (a lower bound: the driver shares the cores). Each client
  // sends its share of the prompts back to back.
  const concurrency: Record<string, unknown> = {};
  for (const clients of [1, 8, 32]) {
    const latencies: number[] = [];
    const per = Math.ceil(n / clients);
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: clients }, async (_, c) => {
        for (const text of runTexts.slice(c * per, (c + 1) * per)) {
          latencies.push((await call(mf, '/decide', { version, text, k: 32, w: 0.5 })).ms);
        }
      }),
    );
    const roundTrip = stats(latencies);
    const perSecond = Math.round(latencies.length / ((performance.now() - t0) / 1000));
    concurrency[String(clients)] = { round_trip: roundTrip, decisions_per_second: perSecond };
    log(
      `${clients} concurrent client(s), 32 candidates: round trip p50 ${roundTrip.p50} ms, p99 ${roundTrip.p99} ms, ${perSecond} decisions/s`,
    );
  }
  const memory = (await call(mf, '/memory')).json;
  await mf.dispose();

  const firstSorted = [...first].sort((a, b) => a.round_trip_ms - b.round_trip_ms);
  const result = {
    bundle: version,
    runtime:
      'workerd via Miniflare (bench/worker.ts built by wrangler deploy --dry-run), onnxruntime-web wasm, 1 thread',
    decisions_per_size: n,
    routing_overhead_ms: overhead,
    concurrent_clients_32_candidates: concurrency,
    overhead_method:
      'per decision: driver round trip minus that of a no-op request with the same body sent just before it; in_worker_loop_mean_ms: back-to-back loop timed inside workerd (ms clock)',
    empty_request_round_trip_ms: noopStats,
    first_request_fresh_isolate_ms: {
      median: firstSorted[Math.floor(firstSorted.length / 2)]!.round_trip_ms,
      min: firstSorted[0]!.round_trip_ms,
      max: firstSorted[firstSorted.length - 1]!.round_trip_ms,
      runs: first,
    },
    ort_wasm_memory_bytes: memory['wasm_memory_bytes'],
    bundle_size: { files, total },
    worker_upload_kib: upload,
    machine: { cpus: (await import('node:os')).cpus().length, node: process.version },
  };
  console.log(
    JSON.stringify(
      {
        routing_overhead_ms: Object.fromEntries(
          Object.entries(overhead).map(([k, v]) => [
            k,
            { p50: (v as { p50: number }).p50, p99: (v as { p99: number }).p99 },
          ]),
        ),
        first_request_ms: result.first_request_fresh_isolate_ms.median,
        ort_wasm_memory_bytes: result.ort_wasm_memory_bytes,
        bundle_bytes: total,
      },
      null,
      1,
    ),
  );
  if (process.argv.includes('--docs')) {
    const md = path.join(root, 'docs', 'benchmarks', 'overhead.md');
    const rows = sizes.map((k) => {
      const o = overhead[String(k)] as {
        p50: number;
        p99: number;
        in_worker_loop_mean_ms: number;
        in_worker_mean_embed_ms: number;
        in_worker_mean_irt_policy_ms: number;
        mean_shown_to_policy: number;
      };
      return `| ${k} | ${o.mean_shown_to_policy} | ${o.p50} | ${o.p99} | ${o.in_worker_loop_mean_ms} | ${o.in_worker_mean_embed_ms} | ${o.in_worker_mean_irt_policy_ms} |`;
    });
    const kib = (b: number) => (b / 1024).toFixed(1);
    writeFileSync(
      md,
      [
        '# Routing overhead inside workerd (generated by `npm run bench -- --docs`; do not edit)',
        '',
        `Bundle \`${version}\`, ${n} warm decisions per size (embed + IRT + policy, distinct real prompts), ` +
          `${result.machine.cpus} shared CPU cores, ${result.runtime}.`,
        '',
        '| candidates | shown to the policy (mean) | p50 ms | p99 ms | in-worker mean ms | of which embed | of which IRT + policy |',
        '|---:|---:|---:|---:|---:|---:|---:|',
        ...rows,
        '',
        `p50/p99: ${result.overhead_method}.`,
        '',
        'Concurrent clients, one isolate, 32 candidates (each client sends its share of the prompts back to back; raw ' +
          'round trips, nothing subtracted; the isolate runs one request at a time, so they include queueing; the driver ' +
          'shares the cores, so the rates are a lower bound):',
        '',
        '| clients | round trip p50 ms | p99 ms | decisions per second |',
        '|---:|---:|---:|---:|',
        ...Object.entries(concurrency).map(([c, v]) => {
          const r = v as { round_trip: { p50: number; p99: number }; decisions_per_second: number };
          return `| ${c} | ${r.round_trip.p50} | ${r.round_trip.p99} | ${r.decisions_per_second} |`;
        }),
        '',
        `- First routed request in a fresh isolate (R2 read, sha256, ORT init, 3 sessions, 1 decision): median ` +
          `${result.first_request_fresh_isolate_ms.median} ms (min ${result.first_request_fresh_isolate_ms.min}, max ${result.first_request_fresh_isolate_ms.max}, ${fresh} isolates).`,
        '',
        `Where the first request's time goes (median over the ${fresh} fresh isolates, ms; worker clock, which workerd advances at I/O):`,
        '',
        '| stage | ms |',
        '|---|---:|',
        ...firstRequestRows(first),
        '',
        `- ORT wasm linear memory: ${(memory['wasm_memory_bytes'] as number[]).map((b) => `${(b / 2 ** 20).toFixed(1)} MiB`).join(', ')}.`,
        `- Asset bundle: ${kib(total.bytes)} KiB raw, ${kib(total.gzip_bytes)} KiB gzip (` +
          Object.entries(files)
            .map(([f, v]) => `${f} ${kib(v.bytes)}/${kib(v.gzip_bytes)}`)
            .join(', ') +
          ').',
        `- Worker upload (bench worker = router runtime + ORT wasm): ${upload.raw_kib} KiB, gzip ${upload.gzip_kib} KiB.`,
        '',
      ].join('\n'),
    );
    log(`wrote ${md}`);
  }
  const json = arg('json');
  if (json) {
    mkdirSync(path.dirname(path.resolve(json)), { recursive: true });
    writeFileSync(json, JSON.stringify(result, null, 1) + '\n');
    log(`wrote ${json}`);
  }
}

main().catch((err: unknown) => {
  console.error(
    `[bench] error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`,
  );
  process.exit(1);
});
