"""The bank prior: the population of models that answered a bank, shrunk toward the bundle's."""
from __future__ import annotations

import numpy as np
import pytest

from trainer.onboard.items import ItemBank
from trainer.onboard.prior import SHRINK, Prior, bank_prior, prior_from_models


def test_bank_prior_is_the_population_mean_and_a_shrunk_covariance() -> None:
    rng = np.random.default_rng(1)
    ids = rng.normal(2.0, 0.5, size=(20, 4))
    pop = 3.0 * np.eye(4)
    p = bank_prior(ids, pop, [f"m{i}" for i in range(20)], "test")
    assert np.allclose(p.mean, ids.mean(axis=0))
    assert np.allclose(p.cov, (1 - SHRINK) * np.cov(ids.T) + SHRINK * pop)
    np.linalg.cholesky(p.cov)
    assert p.models[0] == "m0" and p.source == "test"


def test_bank_prior_refuses_too_few_models_and_a_bad_shrink() -> None:
    with pytest.raises(ValueError, match="at least 3"):
        bank_prior(np.ones((2, 3)), np.eye(3))
    with pytest.raises(ValueError, match="shrink"):
        bank_prior(np.ones((5, 3)), np.eye(3), shrink=0.0)
    with pytest.raises(np.linalg.LinAlgError):   # identical identities and no population covariance left
        bank_prior(np.ones((5, 3)), np.zeros((3, 3)), shrink=1.0)


def test_prior_from_models_counts_an_alias_once_and_names_unknown_models() -> None:
    manifest = {"version": "v", "identity_dim": 2, "irt": {"prior": {"mean": [0, 0], "cov": [[1, 0], [0, 1]]}},
                "models": [{"name": "a", "aliases": ["a2"], "identity": [1.0, 0.0]},
                           {"name": "b", "identity": [3.0, 0.0]}, {"name": "c", "identity": [2.0, 3.0]}]}
    p = prior_from_models(manifest, ["a", "a2", "b", "c"])
    assert p.models == ["a", "b", "c"] and np.allclose(p.mean, [2.0, 1.0])
    with pytest.raises(ValueError, match="zzz"):
        prior_from_models(manifest, ["a", "b", "zzz"])
    with pytest.raises(ValueError, match="at least 3"):
        prior_from_models(manifest, ["a", "a2", "b"])


def test_a_bank_round_trips_its_prior_and_checks_its_dimension() -> None:
    prior = Prior(np.array([0.5, -1.0]), np.array([[2.0, 0.3], [0.3, 1.0]]), ["x", "y", "z"], "mmlu-pro bank")
    bank = ItemBank(ids=["q1", "q2"], a=np.eye(2), c=np.zeros(2), prior=prior)
    obj = bank.to_json()
    assert obj["prior"]["models"] == ["x", "y", "z"] and obj["prior"]["source"] == "mmlu-pro bank"
    back = ItemBank.from_json(obj)
    assert back.prior is not None
    assert np.allclose(back.prior.mean, prior.mean) and np.allclose(back.prior.cov, prior.cov)
    assert back.subset(np.array([1])).prior is back.prior
    assert "prior" not in ItemBank(ids=["q"], a=np.ones((1, 2)), c=np.zeros(1)).to_json()
    with pytest.raises(ValueError, match="dimension"):
        ItemBank(ids=["q"], a=np.ones((1, 3)), c=np.zeros(1), prior=prior)
    with pytest.raises(ValueError, match="disagree"):
        Prior(np.zeros(2), np.eye(3))
    with pytest.raises(ValueError, match="symmetric"):
        Prior(np.zeros(2), np.array([[1.0, 0.5], [0.0, 1.0]]))


def _quizzed_pool(seed: int = 0, n_models: int = 30, n_items: int = 20):
    """A pool whose identities sit far from the start prior (a dataset the bundle never saw), each
    model quizzed on the same ``n_items`` of a 2,000-item bank."""
    rng = np.random.default_rng(seed)
    d = 3
    a, c = rng.normal(size=(2000, d)), rng.normal(size=2000)
    true = rng.normal(size=(n_models, d)) * 1.5 + np.array([2.0, -1.0, 0.5])
    p = 1 / (1 + np.exp(-(a @ true.T - c[:, None])))
    y = (rng.random(p.shape) < p).astype(float)
    rows = rng.choice(2000, n_items, replace=False)
    return a, c, y, rows, true, Prior(np.zeros(d), 0.2 * np.eye(d), source="bundle")


def test_pool_prior_moves_to_where_the_quizzed_pool_is() -> None:
    from trainer.onboard.prior import pool_prior

    a, c, y, rows, true, start = _quizzed_pool()
    prior = pool_prior(a, c, [(rows, y[rows, j]) for j in range(y.shape[1])], start)
    assert np.linalg.norm(prior.mean - true.mean(0)) < 0.5 * np.linalg.norm(start.mean - true.mean(0))
    assert np.trace(prior.cov) > 2 * np.trace(start.cov)   # the pool spreads wider than the start says
    np.linalg.cholesky(prior.cov)
    assert "30 pool models" in prior.source


def test_pool_prior_posteriors_predict_the_bank_better_than_the_start_prior() -> None:
    """The fault: 20-item posteriors under a prior centred away from the pool stay near its centre."""
    from trainer.onboard import laplace_posterior
    from trainer.onboard.prior import pool_prior

    a, c, y, rows, true, start = _quizzed_pool(1)
    quizzes = [(rows, y[rows, j]) for j in range(y.shape[1])]
    prior = pool_prior(a, c, quizzes, start)

    def bank_error(p: Prior) -> float:   # mean |predicted - true success| over the bank and pool
        ths = np.array([laplace_posterior(a[r], c[r], yj, p.mean, p.cov).mean for r, yj in quizzes])
        p_est = 1 / (1 + np.exp(-(a @ ths.T - c[:, None])))
        p_true = 1 / (1 + np.exp(-(a @ true.T - c[:, None])))
        return float(np.abs(p_est - p_true).mean())

    assert bank_error(prior) < 0.8 * bank_error(start)


def test_pool_prior_needs_three_models() -> None:
    from trainer.onboard.prior import pool_prior

    a, c, y, rows, _, start = _quizzed_pool()
    with pytest.raises(ValueError, match="at least 3"):
        pool_prior(a, c, [(rows, y[rows, j]) for j in range(2)], start)


def _priced_pool(seed: int = 2, n_models: int = 30, n_items: int = 20):
    """A pool whose identities' mean moves with the model's log price (dearer = more able), each model
    quizzed on the same ``n_items``."""
    rng = np.random.default_rng(seed)
    d = 3
    a, c = rng.normal(size=(2000, d)) + np.array([1.0, 0.0, 0.0]), rng.normal(size=2000)
    log_price = rng.normal(size=n_models) * 1.5
    slope = np.array([1.0, 0.3, 0.0])
    true = np.outer(log_price - log_price.mean(), slope) + rng.normal(size=(n_models, d)) * 0.4
    p = 1 / (1 + np.exp(-(a @ true.T - c[:, None])))
    y = (rng.random(p.shape) < p).astype(float)
    rows = rng.choice(2000, n_items, replace=False)
    return a, c, y, rows, true, log_price, slope, Prior(np.zeros(d), np.eye(d), source="bundle")


def test_priced_pool_prior_without_a_price_spread_is_the_pool_prior() -> None:
    from trainer.onboard.prior import pool_prior, priced_pool_prior

    a, c, y, rows, _, start = _quizzed_pool()
    quizzes = [(rows, y[rows, j]) for j in range(y.shape[1])]
    plain, priced = pool_prior(a, c, quizzes, start), priced_pool_prior(a, c, quizzes, np.full(30, 2.0), start)
    assert np.array_equal(priced.slope, np.zeros(3))
    assert np.allclose(priced.at(2.0).mean, plain.mean) and np.allclose(priced.cov, plain.cov)


def test_priced_pool_prior_finds_the_price_slope_and_ranks_the_pool_better() -> None:
    """20 outcomes rank 30 models poorly; the price the pool's levels follow ranks them better."""
    from scipy.stats import spearmanr

    from trainer.onboard import laplace_posterior
    from trainer.onboard.prior import pool_prior, priced_pool_prior

    a, c, y, rows, true, log_price, slope, start = _priced_pool()
    quizzes = [(rows, y[rows, j]) for j in range(y.shape[1])]
    priced = priced_pool_prior(a, c, quizzes, log_price, start)
    assert float(priced.slope @ slope) / (np.linalg.norm(priced.slope) * np.linalg.norm(slope)) > 0.9
    assert "log price" in priced.source

    def levels(priors: list[Prior]) -> np.ndarray:   # each model's mean predicted success over the bank
        ths = np.array([laplace_posterior(a[r], c[r], yj, p.mean, p.cov).mean for (r, yj), p in zip(quizzes, priors)])
        return (1 / (1 + np.exp(-(a @ ths.T - c[:, None])))).mean(0)

    truth = (1 / (1 + np.exp(-(a @ true.T - c[:, None])))).mean(0)
    plain = spearmanr(levels([pool_prior(a, c, quizzes, start)] * 30), truth)[0]
    with_price = spearmanr(levels([priced.at(x) for x in log_price]), truth)[0]
    assert 1 - with_price < 0.6 * (1 - plain)   # measured 0.033 against 0.080


def test_priced_pool_prior_refuses_missing_prices() -> None:
    from trainer.onboard.prior import priced_pool_prior

    a, c, y, rows, _, start = _quizzed_pool()
    quizzes = [(rows, y[rows, j]) for j in range(y.shape[1])]
    with pytest.raises(ValueError, match="log prices"):
        priced_pool_prior(a, c, quizzes, np.array([1.0, np.nan] + [0.0] * 28), start)
    with pytest.raises(ValueError, match="log prices"):
        priced_pool_prior(a, c, quizzes, np.zeros(29), start)
