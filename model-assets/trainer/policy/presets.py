"""The preset operating points of a bundle (``policy.presets`` in the manifest): which w each
preset name means for this policy.

w acts as a price (the policy starts from ``w * p - (1 - w) * cost_rel``), so a fixed
``balanced = 0.5`` sits near the cheap end, far from 95% of the best model's quality (mmlu-pro:
quality 0.67 against the best model's 0.856, at 6.6% of its cost; docs/benchmarks/notes.md). The
presets are therefore calibrated per bundle, on the build's validation prompts (mmlu-pro train
prompts held out of policy training; never the test split):

- ``cheap`` = 0 and ``quality`` = 1, as before;
- ``balanced`` = the least w from which the policy keeps at least ``BALANCED_SHARE`` (95%) of the
  best single model's validation quality, RouteLLM's usual operating point ("95% of GPT-4's
  quality"). "From which": every larger w on the grid reaches it too, so one lucky w cannot set it.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from ..irt.model import IrtModel
from ..predict import Predictor
from ..scoring.evalset import SplitData
from ..scoring.metrics import single_pool
from .evaluate import policy_curve
from .model import SetPolicy

BALANCED_SHARE = 0.95
PRESET_GRID = np.round(np.linspace(0.0, 1.0, 101), 2)


def least_w_from_which(ws: Sequence[float], qualities: Sequence[float], target: float) -> float:
    """Least w such that this and every larger w (ascending grid) reach ``target``; the largest w if none.

    @example
        least_w_from_which([0, 0.5, 0.8, 1], [0.2, 0.9, 0.85, 0.95], 0.85)   # 0.5
        least_w_from_which([0, 0.5, 0.8, 1], [0.2, 0.9, 0.80, 0.95], 0.85)   # 1.0
    """
    chosen = float(ws[-1])
    for w, q in zip(reversed(list(ws)), reversed(list(qualities))):
        if q < target:
            break
        chosen = float(w)
    return chosen


def calibrate_presets(policy: SetPolicy, predictor: IrtModel | Predictor, irt_models: list[str], split: SplitData,
                      emb: np.ndarray,
                      names: tuple[str, ...], share: float = BALANCED_SHARE,
                      ws: Sequence[float] = PRESET_GRID) -> tuple[dict[str, float], dict]:
    """(presets, calibration report) of ``policy`` on a validation split.

    @example
        presets, report = calibrate_presets(policy, heads[0], joint.models, val_es.test, val_emb, names)
        presets["balanced"]   # e.g. 0.86
    """
    points, p = policy_curve(policy, predictor, irt_models, split, emb, names, ws)
    pool = single_pool(split.table.models, split.cost, split.quality)
    best_q, best_c = float(pool.qualities[pool.best]), float(pool.costs[pool.best])
    target = share * best_q
    w = least_w_from_which(ws, [q for _, q in points], target)
    cost, quality = points[list(ws).index(w)]
    presets = {"cheap": 0.0, "balanced": w, "quality": 1.0}
    report = {
        "rule": f"balanced: least w from which the policy keeps {share:.0%} of the best single model's quality",
        "prompts": int(len(p)), "best_single": pool.names[pool.best], "best_quality": round(best_q, 4),
        "target_quality": round(target, 4), "balanced_quality": round(quality, 4),
        "balanced_cost_share": round(cost / best_c, 4) if best_c > 0 else None,
    }
    return presets, report
