"""The policy as served: the Node runner (worker decision core + embedder on int8 ONNX) driven by
the harness, on the generated test bundle (random weights, real graphs) and a small subset."""
import json

import numpy as np
import pytest

from trainer.eval.__main__ import main
from trainer.export import node_bridge


def test_item_params_recover_the_bilinear_form():
    rng = np.random.default_rng(0)
    a, c = rng.normal(size=(5, 3)), rng.normal(size=5)
    ids = np.vstack([np.zeros(3), 0.5 * np.eye(3), -0.5 * np.eye(3)])
    probe = 1 / (1 + np.exp(-(a @ ids.T - c[:, None])))
    a2, c2 = node_bridge.item_params(probe, 3)
    assert np.allclose(a2, a, atol=1e-5) and np.allclose(c2, c, atol=1e-5)


def test_policy_and_irt_greedy_run_through_the_served_decision_core(bundle, tmp_path):
    out = tmp_path / "r.json"
    assert main(["--datasets", "routellm-gsm8k", "--bundle", str(bundle), "--max-test", "40", "--max-train", "200",
                 "--no-docs", "--json", str(out), "--mf-epochs", "1"]) == 0
    block = json.loads(out.read_text())["datasets"]["routellm-gsm8k"]
    routers = block["routers"]
    assert {"policy", "irt_greedy", "policy_pair"} <= set(routers)
    assert 0.0 <= routers["policy_pair"]["apgr"] <= 1.0
    # The test bundle's policy is built to pick the cheapest at w = 0 and the best predicted at w = 1:
    # its curve must span from the cheap end to a dearer point.
    costs = [p[0] for p in routers["policy"]["points"]]
    assert min(costs) == pytest.approx(block["single_models"]["routellm/Mixtral-8x7B-Instruct-v0.1"]["cost"], rel=1e-6)
    assert all(v is not None for v in block["savings_vs"].values())
    # Neither model is in the test bundle: both identities were fitted on the train split.
    assert sorted(block["identities_fitted_on_train"]) == sorted(block["pool"])
