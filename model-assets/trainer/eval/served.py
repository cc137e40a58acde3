"""Runs the policy exactly as served: the Node runner ``model-assets/tools/serve-decisions.ts``
(worker/decision + worker/embedding on the bundle's int8 ONNX files) over a dataset's prompts.

Identities: a pool model found in the manifest (name or alias) uses its trained identity; any
other model (bring-your-own-data, or a model the bundle was not trained on) gets one fitted on the
*train* split with the IRT head frozen, exactly as onboarding does (Laplace posterior under the
manifest's prior), its item parameters read off ``irt.onnx`` itself.
"""
from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..data import unscoped
from ..paths import PROJECT_ROOT
from .evalset import EvalSet
from .routers import ServedOutputs, binary_pairs

RUNNER = PROJECT_ROOT / "model-assets" / "tools" / "serve-decisions.ts"
PROBE_SCALE = 0.5


#: ORT flavour of the runner: "node" (onnxruntime-node, the default) or "web" (onnxruntime-web's
#: wasm, what workerd runs); both use the worker's sessionOptions, where int8 outputs agree.
ORT_RUNTIME = os.environ.get("ROUTER_EVAL_ORT", "node")


def _run(request: dict[str, Any], work: Path, progress: Callable[[str], None]) -> dict[str, Any]:
    req_path = work / "request.json"
    req_path.write_text(json.dumps(request))
    cmd = ["npx", "--no-install", "tsx", str(RUNNER), "--request", str(req_path), "--out", str(work),
           "--runtime", ORT_RUNTIME]
    t0 = time.time()
    proc = subprocess.Popen(cmd, cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert proc.stdout is not None
    tail: list[str] = []
    for line in proc.stdout:
        tail = (tail + [line.rstrip()])[-20:]
        progress(line.rstrip())
    if proc.wait() != 0:
        raise RuntimeError("serve-decisions failed:\n" + "\n".join(tail))
    meta = json.loads((work / "meta.json").read_text())
    meta["wall_seconds"] = round(time.time() - t0, 1)
    return meta


def _read(path: Path, dtype: str, shape: tuple[int, ...]) -> np.ndarray:
    return np.fromfile(path, dtype=dtype).reshape(shape)


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


def fit_identity(a: np.ndarray, c: np.ndarray, y: np.ndarray, manifest: dict[str, Any]) -> np.ndarray:
    """MAP identity of one model from its train outcomes (NaN skipped), head frozen."""
    from ..onboard import laplace_posterior

    d = a.shape[1]
    prior = (manifest.get("irt") or {}).get("prior") or {}
    mean = np.asarray(prior.get("mean", np.zeros(d)), np.float64)
    cov = np.asarray(prior.get("cov", np.eye(d)), np.float64)
    ok = ~np.isnan(y)
    return laplace_posterior(a[ok], c[ok], y[ok], mean, cov).mean


def run_served(es: EvalSet, bundle: Path, preferences: np.ndarray, progress: Callable[[str], None] = print
               ) -> tuple[np.ndarray, np.ndarray, ServedOutputs, dict[str, Any]]:
    """(train embeddings, test embeddings, the policy's choices and IRT predictions, meta).

    @example
        tr_emb, te_emb, served, meta = run_served(es, Path("model-assets/bundles/v1"), W_GRID)
    """
    manifest = json.loads((Path(bundle) / "manifest.json").read_text())
    d = int(manifest["identity_dim"])
    known = manifest_models(manifest)
    # Bundles before v2026-11-23.4 have no routellm/<name> identities (data.aliases.IDENTITY_SCOPES):
    # they route RouteLLM's sets with the shared identity, as they were built to.
    shared = {j: unscoped(m) for j, m in enumerate(es.models) if m not in known and unscoped(m) in known}
    missing = [j for j, m in enumerate(es.models) if m not in known and j not in shared]
    train_texts, test_texts = es.train.table.prompts, es.test.table.prompts
    meta: dict[str, Any] = {"bundle": Path(bundle).name, "ort": ORT_RUNTIME}
    with tempfile.TemporaryDirectory(prefix="served-") as tmp:
        work = Path(tmp)
        req: dict[str, Any] = {"bundle": str(Path(bundle).resolve()), "embed": {"texts": train_texts + test_texts}}
        if missing:
            req["probe"] = {"rows": list(range(len(train_texts))), "scale": PROBE_SCALE}
        progress(f"{es.dataset}: embedding {len(train_texts) + len(test_texts)} prompts with the served embedder")
        _run(req, work, lambda s: None)
        dim = int(manifest["embedding"]["dim"])
        emb = _read(work / "embeddings.f32", "<f4", (len(train_texts) + len(test_texts), dim)).astype(np.float64)
        identities: dict[str, list[float] | None] = {m: None for m in es.models}
        for j, name in shared.items():
            identities[es.models[j]] = list(known[name])
        if shared:
            meta["identities_shared"] = {es.models[j]: name for j, name in shared.items()}
        if missing:
            probe = _read(work / "probe.f32", "<f4", (len(train_texts), 1 + 2 * d))
            a, c = item_params(probe, d)
            for j in missing:
                identities[es.models[j]] = fit_identity(a, c, es.train.table.outcome[:, j].astype(np.float64),
                                                        manifest).tolist()
            meta["identities_fitted_on_train"] = [es.models[j] for j in missing]
            progress(f"{es.dataset}: fitted identities of {len(missing)} models not in the bundle on the train split")
        mean_out = es.train.table.output_tokens.astype(np.float64).mean(axis=0)
        t = es.test.table

        def route(members: list[int], label: str) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
            req = {
                "bundle": str(Path(bundle).resolve()),
                "route": {
                    "texts": test_texts,
                    "prompt_tokens": [float(x) for x in t.input_tokens],
                    "preferences": [float(w) for w in preferences],
                    "candidates": [{"name": es.models[j], "identity": identities[es.models[j]],
                                    "input_usd_per_mtok": float(t.prices[j, 0]),
                                    "output_usd_per_mtok": float(t.prices[j, 1]),
                                    "expected_output_tokens": float(mean_out[j])}
                                   for j in members],
                },
            }
            progress(f"{es.dataset}: routing {len(test_texts)} test prompts x {len(preferences)} preferences "
                     f"over {label} through the served decision core")
            run_meta = _run(req, work, lambda s: progress(f"{es.dataset}: {s}") if "decisions" in s else None)
            p, w = len(test_texts), len(preferences)
            choices = _read(work / "route_choices.i32", "<i4", (w, p)).astype(np.int64)
            p_success = _read(work / "route_p_success.f32", "<f4", (p, len(members))).astype(np.float64)
            return choices, p_success, run_meta

        choices, p_success, run_meta = route(list(range(len(es.models))), f"the pool of {len(es.models)}")
        pair_strong: dict[tuple[int, int], np.ndarray] = {}
        if len(es.models) > 2:
            for _, s, w in binary_pairs(es):
                pair_choices, _, _ = route([s, w], f"the pair {es.models[s]} / {es.models[w]}")
                pair_strong[(s, w)] = pair_choices == 0
        else:  # a two-model pool is its own pair: the main run already is the binary router
            for _, s, w in binary_pairs(es):
                pair_strong[(s, w)] = choices == s
    meta["served"] = {k_: run_meta[k_] for k_ in ("route_ms_per_decision", "wall_seconds", "identity_sources")
                      if k_ in run_meta}
    out = ServedOutputs(preferences=np.asarray(preferences), choices=choices, p_success=p_success,
                        bundle=Path(bundle).name, pair_strong=pair_strong)
    return emb[:len(train_texts)], emb[len(train_texts):], out, meta
