"""What every router is scored on: one dataset's pool, train and test prompts, costs and qualities.

Quality: a missing outcome (no record for that prompt and model) is filled with that model's mean
outcome on the same split, so a single model's quality is the mean over its recorded prompts and a
router that picks it on such a prompt gets exactly that expectation. Cost: the realised cost of the
data README (``OutcomeTable.cost()``). What a router may *know* before answering is only the
expected cost (prompt tokens and the model's mean output length on the train split), the same rule
the worker uses with the manifest's ``mean_output_tokens``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ..data.table import OutcomeTable
from .metrics import SinglePool, single_pool


@dataclass
class SplitData:
    """One split of one dataset restricted to the pool."""

    table: OutcomeTable
    quality: np.ndarray        # [P, K] outcomes, missing filled with the model's mean on this split
    cost: np.ndarray           # [P, K] realised USD
    expected_cost: np.ndarray  # [P, K] USD a router can know: prompt tokens + train mean output tokens

    @property
    def size(self) -> int:
        return len(self.table.prompt_ids)

    def cost_norm(self) -> np.ndarray:
        """Per prompt, ``(ln c - min ln c) / (max ln c - min ln c)`` of the expected cost over the
        pool (the contract's ``cost_norm``; 0 when all costs are equal).

        @example
            split.cost_norm()[0]  # e.g. [0.0, 0.31, 1.0]
        """
        return cost_norm(self.expected_cost)


@dataclass
class EvalSet:
    """Train and test splits of one dataset over one pool of models."""

    dataset: str
    models: list[str]
    train: SplitData
    test: SplitData
    excluded_models: list[str]

    def pool(self) -> SinglePool:
        """The single models on the test split (the points every router must beat).

        @example
            evalset.pool().best  # index of the best-quality model
        """
        return single_pool(self.models, self.test.cost, self.test.quality)


def cost_norm(expected_cost: np.ndarray) -> np.ndarray:
    """Min-max of the log expected cost per row (the bundle contract's ``cost_norm``).

    @example
        >>> cost_norm(np.array([[1.0, np.e, np.e ** 2]])).round(3).tolist()
        [[0.0, 0.5, 1.0]]
    """
    lc = np.log(np.maximum(np.asarray(expected_cost, np.float64), 1e-12))
    lo = lc.min(axis=1, keepdims=True)
    span = lc.max(axis=1, keepdims=True) - lo
    return np.where(span > 0, (lc - lo) / np.where(span > 0, span, 1.0), 0.0)


def fill_missing(outcome: np.ndarray) -> np.ndarray:
    """Missing outcomes replaced by the model's mean over recorded prompts (0.5 if none).

    @example
        >>> fill_missing(np.array([[1.0, np.nan], [0.0, 1.0]])).tolist()
        [[1.0, 1.0], [0.0, 1.0]]
    """
    y = np.asarray(outcome, np.float64)
    with np.errstate(all="ignore"):
        means = np.nanmean(y, axis=0)
    means = np.where(np.isnan(means), 0.5, means)
    return np.where(np.isnan(y), means[None, :], y)


#: A model with at least this many recorded test outcomes is in the pool whatever its share of the
#: test prompts: in a sparse folder (exported traffic, where each prompt was answered by the model
#: it was routed to, or evals that graded each prompt on a few models) no model may reach half of
#: them. Its quality on the others is its mean (``fill_missing``); 30 outcomes put that mean within
#: about 0.09 (one standard error of a 0/1 outcome at 0.5).
MIN_RECORDED = 30


def build_evalset(table: OutcomeTable, exclude: Sequence[str] = (), min_coverage: float = 0.5,
                  min_recorded: int = MIN_RECORDED) -> EvalSet:
    """Split ``table`` by its ``split`` field and restrict it to the pool.

    The pool is every model not in ``exclude`` (the cold-start models for mmlu-pro) with recorded
    outcomes on at least ``min_coverage`` or ``min_recorded`` of the prompts of each split (a model
    no train prompt graded is one no router can learn about).

    @example
        es = build_evalset(load_dataset("mmlu-pro"), exclude=COLD_START_MODELS)
    """
    test_rows = table.split == "test"
    train_rows = table.split == "train"
    if not test_rows.any() or not train_rows.any():
        raise ValueError(f"{table.dataset}: needs both train and test prompts")

    def enough(rows: np.ndarray) -> np.ndarray:
        recorded = (~np.isnan(table.outcome[rows])).sum(axis=0)
        return (recorded >= min_coverage * rows.sum()) | (recorded >= min_recorded)

    graded = enough(test_rows) & enough(train_rows)
    models = [m for j, m in enumerate(table.models) if m not in set(exclude) and graded[j]]
    excluded = [m for m in table.models if m not in models]
    if len(models) < 2:
        raise ValueError(f"{table.dataset}: fewer than two models with outcomes on at least {min_recorded} or "
                         f"{min_coverage:.0%} of the train prompts and of the test prompts (a pool needs two)")
    train_t = table.subset(rows=train_rows, models=models)
    test_t = table.subset(rows=test_rows, models=models)
    # Mean output tokens per model on the train split: all a router knows about output lengths.
    mean_out = train_t.output_tokens.astype(np.float64).mean(axis=0)

    def split(t: OutcomeTable) -> SplitData:
        exp = (t.prices[None, :, 0] * t.input_tokens[:, None].astype(np.float64)
               + t.prices[None, :, 1] * mean_out[None, :]) / 1e6
        return SplitData(table=t, quality=fill_missing(t.outcome), cost=t.cost().astype(np.float64),
                         expected_cost=exp)

    return EvalSet(dataset=table.dataset, models=models, train=split(train_t), test=split(test_t),
                   excluded_models=excluded)
