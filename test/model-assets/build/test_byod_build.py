"""A smoke build on a bring-your-own-data folder (written at test time from real shared data)."""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch

from trainer.build import main as build_main
from trainer.build import untrained_models
from trainer.data import load_dataset


def _write_byod(folder: Path) -> None:
    t = load_dataset("mmlu-pro")
    s = t.subset(rows=np.arange(0, 12032, 8)[:1200], models=t.models[:5])
    folder.mkdir(parents=True)
    with open(folder / "prompts.jsonl", "w") as f:
        for pid, text in zip(s.prompt_ids, s.prompts):
            f.write(json.dumps({"id": pid, "prompt": text}) + "\n")      # no split: hashed 80/20
    with open(folder / "outcomes.csv", "w") as f:
        f.write("prompt_id,model,outcome,input_tokens,output_tokens\n")
        for i, pid in enumerate(s.prompt_ids):
            for j, m in enumerate(s.models):
                if not np.isnan(s.outcome[i, j]):
                    out = "" if i % 3 == 0 else str(int(s.output_tokens[i, j]))   # some lengths unknown
                    f.write(f"{pid},{m},{int(s.outcome[i, j])},,{out}\n")
    with open(folder / "prices.csv", "w") as f:
        f.write("model,input_usd_per_mtok,output_usd_per_mtok\n")
        for j, m in enumerate(s.models):
            f.write(f"{m},{s.prices[j, 0]},{s.prices[j, 1]}\n")


def test_byod_smoke_build(tmp_path: Path) -> None:
    # Also the opt-out --no-prune-dominated path end to end (train, validate, parity, manifest), with
    # a smaller policy than the default (--policy-width / --policy-blocks reach the exported graph).
    _write_byod(tmp_path / "my-evals")
    out = tmp_path / "bundles" / "v-mine"
    rc = build_main(["--smoke", "--dev-embedding", "--byod", str(tmp_path / "my-evals"), "--version", "v-mine",
                     "--out", str(out), "--no-prune-dominated", "--policy-width", "16", "--policy-blocks", "1"])
    assert rc == 0
    ckpt = torch.load(out.parent / "build" / "checkpoint.pt")
    assert (ckpt["policy_config"]["width"], ckpt["policy_config"]["blocks"]) == (16, 1)
    assert ckpt["policy_config"]["gate_by_w"] is True          # the correction weighted by w, as shipped
    graph = onnx.load(str(out / "policy.onnx")).graph
    assert sum(n.op_type == "Softmax" for n in graph.node) == 2      # one attention block + the output
    m = json.loads((out / "manifest.json").read_text())
    assert "candidates" not in m["policy"]   # trained on, and served, every candidate (the contract's default "all")
    assert m["version"] == "v-mine" and len(m["models"]) == 5
    assert list(m["training_data"]["datasets"]) == ["my-evals"] and m["training_data"]["excluded_models"] == []
    assert m["eval"]["parity"]["policy"]["int8_web"]["top_choice_agreement"] >= 0.99
    cfg = m["training_data"]["policy_config"]                           # how the policy was trained
    assert (cfg["width"], cfg["blocks"], cfg["prune_dominated"]) == (16, 1, False)
    assert (cfg["pretrain_steps"], cfg["ppo_iters"]) == (40, 4)          # the smoke schedule


@pytest.mark.parametrize("flags", [["--policy-width", "30"], ["--policy-width", "0"], ["--policy-blocks", "0"],
                                   ["--pretrain-steps", "0"], ["--ppo-iters", "-1"]])
def test_policy_shape_flags_are_checked(flags: list[str]) -> None:
    # argparse error: width must split into the heads, blocks >= 1, steps >= 1, iterations >= 0
    with pytest.raises(SystemExit):
        build_main(["--smoke", *flags])


def test_byod_needs_a_version(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="--version"):
        build_main(["--byod", str(tmp_path)])


def test_a_model_graded_on_test_prompts_only_is_named_to_be_left_out() -> None:
    t = load_dataset("arena-hard-v1")
    y = t.outcome.copy()
    y[t.split == "train", 2] = np.nan
    assert untrained_models([dataclasses.replace(t, outcome=y)]) == [t.models[2]]
    assert untrained_models([dataclasses.replace(t, outcome=y)], exclude=[t.models[2]]) == []
    assert untrained_models([t]) == []
