"""Online identity updates and exploration (trainer/onboard/online.py): the update is the quiz's
Laplace step from the current posterior, batching barely changes it, it only ever narrows the
posterior and follows the evidence; the sampler draws from the tempered policy and reports the
right propensity. Also writes/checks the fixture the worker's TypeScript twin is tested against."""
from __future__ import annotations

import doctest
import json
import os
from pathlib import Path

import numpy as np
import pytest

from trainer.onboard import online
from trainer.onboard.design import select_quiz, sigmoid
from trainer.onboard.laplace import laplace_posterior
from trainer.onboard.online import (MAX_UPDATE_BATCH, MIN_TEMPERATURE, decayed_penalty, exploration_mask, explore,
                                    ips_value, sample_served, serving_penalty, tempered, training_posterior,
                                    update_identity, update_in_batches)

from .synthetic import draw_outcomes, synthetic_bank

FIXTURE = Path(__file__).resolve().parents[2] / "worker" / "onboarding" / "fixtures" / "online.json"


def test_doctests() -> None:
    assert doctest.testmod(online).failed == 0


def _quiz_then_feedback(seed: int, n_feedback: int = 200) -> tuple:
    """A synthetic model: its 20-item I-optimal quiz posterior from the prior, and ``n_feedback``
    further (a, c, y) events on other items."""
    a, c, mean, cov = synthetic_bank(n_items=600, dim=6, seed=seed)
    theta = np.random.default_rng(100 + seed).multivariate_normal(mean, cov)
    y = draw_outcomes(a, c, theta, np.random.default_rng(200 + seed))
    quiz = select_quiz(a, c, mean, cov, 20, criterion="i-optimal").rows
    post = laplace_posterior(a[quiz], c[quiz], y[quiz], mean, cov)
    rest = np.setdiff1d(np.arange(len(y)), quiz)[:n_feedback]
    return a, c, y, mean, cov, quiz, post, rest


def _mahalanobis(x: np.ndarray, ref: np.ndarray, cov: np.ndarray) -> float:
    r = x - ref
    return float(np.sqrt(r @ np.linalg.solve(cov, r)))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_batches_of_k_match_one_batch_within_the_laplace_tolerance(seed: int) -> None:
    a, c, y, _, _, _, post, rest = _quiz_then_feedback(seed)
    one = update_identity(post.mean, post.cov, a[rest], c[rest], y[rest], max_batch=len(rest))
    for k in (1, 5, 25, MAX_UPDATE_BATCH):
        seq = update_in_batches(post.mean, post.cov, a[rest], c[rest], y[rest], batch=k)
        assert seq.n_items == len(rest) and seq.converged
        # Measured on these three banks: 0.03-0.19 posterior stds apart, stds within 4%. Each
        # batch's Gaussian summary drops the logistic terms' higher derivatives; nothing else differs.
        assert _mahalanobis(seq.mean, one.mean, one.cov) < 0.3
        assert np.allclose(seq.std, one.std, rtol=0.06)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_sequential_update_against_a_refit_from_the_bank_prior(seed: int) -> None:
    # The refit (bank prior, quiz items + all feedback in one Laplace fit) needs every outcome kept;
    # the update keeps only (mean, cov). They differ by the quiz posterior's own Laplace error,
    # carried forward: measured 0.44-0.92 of the *final* posterior's stds (after 220 outcomes) on
    # these banks, 0.12-0.27 of the prior's, stds within 13%; the quiz identity itself is 3.4-5.1
    # final stds from the refit, and the two are about as far from the true identity (1.7 / 2.3 /
    # 3.6 final stds against 1.5 / 2.4 / 3.0).
    a, c, y, mean, cov, quiz, post, rest = _quiz_then_feedback(seed)
    rows = np.r_[quiz, rest]
    refit = laplace_posterior(a[rows], c[rows], y[rows], mean, cov)
    seq = update_in_batches(post.mean, post.cov, a[rest], c[rest], y[rest], batch=25)
    assert _mahalanobis(seq.mean, refit.mean, refit.cov) < 1.2
    assert _mahalanobis(seq.mean, refit.mean, cov) < 0.35
    assert np.allclose(seq.std, refit.std, rtol=0.15)
    # and both are far closer to each other than to where the quiz left the identity
    assert _mahalanobis(seq.mean, refit.mean, refit.cov) < 0.3 * _mahalanobis(post.mean, refit.mean, refit.cov)


def test_every_update_narrows_the_posterior() -> None:
    a, c, y, _, _, _, post, rest = _quiz_then_feedback(3)
    mean, cov = post.mean, post.cov
    for s in range(0, len(rest), 10):
        r = rest[s:s + 10]
        nxt = update_identity(mean, cov, a[r], c[r], y[r])
        # (S^-1 + A^T W A)^-1 <= S in the PSD order: every direction, not only the marginals
        assert np.linalg.eigvalsh(cov - nxt.cov).min() > -1e-10
        assert np.all(nxt.std <= np.sqrt(np.diag(cov)) + 1e-12)
        mean, cov = nxt.mean, nxt.cov


def test_a_model_that_always_succeeds_moves_up_and_one_that_always_fails_moves_down() -> None:
    a, c, _, _, _, _, post, rest = _quiz_then_feedback(4)
    abar = a[rest].mean(axis=0)
    for outcome, sign in ((1.0, 1), (0.0, -1)):
        mean, cov = post.mean, post.cov
        ability = float(abar @ mean)
        for s in range(0, 100, 20):
            r = rest[s:s + 20]
            nxt = update_identity(mean, cov, a[r], c[r], np.full(len(r), outcome))
            # its predicted success on the prompts it just answered moves towards the outcome
            p_before, p_after = sigmoid(a[r] @ mean - c[r]), sigmoid(a[r] @ nxt.mean - c[r])
            assert sign * (p_after.mean() - p_before.mean()) > 0
            mean, cov = nxt.mean, nxt.cov
            assert sign * (float(abar @ mean) - ability) > 0
            ability = float(abar @ mean)


def test_update_bounds_and_empty_batch() -> None:
    a, c, mean, cov = synthetic_bank(n_items=80, dim=3, seed=5)
    with pytest.raises(ValueError, match="at most 64"):
        update_identity(mean, cov, a[:65], c[:65], np.ones(65))
    with pytest.raises(ValueError, match="outcomes must lie"):
        update_identity(mean, cov, a[:2], c[:2], np.array([1.0, 1.5]))
    with pytest.raises(ValueError):
        update_in_batches(mean, cov, a, c, np.ones(80), batch=MAX_UPDATE_BATCH + 1)
    same = update_identity(mean, cov, np.zeros((0, 3)), np.zeros(0), np.zeros(0))
    assert np.array_equal(same.mean, mean) and np.array_equal(same.cov, cov) and same.n_items == 0
    # a batch over the bound is split, in order, by update_in_batches
    post = update_in_batches(mean, cov, a, c, np.ones(80))
    assert post.n_items == 80 and post.mean.shape == mean.shape


def test_decayed_penalty_follows_the_logit_std() -> None:
    assert online.decayed_penalty(1.0, 0.31, 0.31) == 1.0
    assert online.decayed_penalty(1.0, 0.0775, 0.31) == pytest.approx(0.25)
    assert online.decayed_penalty(2.0, 0.5, 0.31) == 2.0   # never above the pool's penalty
    with pytest.raises(ValueError):
        online.decayed_penalty(1.0, 0.1, 0.0)


def test_training_posterior_is_diagonal_and_updates_like_any_other() -> None:
    m, s = training_posterior([0.2, -0.1, 0.4], [0.1, 0.2, 0.1])
    assert np.allclose(s, np.diag([0.01, 0.04, 0.01]))
    a, c, _, _ = synthetic_bank(n_items=30, dim=3, seed=6)
    post = update_identity(m, s, a, c, np.ones(30))
    assert np.all(post.std < np.array([0.1, 0.2, 0.1]))
    with pytest.raises(ValueError):
        training_posterior([0.0], [0.0])


def test_sampler_frequencies_match_probabilities_at_temperature_one() -> None:
    p = np.array([0.5, 0.3, 0.15, 0.05, 0.0])
    rng = np.random.default_rng(7)
    n = 40_000
    counts = np.bincount([sample_served(p, 1.0, rng)[0] for _ in range(n)], minlength=len(p))
    freq = counts / n
    # binomial std of a frequency is <= 0.0025 here: 4 stds
    assert np.max(np.abs(freq - p)) < 0.01
    assert counts[4] == 0   # a candidate the policy was not shown is never served


def test_tempered_sharpens_and_flattens() -> None:
    p = [0.6, 0.3, 0.1, 0.0]
    assert np.allclose(tempered(p, 1.0), p)
    hot = tempered(p, 4.0)
    cold = tempered(p, 0.5)
    assert hot[0] < 0.6 < cold[0] and hot[2] > 0.1 > cold[2]
    assert np.allclose(cold, np.array([0.36, 0.09, 0.01, 0.0]) / 0.46)
    assert hot[3] == 0.0 and np.isclose(hot.sum(), 1.0)
    # unnormalised policy output (float32 softmax rounding) is normalised here
    assert np.allclose(tempered([1.2, 0.6, 0.2], 1.0), [0.6, 0.3, 0.1])


def test_low_temperature_is_the_argmax_for_every_draw() -> None:
    # at the lowest temperature the runner-up keeps (0.35 / 0.45)^20 = 0.7% of the mass
    p = [0.2, 0.45, 0.35]
    for u in np.linspace(1e-6, 0.99, 100):
        i, q = explore(p, MIN_TEMPERATURE, float(u))
        assert i == 1 and q > 0.99
    assert tempered(p, MIN_TEMPERATURE)[1] > 0.99


def test_propensity_is_the_served_candidates_tempered_probability() -> None:
    p = [0.1, 0.0, 0.5, 0.4]
    for t in (0.5, 1.0, 2.0, 5.0):
        q = tempered(p, t)
        cum = np.cumsum(q)
        for u in np.linspace(0.0, 0.9999, 57):
            i, prop = explore(p, t, float(u))
            assert prop == pytest.approx(q[i], abs=1e-15)
            assert i == int(np.searchsorted(cum, u, side="right"))   # inverse CDF in candidate order
            assert i != 1


def test_exploring_only_what_is_being_learned() -> None:
    # candidates: 0 trained (top), 1 trained, 2 the newcomer (uncertain), 3 trained, not shown
    p = [0.5, 0.3, 0.2, 0.0]
    mask = exploration_mask(0, [False, False, True, False])
    assert mask == [True, False, True, False]
    q = tempered(p, 1.0, mask)
    assert np.allclose(q, [0.5 / 0.7, 0.0, 0.2 / 0.7, 0.0])
    rng = np.random.default_rng(9)
    draws = [explore(p, 1.0, float(rng.random()), mask) for _ in range(5000)]
    assert {i for i, _ in draws} == {0, 2}
    assert all(prop == pytest.approx(q[i]) for i, prop in draws)
    # the newcomer not shown (p = 0): the top choice, served for sure
    assert explore([0.7, 0.3, 0.0], 2.0, 0.99, exploration_mask(0, [False, False, True])) == (0, 1.0)
    with pytest.raises(ValueError):
        tempered(p, 1.0, [True, False])


def test_serving_penalty_is_zero_while_exploring_and_decayed_otherwise() -> None:
    assert serving_penalty(1.0, 0.31, 0.31, exploring=True) == 0.0
    assert serving_penalty(1.0, 0.31, 0.31, exploring=False) == 1.0
    assert serving_penalty(2.0, 0.1, 0.4, exploring=False) == decayed_penalty(2.0, 0.1, 0.4) == 0.5
    with pytest.raises(ValueError):
        serving_penalty(1.0, 0.1, 0.0, exploring=True)   # bad stds are rejected whether or not it explores


def test_the_replays_default_pool_routes_as_serving_penalty_says() -> None:
    """The replay's default config (the setting docs/benchmarks/online.md recommends) routes traffic
    and is scored with the penalties the worker mirrors through serving_penalty."""
    from trainer.onboard.replay import DEFAULT_LEVERS, DEFAULT_TEMPERATURE, configs_for, penalty_now

    cfg = {c.name: c for c in configs_for(DEFAULT_TEMPERATURE, [], DEFAULT_LEVERS, 1.0)}["online"]
    assert cfg.gate and cfg.decay and cfg.explore_penalty == 0.0 and cfg.temperature > 0
    abar = np.array([0.6, -0.2])
    cov0, cov = np.diag([0.09, 0.04]), np.diag([0.02, 0.01])
    std0, std = float(np.sqrt(abar @ cov0 @ abar)), float(np.sqrt(abar @ cov @ abar))
    assert cfg.explore_penalty == serving_penalty(cfg.penalty, std, std0, exploring=True)
    assert penalty_now(cfg, abar, cov, std0) == pytest.approx(serving_penalty(cfg.penalty, std, std0, exploring=False))


def test_sampler_rejects_bad_input() -> None:
    for args in (([0.5, 0.5], 0.0, 0.3), ([0.5, 0.5], 11.0, 0.3), ([0.5, 0.5], 1.0, 1.0),
                 ([0.0, 0.0], 1.0, 0.3), ([0.5, float("nan")], 1.0, 0.3), ([0.5, -0.1], 1.0, 0.3), ([], 1.0, 0.3)):
        with pytest.raises(ValueError):
            explore(*args)


def test_inverse_propensity_recovers_the_top_choice_policy_value() -> None:
    # logged: the policy at T = 2; target: its top choice. The IPS estimate from the logged
    # (served, propensity, reward) matches the target's true mean reward.
    rng = np.random.default_rng(8)
    n, k = 20_000, 4
    probs = rng.dirichlet(np.ones(k) * 0.7, size=n)
    quality = rng.random((n, k))
    top = probs.argmax(axis=1)
    served, prop = zip(*(explore(probs[i], 2.0, float(rng.random())) for i in range(n)))
    served = np.array(served)
    reward = quality[np.arange(n), served]
    target = (served == top).astype(float)
    truth = quality[np.arange(n), top].mean()
    assert ips_value(reward, prop, target) == pytest.approx(truth, abs=0.01)
    assert ips_value(reward, prop, target, self_normalised=False) == pytest.approx(truth, abs=0.02)
    with pytest.raises(ValueError):
        ips_value([1.0], [0.0], [1.0])


def _in_batches_fixture(a: np.ndarray, c: np.ndarray, y: np.ndarray, s_mean: np.ndarray,
                        s_cov: np.ndarray) -> list[dict]:
    """update_in_batches from the start posterior over rows 20-80 (60 events) at several batch
    sizes: the worker's bounded batches (MAX_UPDATE_BATCH) fold pending feedback the same way."""
    out = []
    for batch in (7, 25, MAX_UPDATE_BATCH):
        post = update_in_batches(s_mean, s_cov, a[20:80], c[20:80], y[20:80], batch=batch)
        out.append({"rows": [20, 80], "batch": batch, "mean": post.mean.tolist(), "cov": post.cov.tolist(),
                    "n_items": post.n_items})
    return out


def _levers_fixture(a: np.ndarray, s_mean: np.ndarray, s_cov: np.ndarray, one, seq: list[dict]) -> dict:
    """The replay's default pool setting (exploration only between the top choice and the
    newcomer, traffic routed with the newcomer at its mean, the penalty decaying with its logit
    std), spelled out as inputs and outputs of the functions the worker mirrors."""
    from trainer.onboard.evaluate import UNCERTAINTY_PENALTY
    from trainer.onboard.replay import DEFAULT_LEVERS, DEFAULT_TEMPERATURE

    abar = a.mean(axis=0)   # the bank is the fixture's 80 items: bankAbility's abar

    def logit_std(cov) -> float:
        return float(np.sqrt(abar @ np.asarray(cov) @ abar))

    std0 = logit_std(s_cov)
    stds = [logit_std(one.cov)] + [logit_std(step["cov"]) for step in seq]
    masks = [(0, [False, False, True, False]), (2, [False, False, True, False]), (1, [True, False, False, True]),
             (0, [False, False, False]), (3, [False, True, True, False, True])]
    pools = []
    # one request in a pool of four whose newcomer (index 2) is uncertain: the policy's
    # probabilities with the newcomer at its mean (penalty 0 while exploring), its top choice
    for probs, u in (([0.55, 0.25, 0.2, 0.0], 0.1), ([0.55, 0.25, 0.2, 0.0], 0.8), ([0.1, 0.3, 0.6, 0.0], 0.7),
                     ([0.7, 0.3, 0.0, 0.0], 0.95), ([0.4, 0.0, 0.35, 0.25], 0.5)):
        top = int(np.argmax(probs))
        eligible = exploration_mask(top, [False, False, True, False])
        served, q = explore(probs, DEFAULT_TEMPERATURE, u, eligible)
        pools.append({"probs": probs, "top": top, "uncertain": [False, False, True, False],
                      "temperature": DEFAULT_TEMPERATURE, "u": u, "eligible": eligible,
                      "tempered": tempered(probs, DEFAULT_TEMPERATURE, eligible).tolist(),
                      "served": served, "propensity": q})
    return {
        "about": "the pool setting docs/benchmarks/online.md recommends: 'defaults' (levers gate = "
                 "exploration_mask(top, uncertain) restricts explore() to the top choice and the uncertain "
                 "candidates; explore-mean = while the pool explores, uncertain candidates are routed at their "
                 "mean, serving_penalty(..., exploring=true) = 0; decay = otherwise decayed_penalty). "
                 "'logit_std': sqrt(abar' S abar) with abar the mean of the bank's item vectors (here the 80 rows "
                 "of 'a', bankAbility's logit_std) for S = start.cov ('start'), update.cov and each sequence "
                 "step's cov ('after'); 'penalties': serving_penalty(penalty, logit_std, logit_std_start, exploring) "
                 "-> result along that sequence; 'exploration_mask': [top, uncertain, result]; 'requests': one "
                 "exploring request each, probs (newcomer at its mean) -> top, eligible, tempered, served, propensity",
        "defaults": {"temperature": DEFAULT_TEMPERATURE, "uncertainty_penalty": UNCERTAINTY_PENALTY,
                     "levers": DEFAULT_LEVERS.split("+")},
        "logit_std": {"start": std0, "after": stds},
        "penalties": [[k, sd, std0, exploring, serving_penalty(k, sd, std0, exploring)]
                      for k in (UNCERTAINTY_PENALTY, 0.5) for sd in [std0, *stds] for exploring in (False, True)],
        "exploration_mask": [[top, unc, exploration_mask(top, unc)] for top, unc in masks],
        "requests": pools,
    }


def build_fixture() -> dict:
    """The numbers the worker's twin must reproduce: one update from a quiz posterior, a sequence
    of batched updates, and exploration draws (probabilities, temperature, u -> served, propensity)."""
    a, c, mean, cov = synthetic_bank(n_items=80, dim=6, seed=42)
    a, c, mean, cov = np.round(a, 6), np.round(c, 6), np.round(mean, 6), np.round(cov, 6)
    y = draw_outcomes(a, c, np.random.default_rng(43).multivariate_normal(mean, cov), np.random.default_rng(44))
    y[5] = 0.5   # a fractional grade
    start = laplace_posterior(a[:20], c[:20], y[:20], mean, cov)
    s_mean, s_cov = np.round(start.mean, 9), np.round(start.cov, 12)
    one = update_identity(s_mean, s_cov, a[20:45], c[20:45], y[20:45])
    batches = [(20, 30), (30, 45), (45, 80)]
    seq = []
    m, s = s_mean, s_cov
    for lo, hi in batches:
        post = update_identity(m, s, a[lo:hi], c[lo:hi], y[lo:hi])
        seq.append({"rows": [lo, hi], "mean": post.mean.tolist(), "cov": post.cov.tolist(),
                    "iterations": post.iterations})
        m, s = post.mean, post.cov
    draws = []
    masks = {(0.05, 0.0, 0.7, 0.2, 0.05): [False, False, True, True, False],
             (0.6, 0.3, 0.1, 0.0): [True, False, True, False]}
    cases = [([0.6, 0.3, 0.1, 0.0], [1.0, 2.0, 0.5]), ([0.05, 0.0, 0.7, 0.2, 0.05], [1.0, 3.0, 0.05]),
             ([1.0], [1.0]), ([0.25, 0.25, 0.25, 0.25], [0.7])]
    for probs, temps in cases:
        for t in temps:
            for u in (0.0, 0.1, 0.55, 0.61, 0.93, 0.999999):
                i, q = explore(probs, t, u)
                draws.append({"probs": probs, "temperature": t, "u": u, "served": i, "propensity": q,
                              "tempered": tempered(probs, t).tolist()})
                mask = masks.get(tuple(probs))
                if mask is not None:
                    i, q = explore(probs, t, u, mask)
                    draws.append({"probs": probs, "temperature": t, "u": u, "eligible": mask, "served": i,
                                  "propensity": q, "tempered": tempered(probs, t, mask).tolist()})
    return {
        "about": "online identity updates and exploration (model-assets/trainer/onboard/online.py): 'update' is "
                 "update_identity(start, rows 20-45); 'sequence' three updates in a row, each from the last; "
                 "'explore' explore(probs, temperature, u[, eligible]) -> served, propensity, "
                 "with tempered() alongside; "
                 "'ips' ips_value self-normalised and not; "
                 "'decayed_penalty' [penalty, logit_std, logit_std_start, result]; "
                 "'in_batches' update_in_batches(start, rows 20-80, batch); "
                 "'training_posterior' a manifest identity and "
                 "identity_std -> mean, diagonal cov; 'levers' the pool setting the replay recommends and every "
                 "function it needs (see levers.about)",
        "max_update_batch": MAX_UPDATE_BATCH, "min_temperature": online.MIN_TEMPERATURE,
        "max_temperature": online.MAX_TEMPERATURE,
        "a": a.tolist(), "c": c.tolist(), "y": y.tolist(),
        "start": {"mean": s_mean.tolist(), "cov": s_cov.tolist()},
        "update": {"rows": [20, 45], "mean": one.mean.tolist(), "cov": one.cov.tolist(), "iterations": one.iterations},
        "sequence": seq,
        "explore": draws,
        "decayed_penalty": [[k, now, start, online.decayed_penalty(k, now, start)]
                            for k, now, start in ((1.0, 0.31, 0.31), (1.0, 0.155, 0.31), (0.5, 0.07, 0.32),
                                                  (2.0, 0.4, 0.3))],
        "in_batches": _in_batches_fixture(a, c, y, s_mean, s_cov),
        "training_posterior": {"identity": [0.5, -1.0, 0.25], "identity_std": [0.1, 0.2, 0.05],
                               "mean": training_posterior([0.5, -1.0, 0.25], [0.1, 0.2, 0.05])[0].tolist(),
                               "cov": training_posterior([0.5, -1.0, 0.25], [0.1, 0.2, 0.05])[1].tolist()},
        "levers": _levers_fixture(a, s_mean, s_cov, one, seq),
        "ips": {"rewards": [1.0, 0.0, 1.0, 0.5], "propensities": [0.5, 0.5, 0.25, 0.8], "target": [1.0, 0.0, 1.0, 1.0],
                "value": ips_value([1.0, 0.0, 1.0, 0.5], [0.5, 0.5, 0.25, 0.8], [1.0, 0.0, 1.0, 1.0]),
                "value_unnormalised": ips_value([1.0, 0.0, 1.0, 0.5], [0.5, 0.5, 0.25, 0.8], [1.0, 0.0, 1.0, 1.0],
                                                self_normalised=False)},
    }


def test_fixture_matches_python() -> None:
    """test/worker/onboarding/fixtures/online.json pins these numbers for the worker's twin.
    Regenerate after an intended change: ``UPDATE_FIXTURES=1 /usr/bin/python3 -m pytest test/model-assets/onboard``."""
    case = build_fixture()
    if os.environ.get("UPDATE_FIXTURES") == "1":
        FIXTURE.parent.mkdir(parents=True, exist_ok=True)
        FIXTURE.write_text(json.dumps(case, indent=1) + "\n")
    stored = json.loads(FIXTURE.read_text())
    assert stored["max_update_batch"] == case["max_update_batch"]
    for key in ("mean", "cov"):
        assert np.allclose(stored["update"][key], case["update"][key], atol=1e-9)
        for got, want in zip(stored["sequence"], case["sequence"]):
            assert np.allclose(got[key], want[key], atol=1e-9)
    assert [(d["served"], round(d["propensity"], 12)) for d in stored["explore"]] == \
           [(d["served"], round(d["propensity"], 12)) for d in case["explore"]]
    assert stored["ips"]["value"] == pytest.approx(case["ips"]["value"], abs=1e-12)
    assert stored["decayed_penalty"] == case["decayed_penalty"]
    for got, exp in zip(stored["in_batches"], case["in_batches"], strict=True):
        assert got["batch"] == exp["batch"] and got["n_items"] == exp["n_items"]
        assert np.allclose(got["mean"], exp["mean"], atol=1e-9) and np.allclose(got["cov"], exp["cov"], atol=1e-9)
    assert stored["training_posterior"] == case["training_posterior"]
    lev, want = stored["levers"], case["levers"]
    assert lev["defaults"] == want["defaults"] and lev["exploration_mask"] == want["exploration_mask"]
    assert np.allclose([lev["logit_std"]["start"], *lev["logit_std"]["after"]],
                       [want["logit_std"]["start"], *want["logit_std"]["after"]], atol=1e-12)
    assert len(lev["penalties"]) == len(want["penalties"])
    for got, exp in zip(lev["penalties"], want["penalties"]):
        assert got[3] == exp[3] and np.allclose(got[:3] + got[4:], exp[:3] + exp[4:], atol=1e-12)
    assert [(r["eligible"], r["served"], round(r["propensity"], 12)) for r in lev["requests"]] == \
           [(r["eligible"], r["served"], round(r["propensity"], 12)) for r in want["requests"]]
