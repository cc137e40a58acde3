"""Paired bootstrap over test prompts for AIQ-based numbers.

Routers compared on the same test prompts differ by AIQ amounts far below the spread that a
different draw of prompts would give; what matters is how the *difference* (or a share of a gain)
moves when the prompts are resampled, the same resample for every router and for the single-model
hull that normalises AIQ. ``bootstrap_aiqs`` gives those paired replicates; callers form ratios or
differences per replicate and read percentiles with ``interval``.
"""
from __future__ import annotations

from typing import Iterator, Mapping, Sequence

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
    hull = np.empty(n_boot)
    out = {k: np.empty(n_boot) for k in choices}
    for b, idx in enumerate(resamples(cost.shape[0], n_boot, seed)):
        c, q = cost[idx], quality[idx]
        pool = M.single_pool(names, c, q)
        hull[b] = M.hull_aiq(pool)
        for k, ch in choices.items():
            out[k][b] = M.aiq([M.choice_point(row[idx], c, q) for row in ch], pool)
    return hull, out


def resamples(n: int, n_boot: int, seed: int = 0) -> Iterator[np.ndarray]:
    """The prompt resamples (``n`` indices drawn with replacement, ``n_boot`` times) every function
    here uses: the same ``seed`` gives the same resamples, so their replicates pair up.

    @example
        >>> [r.tolist() for r in resamples(3, 2, seed=1)]
        [[1, 1, 2], [2, 0, 0]]
    """
    rng = np.random.default_rng(seed)
    for _ in range(n_boot):
        yield rng.integers(0, n, n)


def bootstrap_apgrs(routers: Mapping[str, tuple[str, np.ndarray]], cost: np.ndarray, quality: np.ndarray,
                    strong: int, weak: int, n_boot: int = 200, seed: int = 0) -> dict[str, np.ndarray]:
    """``{router: apgr [n_boot]}`` of binary routers on the pair (``strong``, ``weak``) over the
    resamples of :func:`bootstrap_aiqs` with the same ``seed``. A router is ``("scores", [P])``, a
    threshold router's score per prompt (every threshold, re-cut on each resample), or
    ``("choices", [W, P])``, True where it sends the prompt to the strong model.

    @example
        ap = bootstrap_apgrs({"policy": ("choices", mask), "sw": ("scores", sw)}, te.cost, te.quality, s, w)
        interval(ap["policy"] - ap["sw"])
    """
    from .binary import choice_points, threshold_points

    out = {k: np.empty(n_boot) for k in routers}
    for b, idx in enumerate(resamples(cost.shape[0], n_boot, seed)):
        c, q = cost[idx], quality[idx]
        for k, (kind, data) in routers.items():
            if kind == "scores":
                out[k][b] = threshold_points(np.asarray(data)[idx], c, q, strong, weak)[1]
            elif kind == "choices":
                out[k][b] = choice_points(np.asarray(data)[:, idx], c, q, strong, weak)[1]
            else:
                raise ValueError(f"router kind must be 'scores' or 'choices', not {kind!r}")
    return out


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
