"""The baselines' registry: a registered router is run and reported in its kind's place, a name is
registered once."""
from __future__ import annotations

import numpy as np
import pytest

from trainer.data import load_dataset
from trainer.eval import routers as R
from trainer.eval.__main__ import subsample
from trainer.scoring.evalset import build_evalset


@pytest.fixture(scope="module")
def small() -> R.RouterInputs:
    es = subsample(build_evalset(load_dataset("routellm-gsm8k")), 30, 120)
    rng = np.random.default_rng(0)
    return R.RouterInputs(es, rng.normal(size=(es.train.size, 8)), rng.normal(size=(es.test.size, 8)), mf_epochs=1)


def test_a_registered_router_runs_in_its_kinds_place(small: R.RouterInputs, monkeypatch: pytest.MonkeyPatch) -> None:
    class Cheapest(R.PriceRouter):
        name = "cheapest_always"
        note = "predicts the same quality for every model"

        def predict(self, inp: R.RouterInputs) -> np.ndarray | None:
            return np.ones((inp.es.test.size, len(inp.es.models)))

    monkeypatch.setattr(R, "PRICE_ROUTERS", dict(R.PRICE_ROUTERS))
    R.register(Cheapest)
    out = R.baseline_routers(small.es, small.train_emb, small.test_emb, mf_epochs=1)
    names = [r.name for r in out]
    assert names[0] == "hull" and names[-1] == "oracle"
    assert names[:4] == ["hull", "random_mix", "routellm_mf", "sw_ranking"]
    assert names.index("cheapest_always") == names.index("knn") + 1 + ("category" in names)
    mine = out[names.index("cheapest_always")]
    assert mine.kind == "multi-model, price swept" and mine.note == Cheapest.note and mine.points


def test_a_name_is_registered_once() -> None:
    class Again(R.PriceRouter):
        name = "knn"

        def predict(self, inp: R.RouterInputs) -> np.ndarray | None:
            return None

    with pytest.raises(ValueError, match="registered already"):
        R.register(Again)


def test_the_baselines_are_registered_in_the_reports_order() -> None:
    assert list(R.BINARY_ROUTERS) == ["routellm_mf", "sw_ranking"]
    assert list(R.PRICE_ROUTERS) == ["knn", "knn_tfidf", "category"]


def test_a_router_with_nothing_to_learn_is_left_out_not_the_whole_run(small: R.RouterInputs) -> None:
    """Every train prompt a tie between the models: MF has no battle to train on. The run goes on
    without it (it used to end the whole eval with a ValueError)."""
    import dataclasses

    tr = small.es.train
    tied = dataclasses.replace(tr.table, outcome=np.ones_like(tr.table.outcome))
    es = dataclasses.replace(small.es, train=dataclasses.replace(tr, table=tied))
    said: list[str] = []
    out = R.baseline_routers(es, small.train_emb, small.test_emb, progress=said.append, mf_epochs=1)
    names = [r.name for r in out]
    assert "routellm_mf" not in names and "sw_ranking" in names and "knn" in names
    assert any(s.startswith("routellm_mf: skipped (no decisive pairs") for s in said)


def test_the_policy_on_a_pair_follows_its_pairs_baselines_even_where_one_was_left_out() -> None:
    """Where SW ranking had no prompt graded on both models, the policy's pair result used to be
    dropped from the report with it."""
    def rr(name: str) -> R.RouterResult:
        return R.RouterResult(name, "k", [(1.0, 0.5)])

    base = [rr(n) for n in ("hull", "random_mix", "routellm_mf", "sw_ranking", "random_mix_routellm_pair",
                            "routellm_mf_routellm_pair", "knn", "oracle")]
    served = [rr(n) for n in ("policy_pair", "policy_pair_routellm_pair", "irt_greedy", "policy")]
    names = [r.name for r in R.merge_routers(base, served)]
    assert names == ["hull", "random_mix", "routellm_mf", "sw_ranking", "policy_pair", "random_mix_routellm_pair",
                     "routellm_mf_routellm_pair", "policy_pair_routellm_pair", "knn", "irt_greedy", "policy", "oracle"]
