"""Pickle cache of parsed tables under ``model-assets/.cache/tables``, keyed by source file stats.

The key covers every file of the dataset's folder (path, size, mtime), ``prices.csv`` and the
adapter code itself, so editing data or code invalidates it.
"""
from __future__ import annotations

import hashlib
import pickle
from pathlib import Path
from typing import Callable

from ..paths import CACHE_DIR
from .table import OutcomeTable

_CODE_FILES = ["datasets.py", "table.py", "aliases.py", "byod.py"]


def cache_key(name: str, sources: list[Path]) -> str:
    """Hex key of a dataset name, its source files' stats and the adapter code.

    @example
        cache_key("mmlu-pro", [DATA_ROOT / "mmlu-pro", DATA_ROOT / "prices.csv"])
    """
    h = hashlib.sha256(name.encode())
    for src in sources:
        files = sorted(p for p in src.rglob("*") if p.is_file()) if src.is_dir() else [src]
        for p in files:
            st = p.stat()
            h.update(f"{p}|{st.st_size}|{st.st_mtime_ns}".encode())
    here = Path(__file__).parent
    for f in _CODE_FILES:
        h.update((here / f).read_bytes())
    return h.hexdigest()[:24]


def cached_table(name: str, sources: list[Path], build: Callable[[], OutcomeTable]) -> OutcomeTable:
    """Load the table from the cache, or build and store it.

    @example
        t = cached_table("mmlu-pro", [folder, prices], lambda: load_mmlu_pro(root))
    """
    path = CACHE_DIR / "tables" / f"{name}-{cache_key(name, sources)}.pkl"
    if path.exists():
        try:
            with open(path, "rb") as f:
                return pickle.load(f)
        except Exception:  # a torn write from an interrupted run: rebuild
            pass
    table = build()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{id(table)}.tmp")
    with open(tmp, "wb") as f:
        pickle.dump(table, f, protocol=pickle.HIGHEST_PROTOCOL)
    tmp.replace(path)
    return table
