"""RouteLLM's similarity-weighted (SW) ranking router, re-implemented for a strong/weak pair.

Every train prompt is a battle between the two models (win, loss or tie from their outcomes). For a
test prompt each battle is weighted by ``10 * 10 ** (sim / max sim)`` (RouteLLM's weighting of
cosine similarity) and the Bradley-Terry win probability of the strong model is fitted to the
weighted battles; with two models its maximum-likelihood value is the weighted win share, ties
counting half. RouteLLM fits Elo over all Arena models at once; restricted to the pair, the
strong-vs-weak estimate above is what its threshold acts on.
"""
from __future__ import annotations

import numpy as np

from .knn import normalise


def sw_scores(train_emb: np.ndarray, q_strong: np.ndarray, q_weak: np.ndarray, test_emb: np.ndarray,
              chunk: int = 1024) -> np.ndarray:
    """Weighted share of train battles the strong model wins (ties half), per test prompt; a train
    prompt where either outcome is missing (NaN) is no battle.

    @example
        >>> sw_scores(np.eye(2), np.array([1.0, 0.0]), np.array([0.0, 1.0]), np.array([[1.0, 0.0]])).round(3).tolist()
        [0.909]
    """
    fought = ~(np.isnan(q_strong) | np.isnan(q_weak))
    outcome = np.where(q_strong > q_weak, 1.0, np.where(q_strong < q_weak, 0.0, 0.5))[fought]
    a = normalise(np.asarray(train_emb)[fought])
    out = np.empty(len(test_emb))
    for s in range(0, len(test_emb), chunk):
        sims = normalise(test_emb[s:s + chunk]) @ a.T
        top = sims.max(axis=1, keepdims=True)
        weights = 10.0 * 10.0 ** (sims / np.where(np.abs(top) > 1e-12, top, 1.0))
        out[s:s + chunk] = (weights @ outcome) / weights.sum(axis=1)
    return out
