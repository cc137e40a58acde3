"""Paired bootstrap (trainer/scoring/bootstrap.py): every router and the hull see the same prompt
resample, so identical routers give identical replicates and a router's replicate is its AIQ on
that resample."""
from __future__ import annotations

import numpy as np

from trainer.scoring import metrics as M
from trainer.scoring.bootstrap import bootstrap_aiqs, interval


def _data(p: int = 120, k: int = 3, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    cost = np.tile(np.array([1.0, 3.0, 9.0])[:k], (p, 1)) * rng.uniform(0.8, 1.2, size=(p, k))
    quality = (rng.random((p, k)) < np.array([0.4, 0.6, 0.8])[:k]).astype(float)
    return cost, quality


def test_replicates_are_paired_and_are_the_aiq_of_the_resample() -> None:
    cost, quality = _data()
    names = ["a", "b", "c"]
    w = 4
    rng = np.random.default_rng(1)
    mixed = rng.integers(0, 3, size=(w, len(cost)))
    oracle = np.tile(M.oracle_choice(cost, quality), (w, 1))
    hull, aiq = bootstrap_aiqs({"mixed": mixed, "same": mixed.copy(), "oracle": oracle}, cost, quality, names,
                               n_boot=25, seed=3)
    assert hull.shape == (25,) and np.array_equal(aiq["mixed"], aiq["same"])
    assert (aiq["oracle"] > aiq["mixed"]).all()   # the bound beats a random router on every resample
    # Replicate 0 is the plain AIQ on the resample the same seed draws first.
    idx = np.random.default_rng(3).integers(0, len(cost), len(cost))
    pool = M.single_pool(names, cost[idx], quality[idx])
    assert hull[0] == M.hull_aiq(pool)
    assert aiq["mixed"][0] == M.aiq([M.choice_point(r[idx], cost[idx], quality[idx]) for r in mixed], pool)
    assert len(set(np.round(hull, 12))) > 1   # resamples differ


def test_interval_ignores_non_finite_replicates() -> None:
    lo, hi = interval(np.array([np.nan, np.inf, *np.linspace(0, 1, 101)]), 0.8)
    assert np.isclose(lo, 0.1) and np.isclose(hi, 0.9)
