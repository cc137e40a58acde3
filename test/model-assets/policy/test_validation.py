"""Checkpoint validation on the whole pool and on strong/weak pairs of it."""
from __future__ import annotations

import numpy as np
import torch

from trainer.data import load_dataset
from trainer.irt.model import IrtModel
from trainer.policy.model import SetPolicy, feature_layout
from trainer.policy.validation import pair_pools, pool_gain, restrict, validation_score
from trainer.scoring.binary import best_and_cheapest
from trainer.scoring.evalset import build_evalset
from trainer.scoring.metrics import hull_aiq, single_pool

NAMES = ("cost_rel", "cost_norm", "p_success", "p_success_rel")


def _evalset(models: int = 6):
    t = load_dataset("mmlu-pro")
    rows = np.flatnonzero(np.arange(len(t.prompt_ids)) % 20 == 0)
    return build_evalset(t.subset(rows=rows, models=list(range(models))))


def test_pairs_start_with_best_and_cheapest_and_are_distinct() -> None:
    es = _evalset()
    pairs = pair_pools(es, 5, seed=0)
    assert pairs[0] == best_and_cheapest(es.train.quality, es.train.cost)
    assert len(pairs) == 6 and len({frozenset(p) for p in pairs}) == 6 and all(i != j for i, j in pairs)
    assert pair_pools(es, 5, seed=0) == pairs                 # fixed by the seed
    assert len(pair_pools(_evalset(3), 10, seed=0)) == 3      # no more pairs than the pool has


def test_no_pair_when_one_model_is_both_best_and_cheapest() -> None:
    es = _evalset(3)
    j = best_and_cheapest(es.train.quality, es.train.cost)[1]
    es.train.quality[:, j] = 1.0                              # the cheapest is now also the best
    pairs = pair_pools(es, 0, seed=0)
    assert pairs == []


def test_restrict_keeps_the_columns_of_every_matrix() -> None:
    es = _evalset()
    sub = restrict(es.test, [4, 1])
    assert sub.table.models == [es.models[4], es.models[1]]
    np.testing.assert_array_equal(sub.cost, es.test.cost[:, [4, 1]])
    np.testing.assert_array_equal(sub.quality, es.test.quality[:, [4, 1]])
    np.testing.assert_array_equal(sub.expected_cost, es.test.expected_cost[:, [4, 1]])


def test_score_is_half_the_whole_pool_and_half_the_pairs() -> None:
    torch.manual_seed(0)
    es = _evalset()
    emb = np.random.default_rng(0).normal(size=(len(es.test.table.prompt_ids), 8)).astype(np.float32)
    irt = IrtModel(dim=8, d=4, n_models=len(es.models)).eval()
    width = sum(f["size"] for f in feature_layout(4, NAMES))
    policy = SetPolicy(8, width, cost_index=0, p_index=2)
    ws = np.linspace(0, 1, 6)
    pairs = pair_pools(es, 2, seed=0)
    whole = pool_gain(policy, irt, es.models, es.test, emb, NAMES, ws)
    gains = [pool_gain(policy, irt, es.models, restrict(es.test, p), emb, NAMES, ws) for p in pairs]
    got = validation_score(policy, irt, es.models, es, emb, NAMES, ws, pairs)
    assert abs(got - (0.5 * whole + 0.5 * np.mean(gains))) < 1e-12
    assert validation_score(policy, irt, es.models, es, emb, NAMES, ws, []) == whole
    # A pair's gain is measured against that pair's own hull: the straight line from the cheaper
    # model's point to the dearer one's, whose mean height is their mean quality when the dearer is better.
    i, j = pairs[0]
    sub = restrict(es.test, [i, j])
    q, c = sub.quality.mean(axis=0), sub.cost.mean(axis=0)
    if (q[np.argmax(c)] > q[np.argmin(c)]):
        assert abs(hull_aiq(single_pool(sub.table.models, sub.cost, sub.quality)) - q.mean()) < 1e-9
