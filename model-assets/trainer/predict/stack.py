"""How the IRT's and the neighbours' estimates combine: one logistic regression on the train
prompts' out-of-sample estimates.

``logit p = bias_k + slope_irt * logit(p_irt) + slope_nb * logit(p_nb)``: two slopes shared by every
model (how far each source is to be trusted on this bundle's data) and a bias per model (its
calibration). Fitted on estimates the train prompts get from cross-fit IRT heads and a leave-one-out
neighbour index, i.e. as a live prompt would get them, so the slopes learn how much per-prompt signal
each source really carries: on data where the IRT head transfers poorly its slope falls toward 0 and
the neighbours carry the prediction, and where neither knows a prompt the bias leaves the model's
mean. The biases are pulled toward 0 (``bias_l2``) so a model with few outcomes keeps the sources'
own calibration. Slopes are never negative: both sources estimate the same success, and a negative
slope (fitted on small data where the two are nearly collinear: -0.15 for the IRT on RouteLLM's
GSM8K pair, whose train split has 1,055 prompts) would make the layer read a higher estimate as a
lower one; a source whose free slope comes out negative is dropped (slope 0) and the rest refitted.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

EPS = 1e-6


def logit(p: np.ndarray) -> np.ndarray:
    """``log(p / (1 - p))`` with p clipped to [1e-6, 1 - 1e-6] (the worker clips the same way).

    @example
        >>> logit(np.array([0.5, 1.0])).round(3).tolist()
        [0.0, 13.816]
    """
    q = np.clip(np.asarray(p, np.float64), EPS, 1 - EPS)
    return np.log(q) - np.log1p(-q)


def sigmoid(x: np.ndarray) -> np.ndarray:
    """The logistic function.

    @example
        >>> sigmoid(np.array([0.0])).tolist()
        [0.5]
    """
    return 1.0 / (1.0 + np.exp(-np.asarray(x, np.float64)))


@dataclass
class Stack:
    """Shared slopes and per-model biases (see module docs)."""

    slope_irt: float = 1.0
    slope_nb: float = 0.0
    bias: np.ndarray = field(default_factory=lambda: np.zeros(0))   # [M]

    def combine(self, p_irt: np.ndarray, p_nb: np.ndarray, columns: np.ndarray) -> np.ndarray:
        """``p_success`` [B, K] of candidates with neighbour columns ``columns`` [K] (or [B, K]).

        @example
            p = stack.combine(p_irt, p_nb, np.array([0, 4]))
        """
        b = self.bias[np.asarray(columns, np.int64)]
        return sigmoid(b + self.slope_irt * logit(p_irt) + self.slope_nb * logit(p_nb))


def _fit(li: torch.Tensor, ln: torch.Tensor, t: torch.Tensor, col: torch.Tensor, m: int, free: tuple[bool, bool],
         bias_l2: float, irt_fixed: float | None = None) -> np.ndarray:
    """[slope_irt, slope_nb, bias_0..bias_m-1] by LBFGS; a slope not ``free`` stays 0, or, for the
    IRT's, at ``irt_fixed`` when given."""
    params = torch.zeros(2 + m, dtype=torch.float64)
    params[0] = 1.0 if free[0] else 0.0
    params[1] = 0.5 if irt_fixed is not None and free[1] else 0.0
    keep = torch.tensor([float(free[0]), float(free[1])] + [1.0] * m, dtype=torch.float64)
    params.requires_grad_(True)
    opt = torch.optim.LBFGS([params], lr=1.0, max_iter=200, tolerance_grad=1e-9, tolerance_change=1e-12,
                            line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        opt.zero_grad()
        q = params * keep
        irt = q[0] if irt_fixed is None else irt_fixed
        z = q[2 + col] + irt * li + q[1] * ln
        loss = torch.nn.functional.binary_cross_entropy_with_logits(z, t) + bias_l2 * (q[2:] ** 2).sum() / m
        loss.backward()
        return loss

    opt.step(closure)
    out = (params * keep).detach().numpy()
    if irt_fixed is not None:
        out[0] = irt_fixed
    return out


def _observed(p_irt: np.ndarray, p_nb: np.ndarray, outcomes: np.ndarray):
    """The fit's tensors over the observed entries: (logit p_irt, logit p_nb, outcome, column, models)."""
    y = np.asarray(outcomes, np.float64)
    rows, cols = np.nonzero(~np.isnan(y))
    f = lambda a: torch.from_numpy(np.ascontiguousarray(a, dtype=np.float64))  # noqa: E731
    li, ln, t = f(logit(p_irt)[rows, cols]), f(logit(p_nb)[rows, cols]), f(y[rows, cols])
    return li, ln, t, torch.from_numpy(cols.astype(np.int64)), y.shape[1]


def fit_stack(p_irt: np.ndarray, p_nb: np.ndarray, outcomes: np.ndarray, bias_l2: float = 1e-3,
              log=lambda s: None) -> Stack:
    """Maximum likelihood (soft labels, observed entries only) of the slopes and biases, slopes at
    least 0 (module docs).

    ``p_irt``, ``p_nb``, ``outcomes``: [N, M] over the same train prompts and models, NaN where a
    model has no outcome. ``bias_l2``: penalty on the biases, per observation.

    @example
        stack = fit_stack(p_irt_oof, p_nb_loo, train_outcomes)
    """
    li, ln, t, col, m = _observed(p_irt, p_nb, outcomes)
    free = [True, True]
    p = _fit(li, ln, t, col, m, (True, True), bias_l2)
    # The other slope can come out negative once one source is dropped (on a folder where most
    # prompts are ties the IRT's did, at -0.27), so drop until none is: at worst both, the level.
    while any(free[k] and p[k] < 0 for k in (0, 1)):
        k = min((k for k in (0, 1) if free[k]), key=lambda k: p[k])
        log(f"[stack] the {('irt', 'neighbours')[k]} slope came out {p[k]:.3f} < 0: that source is dropped and "
            "the rest refitted")
        free[k] = False
        p = _fit(li, ln, t, col, m, (free[0], free[1]), bias_l2)
    stack = Stack(slope_irt=float(p[0]), slope_nb=float(p[1]), bias=p[2:].copy())
    log(f"[stack] slopes: irt {stack.slope_irt:.3f}, neighbours {stack.slope_nb:.3f}; "
        f"bias mean {stack.bias.mean():+.3f}, range [{stack.bias.min():+.3f}, {stack.bias.max():+.3f}] over {m} models")
    return stack


def refit_with_irt_slope(p_irt: np.ndarray, p_nb: np.ndarray, outcomes: np.ndarray, slope_irt: float,
                         bias_l2: float = 1e-3) -> Stack:
    """The stack with the IRT's slope held at ``slope_irt`` and the neighbours' slope (at least 0)
    and the biases fitted by maximum likelihood, as in :func:`fit_stack` (same inputs).

    @example
        flatter = refit_with_irt_slope(p_irt_oof, p_nb_loo, train_outcomes, 0.5 * stack.slope_irt)
    """
    li, ln, t, col, m = _observed(p_irt, p_nb, outcomes)
    p = _fit(li, ln, t, col, m, (False, True), bias_l2, irt_fixed=float(slope_irt))
    if p[1] < 0:
        p = _fit(li, ln, t, col, m, (False, False), bias_l2, irt_fixed=float(slope_irt))
    return Stack(slope_irt=float(p[0]), slope_nb=float(p[1]), bias=p[2:].copy())


def level_stack(p_irt: np.ndarray, p_nb: np.ndarray, outcomes: np.ndarray, bias_l2: float = 1e-3) -> Stack:
    """Both slopes 0 and the biases fitted as in :func:`fit_stack`: every prompt gets each model's
    mean success, so the price rule routes one model per price (the single-model hull's own
    strategy). The stack to fall back to where the per-prompt estimates route worse than none.

    @example
        flat = level_stack(p_irt_oof, p_nb_loo, train_outcomes)   # flat.slope_irt == flat.slope_nb == 0
    """
    li, ln, t, col, m = _observed(p_irt, p_nb, outcomes)
    p = _fit(li, ln, t, col, m, (False, False), bias_l2)
    return Stack(slope_irt=0.0, slope_nb=0.0, bias=p[2:].copy())
