"""fp32 torch vs int8 ONNX on onnxruntime-node ("basic") vs onnxruntime-web: top-choice agreement.

Runs ``model-assets/tools/parity.mjs`` (Node) on inputs written as raw float32 files.
"""
from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from ..paths import PROJECT_ROOT

PARITY_TOOL = PROJECT_ROOT / "model-assets" / "tools" / "parity.mjs"


def run_onnx(files: dict[str, Path], inputs: dict[str, np.ndarray], output: str,
             timeout: int = 300) -> dict[str, dict[str, np.ndarray]]:
    """Outputs of every file on onnxruntime-node and onnxruntime-web: ``{label: {"node"|"web": array}}``.

    @example
        out = run_onnx({"int8": bundle / "policy.onnx"}, {"embedding": e, ...}, "probs")
    """
    with tempfile.TemporaryDirectory(prefix="parity-") as tmp:
        tmpdir = Path(tmp)
        spec = {}
        for name, arr in inputs.items():
            kind = "int64" if np.asarray(arr).dtype == np.int64 else "float32"   # token ids stay int64
            arr = np.ascontiguousarray(arr, dtype=np.int64 if kind == "int64" else np.float32)
            (tmpdir / f"{name}.bin").write_bytes(arr.tobytes())
            spec[name] = {"file": f"{name}.bin", "type": kind, "dims": list(arr.shape)}
        request = {"files": {k: str(Path(v).resolve()) for k, v in files.items()}, "inputs": spec, "output": output}
        (tmpdir / "request.json").write_text(json.dumps(request))
        res = subprocess.run(["node", str(PARITY_TOOL), str(tmpdir / "request.json"), str(tmpdir / "out")],
                             cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=timeout)
        if res.returncode != 0:
            raise RuntimeError(f"parity tool failed: {res.stderr.strip() or res.stdout.strip()}")
        summary = json.loads((tmpdir / "out" / "summary.json").read_text())
        out: dict[str, dict[str, np.ndarray]] = {}
        for label, runtimes in summary.items():
            out[label] = {}
            for rt, meta in runtimes.items():
                data = np.frombuffer((tmpdir / "out" / f"{label}.{rt}.bin").read_bytes(), dtype=np.float32)
                out[label][rt] = data.reshape(meta["dims"]).copy()
        return out


def top_choice(probs: np.ndarray, cost_norm: np.ndarray | None = None) -> np.ndarray:
    """The worker's pick: argmax of probabilities, ties to the cheaper candidate.

    @example
        top_choice(np.array([[0.2, 0.8]]))  # [1]
    """
    if cost_norm is None:
        return np.argmax(probs, axis=1)
    return np.argmax(probs - 1e-7 * cost_norm, axis=1)


def agreement(reference: np.ndarray, outputs: dict[str, dict[str, np.ndarray]],
              cost_norm: np.ndarray | None = None) -> dict[str, dict[str, float]]:
    """Top-choice agreement and max |diff| of every runtime's output with the fp32 torch reference.

    @example
        agreement(torch_probs, run_onnx(...))  # {"int8": {"node": 0.998, ...}}
    """
    ref = top_choice(reference, cost_norm)
    rep: dict[str, dict[str, float]] = {}
    for label, runtimes in outputs.items():
        for rt, arr in runtimes.items():
            rep[f"{label}_{rt}"] = {
                "top_choice_agreement": round(float(np.mean(top_choice(arr, cost_norm) == ref)), 5),
                "max_abs_diff": round(float(np.abs(arr - reference).max()), 6),
            }
    return rep
