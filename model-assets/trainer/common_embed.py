"""Prompt embeddings for training: a protocol, a cache, and a development-only embedder.

The pipeline needs ``embed(texts) -> float32 [N, dim]`` (L2-normalised) plus the space's name.
The shipped bundle uses the distilled student (``trainer.embed``); :class:`DevTfidfEmbedding`
(TF-IDF + truncated SVD) exists so IRT and policy code can be developed and smoke-tested without
the teacher. It is never written into a bundle as its embedder.
"""
from __future__ import annotations

import hashlib
from typing import Protocol, Sequence

import numpy as np

from .paths import CACHE_DIR


class Embedder(Protocol):
    """What the pipeline needs from a prompt embedder."""

    space: str
    dim: int

    def embed(self, texts: Sequence[str]) -> np.ndarray:  # float32 [N, dim], rows L2-normalised
        ...


def texts_digest(texts: Sequence[str]) -> str:
    """Short sha256 over a list of texts (order matters).

    @example
        texts_digest(["a", "b"])  # "3f2a..."
    """
    h = hashlib.sha256()
    for t in texts:
        h.update(hashlib.sha256(t.encode("utf-8")).digest())
    return h.hexdigest()[:20]


def embed_cached(embedder: Embedder, texts: Sequence[str], tag: str = "") -> np.ndarray:
    """``embedder.embed(texts)`` cached under ``.cache/embeddings`` by space, tag and texts.

    ``tag`` must change whenever the embedder's weights change (e.g. a hash of its files).

    @example
        e = embed_cached(student, table.prompts, tag=student_hash)
    """
    path = CACHE_DIR / "embeddings" / f"{embedder.space}-{tag}-{texts_digest(texts)}.npy"
    if path.exists():
        return np.load(path)
    out = np.asarray(embedder.embed(list(texts)), dtype=np.float32)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npy")
    np.save(tmp, out)
    tmp.replace(path)
    return out


class DevTfidfEmbedding:
    """TF-IDF (word 1-2 grams) + truncated SVD, fitted on the given corpus. Development only.

    @example
        dev = DevTfidfEmbedding.fit(train_prompts, dim=128)
        e = dev.embed(["What is 2+2?"])   # [1, 128]
    """

    space = "dev-tfidf-svd"

    def __init__(self, vectorizer, svd, dim: int) -> None:  # sklearn objects
        self.vectorizer, self.svd, self.dim = vectorizer, svd, dim

    @classmethod
    def fit(cls, corpus: Sequence[str], dim: int = 128, seed: int = 0, max_docs: int = 20000) -> "DevTfidfEmbedding":
        from sklearn.decomposition import TruncatedSVD
        from sklearn.feature_extraction.text import TfidfVectorizer

        rng = np.random.default_rng(seed)
        docs = list(corpus)
        if len(docs) > max_docs:
            docs = [docs[i] for i in sorted(rng.choice(len(docs), max_docs, replace=False))]
        vec = TfidfVectorizer(ngram_range=(1, 2), min_df=2, max_features=50000, sublinear_tf=True)
        x = vec.fit_transform(docs)
        svd = TruncatedSVD(n_components=dim, random_state=seed, algorithm="randomized", n_iter=4)
        svd.fit(x)
        return cls(vec, svd, dim)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        z = self.svd.transform(self.vectorizer.transform(list(texts))).astype(np.float32)
        n = np.linalg.norm(z, axis=1, keepdims=True)
        return z / np.maximum(n, 1e-8)


def dev_embedding_for(corpus: Sequence[str], dim: int = 128, seed: int = 0) -> DevTfidfEmbedding:
    """A :class:`DevTfidfEmbedding` fitted on ``corpus``, pickled under ``.cache`` by corpus digest.

    @example
        dev = dev_embedding_for(all_train_prompts)
    """
    import pickle

    path = CACHE_DIR / "dev-embedding" / f"tfidf-{dim}-{seed}-{texts_digest(corpus)}.pkl"
    if path.exists():
        with open(path, "rb") as f:
            return pickle.load(f)
    emb = DevTfidfEmbedding.fit(corpus, dim=dim, seed=seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        pickle.dump(emb, f)
    return emb
