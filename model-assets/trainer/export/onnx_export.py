"""torch -> ONNX (opset 17, dynamic batch and candidate axes) for the IRT head and the policy."""
from __future__ import annotations

from pathlib import Path

import torch

from ..contract import OPSET
from ..irt.model import IrtExport, PromptHead
from ..policy.model import PolicyExport, SetPolicy
from .fuse import fuse_gelu_file


def export_irt(head: PromptHead, dim: int, d: int, path: Path) -> None:
    """Write ``irt.onnx``: (embedding [B, dim], identity [K, d]) -> p_success [B, K].

    @example
        export_irt(irt.head, 256, 16, build_dir / "irt.fp32.onnx")
    """
    module = IrtExport(head).eval()
    args = (torch.randn(3, dim), torch.randn(5, d))
    path.parent.mkdir(parents=True, exist_ok=True)
    with torch.no_grad():
        torch.onnx.export(
            module, args, str(path), opset_version=OPSET, do_constant_folding=True,
            input_names=["embedding", "identity"], output_names=["p_success"],
            dynamic_axes={"embedding": {0: "B"}, "identity": {0: "K"}, "p_success": {0: "B", 1: "K"}},
        )
    fuse_gelu_file(path, path)   # fewer nodes per run (fuse.py)


def export_policy(policy: SetPolicy, dim: int, n_features: int, path: Path) -> None:
    """Write ``policy.onnx``: (embedding, preference, features, mask) -> probs [B, K].

    @example
        export_policy(policy, 256, 19, build_dir / "policy.fp32.onnx")
    """
    module = PolicyExport(policy).eval()
    b, k = 3, 5
    mask = torch.ones(b, k)
    mask[0, 3:] = 0
    args = (torch.randn(b, dim), torch.rand(b, 1), torch.randn(b, k, n_features), mask)
    path.parent.mkdir(parents=True, exist_ok=True)
    with torch.no_grad():
        torch.onnx.export(
            module, args, str(path), opset_version=OPSET, do_constant_folding=True,
            input_names=["embedding", "preference", "features", "mask"], output_names=["probs"],
            dynamic_axes={"embedding": {0: "B"}, "preference": {0: "B"}, "features": {0: "B", 1: "K"},
                          "mask": {0: "B", 1: "K"}, "probs": {0: "B", 1: "K"}},
        )
    fuse_gelu_file(path, path)   # fewer nodes per run (fuse.py)
