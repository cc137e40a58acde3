"""Hashed n-gram tokenizer of the local embedder; the Python twin of ``worker/embedding/tokenizer.ts``.

Both implement the same spec (``DEFAULT_SPEC``; a bundle's manifest carries it under ``tokenizer``):

1. Cut: a text longer than ``max_code_points`` keeps its first ``head_code_points`` and last
   ``max_code_points - head_code_points`` code points, joined by one space.
2. Normalise: Unicode NFKC, then full lower-casing.
3. Pre-tokenise by general category: maximal runs of letters/marks/numbers (L*, M*, N*) are words;
   each punctuation, symbol, private-use or unassigned code point (P*, S*, Co, Cn) is a word of its
   own (so emoji and code operators count); separators, controls, format characters and lone
   surrogates (Z*, Cc, Cf, Cs) only separate.
4. Cut words: more than ``max_words`` keeps the first ``head_words`` and the last ones.
5. Features, in this order: every word (``"w:" + word``), every adjacent pair
   (``"b:" + w1 + " " + w2``), then character n-grams of ``"<" + word + ">"`` for each order in
   ``char_ngrams`` (``"c:" + gram``), for words of 2..``char_ngram_max_word`` code points.
6. Hash each feature's UTF-8 bytes with 32-bit FNV-1a started at ``seed``; id = 1 + h mod
   (``buckets`` - 1). Keep the first ``max_tokens`` ids; pad with 0.

An empty or whitespace-only text gives all zeros; the embedder maps that row to its fixed "empty"
vector. Characters assigned after Unicode 14 (Python 3.11's table) may be classed differently by a
newer JavaScript engine (e.g. a letter of a 2024 script splits words in Python only).
"""
from __future__ import annotations

import unicodedata
from typing import Any, Sequence

import numpy as np

TokenizerSpec = dict[str, Any]

DEFAULT_SPEC: TokenizerSpec = {
    "kind": "hashed-ngrams",
    "version": 1,
    "normalize": "nfkc-lower",
    "pretokenize": "words=L|M|N runs; single=P|S|Co|Cn; separators=Z|Cc|Cf|Cs",
    "max_code_points": 16384,
    "head_code_points": 12288,
    "max_words": 512,
    "head_words": 384,
    "features": ["word", "bigram", "char"],
    "char_ngrams": [3, 4, 5],
    "char_ngram_max_word": 24,
    "hash": "fnv1a32",
    "seed": 2166136261,
    "buckets": 65536,
    "max_tokens": 512,
    "truncation": "code points: head+tail; words: head+tail; ids: first max_tokens in feature order",
}

_FNV_PRIME = 16777619


def fnv1a32(data: bytes, seed: int) -> int:
    """32-bit FNV-1a of ``data`` starting from ``seed``.

    >>> fnv1a32(b"a", 2166136261)
    3826002220
    """
    h = seed
    for b in data:
        h = ((h ^ b) * _FNV_PRIME) & 0xFFFFFFFF
    return h


def _kind(ch: str) -> int:
    """0 = separator, 1 = word character, 2 = single-character word."""
    cat = unicodedata.category(ch)
    c0 = cat[0]
    if c0 in "LMN":
        return 1
    if c0 in "PS" or cat in ("Co", "Cn"):
        return 2
    return 0


def normalize(text: str, spec: TokenizerSpec = DEFAULT_SPEC) -> str:
    """Steps 1-2: head+tail cut in code points, then NFKC and lower-casing.

    >>> normalize("ＨＥＬＬＯ")
    'hello'
    """
    limit = spec["max_code_points"]
    if len(text) > limit:
        head = spec["head_code_points"]
        text = text[:head] + " " + text[len(text) - (limit - head):]
    return unicodedata.normalize("NFKC", text).lower()


def words(text: str, spec: TokenizerSpec = DEFAULT_SPEC) -> list[str]:
    """Steps 1-4: the kept words of a text.

    >>> words("Hello, wörld! x=1")
    ['hello', ',', 'wörld', '!', 'x', '=', '1']
    """
    out: list[str] = []
    cur: list[str] = []
    for ch in normalize(text, spec):
        k = _kind(ch)
        if k == 1:
            cur.append(ch)
            continue
        if cur:
            out.append("".join(cur))
            cur = []
        if k == 2:
            out.append(ch)
    if cur:
        out.append("".join(cur))
    limit = spec["max_words"]
    if len(out) > limit:
        head = spec["head_words"]
        out = out[:head] + out[len(out) - (limit - head):]
    return out


class Tokenizer:
    """Text -> int64 ids ``[max_tokens]`` per the spec, with per-feature hash memos (training
    tokenises tens of thousands of texts; words repeat).

    >>> Tokenizer().encode("").sum()
    0
    """

    def __init__(self, spec: TokenizerSpec | None = None) -> None:
        self.spec: TokenizerSpec = dict(spec or DEFAULT_SPEC)
        self._seed = int(self.spec["seed"])
        self._mod = int(self.spec["buckets"]) - 1
        self._memo: dict[str, int] = {}
        self._char_memo: dict[str, list[int]] = {}

    def _id(self, feature: str) -> int:
        got = self._memo.get(feature)
        if got is None:
            got = 1 + fnv1a32(feature.encode("utf-8"), self._seed) % self._mod
            self._memo[feature] = got
        return got

    def _char_ids(self, word: str) -> list[int]:
        got = self._char_memo.get(word)
        if got is None:
            got = []
            if 2 <= len(word) <= self.spec["char_ngram_max_word"]:
                padded = "<" + word + ">"
                for n in self.spec["char_ngrams"]:
                    for i in range(len(padded) - n + 1):
                        got.append(self._id("c:" + padded[i:i + n]))
            self._char_memo[word] = got
        return got

    def ids(self, text: str) -> list[int]:
        """Non-padding ids of a text, at most ``max_tokens``."""
        ws = words(text, self.spec)
        cap = self.spec["max_tokens"]
        out: list[int] = []
        for feat in self.spec["features"]:
            if len(out) >= cap:
                break
            if feat == "word":
                out.extend(self._id("w:" + w) for w in ws)
            elif feat == "bigram":
                out.extend(self._id("b:" + a + " " + b) for a, b in zip(ws, ws[1:]))
            elif feat == "char":
                for w in ws:
                    out.extend(self._char_ids(w))
                    if len(out) >= cap:
                        break
            else:
                raise ValueError(f"unknown feature {feat!r}")
        return out[:cap]

    def encode(self, text: str) -> np.ndarray:
        """int64 ``[max_tokens]``, 0 = padding."""
        row = np.zeros(self.spec["max_tokens"], dtype=np.int64)
        got = self.ids(text)
        row[: len(got)] = got
        return row

    def encode_batch(self, texts: Sequence[str]) -> np.ndarray:
        """int64 ``[N, max_tokens]``."""
        out = np.zeros((len(texts), self.spec["max_tokens"]), dtype=np.int64)
        for i, t in enumerate(texts):
            got = self.ids(t)
            out[i, : len(got)] = got
        return out
