"""Baseline routers on small planted problems where the right answer is known."""
import doctest
import importlib

import numpy as np
import pytest

from trainer.eval.baselines import category, knn, mf, sw_ranking
from trainer.scoring import binary, evalset, greedy


@pytest.mark.parametrize("module", ["scoring.greedy", "eval.baselines.knn", "eval.baselines.category",
                                    "eval.baselines.mf",
                                    "eval.baselines.sw_ranking", "scoring.binary"])
def test_docstring_examples_hold(module):
    failures, _ = doctest.testmod(importlib.import_module(f"trainer.{module}"))
    assert failures == 0


def test_evalset_docstrings_hold():
    assert doctest.testmod(evalset)[0] == 0


def planted(n: int, seed: int = 0):
    """Two prompt clusters: model 0 (cheap) solves cluster A only, model 1 (dear) solves both."""
    rng = np.random.default_rng(seed)
    cluster = rng.integers(0, 2, n)
    emb = np.stack([cluster == 0, cluster == 1], axis=1).astype(float) + 0.05 * rng.normal(size=(n, 2))
    quality = np.stack([(cluster == 0).astype(float), np.ones(n)], axis=1)
    return emb, quality, cluster


def test_knn_and_greedy_route_each_cluster_to_the_cheapest_solver():
    emb, q, cluster = planted(400)
    pred = knn.knn_predict(emb[:300], q[:300], emb[300:], k=10)
    choice = greedy.greedy_choices(pred, np.tile([0.0, 1.0], (100, 1)), w=0.7)
    assert (choice == cluster[300:]).all()


def test_category_predicts_per_category_means():
    _, q, cluster = planted(200)
    cats = np.where(cluster == 0, "a", "b").tolist()
    pred = category.category_predict(cats[:150], q[:150], cats[150:])
    assert np.allclose(pred[:, 0], (cluster[150:] == 0).astype(float))


def test_sw_ranking_and_mf_score_the_hard_cluster_higher_and_beat_random():
    emb, q, cluster = planted(1200, seed=1)
    tr, te = slice(0, 1000), slice(1000, None)
    sw = sw_ranking.sw_scores(emb[tr], q[tr, 1], q[tr, 0], emb[te])
    model = mf.train_mf(emb[tr], q[tr], dim=8, epochs=20, batch=128, lr=1e-2)
    mfs = mf.win_rate(model, emb[te], strong=1, weak=0)
    cost = np.tile([1.0, 5.0], (200, 1))
    for scores in (sw, mfs):
        assert scores[cluster[te] == 1].min() > scores[cluster[te] == 0].max()
        _, apgr = binary.threshold_points(scores, cost, q[te], strong=1, weak=0)
        assert apgr > 0.7  # random is 0.5; perfect here is 1 - P(cluster 1) / 2


def test_best_and_cheapest_pair_and_random_mix_line():
    q = np.array([[0.2, 0.9, 0.5]])
    c = np.array([[1.0, 4.0, 2.0]])
    assert binary.best_and_cheapest(q, c) == (1, 0)
    pts = binary.random_mix(c, q, 1, 0, steps=5)
    assert pts[0] == (1.0, pytest.approx(0.2)) and pts[-1] == (4.0, pytest.approx(0.9))


def test_fill_missing_keeps_single_model_means():
    y = np.array([[1.0, np.nan], [0.0, 1.0], [1.0, 0.0]])
    filled = evalset.fill_missing(y)
    assert np.allclose(filled.mean(axis=0), np.nanmean(y, axis=0))


def test_baselines_learn_from_recorded_outcomes_only():
    # Model 1 solves cluster a, fails the fifth of cluster b it was graded on, and has no outcome on
    # the rest of b: filled with its mean, b would look half solved; recorded, it is never solved.
    emb, _, cluster = planted(500, seed=2)
    q = np.stack([np.full(500, 0.5), (cluster == 0).astype(float)], axis=1)
    graded_b = (cluster == 1) & (np.arange(500) % 5 == 0)
    q[(cluster == 1) & ~graded_b, 1] = np.nan
    cats = np.where(cluster == 0, "a", "b")
    b = cluster[400:] == 1
    assert np.allclose(category.category_predict(cats[:400], q[:400], cats[400:])[b, 1], 0.0)
    assert np.allclose(knn.knn_predict(emb[:400], q[:400], emb[400:], k=20)[b, 1], 0.0)  # its k nearest graded
    assert evalset.fill_missing(q[:400])[cluster[:400] == 1, 1].mean() > 0.5  # what the fill would teach
    sw = sw_ranking.sw_scores(emb[:400], q[:400, 1], q[:400, 0], emb[400:])
    filled = sw_ranking.sw_scores(emb[:400], *evalset.fill_missing(q[:400])[:, [1, 0]].T, emb[400:])
    assert sw[b].max() < 0.5 < sw[~b].min() and sw[b].max() < filled[b].min()
    rows, _, _ = mf.battles(q[:400])
    assert not np.isnan(q[rows, 1]).any()
    # No recorded outcome at all in a category: the model's overall recorded mean.
    none_b = q[:400].copy()
    none_b[cluster[:400] == 1, 1] = np.nan
    assert np.allclose(category.category_predict(cats[:400], none_b, cats[400:])[b, 1], 1.0)
