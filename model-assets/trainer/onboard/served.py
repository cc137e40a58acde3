"""Item parameters of prompts under a served bundle: embed with its embedder.onnx and read
``a_j``, ``c_j`` off its irt.onnx with probe identities (the contract's bilinear form makes this
exact), through ``model-assets/tools/serve-decisions.ts`` (``trainer.export.node_bridge``). Python has no
ONNX runtime here, and the served int8 graphs are what the worker uses, so banks and the benchmark
see the same numbers as the service.
"""
from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..export.node_bridge import embed_and_probe


def log(msg: str) -> None:
    print(f"[onboard {time.strftime('%H:%M:%S')}] {msg}", flush=True)


@dataclass
class Served:
    """Per prompt of the table: served embedding and IRT item parameters (a [P, d], c [P])."""

    emb: np.ndarray
    a: np.ndarray
    c: np.ndarray


def prior_of(manifest: dict[str, Any], d: int) -> tuple[np.ndarray, np.ndarray]:
    """The manifest's ``irt.prior`` (mean, cov); the contract requires it for onboarding.

    @example
        >>> m, S = prior_of({"irt": {"prior": {"mean": [0, 0], "cov": [[1, 0], [0, 1]]}}}, 2)
        >>> S.shape
        (2, 2)
    """
    prior = (manifest.get("irt") or {}).get("prior")
    if not prior:
        raise ValueError("the bundle's manifest has no irt.prior")
    mean, cov = np.asarray(prior["mean"], np.float64), np.asarray(prior["cov"], np.float64)
    if mean.shape != (d,) or cov.shape != (d, d):
        raise ValueError(f"irt.prior does not have identity_dim {d}")
    return mean, cov


def served_items(bundle: Path, texts: list[str], cache: Path | None) -> Served:
    """Embeds every text with the served embedder and reads its item parameters off irt.onnx
    (``trainer.export.node_bridge``: probe identities 0, +-s e_i); cached by bundle hash and texts."""
    manifest_bytes = (bundle / "manifest.json").read_bytes()
    manifest = json.loads(manifest_bytes)
    h = hashlib.sha256(manifest_bytes)
    for t in texts:
        h.update(t.encode("utf-8") + b"\0")
    path = None if cache is None else cache / f"served-{manifest['version']}-{h.hexdigest()[:16]}.npz"
    if path is not None and path.exists():
        z = np.load(path)
        return Served(z["emb"], z["a"], z["c"])
    log(f"embedding and probing {len(texts)} prompts with the served bundle {manifest['version']}")
    emb, a, c = embed_and_probe(bundle, texts, len(texts), lambda s: log(s) if "embedded" in s else None)
    assert a is not None and c is not None
    out = Served(emb, a, c)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, emb=emb, a=a, c=c)
    return out
