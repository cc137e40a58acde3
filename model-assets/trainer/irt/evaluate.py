"""Held-out (test split) log-loss, AUC and ECE of the IRT head against the baselines, per dataset."""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from .baselines import per_model_logistic, per_model_mean
from .joint import JointData
from .metrics import summary
from .model import IrtModel
from .train import predict


def evaluate_irt(data: JointData, models: dict[str, IrtModel], datasets: Sequence[str] | None = None,
                 logistic: bool = True, log: Callable[[str], None] = print) -> dict[str, dict]:
    """``{dataset: {predictor: {log_loss, auc, ece, n}}}`` on each dataset's test prompts.

    ``models`` maps a name ("irt", "mf") to a trained model; per-model mean and (optionally)
    per-model logistic regression on the embedding are fitted on the same dataset's train split.

    @example
        report = evaluate_irt(joint, {"irt": irt, "mf": mf})
    """
    out: dict[str, dict] = {}
    for name in datasets or data.datasets:
        cols = data.columns(name)
        tr, te = data.rows("train", name), data.rows("test", name)
        if len(cols) == 0 or len(te) == 0:
            continue
        y_tr, y_te = data.y[np.ix_(tr, cols)], data.y[np.ix_(te, cols)]
        res: dict[str, dict] = {}
        for label, model in models.items():
            res[label] = summary(predict(model, data.emb[te])[:, cols], y_te)
        res["per_model_mean"] = summary(per_model_mean(y_tr, len(te)), y_te)
        if logistic:
            res["per_model_logistic"] = summary(per_model_logistic(data.emb[tr], y_tr, data.emb[te]), y_te)
        out[name] = res
        log(f"[irt-eval] {name:18s} " + "  ".join(
            f"{k}: ll {v['log_loss']:.3f} auc {v['auc'] if v['auc'] is not None else float('nan'):.3f} ece "
            f"{v['ece']:.3f}"
            for k, v in res.items()))
    return out
