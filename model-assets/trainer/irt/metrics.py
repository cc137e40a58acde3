"""Prediction metrics for the IRT head and its baselines: log-loss, AUC, ECE (masked, soft labels)."""
from __future__ import annotations

import numpy as np
from sklearn.metrics import roc_auc_score

_EPS = 1e-6


def log_loss(p: np.ndarray, y: np.ndarray) -> float:
    """Mean binary cross-entropy with soft targets over observed entries (``y`` NaN = missing).

    @example
        log_loss(np.array([0.9, 0.2]), np.array([1.0, 0.0]))  # ~0.164
    """
    m = ~np.isnan(y)
    pp = np.clip(p[m], _EPS, 1 - _EPS)
    yy = y[m]
    return float(-np.mean(yy * np.log(pp) + (1 - yy) * np.log(1 - pp)))


def auc(p: np.ndarray, y: np.ndarray) -> float | None:
    """ROC AUC of predicting ``y >= 0.5`` (soft labels thresholded); None if one class only.

    @example
        auc(np.array([0.9, 0.2]), np.array([1.0, 0.0]))  # 1.0
    """
    m = ~np.isnan(y)
    labels = (y[m] >= 0.5).astype(int)
    if labels.min() == labels.max():
        return None
    return float(roc_auc_score(labels, p[m]))


def ece(p: np.ndarray, y: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error: equal-width bins of p, |mean p - mean y| weighted by bin share.

    @example
        ece(np.array([0.8, 0.8]), np.array([1.0, 0.0]))  # 0.3
    """
    m = ~np.isnan(y)
    pp, yy = p[m], y[m]
    idx = np.minimum((pp * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        sel = idx == b
        if sel.any():
            total += sel.mean() * abs(pp[sel].mean() - yy[sel].mean())
    return float(total)


def summary(p: np.ndarray, y: np.ndarray) -> dict[str, float | None]:
    """``{"log_loss", "auc", "ece", "n"}`` over observed entries.

    @example
        summary(pred, outcome)
    """
    return {"log_loss": round(log_loss(p, y), 4), "auc": None if (a := auc(p, y)) is None else round(a, 4),
            "ece": round(ece(p, y), 4), "n": int((~np.isnan(y)).sum())}
