"""GELU fusion (trainer/export/fuse.py): exact-GELU chains become one contrib Gelu node, anything else
stays, and both runtimes give the unfused graph's outputs."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import onnx
import torch
from torch import nn

from trainer.export.fuse import fuse_gelu
from trainer.export.parity import run_onnx


class _Net(nn.Module):
    """Two exact GELUs (one of them feeding a second use of its input), an erf that is not a GELU, and
    a tanh-approximated GELU, which has no Erf and must be left alone."""

    def __init__(self) -> None:
        super().__init__()
        self.a, self.b = nn.Linear(6, 8), nn.Linear(8, 4)
        self.gelu, self.tanh_gelu = nn.GELU(), nn.GELU(approximate="tanh")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.gelu(self.a(x))
        return self.gelu(self.b(h)) + torch.erf(h[:, :4] / 2.0) + self.tanh_gelu(h[:, 4:]) + h[:, :4]


def _export(path: Path) -> None:
    torch.manual_seed(0)
    with torch.no_grad():
        torch.onnx.export(_Net().eval(), (torch.randn(2, 6),), str(path), opset_version=17, input_names=["x"],
                          output_names=["y"], dynamic_axes={"x": {0: "B"}, "y": {0: "B"}})


def test_fuse_gelu_replaces_exact_chains_only(tmp_path: Path) -> None:
    _export(tmp_path / "plain.onnx")
    model = onnx.load(str(tmp_path / "plain.onnx"))
    before = Counter(n.op_type for n in model.graph.node)
    assert fuse_gelu(model) == 2
    onnx.checker.check_model(model)
    after = Counter(n.op_type for n in model.graph.node)
    assert after["Gelu"] == 2 and after["Erf"] == before["Erf"] - 2 == 1
    assert after["Tanh"] == before["Tanh"] >= 1
    assert {o.domain for o in model.opset_import} >= {"", "com.microsoft"}
    used = {i for n in model.graph.node for i in n.input}
    assert all(n.output[0] in used for n in model.graph.node if n.op_type == "Constant")   # no orphans
    assert fuse_gelu(model) == 0   # idempotent
    onnx.save(model, str(tmp_path / "fused.onnx"))

    x = np.random.default_rng(0).normal(size=(5, 6)).astype(np.float32) * 3
    out = run_onnx({"plain": tmp_path / "plain.onnx", "fused": tmp_path / "fused.onnx"}, {"x": x}, "y")
    for runtime in ("node", "web"):
        np.testing.assert_allclose(out["fused"][runtime], out["plain"][runtime], atol=1e-5)


def _chain(scalar_shape: tuple[int, ...] = (), reuse_div: bool = False, expose: str | None = None) -> onnx.ModelProto:
    """A hand-built exact-GELU chain on x [2, 3]; optionally its x/sqrt(2) read elsewhere, an
    intermediate tensor exposed as a graph output, or its constants shaped ``scalar_shape``."""
    from onnx import TensorProto, helper, numpy_helper

    def const(name: str, v: float) -> onnx.NodeProto:
        return helper.make_node("Constant", [], [name],
                                value=numpy_helper.from_array(np.full(scalar_shape, v, np.float32)))

    nodes = [const("s2", float(np.sqrt(2))), const("one", 1.0), const("half", 0.5),
             helper.make_node("Div", ["x", "s2"], ["d"]), helper.make_node("Erf", ["d"], ["e"]),
             helper.make_node("Add", ["e", "one"], ["a"]), helper.make_node("Mul", ["x", "a"], ["m"]),
             helper.make_node("Mul", ["m", "half"], ["y"])]
    outputs = [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)]
    if reuse_div:
        nodes.append(helper.make_node("Neg", ["d"], ["z"]))
        outputs.append(helper.make_tensor_value_info("z", TensorProto.FLOAT, None))
    if expose:
        outputs.append(helper.make_tensor_value_info(expose, TensorProto.FLOAT, None))
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])], outputs)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def test_fuse_gelu_leaves_chains_whose_pieces_are_needed_or_shape_changing() -> None:
    assert fuse_gelu(_chain()) == 1                          # the plain chain is recognised
    for model in (_chain(reuse_div=True),                   # x/sqrt(2) read by another node
                  _chain(expose="a"),                        # an intermediate is a graph output
                  _chain(scalar_shape=(1, 1, 1))):           # constants that would broadcast x up a rank
        before = [n.op_type for n in model.graph.node]
        assert fuse_gelu(model) == 0
        assert [n.op_type for n in model.graph.node] == before
