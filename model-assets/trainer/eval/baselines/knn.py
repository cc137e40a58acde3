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


def column_means(train_quality: np.ndarray) -> np.ndarray:
    """[K] each model's mean over its recorded (non-NaN) outcomes; 0.5 for a model with none.

    @example
        >>> column_means(np.array([[1.0, np.nan], [0.0, np.nan]])).tolist()
        [0.5, 0.5]
    """
    y = np.asarray(train_quality, np.float64)
    seen = ~np.isnan(y)
    n = seen.sum(axis=0)
    return np.where(n > 0, np.where(seen, y, 0.0).sum(axis=0) / np.maximum(n, 1), 0.5)


def recorded_mean(train_quality: np.ndarray, rows: np.ndarray, fallback: np.ndarray) -> np.ndarray:
    """Mean over ``rows`` (index arrays [..., k]) of the recorded outcomes per model; ``fallback``
    [K] where none of those rows has one.

    @example
        >>> y = np.array([[1.0, np.nan], [0.0, 1.0]])
        >>> recorded_mean(y, np.array([[0, 1], [0, 0]]), np.array([.5, .5])).tolist()
        [[0.5, 1.0], [1.0, 0.5]]
    """
    y = np.asarray(train_quality, np.float64)[rows]
    seen = ~np.isnan(y)
    n = seen.sum(axis=-2)
    total = np.where(seen, y, 0.0).sum(axis=-2)
    return np.where(n > 0, total / np.maximum(n, 1), fallback)


def knn_predict(train_emb: np.ndarray, train_quality: np.ndarray, test_emb: np.ndarray, k: int = 50,
                chunk: int = 1024) -> np.ndarray:
    """Mean train quality [P_test, K] over each test prompt's ``k`` nearest train prompts: per model
    over those with a recorded outcome (NaN = none), its overall mean if none of them has one.

    @example
        >>> knn_predict(np.eye(2), np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([[0.9, 0.1]]), k=1).tolist()
        [[1.0, 0.0]]
    """
    a = normalise(train_emb)
    k = min(k, len(a))
    overall = column_means(train_quality)
    out = np.empty((len(test_emb), train_quality.shape[1]))
    for s in range(0, len(test_emb), chunk):
        sims = normalise(test_emb[s:s + chunk]) @ a.T
        idx = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        out[s:s + chunk] = recorded_mean(train_quality, idx, overall)
    return out
