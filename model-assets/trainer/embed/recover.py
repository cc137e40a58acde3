"""Recover a trainable student from a bundle's ``embedder.onnx``, so a clean clone can rebuild.

The student folder (``build/<version>/embedder/``) is a build output and not in git; training it
again runs the USE-Lite teacher over the whole corpus (over an hour). A bundle already holds the
served weights: the int8 table with its per-row scales, the bucket weights, the head and the
empty vector. ``recover_student`` turns them back into ``embedder.pt`` (+ the ONNX files,
``tokenizer.json`` and ``student.json``) that embed exactly as the bundle does: the table is
stored dequantised, and re-quantising it gives the same int8 rows, since each row's largest entry
is +-127 times its scale.

    PYTHONPATH=. /usr/bin/python3 -m trainer.embed.recover bundles/$(cat bundles/DEFAULT) build/v-next/embedder
"""
from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import numpy_helper

from ..paths import CACHE_DIR
from .export import export_onnx
from .model import StudentConfig, StudentNet


def reused_student_dir(bundle: Path) -> Path:
    """Where a bundle's embedder, recovered as a trainable student, is kept for reuse:
    ``.cache/students/<version>-<sha256 of its embedder.onnx>``.

    @example
        reused_student_dir(Path("model-assets/bundles/v2026-11-23.5"))  # .cache/students/v2026-11-23.5-446aa6...
    """
    digest = hashlib.sha256((Path(bundle) / "embedder.onnx").read_bytes()).hexdigest()[:16]
    return CACHE_DIR / "students" / f"{Path(bundle).name}-{digest}"


def _initializers(path: Path) -> dict[str, np.ndarray]:
    model = onnx.load(str(path))
    return {i.name: numpy_helper.to_array(i).copy() for i in model.graph.initializer}


def _skip_and_empty(weights: dict[str, np.ndarray], out_dim: int, table_dim: int) -> tuple[np.ndarray, np.ndarray]:
    """The exporter names the skip matrix and the empty vector by node, so find them by shape."""
    rest = {k: v for k, v in weights.items() if k not in {"table_q", "weight", "scaled_weight"}
            and not k.startswith(("fc1.", "fc2."))}
    skip = [v for v in rest.values() if v.shape == (table_dim, out_dim)]
    empty = [v for v in rest.values() if v.size == out_dim and v.ndim <= 2 and v.shape != (table_dim, out_dim)]
    if len(skip) != 1 or len(empty) != 1:
        raise ValueError(f"embedder.onnx: expected one skip matrix and one empty vector, got {sorted(rest)}")
    return skip[0].T, empty[0].reshape(out_dim)


def student_from_onnx(path: Path) -> StudentNet:
    """A ``StudentNet`` whose int8 deployed form equals the one in ``path``.

    @example
        net = student_from_onnx(bundle / "embedder.onnx")
    """
    w = _initializers(path)
    if "table_q" not in w:
        raise ValueError(f"{path}: not an int8 student embedder (no table_q)")
    q, weight, scaled = w["table_q"].astype(np.float32), w["weight"], w["scaled_weight"]
    buckets, table_dim = q.shape
    hidden, out_dim = w["fc1.weight"].shape[0], w["fc2.weight"].shape[0]
    net = StudentNet(StudentConfig(buckets=buckets, table_dim=table_dim, hidden=hidden, out_dim=out_dim))
    scale = np.where(weight > 0, scaled / np.where(weight > 0, weight, 1.0), 1.0).astype(np.float32)
    skip, empty = _skip_and_empty(w, out_dim, table_dim)
    # softplus(raw) = weight; bucket 0 (padding) is forced to 0 by the net, its raw value is unused.
    raw = np.log(np.expm1(np.maximum(weight.astype(np.float64), 1e-12))).astype(np.float32)
    with torch.no_grad():
        net.table.weight.copy_(torch.from_numpy(q * scale[:, None]))
        net.raw_weight.copy_(torch.from_numpy(raw))
        net.fc1.weight.copy_(torch.from_numpy(w["fc1.weight"]))
        net.fc1.bias.copy_(torch.from_numpy(w["fc1.bias"]))
        net.fc2.weight.copy_(torch.from_numpy(w["fc2.weight"]))
        net.fc2.bias.copy_(torch.from_numpy(w["fc2.bias"]))
        net.skip.weight.copy_(torch.from_numpy(np.ascontiguousarray(skip)))
        net.empty.copy_(torch.from_numpy(empty))
    return net.eval()


def recover_student(bundle: Path, out_dir: Path) -> Path:
    """Writes a student folder (as ``train_student`` does) from ``bundle``; returns ``out_dir``.

    @example
        recover_student(bundle, Path("build/v-next/embedder"))
    """
    manifest = json.loads((bundle / "manifest.json").read_text())
    spec = manifest["tokenizer"]
    net = student_from_onnx(bundle / "embedder.onnx")
    out_dir.mkdir(parents=True, exist_ok=True)
    torch.save({"config": net.cfg.to_dict(), "spec": spec, "state": net.state_dict()}, out_dir / "embedder.pt")
    (out_dir / "tokenizer.json").write_text(json.dumps(spec, indent=2) + "\n")
    export_onnx(net, out_dir / "embedder.fp32.onnx", quantize=False, max_tokens=spec["max_tokens"])
    export_onnx(net, out_dir / "embedder.onnx", quantize=True, max_tokens=spec["max_tokens"])
    info = dict(manifest.get("training_data", {}).get("embedder") or {})
    info["recovered_from"] = manifest["version"]
    (out_dir / "student.json").write_text(json.dumps(info, indent=2) + "\n")
    return out_dir


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("bundle", type=Path, help="bundle folder holding embedder.onnx and manifest.json")
    ap.add_argument("out_dir", type=Path, help="student folder to write (e.g. build/<version>/embedder)")
    args = ap.parse_args(argv)
    print(f"[recover] student written to {recover_student(args.bundle, args.out_dir)}")


if __name__ == "__main__":
    main()
