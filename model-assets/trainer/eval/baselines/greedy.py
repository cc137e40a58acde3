"""The decision rule shared by IRT-greedy, kNN and the category router.

Pick, per prompt, the model that maximises ``w * predicted_quality - (1 - w) * cost_norm``; ties go
to the cheaper model (as in the worker).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from ..metrics import Point, choice_point

#: The preference grid every w-driven router is swept over (101 settings, 0 and 1 included).
W_GRID = np.linspace(0.0, 1.0, 101)


def greedy_choices(pred: np.ndarray, cost_norm: np.ndarray, w: float) -> np.ndarray:
    """Index of the chosen model per prompt at preference ``w``.

    @example
        >>> greedy_choices(np.array([[0.5, 0.9]]), np.array([[0.0, 1.0]]), 1.0).tolist()
        [1]
        >>> greedy_choices(np.array([[0.5, 0.9]]), np.array([[0.0, 1.0]]), 0.5).tolist()
        [0]
    """
    utility = w * pred - (1.0 - w) * cost_norm
    # Ties (within float noise) go to the cheaper candidate.
    utility = utility - 1e-9 * cost_norm
    return np.argmax(utility, axis=1)


def greedy_curve(pred: np.ndarray, cost_norm: np.ndarray, cost: np.ndarray, quality: np.ndarray,
                 ws: Sequence[float] = W_GRID) -> list[Point]:
    """(mean cost, mean quality) of the greedy rule at every ``w``.

    @example
        >>> greedy_curve(np.array([[0.5, 0.9]]), np.array([[0.0, 1.0]]), np.array([[1.0, 3.0]]),
        ...              np.array([[0.0, 1.0]]), ws=[0.0, 1.0])
        [(1.0, 0.0), (3.0, 1.0)]
    """
    return [choice_point(greedy_choices(pred, cost_norm, float(w)), cost, quality) for w in ws]
