"""Fitting the prediction layer inside a build: index, out-of-sample estimates, stack."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from ..irt.joint import JointData
from ..irt.model import IrtModel
from .layer import PredictionLayer, irt_probability
from .neighbours import fit_index, soft_log_loss
from .routing import RoutingSet, choose_pair_width, choose_stack
from .stack import fit_stack

#: Defaults of the shipped recipe: 1,024 centroids in 64 dims kept the leave-one-out routing AIQ of
#: an index over every train prompt (within 0.001 on mmlu-pro, arena-hard and alpaca-eval, research
#: runs of issue 22) at a fraction of the worker's time.
CENTROIDS = 1024
INDEX_DIM = 64


@dataclass
class LayerFit:
    layer: PredictionLayer
    #: [N] each joint row's row in the neighbour index (-1: not in it, e.g. test or validation prompts)
    index_row: np.ndarray
    report: dict[str, Any]


def fit_layer(joint: JointData, irt: IrtModel, heads: list[IrtModel], folds: np.ndarray, rows: np.ndarray,
              centroids: int = CENTROIDS, dim: int = INDEX_DIM, seed: int = 0, routing: Sequence[RoutingSet] = (),
              log=print) -> LayerFit:
    """The prediction layer of ``irt`` on the joint rows ``rows`` (train prompts the policy may learn
    from; validation and test prompts stay out, so they are scored as live prompts are).

    The stack is fitted on out-of-sample estimates: each row's IRT probability from the cross-fit head
    of its fold (``heads[folds[row]]``, identities frozen at ``irt``'s), its neighbour estimate with
    its own outcomes left out of the index. With ``routing`` (the train prompts' costs and qualities,
    positions into ``rows``), a stack with a shrunk IRT slope replaces the log-loss one where it
    routes those prompts better (``routing.choose_stack``), and where every such dataset is a pair,
    the kernel width is the one that ranks the pair's prompts best (``routing.choose_pair_width``).

    @example
        fit = fit_layer(joint, irt, heads, folds, np.flatnonzero(train & ~held))
    """
    rows = np.asarray(rows, np.int64)
    emb, y = joint.emb[rows], joint.y[rows].astype(np.float64)
    cols = np.arange(len(joint.models))
    index = fit_index(emb, y, centroids=centroids, dim=dim, seed=seed, log=log)
    width = choose_pair_width(index, emb, y, routing, log=log)
    p_irt = np.empty_like(y)
    for k, head in enumerate(heads):
        sel = folds[rows] == k
        if sel.any():
            p_irt[sel] = irt_probability(head, emb[sel], cols, theta=irt.mu.detach().numpy())
    p_nb = index.predict(emb, leave_out=[np.arange(len(rows))])
    stack, choice = choose_stack(fit_stack(p_irt, p_nb, y, log=log), p_irt, p_nb, y, routing, log=log)
    p_layer = stack.combine(p_irt, p_nb, cols)
    report = {
        "train_prompts": int(len(rows)),
        "out_of_sample_log_loss": {"irt": round(soft_log_loss(p_irt, y), 5),
                                   "neighbours": round(soft_log_loss(p_nb, y), 5),
                                   "layer": round(soft_log_loss(p_layer, y), 5)},
        "stack": choice,
        "width": width,
    }
    log(f"[layer] out-of-sample log loss on {len(rows)} train prompts: {report['out_of_sample_log_loss']}")
    index_row = np.full(len(joint.split), -1, dtype=np.int64)
    index_row[rows] = np.arange(len(rows))
    return LayerFit(PredictionLayer(irt, index, stack), index_row, report)


def evaluate_layer(joint: JointData, layer: PredictionLayer) -> dict[str, dict[str, float]]:
    """Test log loss of the IRT alone and of the layer, per dataset (held-out prompts).

    @example
        evaluate_layer(joint, fit.layer)   # {"mmlu-pro": {"irt": 0.58, "layer": 0.575}, ...}
    """
    out: dict[str, dict[str, float]] = {}
    cols = np.arange(len(joint.models))
    for name in joint.datasets:
        r = joint.rows("test", name)
        if len(r) == 0:
            continue
        y = joint.y[r].astype(np.float64)
        p_irt = irt_probability(layer.irt, joint.emb[r], cols)
        p = layer.stack.combine(p_irt, layer.index.predict(joint.emb[r]), cols)
        out[name] = {"irt": round(soft_log_loss(p_irt, y), 5), "layer": round(soft_log_loss(p, y), 5)}
    return out
