"""Per-category router: a model's predicted quality on a prompt is its mean train outcome in the
prompt's category (e.g. the mmlu-pro subject). The greedy rule then picks, for each w, the best model
per category under the cost trade-off."""
from __future__ import annotations

from typing import Sequence

import numpy as np


def category_predict(train_category: Sequence[str], train_quality: np.ndarray,
                     test_category: Sequence[str]) -> np.ndarray:
    """[P_test, K] per-category mean train quality (overall mean for a category unseen in train).

    @example
        >>> category_predict(["a", "a", "b"], np.array([[1.0, 0], [1, 0], [0, 1]]), ["b", "c"]).tolist()
        [[0.0, 1.0], [0.6666666666666666, 0.3333333333333333]]
    """
    train_category = np.asarray(train_category)
    overall = train_quality.mean(axis=0)
    means = {c: train_quality[train_category == c].mean(axis=0) for c in np.unique(train_category)}
    return np.stack([means.get(c, overall) for c in test_category])
