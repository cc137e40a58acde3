"""Checkpoint selection on pools of the sizes a router meets: the whole pool and strong/weak pairs.

Validating on the 27-model mmlu-pro pool alone picked PPO checkpoints that gained a thousandth of
AIQ there and lost up to 0.12 on the two-model RouteLLM sets (below their single-model hull), while
the pretrained policy routed those pairs level with IRT-greedy (model-assets/README.md, Policy). The
score is therefore the mean AIQ gain over the pool's single-model hull, half on the whole pool and
half averaged over pairs: the best-quality/cheapest pair of the train split (RouteLLM's setting) and
random pairs. Pairs of mmlu-pro models did not catch every such checkpoint, so PPO, the only thing
this chooses between, is off by default (``PolicyConfig.ppo_iters``).
"""
from __future__ import annotations

import dataclasses
from typing import Sequence

import numpy as np

from ..irt.model import IrtModel
from ..predict import Predictor
from ..scoring.binary import best_and_cheapest
from ..scoring.evalset import EvalSet, SplitData
from ..scoring.metrics import aiq, hull_aiq, single_pool
from .evaluate import policy_curve
from .model import SetPolicy


def pair_pools(es: EvalSet, n_random: int, seed: int) -> list[tuple[int, int]]:
    """The train split's best-quality/cheapest pair, then ``n_random`` distinct random pairs.

    @example
        pair_pools(val_es, 5, seed=0)   # [(strong, weak), (i, j), ...] model indices of es.models
    """
    strong, weak = best_and_cheapest(es.train.quality, es.train.cost)
    pairs = [(strong, weak)] if strong != weak else []   # one model both best and cheapest: no pair
    rng = np.random.default_rng(seed + 23)
    k = len(es.models)
    want = min(len(pairs) + n_random, k * (k - 1) // 2)
    while len(pairs) < want:
        i, j = (int(x) for x in rng.choice(k, 2, replace=False))
        if (i, j) not in pairs and (j, i) not in pairs:
            pairs.append((i, j))
    return pairs


def restrict(split: SplitData, cols: Sequence[int]) -> SplitData:
    """``split`` with only the models at ``cols``.

    @example
        restrict(val_es.test, [0, 3]).table.models   # two names
    """
    c = list(cols)
    return dataclasses.replace(split, table=split.table.subset(models=c), quality=split.quality[:, c],
                               cost=split.cost[:, c], expected_cost=split.expected_cost[:, c])


def pool_gain(policy: SetPolicy, predictor: IrtModel | Predictor, irt_models: list[str], split: SplitData,
              emb: np.ndarray,
              names: tuple[str, ...], ws: Sequence[float]) -> float:
    """The policy's AIQ minus the single-model hull's on one pool.

    @example
        pool_gain(policy, heads[0], joint.models, val_es.test, val_emb, names, np.linspace(0, 1, 21))
    """
    points, _ = policy_curve(policy, predictor, irt_models, split, emb, names, ws)
    pool = single_pool(split.table.models, split.cost, split.quality)
    return aiq(points, pool) - hull_aiq(pool)


def validation_score(policy: SetPolicy, predictor: IrtModel | Predictor, irt_models: list[str], es: EvalSet,
                     emb: np.ndarray,
                     names: tuple[str, ...], ws: Sequence[float], pairs: Sequence[tuple[int, int]]) -> float:
    """Half the whole pool's AIQ gain over its hull plus half the pairs' mean gain.

    @example
        score = validation_score(policy, heads[0], joint.models, val_es, val_emb, names, ws, pair_pools(val_es, 5, 0))
    """
    whole = pool_gain(policy, predictor, irt_models, es.test, emb, names, ws)
    if not pairs:
        return whole
    pair = np.mean([pool_gain(policy, predictor, irt_models, restrict(es.test, p), emb, names, ws) for p in pairs])
    return 0.5 * whole + 0.5 * float(pair)
