"""A compact neighbour index over a bundle's train prompts, and its per-model success estimate.

The IRT head's per-prompt predictions generalise poorly to traffic unlike its training data, where a
plain average over similar train prompts routes better (issue 22). The index keeps that average in a
form the worker can run in well under a millisecond: train embeddings (unit-normalised, centred,
projected onto their top ``dim`` principal axes and normalised again) are clustered into at most
``centroids`` k-means centroids, and each centroid keeps, per model, the sum of the outcomes and the
number of outcomes of the prompts assigned to it. For a prompt ``z`` (projected the same way)::

    w_c  = exp((z . centroid_c - 1) / tau)                       kernel weight of centroid c
    p_nb = (sum_c w_c * sum_ck + kappa * mean_k) / (sum_c w_c * count_ck + kappa)

``tau`` sets how local the average is (tau -> infinity: the model's mean; tau -> 0: the nearest
centroid), ``kappa`` shrinks it toward the model's mean where few outcomes lie near. Both are chosen
on the train prompts by leave-one-out log loss (``fit_index``). ``neighbours.onnx`` (export.py)
computes exactly this; the worker runs it for the candidates that have a column.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

TAUS = (0.03, 0.05, 0.1, 0.2, 0.4)
#: kappa candidates, as multiples of a typical model's total kernel weight at that tau
KAPPA_SCALES = (0.001, 0.01, 0.1, 1.0)
EPS = 1e-7


def unit(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit L2 norm (zero rows stay zero).

    @example
        >>> unit(np.array([[3.0, 4.0], [0.0, 0.0]])).tolist()
        [[0.6, 0.8], [0.0, 0.0]]
    """
    x = np.asarray(x, np.float64)
    n = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.where(n > 0, n, 1.0)


def soft_log_loss(p: np.ndarray, y: np.ndarray) -> float:
    """Mean binary cross-entropy over the observed (non-NaN) entries of soft labels ``y``.

    @example
        >>> round(soft_log_loss(np.array([[0.5, 0.9]]), np.array([[1.0, np.nan]])), 4)
        0.6931
    """
    ok = ~np.isnan(y)
    q = np.clip(np.asarray(p, np.float64)[ok], EPS, 1 - EPS)
    t = np.asarray(y, np.float64)[ok]
    return float(-(t * np.log(q) + (1 - t) * np.log(1 - q)).mean())


@dataclass
class NeighbourIndex:
    """Centroids with per-model outcome sums and counts (see module docs)."""

    mean: np.ndarray        # [dim] centre of the unit train embeddings
    proj: np.ndarray        # [dim, r] principal axes
    centroids: np.ndarray   # [C, r] unit
    sums: np.ndarray        # [C, M] summed outcomes per centroid and model
    counts: np.ndarray      # [C, M] number of outcomes per centroid and model
    model_mean: np.ndarray  # [M] each model's mean train outcome (0.5 for a model without any)
    assignment: np.ndarray  # [N] centroid of each train row the index was built from
    tau: float = 0.1
    kappa: float = 1.0
    #: [N, M] the outcomes the index was built from (NaN = none): what ``leave_out`` takes back out.
    #: Training only; the worker's index has none.
    train_outcomes: np.ndarray | None = None

    def project(self, emb: np.ndarray) -> np.ndarray:
        """Prompt embeddings in the index's unit space [B, r].

        @example
            z = index.project(test_emb)
        """
        return unit((unit(emb) - self.mean) @ self.proj)

    def weights(self, emb: np.ndarray, tau: float | None = None) -> np.ndarray:
        """Kernel weight of every centroid for every prompt [B, C].

        @example
            w = index.weights(test_emb[:8])
        """
        t = self.tau if tau is None else tau
        return np.exp((self.project(emb) @ self.centroids.T - 1.0) / t)

    def stats(self, emb: np.ndarray, columns: Sequence[int] | None = None, tau: float | None = None,
              leave_out: Sequence[np.ndarray] = (), chunk: int = 2048) -> tuple[np.ndarray, np.ndarray]:
        """Kernel-weighted outcome sums and counts [B, K] for ``columns`` (default: every model).

        ``leave_out``: arrays of train-row indices (-1 = none), one array per group, each of length B;
        row b's own outcomes are taken out of its centroid's sums (the train prompts' estimates are
        then out of sample, as a live prompt's are).

        @example
            num, den = index.stats(test_emb, columns=[0, 3])
        """
        cols = np.arange(self.sums.shape[1]) if columns is None else np.asarray(columns, np.int64)
        sums, counts = self.sums[:, cols], self.counts[:, cols]
        num = np.empty((len(emb), len(cols)))
        den = np.empty_like(num)
        for s in range(0, len(emb), chunk):
            w = self.weights(emb[s:s + chunk], tau)
            n_, d_ = w @ sums, w @ counts
            rows = np.arange(s, min(s + chunk, len(emb)))
            for group in leave_out:
                if self.train_outcomes is None:
                    raise ValueError("leave_out needs the index's train outcomes")
                r = np.asarray(group)[rows]
                has = r >= 0
                if has.any():
                    own = w[np.flatnonzero(has), self.assignment[r[has]]][:, None]
                    y = self.train_outcomes[r[has]][:, cols]
                    n_[has] -= own * np.nan_to_num(y)
                    d_[has] -= own * (~np.isnan(y))
            num[s:s + chunk], den[s:s + chunk] = n_, np.maximum(d_, 0.0)
        return num, den

    def estimate(self, num: np.ndarray, den: np.ndarray, columns: Sequence[int] | None = None,
                 kappa: float | None = None) -> np.ndarray:
        """``p_nb`` [B, K] from ``stats`` (see module docs).

        @example
            p = index.estimate(*index.stats(test_emb))
        """
        k = self.kappa if kappa is None else kappa
        m = self.model_mean if columns is None else self.model_mean[np.asarray(columns, np.int64)]
        return (num + k * m) / (den + k)

    def predict(self, emb: np.ndarray, columns: Sequence[int] | None = None,
                leave_out: Sequence[np.ndarray] = ()) -> np.ndarray:
        """``p_nb`` [B, K] for prompts ``emb`` (the worker's neighbours.onnx, in numpy).

        @example
            p = index.predict(test_emb, columns=[0, 1])
        """
        return self.estimate(*self.stats(emb, columns, leave_out=leave_out), columns=columns)


def _pca(x: np.ndarray, r: int) -> tuple[np.ndarray, np.ndarray]:
    mean = x.mean(axis=0)
    if r >= x.shape[1]:
        return mean, np.eye(x.shape[1])
    _, _, vt = np.linalg.svd(x - mean, full_matrices=False)
    return mean, vt[:r].T


def _kmeans(z: np.ndarray, k: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    if k >= len(z):
        return z.copy(), np.arange(len(z))
    from sklearn.cluster import KMeans

    km = KMeans(n_clusters=k, n_init=1, max_iter=60, random_state=seed).fit(z)
    return unit(km.cluster_centers_), km.labels_.astype(np.int64)


def fit_index(emb: np.ndarray, outcomes: np.ndarray, centroids: int = 1024, dim: int = 64, seed: int = 0,
              taus: Sequence[float] = TAUS, kappa_scales: Sequence[float] = KAPPA_SCALES,
              log=lambda s: None) -> NeighbourIndex:
    """Builds the index on train prompts ``emb`` [N, dim] with ``outcomes`` [N, M] (NaN = missing) and
    picks ``tau`` and ``kappa`` by leave-one-out log loss on the same prompts.

    @example
        index = fit_index(train_emb, train_outcomes, centroids=1024, dim=64)
        index.tau, index.kappa
    """
    y = np.asarray(outcomes, np.float64)
    x = unit(emb)
    mean, proj = _pca(x, dim)
    z = unit((x - mean) @ proj)
    cents, assign = _kmeans(z, centroids, seed)
    obs = ~np.isnan(y)
    sums = np.zeros((len(cents), y.shape[1]))
    counts = np.zeros_like(sums)
    np.add.at(sums, assign, np.where(obs, y, 0.0))
    np.add.at(counts, assign, obs.astype(np.float64))
    with np.errstate(all="ignore"):
        mm = np.nanmean(y, axis=0)
    index = NeighbourIndex(mean=mean, proj=proj, centroids=cents, sums=sums, counts=counts,
                           model_mean=np.where(np.isnan(mm), 0.5, mm), assignment=assign, train_outcomes=y)
    self_rows = [np.arange(len(y))]
    best: tuple[float, float, float] | None = None
    for tau in taus:
        num, den = index.stats(emb, tau=tau, leave_out=self_rows)
        typical = float(np.median(den.sum(axis=0) / max(1, len(y))))
        for scale in kappa_scales:
            kappa = scale * max(typical, EPS)
            loss = soft_log_loss(index.estimate(num, den, kappa=kappa), y)
            log(f"[neighbours] tau {tau:g} kappa {kappa:.3g}: leave-one-out log loss {loss:.4f}")
            if best is None or loss < best[0]:
                best = (loss, tau, kappa)
    assert best is not None
    index.tau, index.kappa = best[1], best[2]
    log(f"[neighbours] {len(cents)} centroids in {proj.shape[1]} dims over {len(y)} prompts x {y.shape[1]} models; "
        f"tau {index.tau:g}, kappa {index.kappa:.3g} (leave-one-out log loss {best[0]:.4f})")
    return index
