"""Quiz selection: quadrature, expected information, greedy D-optimal design vs brute force and random."""
from __future__ import annotations

import doctest

import numpy as np
import pytest

from trainer.onboard import design
from trainer.onboard.design import expected_item_weights, quadrature, random_quiz, select_quiz
from trainer.onboard.laplace import laplace_posterior

from .synthetic import draw_outcomes, synthetic_bank


def test_doctests() -> None:
    assert doctest.testmod(design).failed == 0


def test_quadrature_matches_normal_moments() -> None:
    z, w = quadrature()
    assert abs(w.sum() - 1.0) < 1e-12
    assert abs((w * z).sum()) < 1e-12
    assert abs((w * z**2).sum() - 1.0) < 1e-6
    assert abs((w * z**4).sum() - 3.0) < 1e-4


def test_expected_weights_match_monte_carlo() -> None:
    a, c, mean, cov = synthetic_bank(n_items=50, seed=1)
    rng = np.random.default_rng(2)
    thetas = rng.multivariate_normal(mean, cov, size=200_000)
    p = 1.0 / (1.0 + np.exp(-(thetas @ a.T - c)))
    mc = (p * (1 - p)).mean(axis=0)
    got = expected_item_weights(a, c, mean, cov)
    assert np.max(np.abs(got - mc)) < 3e-3
    # at the mean is an upper bound of the average (p(1-p) peaks at 1/4) only near u=0; just check range
    at_mean = expected_item_weights(a, c, mean, cov, expectation="mean")
    assert np.all((at_mean > 0) & (at_mean <= 0.25))


def _log_det_info(a: np.ndarray, w: np.ndarray, cov: np.ndarray, rows: list[int]) -> float:
    m = np.linalg.inv(cov) + sum(w[j] * np.outer(a[j], a[j]) for j in rows)
    return float(np.linalg.slogdet(m)[1] - np.linalg.slogdet(np.linalg.inv(cov))[1])


def test_greedy_step_is_the_best_single_addition_and_gains_add_up() -> None:
    a, c, mean, cov = synthetic_bank(n_items=120, seed=3)
    w = expected_item_weights(a, c, mean, cov)
    quiz = select_quiz(a, c, mean, cov, 8)
    rows = quiz.rows.tolist()
    assert len(set(rows)) == 8
    for k in range(8):
        chosen = rows[:k]
        brute = max(
            (j for j in range(len(a)) if j not in chosen),
            key=lambda j: _log_det_info(a, w, cov, chosen + [j]),
        )
        assert brute == rows[k]
    assert abs(quiz.log_det_gain - _log_det_info(a, w, cov, rows)) < 1e-9


def test_selection_is_deterministic_and_respects_exclude() -> None:
    a, c, mean, cov = synthetic_bank(seed=4)
    q1 = select_quiz(a, c, mean, cov, 20).rows
    q2 = select_quiz(a, c, mean, cov, 20).rows
    assert q1.tolist() == q2.tolist()
    q3 = select_quiz(a, c, mean, cov, 20, exclude=q1[:5]).rows
    assert not set(q3.tolist()) & set(q1[:5].tolist())


def test_d_optimal_beats_random_on_information_and_on_recovery() -> None:
    a, c, mean, cov = synthetic_bank(n_items=600, seed=5)
    w = expected_item_weights(a, c, mean, cov)
    n = 15
    opt = select_quiz(a, c, mean, cov, n).rows
    rand = [random_quiz(len(a), n, seed=s) for s in range(20)]
    assert _log_det_info(a, w, cov, opt.tolist()) > max(_log_det_info(a, w, cov, r.tolist()) for r in rand)

    rng = np.random.default_rng(6)
    err_opt, err_rand = [], []
    for _ in range(60):
        theta = rng.multivariate_normal(mean, cov)
        y = draw_outcomes(a, c, theta, rng)
        err_opt.append(np.sum((laplace_posterior(a[opt], c[opt], y[opt], mean, cov).mean - theta) ** 2))
        r = rand[len(err_rand) % len(rand)]
        err_rand.append(np.sum((laplace_posterior(a[r], c[r], y[r], mean, cov).mean - theta) ** 2))
    assert np.mean(err_opt) < 0.9 * np.mean(err_rand)


def test_i_optimal_greedy_step_minimises_average_predictive_variance() -> None:
    a, c, mean, cov = synthetic_bank(n_items=80, seed=21)
    w = expected_item_weights(a, c, mean, cov)
    q = (a * w[:, None]).T @ a / len(a)

    def avg_var(rows: list[int]) -> float:
        m = np.linalg.inv(cov) + sum(w[j] * np.outer(a[j], a[j]) for j in rows)
        return float(np.trace(q @ np.linalg.inv(m)))

    quiz = select_quiz(a, c, mean, cov, 6, criterion="i-optimal")
    rows = quiz.rows.tolist()
    for k in range(6):
        chosen = rows[:k]
        brute = min((j for j in range(len(a)) if j not in chosen), key=lambda j: avg_var(chosen + [j]))
        assert brute == rows[k]
        assert abs(quiz.gains[k] - (avg_var(chosen) - avg_var(chosen + [rows[k]]))) < 1e-9
    with pytest.raises(ValueError):
        select_quiz(a, c, mean, cov, 3, criterion="a-optimal")


def test_adaptive_quiz_reaims_at_the_posterior() -> None:
    from trainer.onboard.design import adaptive_quiz, next_item

    a, c, mean, cov = synthetic_bank(n_items=150, seed=31)
    # no answers yet: the first adaptive item is the static design's first item
    for crit in ("d-optimal", "i-optimal"):
        first = next_item(a, c, mean, cov, np.zeros(0, np.int64), np.zeros(0), criterion=crit)
        assert first == select_quiz(a, c, mean, cov, 1, criterion=crit).rows[0]
    theta = mean + 3 * np.sqrt(np.diag(cov))  # a model far from the population
    y = draw_outcomes(a, c, theta, np.random.default_rng(32))
    rows, ys = adaptive_quiz(a, c, mean, cov, 12, lambda r: y[r], exclude=np.array([0, 1]))
    assert len(set(rows.tolist())) == 12 and not {0, 1} & set(rows.tolist())
    assert np.array_equal(ys, y[rows])
    short, _ = adaptive_quiz(a, c, mean, cov, 5, lambda r: y[r], exclude=np.array([0, 1]))
    assert short.tolist() == rows[:5].tolist()  # prefix-consistent
    # each step is the static greedy step from the posterior of the answers so far
    post = laplace_posterior(a[rows[:6]], c[rows[:6]], y[rows[:6]], mean, cov)
    want = select_quiz(a, c, post.mean, post.cov, 1, criterion="i-optimal",
                       exclude=np.concatenate([rows[:6], [0, 1]])).rows[0]
    assert rows[6] == want
