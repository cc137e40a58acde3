"""Synthetic IRT banks for unit tests (no data needed): random a_j, c_j and identities."""
from __future__ import annotations

import numpy as np


def synthetic_bank(n_items: int = 400, dim: int = 6,
                   seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Returns ``a [J, d]``, ``c [J]``, prior mean ``[d]`` and prior covariance ``[d, d]``.

    Items are heterogeneous on purpose: a few are very discriminative along one direction, many are
    weak, and difficulties spread so some items are near-certain for the average model.
    """
    rng = np.random.default_rng(seed)
    scale = rng.gamma(1.5, 0.6, size=(n_items, 1))
    a = rng.normal(size=(n_items, dim)) * scale
    a[:, 0] = 1.0  # the constant component paired with a per-model bias
    c = rng.normal(0.0, 1.5, size=n_items)
    root = rng.normal(size=(dim, dim)) * 0.3
    cov = root @ root.T + 0.5 * np.eye(dim)
    mean = rng.normal(0.0, 0.3, size=dim)
    return a, c, mean, cov


def draw_outcomes(a: np.ndarray, c: np.ndarray, theta: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """0/1 outcomes of a model with identity ``theta``."""
    p = 1.0 / (1.0 + np.exp(-(a @ theta - c)))
    return (rng.random(p.shape) < p).astype(np.float64)
