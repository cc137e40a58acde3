"""Strong/weak pairs: which pairs, random mixing, and the (cost, quality) curve of a threshold."""
from __future__ import annotations

import numpy as np

from .metrics import Point, apgr, threshold_curve

#: RouteLLM's own pair, used where both models are in the pool.
ROUTELLM_PAIR = ("gpt-4-1106-preview", "Mixtral-8x7B-Instruct-v0.1")


def best_and_cheapest(train_quality: np.ndarray, train_cost: np.ndarray) -> tuple[int, int]:
    """(strong, weak): the best-quality and the cheapest model of the pool on the train split.

    @example
        >>> best_and_cheapest(np.array([[1.0, 0.0, 0.5]]), np.array([[3.0, 1.0, 2.0]]))
        (0, 1)
    """
    q, c = train_quality.mean(axis=0), train_cost.mean(axis=0)
    strong = int(np.lexsort((c, -q))[0])
    weak = int(np.lexsort((-q, c))[0])
    return strong, weak


def random_mix(cost: np.ndarray, quality: np.ndarray, strong: int, weak: int, steps: int = 101) -> list[Point]:
    """Points of sending a random fraction f of prompts to the strong model, f in [0, 1].

    @example
        >>> random_mix(np.array([[1.0, 3.0]]), np.array([[0.0, 1.0]]), 1, 0, steps=3)
        [(1.0, 0.0), (2.0, 0.5), (3.0, 1.0)]
    """
    cs, cw = cost[:, strong].mean(), cost[:, weak].mean()
    qs, qw = quality[:, strong].mean(), quality[:, weak].mean()
    return [(float(cw + f * (cs - cw)), float(qw + f * (qs - qw))) for f in np.linspace(0, 1, steps)]


def threshold_points(scores: np.ndarray, cost: np.ndarray, quality: np.ndarray, strong: int,
                     weak: int) -> tuple[list[Point], float]:
    """(cost, quality) at every threshold of a binary router's scores, and its APGR.

    @example
        >>> pts, a = threshold_points(np.array([1.0, 0.0]), np.array([[1.0, 3.0], [1.0, 3.0]]),
        ...                           np.array([[0.0, 1.0], [1.0, 1.0]]), 1, 0)
        >>> pts, a
        ([(1.0, 0.5), (2.0, 1.0), (3.0, 1.0)], 0.75)
    """
    f, q = threshold_curve(scores, quality[:, strong], quality[:, weak])
    _, c = threshold_curve(scores, cost[:, strong], cost[:, weak])
    qs, qw = float(quality[:, strong].mean()), float(quality[:, weak].mean())
    score = apgr(f, q, qw, qs) if abs(qs - qw) > 1e-12 else float("nan")
    return [(float(x), float(y)) for x, y in zip(c, q)], score


def choice_points(strong_mask: np.ndarray, cost: np.ndarray, quality: np.ndarray, strong: int,
                  weak: int) -> tuple[list[Point], float]:
    """Points and APGR of a binary router given as [settings, P] masks (True = strong model).

    @example
        >>> m = np.array([[False, False], [True, False], [True, True]])
        >>> choice_points(m, np.array([[1.0, 3.0], [1.0, 3.0]]), np.array([[0.0, 1.0], [1.0, 1.0]]), 1, 0)
        ([(1.0, 0.5), (2.0, 1.0), (3.0, 1.0)], 0.75)
    """
    m = np.asarray(strong_mask, bool)
    q = np.where(m, quality[None, :, strong], quality[None, :, weak]).mean(axis=1)
    c = np.where(m, cost[None, :, strong], cost[None, :, weak]).mean(axis=1)
    f = m.mean(axis=1)
    qs, qw = float(quality[:, strong].mean()), float(quality[:, weak].mean())
    score = apgr(f, q, qw, qs) if abs(qs - qw) > 1e-12 else float("nan")
    return [(float(x), float(y)) for x, y in zip(c, q)], score
