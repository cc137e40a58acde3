"""Writes worker/runtime/warm-model.ts: a tiny ONNX graph that runs every operator the bundle graphs
use, on shapes like theirs, so that an isolate can compile onnxruntime-web's kernels when it starts
(worker/runtime/ort.ts `warmOrt`) instead of during its first routed request.

    /usr/bin/python3 model-assets/tools/make_warm_model.py      # rewrites worker/runtime/warm-model.ts

The graph's only input is a float32 [1, 8]; its weights are fixed. test/worker/runtime checks that
its operator set covers every operator of the shipped bundle's graphs.
"""
from __future__ import annotations

import base64
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "worker" / "runtime" / "warm-model.ts"


def build() -> onnx.ModelProto:
    rng = np.random.default_rng(0)
    f = lambda name, *shape: numpy_helper.from_array(rng.normal(0, 0.3, shape).astype(np.float32), name)  # noqa: E731
    inits = [
        numpy_helper.from_array(rng.integers(-127, 127, (32, 8)).astype(np.int8), "table_q"),
        numpy_helper.from_array(np.full(32, 0.01, np.float32), "table_scale"),
        numpy_helper.from_array(np.array([[1, 5, 9, 0]], np.int64), "ids"),
        numpy_helper.from_array(rng.integers(-127, 127, (8, 8)).astype(np.int8), "w_q"),
        numpy_helper.from_array(np.full(8, 0.01, np.float32), "w_scale"),
        f("w2", 8, 8), f("b2", 8), f("gamma", 8), f("beta", 8),
        numpy_helper.from_array(np.array([0.0], np.float32), "zero"),
        numpy_helper.from_array(np.array([1.0], np.float32), "one"),
        numpy_helper.from_array(np.array([0], np.int64), "axis0"),
        numpy_helper.from_array(np.array([1], np.int64), "axis1"),
        numpy_helper.from_array(np.array([0], np.int64), "start"),
        numpy_helper.from_array(np.array([4], np.int64), "end"),
        numpy_helper.from_array(np.array([1, 2, 4], np.int64), "shape3"),
        numpy_helper.from_array(np.array([1, 8], np.int64), "shape2"),
        numpy_helper.from_array(np.array([4, 4], np.int64), "halves"),
        numpy_helper.from_array(np.array([1, 0], np.int64), "cols"),
    ]
    n = helper.make_node
    nodes = [
        # the embedder: an int8 bag of embeddings, summed, counted, clipped, a GELU head
        n("DequantizeLinear", ["table_q", "table_scale"], ["table"], axis=0),
        n("Gather", ["table", "ids"], ["rows"], axis=0),
        n("ReduceSum", ["rows", "axis1"], ["bag"], keepdims=0),
        n("Greater", ["ids", "axis0"], ["present"]),
        n("Cast", ["present"], ["presentf"], to=TensorProto.FLOAT),
        n("ReduceSum", ["presentf", "axis1"], ["count"], keepdims=1),
        n("Clip", ["count", "one"], ["countc"]),
        n("Div", ["bag", "countc"], ["mean"]),
        n("Add", ["mean", "x"], ["h0"]),
        n("Gemm", ["h0", "w2", "b2"], ["h1"], transB=1),
        helper.make_node("Gelu", ["h1"], ["h2"], domain="com.microsoft"),
        n("Mul", ["h2", "h2"], ["sq"]),
        n("ReduceSum", ["sq", "axis1"], ["ss"], keepdims=1),
        n("Sqrt", ["ss"], ["norm"]),
        n("Greater", ["norm", "zero"], ["nz"]),
        n("Where", ["nz", "norm", "one"], ["den"]),
        n("Div", ["h2", "den"], ["e"]),
        # the IRT and the policy: int8 MatMul, attention, layer norm, softmax
        n("DequantizeLinear", ["w_q", "w_scale"], ["w"], axis=1),
        n("MatMul", ["e", "w"], ["a"]),
        n("Slice", ["a", "start", "end", "axis1"], ["a4"]),
        n("Transpose", ["a"], ["at"], perm=[1, 0]),
        n("MatMul", ["a", "at"], ["s"]),
        n("Sub", ["s", "one"], ["s1"]),
        n("Sigmoid", ["s1"], ["p"]),
        n("Unsqueeze", ["a", "axis0"], ["a3"]),
        n("LayerNormalization", ["a3", "gamma", "beta"], ["ln"], axis=-1),
        n("Reshape", ["ln", "shape3"], ["r3"]),
        n("Softmax", ["r3"], ["sm"], axis=-1),
        n("Reshape", ["sm", "shape2"], ["sm2"]),
        n("Split", ["sm2", "halves"], ["sp0", "sp1"], axis=1),
        n("Squeeze", ["a3", "axis0"], ["a2"]),
        # the neighbour layer: norms, kernel weights, a column gather
        n("ReduceL2", ["a2"], ["l2"], axes=[1], keepdims=1),
        n("Max", ["l2", "one"], ["l2m"]),
        n("Exp", ["s1"], ["k"]),
        n("Gather", ["w", "cols"], ["wc"], axis=0),
        n("Transpose", ["wc"], ["wct"], perm=[1, 0]),
        n("MatMul", ["e", "wct"], ["kw"]),
        n("Mul", ["kw", "k"], ["kwk"]),
        n("Add", ["kwk", "l2m"], ["y0"]),
        n("Add", ["y0", "p"], ["y1"]),
        n("ReduceSum", ["sp0", "axis1"], ["t0"], keepdims=1),
        n("ReduceSum", ["a4", "axis1"], ["t1"], keepdims=1),
        n("Add", ["t0", "t1"], ["t2"]),
        n("Add", ["y1", "t2"], ["y"]),
    ]
    graph = helper.make_graph(nodes, "warm", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["A", "B"])], initializer=inits)
    model = helper.make_model(graph,
                              opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)],
                              producer_name="edge-llm-router-warm")
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.shape_inference.infer_shapes(model, strict_mode=True)
    return model


def main() -> None:
    data = build().SerializeToString()
    b64 = base64.b64encode(data).decode()
    lines = [b64[i:i + 96] for i in range(0, len(b64), 96)]
    OUT.write_text(
        "// Generated by model-assets/tools/make_warm_model.py: do not edit.\n"
        "// A tiny ONNX graph with every operator of the bundle graphs (see ort.ts `warmOrt`).\n"
        "export const WARM_MODEL_BASE64 =\n"
        + "\n".join(f"  '{line}'" + (" +" if i < len(lines) - 1 else ";") for i, line in enumerate(lines))
        + "\n")
    print(f"wrote {OUT} ({len(data)} bytes of ONNX)")


if __name__ == "__main__":
    main()
