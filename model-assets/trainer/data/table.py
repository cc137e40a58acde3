"""The one outcome table every dataset adapter produces (prompts x models)."""
from __future__ import annotations

import warnings
from dataclasses import dataclass, replace
from typing import Sequence

import numpy as np


@dataclass
class OutcomeTable:
    """Per-prompt, per-model outcomes of one dataset, with everything the cost model needs.

    ``outcome`` is in [0, 1] with NaN where a model has no record for a prompt; ``output_tokens``
    has no NaN (unknown lengths are filled with the model's mean in the same dataset, or its mean
    across datasets, see ``data.aliases``); ``input_tokens`` is ``ceil(chars / 4)`` of the prompt.

    @example
        t = load_dataset("mmlu-pro")
        test = t.subset(rows=t.split == "test")
        print(test.cost().mean(axis=0))  # mean USD per model
    """

    dataset: str
    prompt_ids: list[str]
    prompts: list[str]
    models: list[str]
    outcome: np.ndarray
    output_tokens: np.ndarray
    input_tokens: np.ndarray
    prices: np.ndarray
    split: np.ndarray
    category: list[str] | None = None

    def __post_init__(self) -> None:
        p, k = len(self.prompt_ids), len(self.models)
        assert self.outcome.shape == (p, k), (self.dataset, self.outcome.shape, (p, k))
        assert self.output_tokens.shape == (p, k)
        assert self.input_tokens.shape == (p,)
        assert self.prices.shape == (k, 2)
        assert self.split.shape == (p,)
        assert len(self.prompts) == p
        assert self.category is None or len(self.category) == p

    def cost(self) -> np.ndarray:
        """USD per prompt and model: ``(in_price * in_tokens + out_price * out_tokens) / 1e6``.

        @example
            usd = table.cost()   # float32 [P, K]
        """
        c = self.prices[None, :, 0] * self.input_tokens[:, None] + self.prices[None, :, 1] * self.output_tokens
        return (c / 1e6).astype(np.float32)

    def mask(self) -> np.ndarray:
        """True where an outcome is recorded (``~isnan(outcome)``).

        @example
            observed = table.mask().sum()
        """
        return ~np.isnan(self.outcome)

    def subset(self, rows: Sequence[int] | np.ndarray | None = None,
               models: Sequence[str] | Sequence[int] | np.ndarray | None = None) -> "OutcomeTable":
        """A copy restricted to some prompts (indices or a boolean mask) and/or models (names or indices).

        @example
            small = table.subset(rows=np.arange(100), models=["gpt-4o_dir-gpt4o", "Yi-6B"])
        """
        r = np.arange(len(self.prompt_ids)) if rows is None else np.asarray(rows)
        if r.dtype == bool:
            r = np.flatnonzero(r)
        if models is None:
            m = np.arange(len(self.models))
        else:
            m = np.array([self.models.index(x) if isinstance(x, str) else int(x) for x in models], dtype=int)
        return replace(
            self,
            prompt_ids=[self.prompt_ids[i] for i in r],
            prompts=[self.prompts[i] for i in r],
            models=[self.models[j] for j in m],
            outcome=self.outcome[np.ix_(r, m)],
            output_tokens=self.output_tokens[np.ix_(r, m)],
            input_tokens=self.input_tokens[r],
            prices=self.prices[m],
            split=self.split[r],
            category=None if self.category is None else [self.category[i] for i in r],
        )


def chars_to_tokens(chars: np.ndarray | float) -> np.ndarray:
    """Token count of the cost model: ``ceil(chars / 4)``.

    @example
        chars_to_tokens(np.array([0, 1, 4, 5]))  # -> [0, 1, 1, 2]
    """
    return np.ceil(np.asarray(chars, dtype=np.float64) / 4.0).astype(np.float32)


def fill_output_tokens(tokens: np.ndarray, fallback: np.ndarray) -> np.ndarray:
    """Fill NaN output lengths with the column (model) mean, else with ``fallback[k]``.

    @example
        filled = fill_output_tokens(np.array([[1, np.nan]]), np.array([0, 7.0]))  # [[1, 7]]
    """
    out = tokens.astype(np.float32).copy()
    with warnings.catch_warnings():  # an all-missing column has no mean: the fallback covers it
        warnings.simplefilter("ignore", RuntimeWarning)
        means = np.nanmean(out, axis=0) if out.shape[0] else np.full(out.shape[1], np.nan)
    means = np.where(np.isnan(means), fallback, means).astype(np.float32)
    nan = np.isnan(out)
    out[nan] = np.broadcast_to(means, out.shape)[nan]
    return out
