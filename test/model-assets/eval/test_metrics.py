"""Hand-computed cases for the README metrics (frontier, AIQ, CTM, savings, APGR, oracle)."""
import doctest

import numpy as np
import pytest

from trainer.scoring import metrics
from trainer.scoring.metrics import Frontier, SinglePool, aiq, apgr, apgr_from_scores, ctm, hull_aiq, savings

# Three single models. The chord from (1, .4) to (4, .9) is at 0.5667 for cost 2, so the middle
# model (2, .7) lies above it and is a hull vertex.
POOL = SinglePool(["cheap", "mid", "big"], np.array([1.0, 2.0, 4.0]), np.array([0.4, 0.7, 0.9]))


def test_docstring_examples_hold():
    failures, _ = doctest.testmod(metrics)
    assert failures == 0


def test_hull_drops_points_below_and_keeps_rising_part_only():
    f = Frontier.of([(1, 0.4), (2, 0.45), (3, 0.8), (5, 0.7)])
    assert f.costs.tolist() == [1.0, 3.0]
    assert f.qualities.tolist() == [0.4, 0.8]
    assert f.quality_at(10.0) == pytest.approx(0.8)  # flat beyond the last point
    assert np.isnan(f.quality_at(0.5))                # undefined below the first


def test_equal_costs_keep_the_better_point():
    f = Frontier.of([(1, 0.2), (1, 0.6), (2, 0.7)])
    assert f.costs.tolist() == [1.0, 2.0]
    assert f.qualities.tolist() == [0.6, 0.7]


def test_hull_aiq_by_hand():
    # trapezoids: [1,2]: (0.4+0.7)/2 = 0.55; [2,4]: 2*(0.7+0.9)/2 = 1.6; total 2.15 over range 3
    assert hull_aiq(POOL) == pytest.approx(2.15 / 3)


def test_aiq_adds_cheapest_model_and_flat_tail():
    # Router with one point (2, 0.9): frontier (1,.4)-(2,.9) then flat: 0.65 + 2*0.9 = 2.45
    assert aiq([(2.0, 0.9)], POOL) == pytest.approx(2.45 / 3)


def test_ctm_by_hand_and_none_when_never_matching():
    # frontier (1,.4) -> (3, 1.0): quality 0.9 reached at cost 1 + 2*(0.5/0.6) = 2.6667
    assert ctm([(3.0, 1.0)], POOL) == pytest.approx((1 + 2 * 0.5 / 0.6) / 4.0)
    assert ctm([(3.0, 0.85)], POOL) is None
    assert ctm(POOL.points(), POOL) == pytest.approx(1.0)


def test_savings_zero_against_itself_and_by_hand():
    assert savings(POOL.points(), POOL.points(), POOL) == pytest.approx(0.0)
    # Router: (1,.4) -> (2, .9); baseline: the pool hull. Both reach 0.9.
    qs = np.linspace(0.4, 0.9, 50)
    cr = 1 + (qs - 0.4) / 0.5
    cb = np.where(qs <= 0.7, 1 + (qs - 0.4) / 0.3, 2 + 2 * (qs - 0.7) / 0.2)
    assert savings([(2.0, 0.9)], POOL.points(), POOL) == pytest.approx(np.mean((cb - cr) / cb))
    # Matched only up to the lower of the two top qualities.
    qs2 = np.linspace(0.4, 0.7, 50)
    cb2 = 1 + (qs2 - 0.4) / 0.3
    cr2 = 1 + (qs2 - 0.4) / 0.5
    assert savings([(2.0, 0.9)], [(2.0, 0.7)], POOL) == pytest.approx(np.mean((cb2 - cr2) / cb2))
    assert savings([(1.0, 0.4)], POOL.points(), POOL) is None


def test_savings_negative_when_router_is_worse():
    assert savings([(3.0, 0.7)], POOL.points(), POOL) < 0


def test_apgr_random_perfect_and_threshold_ties():
    assert apgr([0.25, 0.5, 0.75], [0.55, 0.6, 0.65], 0.5, 0.7) == pytest.approx(0.5)
    # Perfect router: the strong model only helps on prompt 0; sending it first recovers the whole
    # gap at fraction 1/4: area = 0.5*0.25*1 + 0.75*1 = 0.875
    q_s = np.array([1.0, 1.0, 0.0, 1.0])
    q_w = np.array([0.0, 1.0, 0.0, 1.0])
    assert apgr_from_scores(np.array([9.0, 1, 1, 1]), q_s, q_w) == pytest.approx(0.875)
    # All scores tied: one linear segment = random = 0.5
    assert apgr_from_scores(np.zeros(4), q_s, q_w) == pytest.approx(0.5)
    with pytest.raises(ValueError):
        apgr([0.5], [0.5], 0.5, 0.5)


def test_oracle_picks_cheapest_of_the_best_and_bounds_pool():
    cost = np.array([[1.0, 2.0, 3.0], [1.0, 2.0, 3.0], [1.0, 2.0, 3.0]])
    qual = np.array([[0, 1, 1], [1, 1, 1], [0, 0, 0.0]])
    choice = metrics.oracle_choice(cost, qual)
    assert choice.tolist() == [1, 0, 0]
    pool = metrics.single_pool(["a", "b", "c"], cost, qual)
    point = metrics.choice_point(choice, cost, qual)
    assert point == pytest.approx((4 / 3, 2 / 3))
    assert aiq([point], pool) >= hull_aiq(pool)


def test_single_pool_rejects_missing_values():
    with pytest.raises(ValueError):
        metrics.single_pool(["a"], np.array([[1.0]]), np.array([[np.nan]]))
