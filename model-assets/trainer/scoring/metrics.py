"""Quality-versus-cost metrics of routers, exactly as defined in ``shared/data/README.md``.

A router at one preference setting picks one model per test prompt; its *point* is
(mean cost, mean quality). Sweeping the preference traces a curve. Any two points can be mixed at
random, so what counts is the upper convex hull of a router's points (its *frontier*).

Pure functions on numpy arrays; no data loading here.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np

Point = tuple[float, float]

#: How many quality levels the matched-quality savings average over (README: 50).
SAVINGS_LEVELS = 50
_EPS = 1e-12


def upper_hull(points: Iterable[Sequence[float]]) -> np.ndarray:
    """Upper convex hull of (cost, quality) points, left to right, collinear points dropped.

    @example
        >>> upper_hull([(0, 0), (1, 0.2), (2, 1)]).tolist()
        [[0.0, 0.0], [2.0, 1.0]]
    """
    pts = np.asarray(list(points), dtype=float).reshape(-1, 2)
    if len(pts) == 0:
        raise ValueError("upper_hull needs at least one point")
    if not np.isfinite(pts).all():
        raise ValueError("points must be finite")
    # At equal cost only the best quality can lie on an upper hull.
    order = np.lexsort((-pts[:, 1], pts[:, 0]))
    pts = pts[order]
    keep = np.ones(len(pts), dtype=bool)
    keep[1:] = np.diff(pts[:, 0]) > 0
    pts = pts[keep]
    hull: list[np.ndarray] = []
    for p in pts:
        # Pop while the last two hull points and p do not make a strict right turn (clockwise).
        while len(hull) >= 2:
            o, a = hull[-2], hull[-1]
            cross = (a[0] - o[0]) * (p[1] - o[1]) - (a[1] - o[1]) * (p[0] - o[0])
            if cross >= 0:
                hull.pop()
            else:
                break
        hull.append(p)
    return np.array(hull)


@dataclass(frozen=True)
class Frontier:
    """A router's frontier: non-decreasing piecewise-linear quality as a function of mean cost.

    ``costs`` strictly increase and ``qualities`` strictly increase along the vertices; beyond the
    last vertex the frontier is flat, before the first it is undefined (no router reaches there).
    """

    costs: np.ndarray
    qualities: np.ndarray

    @staticmethod
    def of(points: Iterable[Sequence[float]], anchor: Sequence[float] | None = None) -> "Frontier":
        """Frontier of ``points`` plus ``anchor`` (the README's cheapest single model's point).

        @example
            >>> f = Frontier.of([(2, 0.8), (1, 0.5)], anchor=(0.5, 0.3))
            >>> f.quality_at(1.5), f.cost_at(0.65)
            (0.65, 1.5)
        """
        pts = [tuple(map(float, p)) for p in points]
        if anchor is not None:
            pts.append((float(anchor[0]), float(anchor[1])))
        hull = upper_hull(pts)
        # Keep the rising part only: up to the first vertex of maximal quality (flat afterwards).
        top = int(np.argmax(hull[:, 1]))
        hull = hull[: top + 1]
        return Frontier(costs=hull[:, 0].copy(), qualities=hull[:, 1].copy())

    @property
    def max_quality(self) -> float:
        return float(self.qualities[-1])

    @property
    def min_cost(self) -> float:
        return float(self.costs[0])

    def quality_at(self, cost: float | np.ndarray) -> float | np.ndarray:
        """Best mean quality reachable at mean cost ``cost`` (NaN below the cheapest vertex).

        @example
            >>> Frontier.of([(0, 0.0), (1, 1.0)]).quality_at(0.25)
            0.25
        """
        c = np.asarray(cost, dtype=float)
        q = np.interp(c, self.costs, self.qualities)
        q = np.where(c < self.costs[0] - _EPS, np.nan, q)
        return float(q) if q.ndim == 0 else q

    def cost_at(self, quality: float | np.ndarray) -> float | np.ndarray:
        """Lowest mean cost at which the frontier reaches ``quality`` (inf if it never does).

        @example
            >>> Frontier.of([(0, 0.0), (1, 1.0)]).cost_at(0.5)
            0.5
        """
        q = np.asarray(quality, dtype=float)
        if len(self.costs) == 1:
            c = np.full(q.shape, self.costs[0])
        else:
            c = np.interp(q, self.qualities, self.costs)
        c = np.where(q > self.qualities[-1] + _EPS, np.inf, c)
        return float(c) if c.ndim == 0 else c

    def area(self, lo: float, hi: float) -> float:
        """Integral of the frontier over [lo, hi] (requires lo >= the cheapest vertex).

        @example
            >>> Frontier.of([(0, 0.0), (1, 1.0)]).area(0, 2)
            1.5
        """
        if hi <= lo:
            return 0.0
        if lo < self.costs[0] - _EPS:
            raise ValueError(f"frontier starts at cost {self.costs[0]}, above the lower bound {lo}")
        inner = self.costs[(self.costs > lo) & (self.costs < hi)]
        xs = np.concatenate([[lo], inner, [hi]])
        ys = np.interp(xs, self.costs, self.qualities)
        return float(np.sum((xs[1:] - xs[:-1]) * (ys[1:] + ys[:-1]) / 2.0))


@dataclass(frozen=True)
class SinglePool:
    """The single models of a pool as (cost, quality) points, with the README's reference models."""

    names: list[str]
    costs: np.ndarray
    qualities: np.ndarray

    @property
    def cheapest(self) -> int:
        """Index of the cheapest model (ties: the better one)."""
        return int(np.lexsort((-self.qualities, self.costs))[0])

    @property
    def best(self) -> int:
        """Index of the best-quality model (ties: the cheaper one)."""
        return int(np.lexsort((self.costs, -self.qualities))[0])

    @property
    def most_expensive(self) -> int:
        return int(np.argmax(self.costs))

    @property
    def anchor(self) -> Point:
        i = self.cheapest
        return float(self.costs[i]), float(self.qualities[i])

    def points(self) -> list[Point]:
        return [(float(c), float(q)) for c, q in zip(self.costs, self.qualities)]


def frontier(points: Iterable[Sequence[float]], pool: SinglePool) -> Frontier:
    """A router's frontier per the README: its points plus the cheapest single model's point.

    @example
        >>> pool = SinglePool(["a", "b"], np.array([1.0, 3.0]), np.array([0.5, 0.9]))
        >>> frontier([(2.0, 0.85)], pool).costs.tolist()
        [1.0, 2.0]
    """
    return Frontier.of(points, anchor=pool.anchor)


def aiq(points: Iterable[Sequence[float]], pool: SinglePool) -> float:
    """Area under the router's frontier between the cheapest and the most expensive single
    model's mean cost, divided by that cost range (RouterBench's AIQ).

    @example
        >>> pool = SinglePool(["a", "b"], np.array([1.0, 3.0]), np.array([0.5, 0.9]))
        >>> round(aiq(pool.points(), pool), 6)  # the hull of two models: mean of their qualities
        0.7
    """
    lo = float(pool.costs[pool.cheapest])
    hi = float(pool.costs[pool.most_expensive])
    f = frontier(points, pool)
    if hi - lo <= _EPS:
        return float(f.quality_at(lo))
    return f.area(lo, hi) / (hi - lo)


def hull_aiq(pool: SinglePool) -> float:
    """AIQ of the single-model hull (the number every router's AIQ is compared with).

    @example
        >>> hull_aiq(SinglePool(["a", "b"], np.array([1.0, 3.0]), np.array([0.5, 0.9])))
        0.7
    """
    return aiq(pool.points(), pool)


def ctm(points: Iterable[Sequence[float]], pool: SinglePool) -> float | None:
    """Cost to match: lowest mean cost at which the frontier reaches the best single model's
    quality, divided by that model's mean cost; None if it never does, or if that model is free
    (no routing costs less than nothing). Lower is better.

    @example
        >>> pool = SinglePool(["a", "b"], np.array([1.0, 3.0]), np.array([0.5, 0.9]))
        >>> ctm([(2.0, 0.9)], pool)
        0.6666666666666666
    """
    b = pool.best
    f = frontier(points, pool)
    c = f.cost_at(float(pool.qualities[b]))
    if not np.isfinite(c) or pool.costs[b] <= 0:
        return None
    return float(c) / float(pool.costs[b])


def savings(router: Iterable[Sequence[float]], baseline: Iterable[Sequence[float]], pool: SinglePool,
            levels: int = SAVINGS_LEVELS) -> float | None:
    """Mean relative saving of ``router`` against ``baseline`` at matched quality.

    Over ``levels`` evenly spaced quality levels from the cheapest model's quality to the highest
    quality both frontiers reach: mean of (C_baseline - C_router) / C_baseline, both costs read
    off the frontiers. None when the frontiers share no quality above the cheapest model's.
    Levels the baseline reaches at no cost (a free model, e.g. one hosted by the customer, at the
    cheapest end) have no relative saving and are left out of the mean.

    @example
        >>> pool = SinglePool(["a", "b"], np.array([1.0, 2.0]), np.array([0.0, 1.0]))
        >>> round(savings([(1.0, 1.0)], pool.points(), pool), 4)  # router: top quality at cheap cost
        0.3057
        >>> free = SinglePool(["a", "b"], np.array([0.0, 2.0]), np.array([0.0, 1.0]))
        >>> round(savings([(1.0, 1.0)], free.points(), free), 4)   # the level at cost 0 left out
        0.5
    """
    fr = frontier(router, pool)
    fb = frontier(baseline, pool)
    q0 = pool.anchor[1]
    q1 = min(fr.max_quality, fb.max_quality)
    if q1 <= q0 + _EPS:
        return None
    qs = np.linspace(q0, q1, levels)
    cr = np.asarray(fr.cost_at(qs), dtype=float)
    cb = np.asarray(fb.cost_at(qs), dtype=float)
    paid = cb > 0
    if not paid.any():
        return None
    return float(np.mean((cb[paid] - cr[paid]) / cb[paid]))


def apgr(fractions: Sequence[float], qualities: Sequence[float], q_weak: float, q_strong: float) -> float:
    """RouteLLM's APGR: area under the performance gap recovered, PGR = (Q - Q_weak) /
    (Q_strong - Q_weak), over the fraction of calls sent to the strong model in [0, 1].

    The all-weak (0, Q_weak) and all-strong (1, Q_strong) points are added; between points the
    curve is linear (random mixing), so a random router scores 0.5.

    @example
        >>> apgr([0.5], [0.75], q_weak=0.5, q_strong=1.0)  # the random line
        0.5
    """
    gap = q_strong - q_weak
    if abs(gap) <= _EPS:
        raise ValueError("APGR is undefined when the strong and weak models have equal quality")
    f = np.concatenate([[0.0], np.asarray(fractions, float), [1.0]])
    q = np.concatenate([[q_weak], np.asarray(qualities, float), [q_strong]])
    order = np.argsort(f, kind="stable")
    f, q = f[order], q[order]
    pgr = (q - q_weak) / gap
    return float(np.sum((f[1:] - f[:-1]) * (pgr[1:] + pgr[:-1]) / 2.0))


def threshold_curve(scores: np.ndarray, strong: np.ndarray, weak: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray]:
    """(fraction of calls to strong, mean value) for every threshold on ``scores``.

    A prompt goes to the strong model when its score is above the threshold. ``strong`` and
    ``weak`` are per-prompt values (quality or cost) of the two models. Tied scores move together,
    so there is one point per distinct score (plus the all-weak point).

    @example
        >>> f, v = threshold_curve(np.array([0.9, 0.1]), np.array([1.0, 1.0]), np.array([0.0, 1.0]))
        >>> f.tolist(), v.tolist()
        ([0.0, 0.5, 1.0], [0.5, 1.0, 1.0])
    """
    s = np.asarray(scores, float)
    n = len(s)
    order = np.argsort(-s, kind="stable")
    s_sorted = s[order]
    gain = (np.asarray(strong, float) - np.asarray(weak, float))[order]
    cum = np.concatenate([[0.0], np.cumsum(gain)])
    # Cut only between distinct scores.
    cuts = np.concatenate([[0], np.nonzero(np.diff(s_sorted) != 0)[0] + 1, [n]])
    base = float(np.sum(weak))
    return cuts / n, (base + cum[cuts]) / n


def apgr_from_scores(scores: np.ndarray, q_strong: np.ndarray, q_weak: np.ndarray) -> float:
    """APGR of a binary router that sends the highest-scoring prompts to the strong model.

    ``q_strong`` and ``q_weak`` are the per-prompt qualities of the two models.

    @example
        >>> apgr_from_scores(np.array([1.0, 0.0]), np.array([1.0, 1.0]), np.array([0.0, 1.0]))
        0.75
    """
    f, q = threshold_curve(scores, q_strong, q_weak)
    return apgr(f, q, float(np.mean(q_weak)), float(np.mean(q_strong)))


def choice_point(choice: np.ndarray, cost: np.ndarray, quality: np.ndarray) -> Point:
    """(mean cost, mean quality) of choosing model ``choice[p]`` for each prompt p.

    ``cost`` and ``quality`` are [P, K] matrices over the test prompts and the pool.

    @example
        >>> choice_point(np.array([0, 1]), np.array([[1.0, 2.0], [1.0, 2.0]]), np.array([[0, 1], [0, 1.0]]))
        (1.5, 0.5)
    """
    rows = np.arange(len(choice))
    return float(np.mean(cost[rows, choice])), float(np.mean(quality[rows, choice]))


def single_pool(names: Sequence[str], cost: np.ndarray, quality: np.ndarray) -> SinglePool:
    """Per-model mean cost and quality over the test prompts ([P, K] matrices, no NaN).

    @example
        >>> single_pool(["a", "b"], np.array([[1.0, 3.0]]), np.array([[0.5, 0.9]])).cheapest
        0
    """
    if np.isnan(cost).any() or np.isnan(quality).any():
        raise ValueError("cost and quality must be complete over the evaluated prompts and pool")
    return SinglePool(list(names), cost.mean(axis=0), quality.mean(axis=0))


def oracle_choice(cost: np.ndarray, quality: np.ndarray) -> np.ndarray:
    """Per prompt, the cheapest model with the best outcome (bounds every router).

    @example
        >>> oracle_choice(np.array([[1.0, 2.0, 0.5]]), np.array([[1.0, 1.0, 0.0]])).tolist()
        [0]
    """
    best = quality.max(axis=1, keepdims=True)
    masked = np.where(quality >= best - _EPS, cost, np.inf)
    return np.argmin(masked, axis=1)
