/**
 * `npx tsx bench/embedder/run.ts [--dir DIR] [--n 1000]`: time of the local embedder (tokenize +
 * embedder.onnx) for a 256-token prompt, warm, inside workerd (Miniflare running
 * bench/embedder/worker.ts built by wrangler as deployed). DIR holds embedder.onnx + tokenizer.json
 * (default model-assets/build/embedder, what `train_student` writes there).
 *
 * workerd's clock ticks in whole milliseconds, so: p50/p99 of the driver's round trip minus that of
 * an empty request sent just before (includes request parsing and dispatch), the in-worker mean over
 * a back-to-back loop, and the p50/p99 of per-call times read from blocks of 10 calls.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { arg, buildWorker, root, startWorker, stats } from '../support';

const outDir = path.join(root, 'bench', 'embedder', '.out');

/** Real prompts of ~256 tokens (the data README's tokens = ceil(chars / 4)): mmlu-pro questions
 * with options, concatenated and cut into `count` distinct 1024-character pieces. */
function prompts256(count: number): string[] {
  const file = path.join(
    process.env['ROUTER_DATA'] ?? path.join(root, '..', 'shared', 'data'),
    'mmlu-pro',
    'mmlu_pro_questions.jsonl',
  );
  let text = '';
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const q = JSON.parse(line) as { question: string; options: string[] };
    text +=
      [q.question, ...q.options.map((o, i) => `${String.fromCharCode(65 + i)}. ${o}`)].join('\n') +
      '\n';
    if (text.length >= 1024 * count) break;
  }
  return Array.from({ length: count }, (_, i) => text.slice(i * 1024, (i + 1) * 1024));
}

async function main(): Promise<void> {
  const dir = path.resolve(arg('dir', path.join(root, 'model-assets', 'build', 'embedder')));
  const n = Number(arg('n', '1000'));
  buildWorker('bench/embedder/wrangler.toml', outDir);
  const mf = startWorker(outDir);
  const bucket = await mf.getR2Bucket('ASSETS');
  for (const f of ['embedder.onnx', 'tokenizer.json']) {
    const b = readFileSync(path.join(dir, f));
    await bucket.put(f, b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer);
  }
  const call = async (
    p: string,
    body?: unknown,
  ): Promise<{ ms: number; json: Record<string, unknown> }> => {
    const t0 = performance.now();
    const res = await mf.dispatchFetch(
      `http://bench${p}`,
      body === undefined ? {} : { method: 'POST', body: JSON.stringify(body) },
    );
    const text = await res.text();
    const ms = performance.now() - t0;
    if (!res.ok) throw new Error(`${p}: ${res.status} ${text}`);
    return { ms, json: p === '/noop' ? {} : (JSON.parse(text) as Record<string, unknown>) };
  };
  const texts = prompts256(2000);
  const text = texts[0]!;
  const first = await call('/embed', { text });
  console.log(
    `[bench-embedder] first request (session creation + ORT init): ${first.ms.toFixed(1)} ms`,
  );
  for (let i = 0; i < 200; i++) await call('/embed', { text });
  const net: number[] = [];
  for (let i = 0; i < n; i++) {
    const base = (await call('/noop')).ms;
    net.push(Math.max(0, (await call('/embed', { text })).ms - base));
    if ((i + 1) % 250 === 0) console.log(`[bench-embedder] ${i + 1}/${n}`);
  }
  // Same prompt again and again (tokenizer word cache warm), then 2000 distinct prompts.
  const loop = (await call('/loop', { texts: [text], n: 2000 })).json;
  const distinct = (await call('/loop', { texts, n: 2000 })).json;
  await mf.dispose();
  const result = {
    prompt_chars: text.length,
    embedder_bytes: readFileSync(path.join(dir, 'embedder.onnx')).length,
    per_request_minus_noop_ms: stats(net),
    in_worker_loop_mean_ms: {
      tokenize_embed: Number(loop['embed_total_ms']) / 2000,
      tokenize_only: Number(loop['tokenize_total_ms']) / 2000,
    },
    // Per-call time from blocks of 10 back-to-back calls (workerd's clock has 1 ms steps).
    in_worker_per_call_ms_from_blocks_of_10: stats(
      (loop['embed_block10_ms'] as number[]).map((ms) => ms / 10),
    ),
    distinct_prompts: {
      in_worker_loop_mean_ms: {
        tokenize_embed: Number(distinct['embed_total_ms']) / 2000,
        tokenize_only: Number(distinct['tokenize_total_ms']) / 2000,
      },
      in_worker_per_call_ms_from_blocks_of_10: stats(
        (distinct['embed_block10_ms'] as number[]).map((ms) => ms / 10),
      ),
    },
  };
  console.log(JSON.stringify(result, null, 2));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
