"""ONNX export of the student: ``ids`` int64 [B, T] -> ``embedding`` float32 [B, dim] (opset 17).

Two files: ``embedder.fp32.onnx`` (fp32 table, parity twin) and ``embedder.onnx`` (int8 table with
per-row scales, gathered *before* dequantising so a request touches ``T x dim`` weights, not the
table). The small head (~0.8 MB) stays float32 in both: a DequantizeLinear in front of it runs on
every request in ORT at "basic" and cost more time than the rest of the graph.
"""
from __future__ import annotations

from pathlib import Path

import onnx
import torch

from ..contract import OPSET
from .model import DeployedStudentNet, StudentNet


def export_onnx(net: StudentNet, path: Path, quantize: bool, max_tokens: int) -> int:
    """Writes one ONNX file; returns its byte size.

    @example
        export_onnx(net, Path("embedder.onnx"), quantize=True, max_tokens=1024)   # 6912345
    """
    deployed = DeployedStudentNet(net, quantize=quantize).eval()
    dummy = torch.ones((2, max_tokens), dtype=torch.int64)
    path.parent.mkdir(parents=True, exist_ok=True)
    with torch.no_grad():
        torch.onnx.export(
            deployed, (dummy,), str(path), input_names=["ids"], output_names=["embedding"],
            dynamic_axes={"ids": {0: "batch", 1: "tokens"}, "embedding": {0: "batch"}},
            opset_version=OPSET, do_constant_folding=True,
        )
    model = onnx.load(str(path))
    model.producer_name = "router-embedder"
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path.stat().st_size
