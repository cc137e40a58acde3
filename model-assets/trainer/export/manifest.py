"""The bundle's ``manifest.json`` (format 1, ``docs/bundle-contract.md``)."""
from __future__ import annotations

import hashlib
import json
import math
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

PREFERENCE = "w in [0,1]; 0 = cheapest candidate, 1 = best quality regardless of cost; w acts as a price"
ONNX_FILES = ("embedder", "irt", "policy", "neighbours")


def manifest_models(manifest: dict[str, Any]) -> dict[str, list[float]]:
    """Every name and alias of the manifest's models -> identity.

    @example
        >>> manifest_models({"models": [{"name": "a", "aliases": ["b"], "identity": [1.0]}]})
        {'a': [1.0], 'b': [1.0]}
    """
    out: dict[str, list[float]] = {}
    for m in manifest.get("models", []):
        for n in [m["name"], *m.get("aliases", [])]:
            out.setdefault(n, m["identity"])
    return out


def file_entry(version: str, path: Path) -> dict[str, Any]:
    """``{key, bytes, sha256}`` of one bundle file (the R2 key is ``bundles/<version>/<name>``).

    @example
        file_entry("v-next", bundle / "irt.onnx")
    """
    data = path.read_bytes()
    return {"key": f"bundles/{version}/{path.name}", "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def write_manifest(bundle_dir: Path, version: str, embedding: dict[str, Any], tokenizer: dict | None,
                   identity_dim: int, prior: dict, features: list[dict], models: list[dict],
                   eval_summary: dict, training_data: dict, created: str | None = None,
                   presets: dict[str, float] | None = None, candidates: str = "all",
                   predictor: dict[str, Any] | None = None) -> dict[str, Any]:
    """Write ``bundle_dir/manifest.json`` with file hashes of the ONNX files present; returns it.
    ``presets`` (cheap/balanced/quality -> w, trainer/policy/presets.py) go to ``policy.presets``;
    ``candidates`` ("all" | "non-dominated": which candidates the policy is shown) to
    ``policy.candidates`` (written only when not "all", the contract's default when absent; the
    build's default, and the shipped bundle's, is "non-dominated"). ``predictor``
    (trainer/predict/export.py ``predictor_block``) says how ``p_success`` is computed when the bundle
    has ``neighbours.onnx``; absent, the IRT alone.

    @example
        write_manifest(bundle, "v-next", {...}, spec, 16, prior, layout, models, ev, data)
    """
    files = {name: file_entry(version, bundle_dir / f"{name}.onnx") for name in ONNX_FILES
             if (bundle_dir / f"{name}.onnx").exists()}
    manifest: dict[str, Any] = {
        "format": 1,
        "version": version,
        "created": created or datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "embedding": embedding,
    }
    if tokenizer is not None:
        manifest["tokenizer"] = tokenizer
    manifest.update({
        "identity_dim": identity_dim,
        "irt": {"form": "bilinear", "prior": prior},
        "policy": {"features": features, "preference": PREFERENCE, **({"presets": presets} if presets else {}),
                   **({"candidates": candidates} if candidates != "all" else {})},
        **({"predictor": predictor} if predictor else {}),
        "files": files,
        "models": models,
        "eval": eval_summary,
        "training_data": training_data,
    })
    # The worker reads the manifest with JSON.parse, which refuses NaN: a report without a number
    # (e.g. a metric of a degenerate split) says null, and a contract field without one fails the
    # build here instead of shipping a bundle no isolate can load.
    manifest["eval"], manifest["training_data"] = finite(manifest["eval"]), finite(manifest["training_data"])
    try:
        text = json.dumps(manifest, indent=1, allow_nan=False)
    except ValueError as err:
        raise ValueError(f"manifest of {version}: a contract field is not a finite number ({err})") from None
    (bundle_dir / "manifest.json").write_text(text + "\n")
    return manifest


def finite(report: Any) -> Any:
    """``report`` with every NaN or infinite float replaced by None (JSON null).

    @example
        >>> finite({"aiq": float("nan"), "points": [[1.0, float("inf")]]})
        {'aiq': None, 'points': [[1.0, None]]}
    """
    if isinstance(report, dict):
        return {k: finite(v) for k, v in report.items()}
    if isinstance(report, (list, tuple)):
        return [finite(v) for v in report]
    if isinstance(report, float) and not math.isfinite(report):
        return None
    return report
