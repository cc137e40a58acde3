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


def knn_predict(train_emb: np.ndarray, train_quality: np.ndarray, test_emb: np.ndarray, k: int = 50,
                chunk: int = 1024) -> np.ndarray:
    """Mean train quality [P_test, K] over each test prompt's ``k`` nearest train prompts.

    @example
        >>> knn_predict(np.eye(2), np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([[0.9, 0.1]]), k=1).tolist()
        [[1.0, 0.0]]
    """
    a = normalise(train_emb)
    k = min(k, len(a))
    out = np.empty((len(test_emb), train_quality.shape[1]))
    for s in range(0, len(test_emb), chunk):
        sims = normalise(test_emb[s:s + chunk]) @ a.T
        idx = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        out[s:s + chunk] = train_quality[idx].mean(axis=1)
    return out
