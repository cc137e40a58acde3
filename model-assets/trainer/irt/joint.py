"""All datasets' prompts and outcomes in one matrix over one global model list (for joint training)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ..data.table import OutcomeTable


@dataclass
class JointData:
    """Rows = every prompt of every dataset; columns = every model (NaN where a dataset lacks it).

    @example
        j = build_joint(tables, embeddings, exclude=COLD_START_MODELS)
        train = j.rows("train")
    """

    models: list[str]
    datasets: list[str]
    emb: np.ndarray          # float32 [N, dim]
    y: np.ndarray            # float32 [N, K], NaN = missing
    dataset_idx: np.ndarray  # int [N]
    split: np.ndarray        # '<U5' [N]

    def rows(self, split: str | None = None, dataset: str | None = None) -> np.ndarray:
        sel = np.ones(len(self.split), dtype=bool)
        if split is not None:
            sel &= self.split == split
        if dataset is not None:
            sel &= self.dataset_idx == self.datasets.index(dataset)
        return np.flatnonzero(sel)

    def columns(self, dataset: str) -> np.ndarray:
        """Model columns with any outcome in ``dataset``."""
        r = self.rows(dataset=dataset)
        return np.flatnonzero((~np.isnan(self.y[r])).any(axis=0))


def build_joint(tables: Sequence[OutcomeTable], embeddings: Sequence[np.ndarray],
                exclude: Sequence[str] = ()) -> JointData:
    """Stack tables into one :class:`JointData`, dropping ``exclude`` models (cold start).

    @example
        j = build_joint([mmlu, alpaca], [e_mmlu, e_alpaca], exclude=COLD_START_MODELS)
    """
    skip = set(exclude)
    models = sorted({m for t in tables for m in t.models if m not in skip})
    col = {m: j for j, m in enumerate(models)}
    n = sum(len(t.prompt_ids) for t in tables)
    y = np.full((n, len(models)), np.nan, dtype=np.float32)
    start = 0
    for t in tables:
        for j, m in enumerate(t.models):
            if m in col:
                y[start:start + len(t.prompt_ids), col[m]] = t.outcome[:, j]
        start += len(t.prompt_ids)
    return JointData(
        models=models, datasets=[t.dataset for t in tables],
        emb=np.concatenate(embeddings).astype(np.float32), y=y,
        dataset_idx=np.concatenate([np.full(len(t.prompt_ids), i) for i, t in enumerate(tables)]),
        split=np.concatenate([t.split for t in tables]),
    )
