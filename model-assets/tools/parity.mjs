// Parity checker for bundle ONNX files: runs the same inputs through onnxruntime-node and
// onnxruntime-web's wasm backend in Node, both with the worker's session options (graph optimisation
// "basic", so no QDQ fusion and int8 results match across runtimes; int8 weights folded at load), and writes every output for the Python side
// to compare (top-choice agreement, max abs difference).
//
// Usage: node model-assets/tools/parity.mjs <request.json> <out-dir>
// request.json: { "files": { "<label>": "<path.onnx>", ... },
//                 "inputs": { "<name>": { "file": "<raw little-endian .bin>", "type": "float32", "dims": [..] } },
//                 "output": "<output name>" }
// Writes <out-dir>/<label>.<runtime>.bin (float32) and <out-dir>/summary.json ({ label: { runtime: { dims, ms } } }).
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** Loads a raw .bin as a typed array of the given type. */
function loadInput(spec, baseDir) {
  const buf = readFileSync(path.resolve(baseDir, spec.file));
  const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
  if (spec.type === 'float32') return new Float32Array(ab);
  if (spec.type === 'int64') return new BigInt64Array(ab);
  throw new Error(`unsupported input type ${spec.type}`);
}

/** Runs one file on one runtime; returns { data, dims, ms }. */
async function runOne(ort, file, inputs, outputName, options) {
  const session = await ort.InferenceSession.create(file, options);
  const feeds = {};
  for (const [name, spec] of Object.entries(inputs)) {
    // Contract inputs a graph does not read were dropped at export; onnxruntime-web rejects undeclared feeds.
    if (session.inputNames.includes(name))
      feeds[name] = new ort.Tensor(spec.type, spec.data, spec.dims);
  }
  const t0 = performance.now();
  const result = await session.run(feeds);
  const ms = performance.now() - t0;
  const out = result[outputName];
  return { data: out.data, dims: out.dims, ms };
}

async function main() {
  const [requestPath, outDir] = process.argv.slice(2);
  if (!requestPath || !outDir) {
    console.error('usage: node model-assets/tools/parity.mjs <request.json> <out-dir>');
    process.exit(2);
  }
  const request = JSON.parse(readFileSync(requestPath, 'utf8'));
  const baseDir = path.dirname(path.resolve(requestPath));
  const inputs = {};
  for (const [name, spec] of Object.entries(request.inputs)) {
    inputs[name] = { ...spec, data: loadInput(spec, baseDir) };
  }
  const ortNode = require('onnxruntime-node');
  const ortWeb = await import('onnxruntime-web');
  ortWeb.env.wasm.numThreads = 1;
  ortWeb.env.wasm.proxy = false;
  // The worker's sessionOptions() (worker/decision/ort-adapter.ts), from the file it reads too.
  // A fresh object per session: onnxruntime-web writes its own defaults into extra.session.
  const sessionOptions = JSON.parse(
    readFileSync(new URL('../../worker/decision/session-options.json', import.meta.url), 'utf8'),
  );
  const served = () => ({
    graphOptimizationLevel: sessionOptions.graphOptimizationLevel,
    extra: structuredClone(sessionOptions.extra),
  });
  const runtimes = {
    node: {
      ort: ortNode,
      options: () => ({ ...served(), intraOpNumThreads: 1, interOpNumThreads: 1 }),
    },
    web: { ort: ortWeb, options: () => ({ ...served(), executionProviders: ['wasm'] }) },
  };
  mkdirSync(outDir, { recursive: true });
  const summary = {};
  for (const [label, file] of Object.entries(request.files)) {
    summary[label] = {};
    for (const [rt, { ort, options }] of Object.entries(runtimes)) {
      const r = await runOne(ort, path.resolve(baseDir, file), inputs, request.output, options());
      writeFileSync(
        path.join(outDir, `${label}.${rt}.bin`),
        Buffer.from(r.data.buffer, r.data.byteOffset, r.data.byteLength),
      );
      summary[label][rt] = { dims: r.dims, ms: Number(r.ms.toFixed(2)) };
      console.log(
        `[parity] ${label} on onnxruntime-${rt}: output ${JSON.stringify(r.dims)} in ${r.ms.toFixed(1)} ms`,
      );
    }
  }
  writeFileSync(path.join(outDir, 'summary.json'), JSON.stringify(summary, null, 2));
}

main().catch((err) => {
  console.error(`[parity] failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
