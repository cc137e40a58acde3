"""Per-category router: a model's predicted quality on a prompt is its mean train outcome in the
prompt's category (e.g. the mmlu-pro subject). The greedy rule then picks, for each w, the best model
per category under the cost trade-off."""
from __future__ import annotations

from typing import Sequence

import numpy as np

from .knn import column_means


def category_predict(train_category: Sequence[str], train_quality: np.ndarray,
                     test_category: Sequence[str]) -> np.ndarray:
    """[P_test, K] per-category mean of the recorded train outcomes (NaN = none), the model's
    overall mean for a category unseen in train or where it has no outcome.

    @example
        >>> category_predict(["a", "a", "b"], np.array([[1.0, 0], [1, 0], [0, 1]]), ["b", "c"]).tolist()
        [[0.0, 1.0], [0.6666666666666666, 0.3333333333333333]]
    """
    train_category = np.asarray(train_category)
    overall = column_means(train_quality)
    y = np.asarray(train_quality, np.float64)
    means = {c: column_means(y[train_category == c], fallback=overall) for c in np.unique(train_category)}
    return np.stack([means.get(c, overall) for c in test_category])
