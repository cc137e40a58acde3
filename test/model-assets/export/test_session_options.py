"""The worker's ONNX session options (``sessionOptions``, worker/decision/ort-adapter.ts) fold the
int8 weights' DequantizeLinear nodes at session creation, and routing outputs do not change.

ORT silently ignores an unknown config key, so a misspelt option would only show as a slower
policy; the optimised graph that onnxruntime-node writes shows whether the folding happened.
"""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import onnx

ROOT = Path(__file__).resolve().parents[3]

# Runs each graph with plain "basic" and with sessionOptions, imported from the worker's own module.
# Written under test/.tmp so that the relative import and onnxruntime-node resolve from the project.
SCRIPT = r"""
import * as ort from 'onnxruntime-node';
import { sessionOptions } from '../../worker/decision';
const [dir, out, shape] = process.argv.slice(2);
const { dim, d, f } = JSON.parse(shape!) as { dim: number; d: number; f: number };
const K = 7, B = 3;
const wave = (n: number, s: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898 + s) * 0.5);
const t = (data: Float32Array, dims: number[]) => new ort.Tensor('float32', data, dims);
const feeds: Record<string, Record<string, ort.Tensor>> = {
  irt: { embedding: t(wave(B * dim, 1), [B, dim]), identity: t(wave(K * d, 2), [K, d]) },
  policy: {
    embedding: t(wave(B * dim, 1), [B, dim]), preference: t(Float32Array.from([0.1, 0.5, 0.9]), [B, 1]),
    features: t(wave(B * K * f, 3).map(Math.abs), [B, K, f]), mask: t(new Float32Array(B * K).fill(1), [B, K]),
  },
};
const result: Record<string, number[]> = {};
for (const name of ['irt', 'policy']) {
  const flavours = [['basic', { graphOptimizationLevel: 'basic' }], ['served', sessionOptions()]] as const;
  for (const [tag, options] of flavours) {
    const s = await ort.InferenceSession.create(`${dir}/${name}.onnx`, {
      ...options, intraOpNumThreads: 1, optimizedModelFilePath: `${out}/${name}.${tag}.onnx`,
    });
    const fed: Record<string, ort.Tensor> = {};
    for (const n of s.inputNames) fed[n] = feeds[name]![n]!;
    result[`${name}.${tag}`] = Array.from((await s.run(fed))[s.outputNames[0]!]!.data as Float32Array);
  }
}
console.log(JSON.stringify(result));
"""


def _dequantize_nodes(path: Path) -> int:
    return sum(n.op_type == "DequantizeLinear" for n in onnx.load(str(path)).graph.node)


def test_served_options_fold_dequantize_and_keep_outputs(bundle: Path, tmp_path: Path) -> None:
    manifest = json.loads((bundle / "manifest.json").read_text())
    shape = {"dim": manifest["embedding"]["dim"], "d": manifest["identity_dim"],
             "f": sum(f["size"] for f in manifest["policy"]["features"])}
    runner = ROOT / "test" / ".tmp" / f"session-options-{tmp_path.name}.ts"
    runner.parent.mkdir(parents=True, exist_ok=True)
    runner.write_text(SCRIPT)
    try:
        res = subprocess.run(["npx", "--no-install", "tsx", str(runner), str(bundle), str(tmp_path), json.dumps(shape)],
                             cwd=ROOT, capture_output=True, text=True, timeout=120)
    finally:
        runner.unlink()
    assert res.returncode == 0, res.stderr[-2000:]
    raw = json.loads(res.stdout.strip().splitlines()[-1])
    out = {k: np.array(v, dtype=np.float32) for k, v in raw.items()}
    for name in ("irt", "policy"):
        assert _dequantize_nodes(bundle / f"{name}.onnx") > 0, f"{name}.onnx has no int8 weights to fold"
        assert _dequantize_nodes(tmp_path / f"{name}.basic.onnx") > 0  # plain "basic" keeps them per run
        assert _dequantize_nodes(tmp_path / f"{name}.served.onnx") == 0
        np.testing.assert_allclose(out[f"{name}.served"], out[f"{name}.basic"], rtol=0, atol=1e-6)
