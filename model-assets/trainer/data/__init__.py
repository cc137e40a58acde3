"""Outcome tables: one adapter per dataset in ``shared/data`` plus a bring-your-own-data reader.

@example
    from trainer.data import load_dataset, DATASETS
    tables = {name: load_dataset(name) for name in DATASETS}
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

from ..paths import DATA_ROOT
from .aliases import ALIASES, COLD_START_MODELS, IDENTITY_SCOPES, aliases_of, canonical, read_prices, scoped, unscoped
from .byod import ByodError, load_byod
from .datasets import DATASETS, load_unscoped
from .table import OutcomeTable


def load_dataset(name: str, data_root: Path = DATA_ROOT) -> OutcomeTable:
    """Parsed outcome table of one dataset (cached under ``model-assets/.cache/tables``), its
    models named by the identity they train (``scoped``: RouteLLM's are ``routellm/<name>``).

    @example
        mmlu = load_dataset("mmlu-pro")
        print(mmlu.outcome.shape)   # (12032, 32)
    """
    t = load_unscoped(name, data_root)
    return dataclasses.replace(t, models=[scoped(name, m) for m in t.models]) if name in IDENTITY_SCOPES else t


__all__ = [
    "ALIASES", "COLD_START_MODELS", "DATASETS", "ByodError", "OutcomeTable", "aliases_of", "canonical",
    "IDENTITY_SCOPES", "load_byod", "load_dataset", "load_unscoped", "read_prices", "scoped", "unscoped",
]
