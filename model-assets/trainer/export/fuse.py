"""Graph rewrites applied to the exported fp32 graphs before quantisation.

torch 1.13 exports ``nn.GELU()`` (exact, erf form) at opset 17 as five nodes,
``x / sqrt(2) -> Erf -> + 1 -> * x -> * 0.5``. The worker's session options run graph optimisation
"basic" (docs: ``sessionOptions`` in worker/decision/ort-adapter.ts), which does not fuse them, and
onnxruntime-web pays a few microseconds per node per run. ``fuse_gelu`` replaces each such chain
by one ``com.microsoft.Gelu`` node (onnxruntime's contrib op, the same erf formula; in both
onnxruntime-web and onnxruntime-node), then drops the constants nothing reads any more.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import onnx
from onnx import helper, numpy_helper

MS_DOMAIN = "com.microsoft"


def _constants(graph: onnx.GraphProto) -> dict[str, np.ndarray]:
    """Every constant value by tensor name: initializers and Constant nodes."""
    out = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    for n in graph.node:
        if n.op_type == "Constant" and n.attribute and n.attribute[0].name == "value":
            out[n.output[0]] = numpy_helper.to_array(n.attribute[0].t)
    return out


def _is_scalar(consts: dict[str, np.ndarray], name: str, value: float) -> bool:
    """``name`` is a constant equal to ``value`` that cannot change the other operand's shape (0-d or
    ``[1]``; a ``[1, 1]`` constant would broadcast a vector up to a matrix, which Gelu would not)."""
    v = consts.get(name)
    return (v is not None and v.shape in ((), (1,))
            and abs(float(v.reshape(())) - value) <= 1e-6 * max(1.0, abs(value)))


def _only_consumer(consumers: dict[str, list[onnx.NodeProto]], name: str, op: str) -> onnx.NodeProto | None:
    """The single node reading ``name``, if it is an ``op``; None when anything else reads it too."""
    nodes = consumers.get(name, [])
    return nodes[0] if len(nodes) == 1 and nodes[0].op_type == op else None


def _gelu_chain(erf: onnx.NodeProto, producer: dict[str, onnx.NodeProto],
                consumers: dict[str, list[onnx.NodeProto]], consts: dict[str, np.ndarray],
                outputs: set[str]) -> tuple[str, list[onnx.NodeProto]] | None:
    """``(x, [div, erf, add, mul, mul_half])`` when ``erf`` sits in torch's GELU chain and nothing but
    the chain reads its intermediate tensors (they disappear with it), else None."""
    div = producer.get(erf.input[0])
    if div is None or div.op_type != "Div" or not _is_scalar(consts, div.input[1], math.sqrt(2.0)):
        return None
    if _only_consumer(consumers, div.output[0], "Erf") is not erf:
        return None
    x = div.input[0]
    add = _only_consumer(consumers, erf.output[0], "Add")
    if add is None or not any(_is_scalar(consts, i, 1.0) for i in add.input):
        return None
    mul = _only_consumer(consumers, add.output[0], "Mul")
    if mul is None or x not in mul.input:
        return None
    half = _only_consumer(consumers, mul.output[0], "Mul")
    if half is None or not any(_is_scalar(consts, i, 0.5) for i in half.input):
        return None
    if any(n.output[0] in outputs for n in (div, erf, add, mul)):
        return None
    return x, [div, erf, add, mul, half]


def _drop_unused_constants(graph: onnx.GraphProto) -> None:
    """Remove Constant nodes and initializers nothing reads any more (an initializer that is also a
    declared graph input stays: removing it would turn it into a required feed)."""
    used = {i for n in graph.node for i in n.input} | {o.name for o in graph.output}
    inputs = {i.name for i in graph.input}
    keep = [n for n in graph.node if n.op_type != "Constant" or n.output[0] in used]
    del graph.node[:]
    graph.node.extend(keep)
    for t in [t for t in graph.initializer if t.name not in used and t.name not in inputs]:
        graph.initializer.remove(t)


def fuse_gelu(model: onnx.ModelProto) -> int:
    """Replace torch's exact-GELU chains in ``model`` (in place) by ``com.microsoft.Gelu``; returns how many.

    @example
        model = onnx.load("build/v1/policy.fp32.onnx")
        fuse_gelu(model)   # 5 for the shipped policy (candidate MLP, two feed-forwards, head, w MLP)
    """
    graph = model.graph
    producer = {o: n for n in graph.node for o in n.output}
    consumers: dict[str, list[onnx.NodeProto]] = {}
    for n in graph.node:
        for i in n.input:
            consumers.setdefault(i, []).append(n)
    consts = _constants(graph)
    outputs = {o.name for o in graph.output}
    replace: dict[int, onnx.NodeProto] = {}
    drop: set[int] = set()
    for node in graph.node:
        chain = _gelu_chain(node, producer, consumers, consts, outputs) if node.op_type == "Erf" else None
        if chain is None:
            continue
        x, nodes = chain
        drop.update(id(n) for n in nodes)
        last = nodes[-1]
        replace[id(last)] = helper.make_node("Gelu", [x], [last.output[0]], name=f"{last.name}/Gelu", domain=MS_DOMAIN)
    if not replace:
        return 0
    kept = [replace.get(id(n), n) for n in graph.node if id(n) not in drop or id(n) in replace]
    del graph.node[:]
    graph.node.extend(kept)
    if not any(o.domain == MS_DOMAIN for o in model.opset_import):
        model.opset_import.append(helper.make_opsetid(MS_DOMAIN, 1))
    _drop_unused_constants(graph)
    return len(replace)


def fuse_gelu_file(src: Path, dst: Path) -> int:
    """Write ``src`` with its GELU chains fused to ``dst`` (may be ``src``); returns how many.

    @example
        fuse_gelu_file(student_dir / "embedder.onnx", bundle / "embedder.onnx")
    """
    model = onnx.load(str(src))
    n = fuse_gelu(model)
    onnx.checker.check_model(model)
    onnx.save(model, str(dst))
    return n
