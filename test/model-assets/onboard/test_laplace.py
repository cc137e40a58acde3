"""Laplace posterior: stationarity, agreement with a generic optimiser, covariance, recovery."""
from __future__ import annotations

import doctest

import numpy as np
import pytest
from scipy.optimize import minimize

from trainer.onboard import laplace
from trainer.onboard.design import sigmoid
from trainer.onboard.laplace import laplace_posterior, neg_log_posterior

from .synthetic import draw_outcomes, synthetic_bank


def test_doctests() -> None:
    assert doctest.testmod(laplace).failed == 0


def test_map_is_stationary_and_matches_scipy() -> None:
    a, c, mean, cov = synthetic_bank(n_items=30, seed=7)
    y = draw_outcomes(a, c, np.random.default_rng(8).multivariate_normal(mean, cov), np.random.default_rng(9))
    post = laplace_posterior(a, c, y, mean, cov)
    assert post.converged
    prec = np.linalg.inv(cov)
    grad = a.T @ (sigmoid(a @ post.mean - c) - y) + prec @ (post.mean - mean)
    assert np.max(np.abs(grad)) < 1e-6
    ref = minimize(neg_log_posterior, mean, args=(a, c, y, mean, prec), method="BFGS", options={"gtol": 1e-9})
    assert np.max(np.abs(ref.x - post.mean)) < 1e-4


def test_covariance_is_inverse_hessian_and_shrinks_with_items() -> None:
    a, c, mean, cov = synthetic_bank(n_items=200, seed=10)
    y = draw_outcomes(a, c, mean, np.random.default_rng(11))
    few = laplace_posterior(a[:10], c[:10], y[:10], mean, cov)
    many = laplace_posterior(a, c, y, mean, cov)
    p = sigmoid(a @ many.mean - c)
    hess = np.linalg.inv(cov) + (a * (p * (1 - p))[:, None]).T @ a
    assert np.allclose(many.cov @ hess, np.eye(len(mean)), atol=1e-8)
    assert np.all(many.std < few.std) and np.all(few.std <= np.sqrt(np.diag(cov)) + 1e-12)


def test_no_items_gives_the_prior() -> None:
    _, _, mean, cov = synthetic_bank(seed=12)
    post = laplace_posterior(np.zeros((0, len(mean))), np.zeros(0), np.zeros(0), mean, cov)
    assert np.allclose(post.mean, mean) and np.allclose(post.cov, cov)


def test_recovers_true_identity_from_many_items() -> None:
    a, c, mean, cov = synthetic_bank(n_items=4000, seed=13)
    theta = np.random.default_rng(14).multivariate_normal(mean, cov)
    y = draw_outcomes(a, c, theta, np.random.default_rng(15))
    post = laplace_posterior(a, c, y, mean, cov)
    z = (post.mean - theta) / post.std
    assert np.max(np.abs(post.mean - theta)) < 0.25
    assert np.max(np.abs(z)) < 4.0  # the uncertainty is honest


def test_all_correct_stays_finite_and_fractional_outcomes_work() -> None:
    a, c, mean, cov = synthetic_bank(n_items=20, seed=16)
    post = laplace_posterior(a, c, np.ones(20), mean, cov)
    assert post.converged and np.isfinite(post.mean).all()
    half = laplace_posterior(a, c, np.full(20, 0.5), mean, cov)
    assert half.converged


def test_rejects_bad_outcomes() -> None:
    a, c, mean, cov = synthetic_bank(n_items=3, seed=17)
    with pytest.raises(ValueError):
        laplace_posterior(a, c, np.array([0.0, 2.0, 1.0]), mean, cov)
    with pytest.raises(ValueError):
        laplace_posterior(a, c, np.array([0.0, 1.0]), mean, cov)
