"""Multi-model kNN router: a model's predicted quality on a prompt is its mean outcome on the k
most similar train prompts (cosine on the prompt embedding)."""
from __future__ import annotations

import numpy as np


def normalise(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit L2 norm (zero rows stay zero).

    @example
        >>> normalise(np.array([[3.0, 4.0]])).tolist()
        [[0.6, 0.8]]
    """
    x = np.asarray(x, np.float64)
    n = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.where(n > 0, n, 1.0)


def column_means(train_quality: np.ndarray, fallback: float | np.ndarray = 0.5) -> np.ndarray:
    """[K] each model's mean over its recorded (non-NaN) outcomes; ``fallback`` for a model with none.

    @example
        >>> column_means(np.array([[1.0, np.nan], [0.0, np.nan]])).tolist()
        [0.5, 0.5]
    """
    y = np.asarray(train_quality, np.float64)
    seen = ~np.isnan(y)
    n = seen.sum(axis=0)
    return np.where(n > 0, np.where(seen, y, 0.0).sum(axis=0) / np.maximum(n, 1), fallback)


def knn_predict(train_emb: np.ndarray, train_quality: np.ndarray, test_emb: np.ndarray, k: int = 50,
                chunk: int = 1024) -> np.ndarray:
    """Mean train quality [P_test, K] over each test prompt's ``k`` nearest train prompts; for a model
    with missing outcomes (NaN), over the ``k`` nearest of the prompts it has one for.

    @example
        >>> knn_predict(np.eye(2), np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([[0.9, 0.1]]), k=1).tolist()
        [[1.0, 0.0]]
    """
    y = np.asarray(train_quality, np.float64)
    a = normalise(train_emb)
    seen = ~np.isnan(y)
    full = seen.all(axis=0)
    overall = column_means(y)
    kk = min(k, len(a))
    out = np.empty((len(test_emb), y.shape[1]))
    for s in range(0, len(test_emb), chunk):
        sims = normalise(test_emb[s:s + chunk]) @ a.T
        idx = np.argpartition(-sims, kk - 1, axis=1)[:, :kk]
        out[s:s + chunk, full] = y[:, full][idx].mean(axis=1)
        for j in np.flatnonzero(~full):
            rows = np.flatnonzero(seen[:, j])
            if len(rows) == 0:
                out[s:s + chunk, j] = overall[j]
                continue
            kj = min(k, len(rows))
            near = np.argpartition(-sims[:, rows], kj - 1, axis=1)[:, :kj]
            out[s:s + chunk, j] = y[rows[near], j].mean(axis=1)
    return out
