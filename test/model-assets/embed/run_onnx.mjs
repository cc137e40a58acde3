// Helper of the embedder tests: runs an ONNX embedder with onnxruntime-node (graph optimisation
// "basic", which keeps int8 maths identical to onnxruntime-web) on int64 ids.
// argv: model.onnx in.json ({"ids": number[][]}) out.json -> {"embedding": number[][]}
import { readFileSync, writeFileSync } from 'node:fs';
import ort from 'onnxruntime-node';

const [model, input, output] = process.argv.slice(2);
const { ids } = JSON.parse(readFileSync(input, 'utf8'));
const session = await ort.InferenceSession.create(model, { graphOptimizationLevel: 'basic' });
const rows = ids.length;
const cols = ids[0].length;
const data = BigInt64Array.from(ids.flat().map((v) => BigInt(v)));
const result = await session.run({ ids: new ort.Tensor('int64', data, [rows, cols]) });
const emb = result.embedding;
const dim = emb.dims[1];
const out = [];
for (let r = 0; r < rows; r++) out.push(Array.from(emb.data.slice(r * dim, (r + 1) * dim)));
writeFileSync(output, JSON.stringify({ embedding: out }));
