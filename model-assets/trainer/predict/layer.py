"""Predictors: a prompt's success probability for a set of the bundle's models.

``IrtPredictor`` is the IRT head alone (what every bundle before the neighbour layer served, and
what a model without outcome rows gets); ``PredictionLayer`` adds the neighbour estimate and the
stack. Training, validation, the presets and the parity checks all take a ``Predictor``, so the
policy is trained and judged on the same numbers the worker will compute.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, Sequence

import numpy as np
import torch

from ..irt.model import IrtModel
from .neighbours import NeighbourIndex
from .stack import Stack


class Predictor(Protocol):
    """What policy training and evaluation need: the IRT model (identities) and ``p_success``."""

    irt: IrtModel

    def p_success(self, emb: np.ndarray, columns: Sequence[int], theta: np.ndarray | None = None,
                  leave_out: Sequence[np.ndarray] = ()) -> np.ndarray:
        ...


def irt_probability(irt: IrtModel, emb: np.ndarray, columns: Sequence[int],
                    theta: np.ndarray | None = None) -> np.ndarray:
    """``sigmoid(a(e) . theta_k - c(e))`` [B, K] with identities ``theta`` ([K, d] or [B, K, d]; default
    the posterior means of ``columns``).

    @example
        p = irt_probability(irt, test_emb, [0, 1, 2])
    """
    irt.eval()
    with torch.no_grad():
        a, c = irt.head(torch.from_numpy(np.asarray(emb, np.float32)))
        if theta is None:
            th = irt.mu.detach()[torch.as_tensor(np.asarray(columns, np.int64))]
        else:
            th = torch.as_tensor(theta, dtype=torch.float32)
        logits = a @ th.T if th.dim() == 2 else torch.einsum("bd,bkd->bk", a, th)
        return torch.sigmoid(logits - c[:, None]).numpy().astype(np.float64)


@dataclass
class IrtPredictor:
    """The IRT head alone.

    @example
        p = IrtPredictor(irt).p_success(test_emb, [0, 1])
    """

    irt: IrtModel

    def p_success(self, emb: np.ndarray, columns: Sequence[int], theta: np.ndarray | None = None,
                  leave_out: Sequence[np.ndarray] = ()) -> np.ndarray:
        return irt_probability(self.irt, emb, columns, theta)


@dataclass
class PredictionLayer:
    """IRT plus neighbours, combined by the stack; ``columns`` index the IRT's (= the manifest's) models.

    @example
        layer = PredictionLayer(irt, index, stack)
        p = layer.p_success(test_emb, [0, 3])
    """

    irt: IrtModel
    index: NeighbourIndex
    stack: Stack

    def p_success(self, emb: np.ndarray, columns: Sequence[int], theta: np.ndarray | None = None,
                  leave_out: Sequence[np.ndarray] = ()) -> np.ndarray:
        cols = np.asarray(columns, np.int64)
        p_irt = irt_probability(self.irt, emb, cols, theta)
        return self.combine(p_irt, emb, cols, leave_out)

    def combine(self, p_irt: np.ndarray, emb: np.ndarray, columns: np.ndarray,
                leave_out: Sequence[np.ndarray] = ()) -> np.ndarray:
        """The stack over given IRT probabilities (e.g. from a cross-fit head, or noisy identities).

        @example
            p = layer.combine(p_irt, emb, np.array([0, 3]))
        """
        p_nb = self.index.predict(emb, columns, leave_out=leave_out)
        return self.stack.combine(p_irt, p_nb, columns)

    def with_irt(self, irt: IrtModel) -> "PredictionLayer":
        """The same layer over another IRT head (a cross-fit head, for out-of-sample estimates).

        @example
            layer.with_irt(heads[0]).p_success(val_emb, cols)
        """
        return PredictionLayer(irt, self.index, self.stack)


def as_predictor(model: IrtModel | Predictor) -> Predictor:
    """A bare ``IrtModel`` as an ``IrtPredictor``; a predictor as it is.

    @example
        as_predictor(irt).p_success(emb, [0])
    """
    return IrtPredictor(model) if isinstance(model, IrtModel) else model
