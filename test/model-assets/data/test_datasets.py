"""Dataset adapters on the real shared data: shapes, scales, splits, one identity per model."""
from __future__ import annotations

import numpy as np
import pytest

from trainer.data import COLD_START_MODELS, DATASETS, canonical, load_dataset, load_unscoped, scoped, unscoped
from trainer.data.datasets import mmlu_pro_prompt


@pytest.mark.parametrize("name", DATASETS)
def test_table_is_consistent(name: str) -> None:
    t = load_dataset(name)
    p, k = t.outcome.shape
    assert p == len(t.prompts) == len(t.prompt_ids) == len(set(t.prompt_ids)) > 0
    obs = t.outcome[t.mask()]
    assert obs.size > 0.9 * p * k and obs.min() >= 0 and obs.max() <= 1
    assert not np.isnan(t.output_tokens).any() and (t.output_tokens >= 0).all()
    assert (t.input_tokens == np.ceil(np.array([len(x) for x in t.prompts]) / 4)).all()
    assert set(t.split) == {"train", "test"} and 0.15 < (t.split == "test").mean() < 0.25
    assert (t.prices > 0).all()
    cost = t.cost()
    want = (t.prices[:, 0] * t.input_tokens[:, None] + t.prices[:, 1] * t.output_tokens) / 1e6
    np.testing.assert_allclose(cost, want, rtol=1e-5)
    assert all(canonical(m) == m for m in t.models)


def test_mmlu_pro_split_prompt_and_cold_start() -> None:
    t = load_dataset("mmlu-pro")
    assert t.outcome.shape == (12032, 32)
    qid = np.array([int(x) for x in t.prompt_ids])
    assert ((qid % 5 == 0) == (t.split == "test")).all()
    assert set(COLD_START_MODELS) <= set(t.models)
    assert t.prompts[0].split("\n")[1].startswith("A. ")
    assert mmlu_pro_prompt("Q?", ["x", "y"]) == "Q?\nA. x\nB. y"
    assert t.category is not None and len(set(t.category)) == 14


def test_alias_map_gives_one_identity_across_datasets() -> None:
    names = {n: set(load_dataset(n).models) for n in ("mmlu-pro", "arena-hard-v1", "alpaca-eval")}
    assert "Mixtral-8x7B-Instruct-v0.1" in names["mmlu-pro"] & names["arena-hard-v1"]
    assert not any(m.startswith("mistralai/") for s in names.values() for m in s)


def test_routellm_sets_train_identities_of_their_own() -> None:
    # RouteLLM's harness graded its pair its own way (IDENTITY_SCOPES): its outcomes must not move
    # the identities that mmlu-pro, alpaca-eval and arena-hard share.
    for n in ("routellm-mmlu", "routellm-gsm8k", "routellm-mt-bench"):
        assert sorted(load_dataset(n).models) == ["routellm/Mixtral-8x7B-Instruct-v0.1",
                                                  "routellm/gpt-4-1106-preview"], n
        assert sorted(load_unscoped(n).models) == ["Mixtral-8x7B-Instruct-v0.1", "gpt-4-1106-preview"], n
    assert scoped("routellm-mmlu", "x") == "routellm/x" and scoped("mmlu-pro", "x") == "x"
    assert unscoped("routellm/gpt-4-1106-preview") == "gpt-4-1106-preview"
    assert unscoped("mistralai/Mixtral-8x7B-Instruct-v0.1") == "mistralai/Mixtral-8x7B-Instruct-v0.1"
    # A scoped identity keeps the model's list price.
    mmlu, gsm = load_dataset("mmlu-pro"), load_dataset("routellm-gsm8k")
    m = "Mixtral-8x7B-Instruct-v0.1"
    np.testing.assert_allclose(gsm.prices[gsm.models.index("routellm/" + m)], mmlu.prices[mmlu.models.index(m)])


def test_grades_are_rescaled() -> None:
    t = load_dataset("arena-hard-v1")
    assert len(t.models) == 15
    vals = np.unique(t.outcome[t.mask()])
    np.testing.assert_allclose(vals, np.unique(np.round(vals * 9) / 9), atol=1e-5)  # (g-1)/9 grid


def test_subset_by_mask_and_names() -> None:
    t = load_dataset("routellm-gsm8k")
    s = t.subset(rows=t.split == "test", models=[t.models[1]])
    assert s.outcome.shape == ((t.split == "test").sum(), 1)
    assert s.models == [t.models[1]] and (s.split == "test").all()
    np.testing.assert_array_equal(s.prices[0], t.prices[1])
