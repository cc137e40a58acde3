"""The policy as served, scored with the eval harness's metrics (AIQ, CTM) against IRT-greedy."""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from ..irt.model import IrtModel
from ..predict import Predictor, as_predictor
from ..scoring.evalset import SplitData
from ..scoring.greedy import W_GRID, greedy_curve
from ..scoring.metrics import SinglePool, aiq, choice_point, ctm, hull_aiq, single_pool
from .episodes import build_features, non_dominated
from .model import SetPolicy


@torch.no_grad()
def served_inputs(split: SplitData, emb: np.ndarray, predictor: IrtModel | Predictor, irt_models: list[str],
                  names: tuple[str, ...], prune: bool = False
                  ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, np.ndarray]:
    """(embedding, features without w, mask, p_success) for a split's prompts over its pool.

    ``predictor``: the IRT alone or the bundle's prediction layer (trainer/predict), whichever the
    bundle serves.

    ``emb`` holds the embeddings of the split's first N prompts (N may be smaller than the split).
    ``prune`` (pass ``policy.prune_dominated``): the mask keeps only the non-dominated candidates,
    whose features stay relative to the whole set, as the worker shows them.

    @example
        e, f, m, p = served_inputs(evalset.test, emb_test, irt, joint.models, names, prune=policy.prune_dominated)
    """
    pred = as_predictor(predictor)
    cols = [irt_models.index(m) for m in split.table.models]
    e = torch.from_numpy(emb.astype(np.float32))
    theta = pred.irt.mu.detach()[torch.tensor(cols)][None].expand(len(e), -1, -1)
    p = torch.from_numpy(pred.p_success(emb, cols).astype(np.float32))
    mask = torch.ones(p.shape)
    cost = torch.from_numpy(split.expected_cost[: len(e)].astype(np.float32))
    feats = build_features(p, cost, theta, mask, names)
    if prune:
        mask = non_dominated(cost, p, mask)
        feats = feats * mask[..., None]
    return e, feats, mask, p.numpy()


@torch.no_grad()
def policy_choices(policy: SetPolicy, e: torch.Tensor, feats: torch.Tensor, mask: torch.Tensor,
                   cost_norm: np.ndarray, w: float, batch: int = 4096) -> np.ndarray:
    """The worker's rule: argmax of the policy's probabilities, ties to the cheaper candidate.

    @example
        choice = policy_choices(policy, e, f, m, split.cost_norm(), 0.5)
    """
    policy.eval()
    out = []
    for s in range(0, len(e), batch):
        sl = slice(s, s + batch)
        pw = torch.full((len(e[sl]), 1), float(w))
        probs = policy.probs(e[sl], pw, feats[sl], mask[sl]).numpy()
        out.append(np.argmax(probs - 1e-7 * cost_norm[sl], axis=1))
    return np.concatenate(out)


def policy_curve(policy: SetPolicy, predictor: IrtModel | Predictor, irt_models: list[str], split: SplitData,
                 emb: np.ndarray,
                 names: tuple[str, ...], ws: Sequence[float]) -> tuple[list[tuple[float, float]], np.ndarray]:
    """The policy's (cost, quality) point at each w of ``ws``, in that order, and the IRT p_success.

    @example
        points, p = policy_curve(policy, irt, joint.models, evalset.test, emb_test, names, W_GRID)
    """
    e, feats, mask, p = served_inputs(split, emb, predictor, irt_models, names, prune=policy.prune_dominated)
    cn = split.cost_norm()
    points = [choice_point(policy_choices(policy, e, feats, mask, cn, float(w)), split.cost, split.quality) for w in ws]
    return points, p


def router_report(points: list[tuple[float, float]], pool: SinglePool) -> dict[str, float | None]:
    """AIQ and CTM of a router's points.

    @example
        router_report(points, evalset.pool())
    """
    c = ctm(points, pool)
    return {"aiq": round(aiq(points, pool), 4), "ctm": None if c is None else round(c, 4)}


def evaluate_policy(policy: SetPolicy, predictor: IrtModel | Predictor, irt_models: list[str], split: SplitData,
                    emb: np.ndarray,
                    names: tuple[str, ...], ws: Sequence[float] = W_GRID) -> dict:
    """Policy vs IRT-greedy vs the single-model hull on one split (AIQ, CTM; points per w).

    @example
        report = evaluate_policy(policy, irt, joint.models, evalset.test, emb_test, names)
    """
    points, p = policy_curve(policy, predictor, irt_models, split, emb, names, ws)
    pool = single_pool(split.table.models, split.cost, split.quality)
    greedy = greedy_curve(p, split.cost_norm(), split.cost, split.quality, ws)
    return {
        "prompts": len(p), "models": len(split.table.models),
        "policy": router_report(points, pool),
        "irt_greedy": router_report(greedy, pool),
        "single_model_hull_aiq": round(hull_aiq(pool), 4),
        "best_single": {"model": pool.names[pool.best], "quality": round(float(pool.qualities[pool.best]), 4),
                        "cost": float(pool.costs[pool.best])},
        "policy_points": [[float(c), round(float(q), 4)] for c, q in points[:: max(1, len(points) // 10)]],
    }
