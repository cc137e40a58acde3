"""Paired bootstrap over test prompts for AIQ-based numbers.

Routers compared on the same test prompts differ by AIQ amounts far below the spread that a
different draw of prompts would give; what matters is how the *difference* (or a share of a gain)
moves when the prompts are resampled, the same resample for every router and for the single-model
hull that normalises AIQ. ``bootstrap_aiqs`` gives those paired replicates; callers form ratios or
differences per replicate and read percentiles with ``interval``.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from . import metrics as M


def bootstrap_aiqs(choices: Mapping[str, np.ndarray], cost: np.ndarray, quality: np.ndarray,
                   names: Sequence[str], n_boot: int = 200, seed: int = 0) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """``(hull [n_boot], {router: aiq [n_boot]})`` over prompt resamples (with replacement).

    ``choices[router]`` is ``[W, P]``: the model index each preference setting picks per test prompt;
    ``cost`` / ``quality`` are ``[P, K]``. Every router and the hull see the same resample.

    @example
        hull, aiq = bootstrap_aiqs({"quiz": ch_quiz, "full": ch_full}, te.cost, te.quality, es.models)
        share = (aiq["quiz"] - hull) / (aiq["full"] - hull)   # one gain share per resample
    """
    rng = np.random.default_rng(seed)
    p = cost.shape[0]
    hull = np.empty(n_boot)
    out = {k: np.empty(n_boot) for k in choices}
    for b in range(n_boot):
        idx = rng.integers(0, p, p)
        c, q = cost[idx], quality[idx]
        pool = M.single_pool(names, c, q)
        hull[b] = M.hull_aiq(pool)
        for k, ch in choices.items():
            out[k][b] = M.aiq([M.choice_point(row[idx], c, q) for row in ch], pool)
    return hull, out


def interval(values: np.ndarray, level: float = 0.9) -> list[float]:
    """Percentile interval ``[lo, hi]`` holding ``level`` of the finite replicates (ValueError if none).

    @example
        >>> interval(np.arange(101.0), 0.9)
        [5.0, 95.0]
    """
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    if v.size == 0:
        raise ValueError("no finite replicates")
    tail = round((1.0 - level) / 2.0, 12)   # 0.05, not 0.04999...
    return [float(np.quantile(v, tail)), float(np.quantile(v, 1.0 - tail))]
