"""Reference prompt embedding for runs without a bundle: TF-IDF (words and 1-2 grams) reduced by
truncated SVD, both fitted on the train split only. With a bundle, every router uses the served
embedder's vectors instead (see ``served``)."""
from __future__ import annotations

from typing import Sequence

import numpy as np


def tfidf_embeddings(train_texts: Sequence[str], test_texts: Sequence[str], dim: int = 256,
                     seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(train [P_train, d], test [P_test, d]) L2-normalised vectors, d <= ``dim``.

    @example
        tr, te = tfidf_embeddings(["a b", "b c", "c d"], ["a c"], dim=2)
    """
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfVectorizer

    vec = TfidfVectorizer(ngram_range=(1, 2), min_df=2, max_features=50_000, sublinear_tf=True)
    try:
        x_train = vec.fit_transform(train_texts)
    except ValueError:  # vocabulary empty at min_df=2 (tiny data)
        vec = TfidfVectorizer(ngram_range=(1, 1), min_df=1, sublinear_tf=True)
        x_train = vec.fit_transform(train_texts)
    x_test = vec.transform(test_texts)
    k = max(1, min(dim, x_train.shape[1] - 1, x_train.shape[0] - 1))
    svd = TruncatedSVD(n_components=k, random_state=seed)
    a, b = svd.fit_transform(x_train), svd.transform(x_test)

    def unit(x: np.ndarray) -> np.ndarray:
        n = np.linalg.norm(x, axis=1, keepdims=True)
        return x / np.where(n > 0, n, 1.0)

    return unit(a), unit(b)
