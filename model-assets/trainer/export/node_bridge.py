"""The one bridge from Python to the served code: the Node tools in ``model-assets/tools`` that run
``worker/decision`` and ``worker/embedding`` on a bundle's int8 ONNX files. Python has no ONNX
runtime here, and these graphs and this code are what the worker runs, so every number measured
through the bridge is the service's own.

- ``serve-decisions.ts`` (:func:`serve_decisions`): embeds texts, reads item parameters off
  ``irt.onnx`` at probe identities, routes prompts over candidates;
- ``onboard-routes.ts`` (:func:`onboard_routes`): routes embedded prompts over many pool variants.

Each tool reads ``request.json`` and writes ``meta.json`` plus little-endian arrays into one work
folder; its output streams to ``progress`` and a failure raises with its last 20 lines.
"""
from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from ..paths import PROJECT_ROOT

TOOLS_DIR = PROJECT_ROOT / "model-assets" / "tools"
SERVE_DECISIONS = TOOLS_DIR / "serve-decisions.ts"
ONBOARD_ROUTES = TOOLS_DIR / "onboard-routes.ts"
#: Probe identities are 0 and +-PROBE_SCALE along each axis (:func:`item_params`).
PROBE_SCALE = 0.5
#: ORT flavour of serve-decisions: "node" (onnxruntime-node, the default) or "web" (onnxruntime-web's
#: wasm, what workerd runs); both use the worker's sessionOptions, where int8 outputs agree.
ORT_RUNTIME = os.environ.get("ROUTER_EVAL_ORT", "node")

Progress = Callable[[str], None]


def run_tool(tool: Path, request: dict[str, Any], work: Path, progress: Progress, args: Sequence[str] = (),
             env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Runs one Node tool on ``request`` in the folder ``work`` and returns its ``meta.json``.

    @example
        meta = run_tool(SERVE_DECISIONS, {"bundle": str(bundle), "embed": {"texts": ["hi"]}}, work, print)
    """
    req_path = work / "request.json"
    req_path.write_text(json.dumps(request))
    cmd = ["npx", "--no-install", "tsx", str(tool), "--request", str(req_path), "--out", str(work), *args]
    proc = subprocess.Popen(cmd, cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=None if env is None else dict(env))
    assert proc.stdout is not None
    tail: list[str] = []
    for line in proc.stdout:
        tail = (tail + [line.rstrip()])[-20:]
        progress(line.rstrip())
    if proc.wait() != 0:
        raise RuntimeError(f"{tool.stem} failed:\n" + "\n".join(tail))
    return json.loads((work / "meta.json").read_text())


CHECK_MANIFEST = TOOLS_DIR / "check-manifest.ts"


def check_manifest(path: Path) -> str:
    """Reads ``path`` as the worker does (``check-manifest.ts``: JSON.parse, the worker's schema);
    its one line, or ``ValueError`` with the schema's message where the worker would refuse it.

    @example
        check_manifest(staging / "manifest.json")   # "manifest v-mine: read as the worker reads it (5 models)"
    """
    proc = subprocess.run(["npx", "--no-install", "tsx", str(CHECK_MANIFEST), str(path)], cwd=PROJECT_ROOT,
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise ValueError((proc.stderr or proc.stdout).strip()[-2000:])
    return proc.stdout.strip()


def serve_decisions(request: dict[str, Any], work: Path, progress: Progress) -> dict[str, Any]:
    """``serve-decisions.ts`` on ``request`` (one thread, the ``ORT_RUNTIME`` flavour); its meta
    with the run's ``wall_seconds``.

    @example
        meta = serve_decisions({"bundle": str(bundle), "route": {...}}, work, print)
        read_array(work / "route_choices.i32", "<i4", (len(ws), len(texts)))
    """
    t0 = time.time()
    meta = run_tool(SERVE_DECISIONS, request, work, progress, ["--runtime", ORT_RUNTIME],
                    {**os.environ, "OMP_NUM_THREADS": "1"})
    meta["wall_seconds"] = round(time.time() - t0, 1)
    return meta


def onboard_routes(request: dict[str, Any], work: Path, progress: Progress) -> dict[str, Any]:
    """``onboard-routes.ts`` on ``request`` (pool variants over embedded prompts); its meta.

    @example
        meta = onboard_routes({"bundle": ..., "embeddings": ..., "variants": [...]}, work, print)
        read_array(work / "choices.i32", "<i4", (n_variants, n_preferences, n_prompts))
    """
    return run_tool(ONBOARD_ROUTES, request, work, progress)


def read_array(path: Path, dtype: str, shape: tuple[int, ...]) -> np.ndarray:
    """A little-endian array a tool wrote.

    @example
        >>> import tempfile
        >>> path = Path(tempfile.mkdtemp()) / "x.f32"
        >>> np.arange(6, dtype="<f4").tofile(path)
        >>> read_array(path, "<f4", (2, 3)).tolist()
        [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]
    """
    return np.fromfile(path, dtype=dtype).reshape(shape)


def item_params(probe: np.ndarray, d: int, scale: float = PROBE_SCALE) -> tuple[np.ndarray, np.ndarray]:
    """Item discriminations a [N, d] and difficulties c [N] from irt.onnx outputs at identities
    0, +scale e_i, -scale e_i (the contract's form: logit = a . theta - c, so this is exact).

    @example
        >>> p = 1 / (1 + np.exp(-np.array([[0.0, 1.0, -1.0]])))  # a = 2, c = 0, scale 0.5
        >>> a, c = item_params(p, 1)
        >>> a.round(4).tolist(), c.round(4).tolist()
        ([[2.0]], [-0.0])
    """
    p = np.clip(probe.astype(np.float64), 1e-7, 1 - 1e-7)
    logit = np.log(p) - np.log1p(-p)
    c = -logit[:, 0]
    a = (logit[:, 1:1 + d] - logit[:, 1 + d:1 + 2 * d]) / (2 * scale)
    return a, c


def embed_and_probe(bundle: Path, texts: list[str], probed: int, progress: Progress
                    ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """(embeddings [N, dim] float32, a [probed, d], c [probed]): every text embedded by the
    bundle's ``embedder.onnx`` and the first ``probed`` texts' item parameters read off its
    ``irt.onnx`` (``None`` when ``probed`` is 0).

    @example
        emb, a, c = embed_and_probe(Path("model-assets/bundles/v1"), texts, len(texts), print)
    """
    manifest = json.loads((Path(bundle) / "manifest.json").read_text())
    d, dim = int(manifest["identity_dim"]), int(manifest["embedding"]["dim"])
    request: dict[str, Any] = {"bundle": str(Path(bundle).resolve()), "embed": {"texts": texts}}
    if probed:
        request["probe"] = {"rows": list(range(probed)), "scale": PROBE_SCALE}
    with tempfile.TemporaryDirectory(prefix="served-") as tmp:
        work = Path(tmp)
        serve_decisions(request, work, progress)
        emb = read_array(work / "embeddings.f32", "<f4", (len(texts), dim))
        if not probed:
            return emb, None, None
        a, c = item_params(read_array(work / "probe.f32", "<f4", (probed, 1 + 2 * d)), d)
    return emb, a, c
