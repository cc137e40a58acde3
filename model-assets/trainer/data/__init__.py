"""Outcome tables: one adapter per dataset in ``shared/data`` plus a bring-your-own-data reader.

@example
    from trainer.data import load_dataset, DATASETS
    tables = {name: load_dataset(name) for name in DATASETS}
"""
from __future__ import annotations

from pathlib import Path

from ..paths import DATA_ROOT
from .aliases import ALIASES, COLD_START_MODELS, aliases_of, canonical, read_prices
from .byod import ByodError, load_byod
from .cache import cached_table
from .table import OutcomeTable

DATASETS: list[str] = [
    "mmlu-pro", "alpaca-eval", "arena-hard-v1", "routellm-mmlu", "routellm-gsm8k",
    "routellm-mt-bench", "routerarena",
]


def load_dataset(name: str, data_root: Path = DATA_ROOT) -> OutcomeTable:
    """Parsed outcome table of one dataset (cached under ``model-assets/.cache/tables``).

    @example
        mmlu = load_dataset("mmlu-pro")
        print(mmlu.outcome.shape)   # (12032, 32)
    """
    from .datasets import LOADERS, SOURCE_DIRS

    if name not in LOADERS:
        raise ValueError(f"unknown dataset {name!r}; known: {', '.join(DATASETS)}")
    data_root = Path(data_root)
    sources = [data_root / SOURCE_DIRS[name], data_root / "prices.csv"]
    return cached_table(name, sources, lambda: LOADERS[name](data_root))


__all__ = [
    "ALIASES", "COLD_START_MODELS", "DATASETS", "ByodError", "OutcomeTable", "aliases_of", "canonical",
    "load_byod", "load_dataset", "read_prices",
]
