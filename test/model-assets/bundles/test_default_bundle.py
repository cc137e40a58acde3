"""The committed default bundle: manifest vs files, models, and the served chain on real prompts.

Real mmlu-pro test prompts go through the bundle's own tokenizer spec, ``embedder.onnx``,
``irt.onnx`` and ``policy.onnx`` (features built per the contract) on onnxruntime-node ("basic")
and onnxruntime-web; both runtimes must agree on the top choice, and the preference must move the
choice the right way (cheaper at w = 0, better predicted at w = 1).
"""
from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from trainer.data import COLD_START_MODELS, load_dataset, unscoped
from trainer.embed.tokenizer import Tokenizer
from trainer.export.parity import run_onnx, top_choice
from trainer.paths import BUILD_DIR, BUNDLES_DIR, DATA_ROOT, DEFAULT_FILE
from trainer.policy.episodes import non_dominated

pytestmark = pytest.mark.skipif(not DEFAULT_FILE.exists(), reason="no default bundle built yet")


@pytest.fixture(scope="module")
def bundle() -> tuple[Path, dict]:
    version = DEFAULT_FILE.read_text().strip()
    folder = BUNDLES_DIR / version
    return folder, json.loads((folder / "manifest.json").read_text())


def test_manifest_describes_the_files(bundle: tuple[Path, dict]) -> None:
    folder, m = bundle
    assert m["format"] == 1 and m["version"] == folder.name
    assert m["embedding"]["provider"] == "local" and set(m["files"]) == {"embedder", "irt", "policy"}
    total = 0
    for name, f in m["files"].items():
        data = (folder / f"{name}.onnx").read_bytes()
        total += len(data)
        assert f == {"key": f"bundles/{m['version']}/{name}.onnx", "bytes": len(data),
                     "sha256": hashlib.sha256(data).hexdigest()}
    assert total <= 10 * 1024 * 1024
    assert not m["eval"]["smoke"]
    for label, r in m["eval"]["parity"]["policy"].items():
        assert r["top_choice_agreement"] >= 0.99, label


def test_models_prices_and_prior(bundle: tuple[Path, dict]) -> None:
    _, m = bundle
    d = m["identity_dim"]
    names = [x["name"] for x in m["models"]]
    assert len(names) == len(set(names)) and not set(COLD_START_MODELS) & set(names)
    with open(DATA_ROOT / "prices.csv", newline="") as f:
        prices = {r["model"]: (float(r["input_usd_per_mtok"]),
                               float(r["output_usd_per_mtok"])) for r in csv.DictReader(f)}
    for x in m["models"]:
        assert len(x["identity"]) == len(x["identity_std"]) == d and min(x["identity_std"]) > 0
        price = prices[unscoped(x["name"])]     # routellm/<name>: RouteLLM's own identity, the same list price
        assert (x["input_usd_per_mtok"], x["output_usd_per_mtok"]) == pytest.approx(price, rel=1e-6)
        assert x["mean_output_tokens"] > 0
    assert "mistralai/Mixtral-8x7B-Instruct-v0.1" in m["models"][names.index("Mixtral-8x7B-Instruct-v0.1")]["aliases"]
    # RouteLLM's sets trained identities of their own (data.aliases.IDENTITY_SCOPES), with no aliases:
    # a pool naming Mixtral in any spelling gets the unscoped identity.
    assert {"routellm/Mixtral-8x7B-Instruct-v0.1", "routellm/gpt-4-1106-preview"} <= set(names)
    assert m["models"][names.index("routellm/Mixtral-8x7B-Instruct-v0.1")]["aliases"] == []
    cov = np.array(m["irt"]["prior"]["cov"])
    assert cov.shape == (d, d) and np.all(np.linalg.eigvalsh(cov) > 0)


def _features(p: np.ndarray, cost: np.ndarray, theta: np.ndarray, layout: list[dict]) -> np.ndarray:
    lc = np.log(cost)
    span = lc.max(1, keepdims=True) - lc.min(1, keepdims=True)
    cn = np.where(span > 0, (lc - lc.min(1, keepdims=True)) / np.where(span > 0, span, 1), 0.0)
    cols = {"identity": np.broadcast_to(theta, (len(p), *theta.shape)), "cost_norm": cn[..., None],
            "cost_rel": (cost / cost.max(1, keepdims=True))[..., None],
            "p_success": p[..., None], "p_success_rel": (p - p.max(1, keepdims=True))[..., None],
            "p_success_z": ((p - p.mean(1, keepdims=True)) / (p.std(1, keepdims=True) + 1e-3))[..., None]}
    return np.concatenate([cols[f["name"]] for f in layout], axis=-1).astype(np.float32), cn


def test_served_chain_on_real_prompts(bundle: tuple[Path, dict]) -> None:
    folder, m = bundle
    mmlu = load_dataset("mmlu-pro")
    test = mmlu.subset(rows=np.flatnonzero(mmlu.split == "test")[:200])
    ids = Tokenizer(m["tokenizer"]).encode_batch(test.prompts)
    emb = run_onnx({"e": folder / "embedder.onnx"}, {"ids": ids}, "embedding")["e"]
    np.testing.assert_allclose(emb["node"], emb["web"], atol=1e-4)
    e = emb["node"]
    assert e.shape == (200, m["embedding"]["dim"])
    # Contract: padding adds nothing, so the worker passes only the columns the longest row needs.
    chat = Tokenizer(m["tokenizer"]).encode_batch(["Hi!", "Translate 'good morning' into German.", ""])
    width = int(np.flatnonzero((chat != 0).any(axis=0)).max()) + 1
    assert width < chat.shape[1]
    padded = run_onnx({"e": folder / "embedder.onnx"}, {"ids": chat}, "embedding")["e"]["node"]
    narrow = run_onnx({"e": folder / "embedder.onnx"}, {"ids": np.ascontiguousarray(chat[:, :width])},
                      "embedding")["e"]["node"]
    np.testing.assert_allclose(narrow, padded, rtol=0, atol=1e-6)
    pool = [x for x in m["models"] if x["name"] in test.models]
    theta = np.array([x["identity"] for x in pool], dtype=np.float32)
    p = run_onnx({"i": folder / "irt.onnx"}, {"embedding": e, "identity": theta}, "p_success")["i"]["node"]
    cost = np.array([[(x["input_usd_per_mtok"] * t + x["output_usd_per_mtok"] * x["mean_output_tokens"]) / 1e6
                      for x in pool] for t in test.input_tokens])
    feats, cn = _features(p, cost, theta, m["policy"]["features"])
    ws = np.array([0.0, 0.5, 1.0], dtype=np.float32)
    rows = len(e)
    mask = np.ones((rows, len(pool)), np.float32)
    if m["policy"].get("candidates", "all") == "non-dominated":   # contract: shown only the non-dominated
        mask = non_dominated(torch.from_numpy(cost), torch.from_numpy(p.astype(np.float64)),
                             torch.from_numpy(mask)).numpy()
        assert mask.sum(1).min() >= 1
    inputs = {"embedding": np.tile(e, (3, 1)), "preference": np.repeat(ws, rows)[:, None],
              "features": np.tile(feats, (3, 1, 1)), "mask": np.tile(mask, (3, 1))}
    files = {"int8": folder / "policy.onnx"}
    twin = BUILD_DIR / m["version"] / "policy.fp32.onnx"
    if twin.exists():
        files["fp32"] = twin
    out = run_onnx(files, inputs, "probs")
    cn3 = np.tile(cn, (3, 1))
    ref = top_choice(out["int8"]["node"], cn3)
    assert np.mean(top_choice(out["int8"]["web"], cn3) == ref) >= 0.99
    if "fp32" in out:
        assert np.mean(top_choice(out["fp32"]["node"], cn3) == ref) >= 0.99
    pick = ref.reshape(3, rows)
    chosen_cost = np.take_along_axis(np.tile(cost, (3, 1)).reshape(3, rows, -1), pick[..., None], 2)[..., 0].mean(1)
    chosen_p = np.take_along_axis(np.tile(p, (3, 1)).reshape(3, rows, -1), pick[..., None], 2)[..., 0].mean(1)
    assert chosen_cost[0] < chosen_cost[1] < chosen_cost[2]
    assert chosen_p[0] < chosen_p[2]
