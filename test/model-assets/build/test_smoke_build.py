"""End-to-end smoke build on a small subset: bundle layout, manifest, ONNX contract, int8 parity."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import onnx
import pytest

from trainer.build import main as build_main
from trainer.export.parity import run_onnx
from trainer.policy.model import FEATURES_DEFAULT

VERSION = "v0000-smoke"


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("smoke") / VERSION
    rc = build_main(["--smoke", "--dev-embedding", "--version", VERSION, "--out", str(out)])
    assert rc == 0
    return out


def test_manifest_matches_files(bundle: Path) -> None:
    m = json.loads((bundle / "manifest.json").read_text())
    assert m["format"] == 1 and m["version"] == VERSION == bundle.name
    # dev embedding: no embedder.onnx; the prediction layer (on by default) adds neighbours.onnx
    assert set(m["files"]) == {"irt", "policy", "neighbours"}
    for name, f in m["files"].items():
        data = (bundle / f"{name}.onnx").read_bytes()
        assert f["bytes"] == len(data) and f["sha256"] == hashlib.sha256(data).hexdigest()
        assert f["key"] == f"bundles/{VERSION}/{name}.onnx"
    d = m["identity_dim"]
    assert np.array(m["irt"]["prior"]["cov"]).shape == (d, d)
    # the policy sees models through p_success and price only (FEATURES_DEFAULT), never the raw identity
    assert [f["name"] for f in m["policy"]["features"]] == list(FEATURES_DEFAULT)
    # presets calibrated on the validation prompts (trainer/policy/presets.py)
    assert m["policy"]["candidates"] == "non-dominated"   # the default policy is shown the non-dominated ones
    presets = m["policy"]["presets"]
    assert presets["cheap"] == 0.0 and presets["quality"] == 1.0 and 0.0 <= presets["balanced"] <= 1.0
    report = m["eval"]["policy"]["presets"]
    assert report["balanced_quality"] >= report["target_quality"] or presets["balanced"] == 1.0
    names = {x["name"] for x in m["models"]}
    assert "Mixtral-8x7B-Instruct-v0.1" in names and "gemini-1.5-flash-002" not in names  # cold start excluded
    mix = next(x for x in m["models"] if x["name"] == "Mixtral-8x7B-Instruct-v0.1")
    assert "mistralai/Mixtral-8x7B-Instruct-v0.1" in mix["aliases"] and len(mix["identity"]) == d
    assert all(x["mean_output_tokens"] > 0 and x["input_usd_per_mtok"] > 0 for x in m["models"])
    ev = m["eval"]
    assert set(ev["irt"]["mmlu-pro"]) >= {"irt", "per_model_mean", "per_model_logistic", "matrix_factorisation"}
    # A predictor that learned nothing has AUC 0.5; the IRT head must beat the per-model mean on AUC.
    assert ev["irt"]["mmlu-pro"]["irt"]["auc"] > ev["irt"]["mmlu-pro"]["per_model_mean"]["auc"]
    assert sum(f.stat().st_size for f in bundle.glob("*.onnx")) < 10 * 1024 * 1024
    # the prediction layer: one bias per manifest model, its graph equal to the Python index on both runtimes
    pred = m["predictor"]
    assert pred["kind"] == "irt+neighbours" and len(pred["stack"]["bias"]) == len(m["models"])
    assert set(ev["parity"]["neighbours_max_abs_diff"]) == {"node", "web"}
    assert max(ev["parity"]["neighbours_max_abs_diff"].values()) < 1e-5
    fit = ev["prediction_layer"]["fit"]["out_of_sample_log_loss"]
    assert fit["layer"] <= min(fit["irt"], fit["neighbours"]) + 1e-3   # the stack is fitted on these very estimates


def test_int8_parity_at_least_99_percent(bundle: Path) -> None:
    parity = json.loads((bundle / "manifest.json").read_text())["eval"]["parity"]
    assert set(parity["policy"]) == {"fp32_node", "fp32_web", "int8_node", "int8_web"}
    for label, r in parity["policy"].items():
        assert r["top_choice_agreement"] >= 0.99, (label, r)
    assert parity["policy_rows"] >= 500


def test_onnx_contract(bundle: Path) -> None:
    # The default policy reads the prompt only through p_success (PolicyConfig.prompt_input), and the
    # exporter drops a graph input nothing reads, so its "embedding" input is absent.
    for name, inputs, output in (("irt", ["embedding", "identity"], "p_success"),
                                 ("policy", ["preference", "features", "mask"], "probs")):
        model = onnx.load(str(bundle / f"{name}.onnx"))
        assert [o.version for o in model.opset_import if o.domain in ("", "ai.onnx")] == [17]
        assert [i.name for i in model.graph.input] == inputs
        assert [o.name for o in model.graph.output] == [output]
        assert any(n.op_type == "DequantizeLinear" for n in model.graph.node)


def test_policy_is_permutation_equivariant_and_masks_padding(bundle: Path) -> None:
    m = json.loads((bundle / "manifest.json").read_text())
    dim, f = m["embedding"]["dim"], sum(x["size"] for x in m["policy"]["features"])
    rng = np.random.default_rng(0)
    e = rng.normal(size=(3, dim)).astype(np.float32)
    e /= np.linalg.norm(e, axis=1, keepdims=True)
    feats = rng.normal(size=(3, 7, f)).astype(np.float32)
    mask = np.ones((3, 7), dtype=np.float32)
    mask[1, 5:] = 0
    w = np.array([[0.0], [0.5], [1.0]], dtype=np.float32)
    perm = np.array([3, 0, 6, 1, 5, 2, 4])
    out = run_onnx({"a": bundle / "policy.onnx"}, {"embedding": e, "preference": w, "features": feats, "mask": mask},
                   "probs")
    outp = run_onnx({"a": bundle / "policy.onnx"},
                    {"embedding": e, "preference": w, "features": feats[:, perm], "mask": mask[:, perm]}, "probs")
    for rt in ("node", "web"):
        probs = out["a"][rt]
        np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
        assert (probs[1, 5:] == 0).all()
        np.testing.assert_allclose(outp["a"][rt], probs[:, perm], atol=1e-5)


@pytest.mark.parametrize("features", ["cost_rel,p_success,nonsense", "cost_norm,p_success"])
def test_features_outside_the_vocabulary_or_without_the_price_rule_are_refused(features: str, capsys) -> None:
    with pytest.raises(SystemExit) as err:
        build_main(["--smoke", "--dev-embedding", "--features", features])
    assert err.value.code == 2 and "--features" in capsys.readouterr().err
