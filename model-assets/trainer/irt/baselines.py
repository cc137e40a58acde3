"""Simple predictors the IRT head is compared with on held-out prompts."""
from __future__ import annotations

import numpy as np
from sklearn.linear_model import LogisticRegression


def per_model_mean(y_train: np.ndarray, n_test: int) -> np.ndarray:
    """Each model's mean train outcome, for every test prompt.

    @example
        per_model_mean(np.array([[1, 0], [0, 0.0]]), 3)   # [[0.5, 0]] * 3
    """
    with np.errstate(all="ignore"):
        m = np.nanmean(y_train, axis=0)
    m = np.clip(np.where(np.isnan(m), 0.5, m), 1e-3, 1 - 1e-3)
    return np.tile(m, (n_test, 1))


def per_model_logistic(e_train: np.ndarray, y_train: np.ndarray, e_test: np.ndarray, c: float = 1.0) -> np.ndarray:
    """One logistic regression per model on the prompt embedding (soft labels as weighted 0/1 rows).

    @example
        p = per_model_logistic(e_tr, y_tr, e_te)   # [N_test, K]
    """
    out = np.zeros((len(e_test), y_train.shape[1]), dtype=np.float64)
    for k in range(y_train.shape[1]):
        m = ~np.isnan(y_train[:, k])
        x, y = e_train[m], y_train[m, k]
        if len(y) == 0 or y.min() == y.max():
            out[:, k] = np.clip(y.mean() if len(y) else 0.5, 1e-3, 1 - 1e-3)
            continue
        xx = np.concatenate([x, x])
        yy = np.concatenate([np.ones(len(y)), np.zeros(len(y))])
        ww = np.concatenate([y, 1 - y])
        keep = ww > 0
        clf = LogisticRegression(C=c, max_iter=300)
        clf.fit(xx[keep], yy[keep], sample_weight=ww[keep])
        out[:, k] = clf.predict_proba(e_test)[:, 1]
    return out
