"""Teacher embeddings (USE-Lite, 512-d) with an on-disk cache keyed by sha256 of the text.

The teacher runs in Node (``model-assets/teacher/embed-texts.mjs``); this module writes the texts it
lacks to a JSONL file, runs the script (progress on stderr), and reads the cache. The cache is
append-only JSONL (``{"key", "v": base64 float32}``), written batch by batch, so an interrupted run
keeps what it finished and a re-run only embeds the rest.
"""
from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from ..paths import CACHE_DIR, PROJECT_ROOT

TEACHER_DIM = 512
TEACHER_NAME = "use-lite-v1"
TEACHER_SCRIPT = PROJECT_ROOT / "model-assets" / "teacher" / "embed-texts.mjs"
TEACHER_CACHE = CACHE_DIR / "teacher" / TEACHER_NAME


def text_key(text: str) -> str:
    """Cache key: sha256 hex of the text's UTF-8 bytes (lone surrogates become U+FFFD first, as
    JavaScript's encoder does).

    >>> text_key("")[:8]
    'e3b0c442'
    """
    return hashlib.sha256(_SURROGATE.sub("\ufffd", text).encode("utf-8")).hexdigest()


_SURROGATE = re.compile("[\ud800-\udfff]")


def read_cache(cache_dir: Path = TEACHER_CACHE) -> dict[str, np.ndarray]:
    """All cached vectors by key (a torn last line from a crash is skipped)."""
    out: dict[str, np.ndarray] = {}
    path = cache_dir / "vectors.jsonl"
    if not path.exists():
        return out
    with path.open(encoding="utf-8") as f:
        for line in f:
            try:
                row = json.loads(line)
                vec = np.frombuffer(base64.b64decode(row["v"]), dtype="<f4")
            except (ValueError, KeyError):
                continue
            if vec.shape == (TEACHER_DIM,):
                out[row["key"]] = vec
    return out


def run_teacher(texts: list[str], cache_dir: Path = TEACHER_CACHE, batch: int = 64) -> None:
    """Embeds the texts missing from the cache with the Node teacher (nice'd, one process)."""
    cached = read_cache(cache_dir)
    todo = {}
    for t in texts:
        k = text_key(t)
        if k not in cached:
            todo[k] = t
    if not todo:
        return
    cache_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False, encoding="utf-8") as f:
        for k, t in todo.items():
            f.write(json.dumps({"key": k, "text": t}) + "\n")
        tmp = f.name
    try:
        cmd = ["nice", "-n", "10", "node", str(TEACHER_SCRIPT), "--input", tmp,
               "--cache", str(cache_dir), "--batch", str(batch)]
        subprocess.run(cmd, check=True, cwd=PROJECT_ROOT, env={**os.environ})
    finally:
        os.unlink(tmp)


def teacher_embeddings(texts: list[str], cache_dir: Path = TEACHER_CACHE, run_missing: bool = True) -> np.ndarray:
    """Teacher vectors ``[N, 512]`` (float32, as USE-Lite returns them: close to unit norm).

    Reads the cache; runs the Node teacher for the misses first (``run_missing``), else raises.

    @example
        teacher_embeddings(["What is 2+2?"]).shape   # (1, 512)
    """
    if run_missing:
        run_teacher(texts, cache_dir)
    cached = read_cache(cache_dir)
    keys = [text_key(t) for t in texts]
    missing = sum(k not in cached for k in keys)
    if missing:
        raise KeyError(f"{missing} of {len(texts)} texts have no teacher vector in {cache_dir}")
    if not keys:
        return np.zeros((0, TEACHER_DIM), dtype=np.float32)
    return np.stack([cached[k] for k in keys]).astype(np.float32)


def _main() -> None:
    """Fills the cache for the embedder's corpus: ``python3 -m trainer.embed.teacher``
    (mmlu-pro and the small prompt sets first, then the rest of the distillation corpus)."""
    from .corpus import dedupe, prompt_items, teacher_corpus

    first = [t for s, t, _ in dedupe(prompt_items()) if s != "routellm-mmlu"]
    run_teacher(first)
    run_teacher(teacher_corpus())


if __name__ == "__main__":
    _main()
