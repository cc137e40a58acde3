"""``neighbours.onnx`` and the manifest's ``predictor`` block (docs/bundle-contract.md).

The graph computes ``NeighbourIndex.predict`` for the requested columns::

    (embedding [B, dim] float32, columns [K] int64) -> p_neighbour [B, K] float32

Its weights stay float32: the outcome sums and counts are small integers and sums of them, which
int8 would round, and the whole file is well under a megabyte per thousand centroids. Sums and
counts are stored one row per model (``[M, C]``), so a candidate's column is a contiguous row:
onnxruntime-web's Gather along the second axis of a ``[C, M]`` table took 0.43 ms for 32 columns of
1,024 centroids, along the first axis it is a copy.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from ..contract import OPSET
from .neighbours import NeighbourIndex
from .stack import Stack

NORM_EPS = 1e-12


def _const(name: str, value: np.ndarray) -> onnx.TensorProto:
    return numpy_helper.from_array(np.ascontiguousarray(value, dtype=np.float32), name)


def neighbours_graph(index: NeighbourIndex) -> onnx.ModelProto:
    """The ONNX model of ``index`` (see module docs).

    @example
        onnx.save(neighbours_graph(index), "neighbours.onnx")
    """
    dim = index.proj.shape[0]
    inits = [
        _const("centre", index.mean[None, :]),
        _const("axes", index.proj),
        _const("centroids_t", index.centroids.T),
        _const("sums_t", index.sums.T),
        _const("counts_t", index.counts.T),
        _const("model_mean", index.model_mean),
        _const("one", np.array(1.0)),
        _const("inv_tau", np.array(1.0 / index.tau)),
        _const("kappa", np.array(index.kappa)),
        _const("norm_eps", np.array(NORM_EPS)),
    ]
    n = helper.make_node
    nodes = [
        n("ReduceL2", ["embedding"], ["e_norm"], axes=[1], keepdims=1),
        n("Max", ["e_norm", "norm_eps"], ["e_den"]),
        n("Div", ["embedding", "e_den"], ["x"]),
        n("Sub", ["x", "centre"], ["xc"]),
        n("MatMul", ["xc", "axes"], ["zp"]),
        n("ReduceL2", ["zp"], ["z_norm"], axes=[1], keepdims=1),
        n("Max", ["z_norm", "norm_eps"], ["z_den"]),
        n("Div", ["zp", "z_den"], ["z"]),
        n("MatMul", ["z", "centroids_t"], ["sim"]),
        n("Sub", ["sim", "one"], ["gap"]),
        n("Mul", ["gap", "inv_tau"], ["scaled"]),
        n("Exp", ["scaled"], ["w"]),
        n("Gather", ["sums_t", "columns"], ["sums_k"], axis=0),
        n("Gather", ["counts_t", "columns"], ["counts_k"], axis=0),
        n("Gather", ["model_mean", "columns"], ["mean_k"], axis=0),
        n("Gemm", ["w", "sums_k"], ["num"], transB=1),
        n("Gemm", ["w", "counts_k"], ["den"], transB=1),
        n("Mul", ["mean_k", "kappa"], ["prior"]),
        n("Add", ["num", "prior"], ["num_p"]),
        n("Add", ["den", "kappa"], ["den_p"]),
        n("Div", ["num_p", "den_p"], ["p_neighbour"]),
    ]
    graph = helper.make_graph(
        nodes, "neighbours",
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["B", dim]),
         helper.make_tensor_value_info("columns", TensorProto.INT64, ["K"])],
        [helper.make_tensor_value_info("p_neighbour", TensorProto.FLOAT, ["B", "K"])],
        initializer=inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="edge-llm-router")
    model.ir_version = 8   # what onnxruntime-web 1.30 and onnxruntime-node read (opset 17)
    onnx.checker.check_model(model)
    return model


def export_neighbours(index: NeighbourIndex, path: Path) -> int:
    """Write ``neighbours.onnx``; returns its size in bytes.

    @example
        export_neighbours(index, bundle / "neighbours.onnx")
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(neighbours_graph(index), str(path))
    return path.stat().st_size


def predictor_block(index: NeighbourIndex, stack: Stack, report: dict[str, Any] | None = None) -> dict[str, Any]:
    """The manifest's ``predictor``: kind, the index's shape and bandwidth, and the stack. Column k of
    ``neighbours.onnx`` and ``stack.bias[k]`` belong to ``models[k]`` of the manifest.

    @example
        manifest["predictor"] = predictor_block(index, stack)
    """
    return {
        "kind": "irt+neighbours",
        "neighbours": {"centroids": int(index.centroids.shape[0]), "dim": int(index.proj.shape[1]),
                       "tau": float(index.tau), "kappa": round(float(index.kappa), 6)},
        "stack": {"slope_irt": round(float(stack.slope_irt), 6), "slope_neighbours": round(float(stack.slope_nb), 6),
                  "bias": [round(float(b), 6) for b in stack.bias]},
        **({"fit": report} if report else {}),
    }
