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


def _known_names_folder(folder, n=240, free_weak=False):
    """routellm-gsm8k's pair renamed to two models the test bundle knows by name (``free_weak``: the
    weak one priced at zero, as a model the customer hosts itself)."""
    import csv

    from trainer.data import load_dataset

    t = load_dataset("routellm-gsm8k")
    names = ["test-large", "test-small"]
    folder.mkdir()
    with open(folder / "prompts.jsonl", "w") as f:
        for i in range(n):
            f.write(json.dumps({"id": f"q{i}", "prompt": t.prompts[i]}) + "\n")
    with open(folder / "outcomes.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["prompt_id", "model", "outcome", "input_tokens", "output_tokens"])
        for i in range(n):
            for j, m in enumerate(names):
                w.writerow([f"q{i}", m, t.outcome[i, j], "", t.output_tokens[i, j]])
    with open(folder / "prices.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["model", "input_usd_per_mtok", "output_usd_per_mtok"])
        weak = int(np.nanmean(t.outcome[:n, 0]) > np.nanmean(t.outcome[:n, 1]))
        for j, (m, (pi, po)) in enumerate(zip(names, t.prices)):
            free = free_weak and j == weak
            w.writerow([m, 0 if free else pi, 0 if free else po])
    if free_weak:
        return [names[weak]]
    return names


@pytest.mark.parametrize("flag, fitted", [([], True), (["--identities", "manifest"], False)])
def test_data_the_bundle_was_not_built_on_is_routed_with_identities_fitted_there(bundle, tmp_path, flag, fitted):
    """A bundle's identity of a model describes it under the graders of the bundle's own data; on a
    folder it was not built on, every pool model is fitted on the folder's train split unless
    ``--identities manifest`` asks for the bundle's."""
    names = _known_names_folder(tmp_path / "theirs")
    out = tmp_path / "r.json"
    assert main(["--data", str(tmp_path / "theirs"), "--bundle", str(bundle), "--no-docs", "--json", str(out),
                 "--mf-epochs", "1", *flag]) == 0
    block = json.loads(out.read_text())["datasets"]["byod:theirs"]
    assert block.get("identities", "manifest") == ("refit" if fitted else "manifest")
    assert sorted(block.get("identities_fitted_on_train", [])) == (sorted(names) if fitted else [])


def test_a_free_model_in_the_pool_is_scored_not_refused(bundle, tmp_path):
    """Savings at matched quality divide by the baseline's cost; a pool whose cheapest model costs
    nothing made the whole run fail (ValueError) instead of leaving that one level out."""
    free = _known_names_folder(tmp_path / "free", free_weak=True)[0]
    out = tmp_path / "r.json"
    assert main(["--data", str(tmp_path / "free"), "--bundle", str(bundle), "--no-docs", "--json", str(out),
                 "--mf-epochs", "1"]) == 0
    block = json.loads(out.read_text())["datasets"]["byod:free"]
    assert block["single_models"][free]["cost"] == 0
    assert block["savings_vs"]["hull"] is not None
