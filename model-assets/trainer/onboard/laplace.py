"""Posterior of a new model's identity from its quiz outcomes, IRT head frozen (Laplace).

Negative log posterior with the population prior N(m, S) and outcomes y_j in [0, 1]
(1 = correct; fractional grades are allowed):

    L(theta) = -sum_j [y_j log p_j + (1 - y_j) log(1 - p_j)] + 1/2 (theta - m)^T S^-1 (theta - m)

It is convex, so damped Newton reaches the MAP; the Laplace covariance is the inverse Hessian
``(S^-1 + sum_j p_j (1 - p_j) a_j a_j^T)^-1`` there. The worker's twin is
``worker/onboarding/laplace.ts`` (same steps, same stopping rule).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def sigmoid(x: np.ndarray) -> np.ndarray:
    """Numerically safe logistic function."""
    return 0.5 * (1.0 + np.tanh(0.5 * x))


@dataclass
class Posterior:
    """Gaussian posterior of one identity."""

    mean: np.ndarray
    cov: np.ndarray
    iterations: int
    converged: bool
    n_items: int

    @property
    def std(self) -> np.ndarray:
        """Marginal posterior standard deviations."""
        return np.sqrt(np.diag(self.cov))


def _softplus(x: np.ndarray) -> np.ndarray:
    return np.logaddexp(0.0, x)


def neg_log_posterior(theta: np.ndarray, a: np.ndarray, c: np.ndarray, y: np.ndarray, mean: np.ndarray,
                      prec: np.ndarray) -> float:
    """``L(theta)`` above (up to a constant)."""
    u = a @ theta - c
    # -[y log s(u) + (1-y) log(1-s(u))] = softplus(u) - y u
    nll = float(np.sum(_softplus(u) - y * u))
    r = theta - mean
    return nll + 0.5 * float(r @ prec @ r)


def laplace_posterior(
    a: np.ndarray,
    c: np.ndarray,
    y: np.ndarray,
    prior_mean: np.ndarray,
    prior_cov: np.ndarray,
    *,
    max_iter: int = 100,
    tol: float = 1e-14,
) -> Posterior:
    """MAP by damped Newton from the prior mean, then the Laplace covariance.

    Stops when the Newton decrement ``g^T H^-1 g / 2`` falls below ``tol``.

    Example:
        >>> post = laplace_posterior(np.ones((4, 1)), np.zeros(4), np.array([1, 1, 1, 0.0]), np.zeros(1), np.eye(1))
        >>> bool(post.mean[0] > 0) and post.converged
        True
    """
    a = np.asarray(a, np.float64)
    c = np.asarray(c, np.float64).reshape(-1)
    y = np.asarray(y, np.float64).reshape(-1)
    if a.shape[0] != y.shape[0] or c.shape[0] != y.shape[0]:
        raise ValueError("a, c and y must have one row per quiz item")
    if np.any((y < 0) | (y > 1)) or not np.isfinite(y).all():
        raise ValueError("outcomes must lie in [0, 1]")
    mean = np.asarray(prior_mean, np.float64)
    prec = np.linalg.inv(np.asarray(prior_cov, np.float64))
    prec = 0.5 * (prec + prec.T)
    theta = mean.copy()
    loss = neg_log_posterior(theta, a, c, y, mean, prec)
    converged = False
    it = 0
    for it in range(1, max_iter + 1):
        p = sigmoid(a @ theta - c)
        grad = a.T @ (p - y) + prec @ (theta - mean)
        hess = prec + (a * (p * (1.0 - p))[:, None]).T @ a
        chol = np.linalg.cholesky(hess)
        step = np.linalg.solve(chol.T, np.linalg.solve(chol, grad))
        decrement = 0.5 * float(grad @ step)
        if decrement < tol:
            converged = True
            break
        t = 1.0
        while True:  # backtracking (Armijo); L is convex so this terminates
            cand = theta - t * step
            cand_loss = neg_log_posterior(cand, a, c, y, mean, prec)
            if cand_loss <= loss - 0.25 * t * float(grad @ step) or t < 1e-10:
                break
            t *= 0.5
        theta, loss = cand, cand_loss
    p = sigmoid(a @ theta - c)
    hess = prec + (a * (p * (1.0 - p))[:, None]).T @ a
    cov = np.linalg.inv(hess)
    return Posterior(mean=theta, cov=0.5 * (cov + cov.T), iterations=it, converged=converged, n_items=int(y.shape[0]))
