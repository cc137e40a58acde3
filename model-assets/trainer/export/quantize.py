"""Int8 weight-only quantisation of an ONNX graph (the bundle contract's format).

Every large float32 weight feeding a ``MatMul`` / ``Gemm`` (as the weight operand) or a ``Gather``
(as the table) is replaced by an int8 initializer plus a per-channel scale, and a
``DequantizeLinear`` node turns it back into float32 at run time. Activations stay float32, so the
graph runs the same on onnxruntime-node and onnxruntime-web; only weight storage shrinks (~4x).

Per channel means: per output column of a MatMul weight ``[in, out]`` (axis 1), per output row of a
``Gemm`` weight with ``transB=1`` (axis 0), per row of a Gather table (axis 0). Symmetric
quantisation (zero point 0) keeps the maths simple: ``w ~= scale[c] * q`` with ``q in [-127, 127]``.
Biases and tensors smaller than ``min_elements`` stay float32: they are tiny and sensitive.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from ..contract import OPSET


def _weight_axis(node: onnx.NodeProto, input_index: int) -> int | None:
    """Channel axis of a 2-D weight consumed by ``node`` at ``input_index``, or None if not a weight."""
    if node.op_type == "MatMul" and input_index == 1:
        return 1
    if node.op_type == "Gemm" and input_index == 1:
        trans_b = next((a.i for a in node.attribute if a.name == "transB"), 0)
        return 0 if trans_b else 1
    if node.op_type == "Gather" and input_index == 0:
        return 0
    return None


def quantize_array(w: np.ndarray, axis: int) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric per-channel int8 quantisation of a 2-D array along ``axis``.

    Returns ``(q int8, scale float32 [channels])`` with ``w ~= q * scale`` broadcast along ``axis``.

    @example
        q, s = quantize_array(np.random.randn(8, 4).astype(np.float32), axis=1)
        assert q.dtype == np.int8 and s.shape == (4,)
    """
    reduce_axis = 1 - axis
    amax = np.abs(w).max(axis=reduce_axis)
    scale = np.where(amax > 0, amax / 127.0, 1.0).astype(np.float32)
    shape = [1, 1]
    shape[axis] = -1
    q = np.clip(np.rint(w / scale.reshape(shape)), -127, 127).astype(np.int8)
    return q, scale


def quantize_model(model: onnx.ModelProto, min_elements: int = 256) -> tuple[onnx.ModelProto, int]:
    """Quantise ``model`` in place (see module docs). Returns the model and how many weights changed.

    @example
        model, n = quantize_model(onnx.load("policy.onnx"))
    """
    graph = model.graph
    inits = {t.name: t for t in graph.initializer}
    consumers: dict[str, list[int | None]] = {}
    for node in graph.node:
        for i, name in enumerate(node.input):
            if name in inits:
                consumers.setdefault(name, []).append(_weight_axis(node, i))
    graph_outputs = {o.name for o in graph.output}

    new_nodes: list[onnx.NodeProto] = []
    changed = 0
    for name, axes in consumers.items():
        tensor = inits[name]
        if tensor.data_type != TensorProto.FLOAT or len(tensor.dims) != 2 or name in graph_outputs:
            continue
        if any(a is None for a in axes) or len(set(axes)) != 1:
            continue  # used somewhere other than as a weight, or with conflicting channel axes
        w = numpy_helper.to_array(tensor)
        if w.size < min_elements:
            continue
        axis = axes[0]
        q, scale = quantize_array(w, axis)
        q_name, s_name, z_name = f"{name}_q", f"{name}_scale", f"{name}_zero"
        graph.initializer.remove(tensor)
        graph.initializer.extend([
            numpy_helper.from_array(q, q_name),
            numpy_helper.from_array(scale, s_name),
            numpy_helper.from_array(np.zeros(scale.shape, dtype=np.int8), z_name),
        ])
        # The dequantised tensor keeps the original name, so consumers need no rewiring.
        new_nodes.append(helper.make_node(
            "DequantizeLinear", [q_name, s_name, z_name], [name], name=f"{name}_dequant", axis=axis,
        ))
        changed += 1

    # DequantizeLinear nodes read only initializers, so putting them first keeps the graph sorted.
    all_nodes = new_nodes + list(graph.node)
    del graph.node[:]
    graph.node.extend(all_nodes)
    # Drop value_info for names that changed kind; shape inference can recompute it.
    return model, changed


def quantize_weight_only(fp32_path: Path | str, int8_path: Path | str, min_elements: int = 256) -> int:
    """Write an int8 weight-only copy of the ONNX file at ``fp32_path`` to ``int8_path`` (opset 17).

    Returns the number of weights quantised. The result is checked with ``onnx.checker``.

    @example
        n = quantize_weight_only("build/v1/policy.fp32.onnx", "bundles/v1/policy.onnx")
    """
    model = onnx.load(str(fp32_path))
    opsets = {o.domain: o.version for o in model.opset_import}
    if opsets.get("", opsets.get("ai.onnx", 0)) != OPSET:
        raise ValueError(f"{fp32_path}: expected opset {OPSET}, got {opsets}")
    model, changed = quantize_model(model, min_elements=min_elements)
    onnx.checker.check_model(model)
    Path(int8_path).parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(int8_path))
    return changed
