"""The decision rules of the predict-then-pick routers (IRT-greedy, kNN, per-category).

- ``greedy_*``: per prompt, the model maximising ``w * predicted_quality - (1 - w) * cost_norm``
  (the contract's per-prompt log min-max cost, the trade-off the policy is trained on);
- ``lambda_*``: per prompt, the model maximising ``predicted_quality - lam * expected_cost_usd``
  with one price ``lam`` for all prompts. For calibrated predictions this Lagrangian rule traces the
  best mean-cost/mean-quality frontier those predictions allow, so baselines use it as their knob.

Ties go to the cheaper model (as in the worker).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from .metrics import Point, choice_point

#: The preference grid every w-driven router is swept over: steps of 0.01 from 0 to 1, plus 10
#: log-spaced settings a decade in [1e-4, 0.1] and in [0.9, 1 - 1e-4]. A reward linear in dollars
#: makes the choice between the cheapest models turn at w of 1e-3 to 1e-2 (and between the dearest
#: near 1); steps of 0.01 alone left the frontier interpolated across half of the quality range
#: that "savings at matched quality" averages over (the lambda-swept baselines' grid spans 8
#: decades of price at 20 a decade). Increasing, 0 and 1 included.
_TAIL = np.geomspace(1e-4, 0.1, 31)
W_GRID = np.unique(np.round(np.concatenate([np.linspace(0.0, 1.0, 101), _TAIL, 1.0 - _TAIL]), 8))


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


def lambda_grid(expected_cost: np.ndarray, n: int = 161) -> np.ndarray:
    """Prices (quality per USD): 0, then log-spaced over 8 decades around 1 / median expected cost
    of the models that are not free (1 USD where every one is).

    @example
        >>> g = lambda_grid(np.array([[1.0, 1.0]]), n=3)
        >>> g.round(4).tolist()
        [0.0, 0.0001, 1.0, 10000.0]
        >>> lambda_grid(np.array([[0.0, 0.0, 2.0]]), n=3).round(4).tolist()
        [0.0, 0.0, 0.5, 5000.0]
    """
    paid = np.asarray(expected_cost, np.float64)
    paid = paid[paid > 0]
    scale = 1.0 / float(np.median(paid)) if paid.size else 1.0
    return np.concatenate([[0.0], scale * np.logspace(-4, 4, n)])


def lambda_curve(pred: np.ndarray, expected_cost: np.ndarray, cost: np.ndarray, quality: np.ndarray,
                 lambdas: Sequence[float] | None = None) -> list[Point]:
    """(mean cost, mean quality) of ``argmax pred - lam * expected_cost`` for every price ``lam``.

    @example
        >>> lambda_curve(np.array([[0.5, 0.9]]), np.array([[1.0, 3.0]]), np.array([[1.0, 3.0]]),
        ...              np.array([[0.0, 1.0]]), lambdas=[0.0, 1.0])
        [(3.0, 1.0), (1.0, 0.0)]
    """
    grid = lambda_grid(expected_cost) if lambdas is None else lambdas
    ec = np.asarray(expected_cost, np.float64)
    rank = ec / ec.max()
    out = []
    for lam in grid:
        utility = pred - float(lam) * ec - 1e-9 * rank
        out.append(choice_point(np.argmax(utility, axis=1), cost, quality))
    return out
