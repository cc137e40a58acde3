"""The harness end to end on small data (no bundle: baselines only; seconds)."""
import csv
import json

import numpy as np

from trainer.data import load_dataset
from trainer.eval.__main__ import main


def test_shared_dataset_run_writes_the_results_shape(tmp_path):
    out = tmp_path / "r.json"
    assert main(["--datasets", "arena-hard-v1", "--no-bundle", "--json", str(out), "--out", str(tmp_path / "docs"),
                 "--mf-epochs", "1"]) == 0
    res = json.loads(out.read_text())
    block = res["datasets"]["arena-hard-v1"]
    assert set(block["best_single"]) == {"model", "cost", "quality"}
    assert block["best_single"]["model"] == "gpt-4-1106-preview"
    routers = block["routers"]
    for name in ("hull", "random_mix", "routellm_mf", "sw_ranking", "knn", "oracle", "routellm_mf_routellm_pair"):
        assert name in routers, name
        assert routers[name]["points"] and all(len(p) == 2 for p in routers[name]["points"])
    assert routers["hull"]["aiq"] == block["hull_aiq"]
    # The oracle bounds every router; a random mix of two pool models never beats the hull.
    assert routers["oracle"]["aiq"] >= max(r["aiq"] for r in routers.values())
    assert routers["random_mix"]["aiq"] <= block["hull_aiq"] + 1e-9
    assert set(block["savings_vs"]) == {"hull", "routellm_mf", "irt_greedy"}
    assert (tmp_path / "docs" / "README.md").read_text().count("arena-hard-v1") >= 2
    assert (tmp_path / "docs" / "arena-hard-v1.png").stat().st_size > 10_000


def test_bring_your_own_data_without_split_field(tmp_path):
    """A BYOD folder written from a subset of a shared table (kept in tmp, never committed)."""
    t = load_dataset("routellm-gsm8k")
    rows = np.arange(300)
    folder = tmp_path / "my-evals"
    folder.mkdir()
    with open(folder / "prompts.jsonl", "w") as f:
        for i in rows:
            f.write(json.dumps({"id": f"q{i}", "prompt": t.prompts[i]}) + "\n")
    with open(folder / "outcomes.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["prompt_id", "model", "outcome", "input_tokens", "output_tokens"])
        for i in rows:
            for j, m in enumerate(t.models):
                w.writerow([f"q{i}", m, t.outcome[i, j], "", t.output_tokens[i, j]])
    with open(folder / "prices.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["model", "input_usd_per_mtok", "output_usd_per_mtok"])
        for m, (pi, po) in zip(t.models, t.prices):
            w.writerow([m, pi, po])
    out = tmp_path / "byod.json"
    assert main(["--data", str(folder), "--no-bundle", "--json", str(out), "--mf-epochs", "1"]) == 0
    block = json.loads(out.read_text())["datasets"]["byod:my-evals"]
    assert 30 <= block["n_test"] <= 90 and block["n_train"] + block["n_test"] == 300  # ~80/20 by id hash
    assert block["routers"]["routellm_mf"]["apgr"] is not None


def test_w_grid_is_increasing_and_holds_every_preset_setting():
    from trainer.policy.presets import PRESET_GRID
    from trainer.scoring.greedy import W_GRID

    assert W_GRID[0] == 0.0 and W_GRID[-1] == 1.0 and (np.diff(W_GRID) > 0).all()
    # preset_points reads a preset's point by its w: every w calibration can pick must be on the grid.
    assert all(np.isclose(W_GRID, w, atol=1e-9).any() for w in PRESET_GRID)
    # Dense where a reward linear in dollars turns between the cheapest (and the dearest) models.
    assert (W_GRID < 0.01).sum() >= 20 and (W_GRID > 0.99).sum() >= 20


def test_preset_points_read_the_policy_curve_at_each_presets_w():
    from trainer.eval.report import preset_points
    from trainer.scoring.greedy import W_GRID

    # Points in preference order, deliberately not sorted by cost: index i must mean w = W_GRID[i].
    n = len(W_GRID)
    points = [[0.001 * (1 + (i * 37) % 101), 0.5 + 0.4 * i / (n - 1)] for i in range(n)]
    best = {"model": "m", "cost": 0.1, "quality": 0.9}
    got = preset_points(points, W_GRID, {"cheap": 0.0, "balanced": 0.85, "quality": 1.0, "odd": 0.333}, best)
    assert set(got) == {"cheap", "balanced", "quality"}   # 0.333 is not on the grid
    i = int(np.flatnonzero(np.isclose(W_GRID, 0.85))[0])
    assert got["balanced"]["cost"] == round(points[i][0], 9) and got["balanced"]["quality"] == round(points[i][1], 6)
    assert got["quality"]["quality_of_best"] == round(0.9 / 0.9, 4)
    assert got["cheap"]["cost_of_best"] == round(0.001 / 0.1, 4)


def test_the_best_baseline_is_never_one_of_our_own_routers():
    from trainer.eval.report import summary_table

    def r(aiq):
        return {"aiq": aiq, "ctm": None}

    block = {"hull_aiq": 0.7, "routers": {"policy": r(0.8), "policy_pair_routellm_pair": r(0.81), "oracle": r(0.9),
                                          "hull": r(0.7), "knn": r(0.75), "irt_lambda": r(0.78)},
             "savings_vs": {"hull": 0.1, "routellm_mf": None, "irt_greedy": None}}
    row = summary_table({"datasets": {"x": block}}).splitlines()[-1]
    assert "| irt_lambda (0.780) |" in row and "policy_pair" not in row


def test_a_folder_keeps_the_bundles_identities_only_where_the_bundle_was_built_on_it():
    from trainer.eval.__main__ import identity_mode

    m = {"training_data": {"datasets": {"my-evals": {"prompts": 300}, "mmlu-pro": {"prompts": 12032}}}}
    assert identity_mode("auto", m, "my-evals", 300, own_data=True) == "manifest"
    # the same name with other prompts (rows added since the build), another name, no record at all
    assert identity_mode("auto", m, "my-evals", 301, own_data=True) == "refit"
    assert identity_mode("auto", m, "their-evals", 300, own_data=True) == "refit"
    assert identity_mode("auto", {}, "my-evals", 300, own_data=True) == "refit"
    # the shared datasets are scored with the bundle's own; an explicit choice always wins
    assert identity_mode("auto", {}, "arena-hard-v1", 300, own_data=False) == "manifest"
    assert identity_mode("manifest", {}, "their-evals", 300, own_data=True) == "manifest"
    assert identity_mode("refit", m, "my-evals", 300, own_data=True) == "refit"


def test_a_folder_that_does_not_load_ends_the_run_with_an_error(tmp_path, capsys):
    """With --data the folder is all the run was asked for: a load error is the answer, not a
    "skipped" line over an empty result that exits 0."""
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "prompts.jsonl").write_text('{"id": "a", "prompt": "p", "split": "Train"}\n')
    (folder / "outcomes.csv").write_text("prompt_id,model,outcome\na,m,1\n")
    (folder / "prices.csv").write_text("model,input_usd_per_mtok,output_usd_per_mtok\nm,1,2\n")
    assert main(["--data", str(folder), "--no-bundle", "--json", str(tmp_path / "r.json")]) == 2
    assert 'prompts.jsonl:1: "split" must be "train" or "test"' in capsys.readouterr().err
    assert not (tmp_path / "r.json").exists()
