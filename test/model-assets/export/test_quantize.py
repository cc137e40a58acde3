"""The int8 weight-only quantiser: right nodes, right axes, small error, graph still valid."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import onnx
import torch

from trainer.export.quantize import quantize_array, quantize_weight_only

ROOT = Path(__file__).resolve().parents[3]


class _Net(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.table = torch.nn.Embedding(300, 16)
        self.fc2d = torch.nn.Linear(16, 32)    # 2-D input: exported as Gemm(transB=1)
        self.fc3d = torch.nn.Linear(32, 24)    # 3-D input: exported as MatMul with [in, out]
        self.tiny = torch.nn.Linear(24, 2)     # 48 weights: below the threshold, stays fp32

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        h = self.table(ids).mean(dim=1)
        h = torch.relu(self.fc2d(h))
        h = torch.relu(self.fc3d(h.unsqueeze(1).repeat(1, 3, 1)))
        return self.tiny(h).sum(dim=1)


def test_quantize_array_per_channel_roundtrip() -> None:
    rng = np.random.default_rng(0)
    w = rng.normal(size=(40, 8)).astype(np.float32) * np.arange(1, 9, dtype=np.float32)
    q, s = quantize_array(w, axis=1)
    assert q.dtype == np.int8 and s.shape == (8,)
    err = np.abs(q * s[None, :] - w).max(axis=0)
    assert np.all(err <= s / 2 + 1e-6)  # rounding error at most half a step per column
    q0, s0 = quantize_array(w, axis=0)
    assert s0.shape == (40,)


def test_quantize_weight_only_graph(tmp_path: Path) -> None:
    torch.manual_seed(0)
    net = _Net().eval()
    ids = torch.randint(1, 300, (4, 7))
    fp32 = tmp_path / "net.fp32.onnx"
    int8 = tmp_path / "net.onnx"
    torch.onnx.export(net, (ids,), str(fp32), opset_version=17, input_names=["ids"],
                      output_names=["out"], dynamic_axes={"ids": {0: "B", 1: "T"}, "out": {0: "B"}})
    n = quantize_weight_only(fp32, int8)
    assert n == 3  # table, fc2d, fc3d; not the tiny head
    model = onnx.load(str(int8))
    deq = [node for node in model.graph.node if node.op_type == "DequantizeLinear"]
    assert len(deq) == 3
    int8_inits = [t for t in model.graph.initializer if t.data_type == onnx.TensorProto.INT8 and len(t.dims) == 2]
    assert len(int8_inits) == 3
    assert int8.stat().st_size < fp32.stat().st_size * 0.45

    # Run both files with onnxruntime-node and compare with torch.
    script = (
        "const ort=require('onnxruntime-node');(async()=>{const out={};"
        "for(const f of "
        "process.argv.slice(1,3)){const s=await ort.InferenceSession.create(f,{graphOptimizationLevel:'basic'});"
        "const ids=JSON.parse(process.argv[3]);"
        "const t=new ort.Tensor('int64',BigInt64Array.from(ids.flat().map(BigInt)),[ids.length,ids[0].length]);"
        "const r=await s.run({ids:t});out[f]=Array.from(r.out.data);}"
        "console.log(JSON.stringify(out));})();"
    )
    res = subprocess.run(["node", "-e", script, str(fp32), str(int8), json.dumps(ids.tolist())],
                         cwd=ROOT, capture_output=True, text=True, timeout=60, check=True)
    out = json.loads(res.stdout)
    ref = net(ids).detach().numpy().ravel()
    np.testing.assert_allclose(np.array(out[str(fp32)]), ref, atol=1e-4)
    np.testing.assert_allclose(np.array(out[str(int8)]), ref, atol=0.05 * np.abs(ref).max() + 1e-3)
