"""Quiz selection: which N bank items tell most about an unknown identity theta.

Fisher information of item j at theta is ``p_j(1 - p_j) a_j a_j^T``. Averaged over the population
prior ``theta ~ N(m, S)`` it stays rank one, ``w_j a_j a_j^T`` with ``w_j = E[p_j(1 - p_j)]``, and
``w_j`` only depends on the scalar ``u_j = a_j . theta - c_j ~ N(a_j . m - c_j, a_j^T S a_j)``, so a
fixed 1-D quadrature computes it exactly enough and identically in Python and TypeScript
(``worker/onboarding/design.ts``; a parity test pins both to the same fixture).

Greedy D-optimal design (the default): start from the prior precision ``S^-1`` and repeatedly add the item with
the largest ``log det`` gain, ``log(1 + w_j a_j^T M^-1 a_j)``; ``M^-1`` and the quadratic forms are
updated with Sherman-Morrison, so one step costs O(J d). Chosen items are never chosen again, and
an item whose direction is already well known gains little, which keeps the quiz diverse.
Greedy I-optimal design instead minimises the bank-average predictive variance of the logit,
``tr(Q Sigma)`` with ``Q = mean_j w_j a_j a_j^T``: information where the prompts are, O(J d^2) a pick.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from .laplace import laplace_posterior, sigmoid

#: Quadrature grid for E[f(u)], u ~ N(mu, sd^2): z on [-6, 6], weights prop. to the normal pdf.
QUAD_POINTS = 61


def quadrature() -> tuple[np.ndarray, np.ndarray]:
    """Nodes z_k and weights (sum 1) of the fixed normal quadrature shared with the worker.

    Example:
        >>> z, w = quadrature()
        >>> round(float((w * z * z).sum()), 6)
        1.0
    """
    z = -6.0 + 12.0 * np.arange(QUAD_POINTS, dtype=np.float64) / (QUAD_POINTS - 1)
    w = np.exp(-0.5 * z * z)
    return z, w / w.sum()


def expected_item_weights(
    a: np.ndarray, c: np.ndarray, prior_mean: np.ndarray, prior_cov: np.ndarray, *, expectation: str = "prior"
) -> np.ndarray:
    """``w_j = E[p_j (1 - p_j)]`` under the prior (``expectation="prior"``) or at its mean (``"mean"``).

    Example:
        >>> w = expected_item_weights(np.ones((1, 1)), np.zeros(1), np.zeros(1), np.eye(1), expectation="mean")
        >>> float(w[0])
        0.25
    """
    a = np.asarray(a, np.float64)
    mu = a @ np.asarray(prior_mean, np.float64) - np.asarray(c, np.float64)
    if expectation == "mean":
        p = sigmoid(mu)
        return p * (1.0 - p)
    if expectation != "prior":
        raise ValueError(f"expectation must be 'prior' or 'mean', not {expectation!r}")
    sd = np.sqrt(np.maximum(np.einsum("jd,de,je->j", a, np.asarray(prior_cov, np.float64), a), 0.0))
    z, wq = quadrature()
    p = sigmoid(mu[:, None] + sd[:, None] * z[None, :])
    return (p * (1.0 - p)) @ wq


@dataclass
class Quiz:
    """Chosen bank rows in the order picked, with each pick's criterion gain.

    D-optimal: gain in log det of the expected posterior precision (nats); I-optimal: reduction of
    the bank-average predictive variance ``tr(Q Sigma)``.
    """

    rows: np.ndarray
    gains: np.ndarray

    @property
    def log_det_gain(self) -> float:
        """Sum of the gains (for D-optimal: log det(expected posterior precision / prior precision))."""
        return float(self.gains.sum())


#: Selection criteria: D-optimal (information about theta in every direction) and I-optimal
#: (average predictive variance of the logit over the bank, i.e. what routing uses).
CRITERIA = ("d-optimal", "i-optimal")


def select_quiz(
    a: np.ndarray,
    c: np.ndarray,
    prior_mean: np.ndarray,
    prior_cov: np.ndarray,
    n: int,
    *,
    expectation: str = "prior",
    exclude: np.ndarray | None = None,
    criterion: str = "d-optimal",
) -> Quiz:
    """Greedy optimal-design quiz of ``n`` distinct rows of the bank (deterministic; ties -> lower row).

    ``criterion="d-optimal"`` maximises ``log det`` of the expected posterior precision;
    ``"i-optimal"`` minimises ``tr(Q Sigma)``, ``Q = mean_j w_j a_j a_j^T`` over the whole bank: the
    Fisher-weighted average posterior variance of the logit over the bank's prompts.

    Example:
        >>> a = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 0.9]])
        >>> select_quiz(a, np.zeros(3), np.zeros(2), np.eye(2), 2).rows.tolist()
        [0, 2]
    """
    a = np.asarray(a, np.float64)
    n_items = a.shape[0]
    if not 1 <= n <= n_items:
        raise ValueError(f"quiz size must be in [1, {n_items}], got {n}")
    if criterion not in CRITERIA:
        raise ValueError(f"criterion must be one of {CRITERIA}, not {criterion!r}")
    w = expected_item_weights(a, c, prior_mean, prior_cov, expectation=expectation)
    cov = np.array(prior_cov, np.float64, copy=True)  # M^-1, the expected posterior covariance
    quad = np.einsum("jd,de,je->j", a, cov, a)  # a_j^T M^-1 a_j
    q_mat = (a * w[:, None]).T @ a / n_items if criterion == "i-optimal" else None
    available = np.ones(n_items, dtype=bool)
    if exclude is not None:
        available[np.asarray(exclude, dtype=np.int64)] = False
    rows: list[int] = []
    gains: list[float] = []
    for _ in range(n):
        if q_mat is None:
            score = w * quad
        else:
            b = cov @ q_mat @ cov
            score = w * np.einsum("jd,de,je->j", a, b, a) / (1.0 + w * quad)
        score = np.where(available, score, -np.inf)
        j = int(np.argmax(score))
        if not np.isfinite(score[j]):
            raise ValueError("not enough selectable items in the bank")
        v = cov @ a[j]
        denom = 1.0 + w[j] * float(a[j] @ v)
        cov -= w[j] * np.outer(v, v) / denom
        quad -= w[j] * (a @ v) ** 2 / denom
        available[j] = False
        rows.append(j)
        gains.append(float(np.log(denom)) if q_mat is None else float(score[j]))
    return Quiz(rows=np.array(rows, dtype=np.int64), gains=np.array(gains))


def next_item(
    a: np.ndarray,
    c: np.ndarray,
    prior_mean: np.ndarray,
    prior_cov: np.ndarray,
    rows: np.ndarray,
    outcomes: np.ndarray,
    *,
    criterion: str = "i-optimal",
    exclude: np.ndarray | None = None,
) -> int:
    """The next quiz item of an adaptive quiz: one greedy step of ``criterion`` started from the
    Laplace posterior given the outcomes so far (expected information under that posterior).

    A fixed quiz is designed for the *average* model; a model far from it (a strong one, say)
    answers many of those items the same way and they tell little. Re-aiming every step fixes that.

    Example:
        >>> a = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 0.9]])
        >>> next_item(a, np.zeros(3), np.zeros(2), np.eye(2), np.array([0]), np.array([1.0]), criterion="d-optimal")
        2
    """
    rows = np.asarray(rows, dtype=np.int64)
    post = laplace_posterior(a[rows], np.asarray(c)[rows], outcomes, prior_mean, prior_cov)
    banned = rows if exclude is None else np.concatenate([rows, np.asarray(exclude, dtype=np.int64)])
    step = select_quiz(a, c, post.mean, post.cov, 1, exclude=banned, criterion=criterion)
    return int(step.rows[0])


def adaptive_quiz(
    a: np.ndarray,
    c: np.ndarray,
    prior_mean: np.ndarray,
    prior_cov: np.ndarray,
    n: int,
    answer: Callable[[int], float],
    *,
    criterion: str = "i-optimal",
    exclude: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Asks ``n`` items one at a time, each chosen by :func:`next_item` from the answers so far.
    ``answer(row)`` returns the outcome in [0, 1]. Returns (rows, outcomes); a prefix of a longer
    adaptive quiz is the shorter one.

    Example:
        >>> a = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
        >>> adaptive_quiz(a, np.zeros(3), np.zeros(2), np.eye(2), 2, lambda r: 1.0)[0].tolist()
        [2, 0]
    """
    rows: list[int] = []
    ys: list[float] = []
    for _ in range(n):
        r = next_item(a, c, prior_mean, prior_cov, np.array(rows, dtype=np.int64), np.array(ys), criterion=criterion,
                      exclude=exclude)
        rows.append(r)
        ys.append(float(answer(r)))
    return np.array(rows, dtype=np.int64), np.array(ys)


def random_quiz(n_items: int, n: int, seed: int) -> np.ndarray:
    """The baseline: ``n`` distinct rows drawn uniformly (numpy ``default_rng(seed)``).

    Example:
        >>> len(set(random_quiz(100, 20, seed=1).tolist()))
        20
    """
    return np.random.default_rng(seed).choice(n_items, size=n, replace=False)


def representative_quiz(a: np.ndarray, n: int, *, exclude: np.ndarray | None = None, seed: int = 0) -> Quiz:
    """``n`` bank rows that stand for the whole bank: k-means (``n`` clusters, ``seed``) over the
    items' discrimination vectors ``a_j``, and per cluster the row nearest its centre (rows in
    ``exclude`` are skipped; a cluster with none left gives nothing).

    Why not the optimal designs: they pick the items the bundle's prior finds informative, and on a
    dataset the bundle never saw those are unrepresentative (on mmlu-pro left out, the I-optimal
    20 are items the prior gives a 0.12 success rate and the pool passes 56% of, against 42% over
    the bank), so a quiz's level does not carry over to the bank. ``gains`` are the rows' cluster sizes.

    Example:
        >>> a = np.array([[0.0, 0.0], [0.1, 0.0], [5.0, 5.0], [5.1, 5.0]])
        >>> sorted(representative_quiz(a, 2).rows.tolist()) in ([0, 2], [0, 3], [1, 2], [1, 3])
        True
    """
    from sklearn.cluster import KMeans

    a = np.asarray(a, np.float64)
    if not 1 <= n <= a.shape[0]:
        raise ValueError(f"quiz size must be in [1, {a.shape[0]}], got {n}")
    km = KMeans(n_clusters=n, n_init=1, random_state=seed).fit(a)
    banned = np.zeros(a.shape[0], dtype=bool)
    if exclude is not None:
        banned[np.asarray(exclude, dtype=np.int64)] = True
    rows: list[int] = []
    sizes: list[float] = []
    for k in range(n):
        members = np.flatnonzero((km.labels_ == k) & ~banned)
        if members.size:
            rows.append(int(members[np.argmin(((a[members] - km.cluster_centers_[k]) ** 2).sum(axis=1))]))
            sizes.append(float((km.labels_ == k).sum()))
    return Quiz(rows=np.array(rows, dtype=np.int64), gains=np.array(sizes))
