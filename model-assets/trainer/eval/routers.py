"""Every router of the benchmark on one dataset: its (cost, quality) points and its scores.

Routers driven by a preference are swept over ``W_GRID``; binary routers over every threshold.
Scores follow ``metrics`` (the data README).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from . import metrics as M
from .baselines import binary, category, greedy, knn, mf, sw_ranking
from ..data import IDENTITY_SCOPES, unscoped
from .evalset import EvalSet


@dataclass
class RouterResult:
    """One router's curve on the test split, with what it is (kind) and, for pairs, its APGR."""

    name: str
    kind: str
    points: list[M.Point]
    apgr: float | None = None
    pair: tuple[str, str] | None = None
    note: str = ""
    extra: dict[str, float] = field(default_factory=dict)
    #: a threshold router's score per test prompt (paired bootstraps re-threshold them; not in the JSON)
    scores: np.ndarray | None = None


@dataclass
class ServedOutputs:
    """What the policy as served (the int8 bundle, run by the Node decision core) returned for
    the test prompts: IRT success predictions [P, K] and the chosen model per (w, prompt)."""

    preferences: np.ndarray   # [W]
    choices: np.ndarray       # [W, P] int indices into the pool
    p_success: np.ndarray     # [P, K]
    bundle: str
    #: the policy served with only a strong/weak pair as candidates: (strong, weak) -> [W, P] with
    #: 1 where it chose the strong model
    pair_strong: dict[tuple[int, int], np.ndarray] = field(default_factory=dict)


Progress = Callable[[str], None]


def binary_pairs(es: EvalSet) -> list[tuple[str, int, int]]:
    """(name suffix, strong, weak): the pool's best-quality/cheapest pair (train split), and
    RouteLLM's own pair where both of its models are in the pool.

    @example
        [(suffix, es.models[s], es.models[w]) for suffix, s, w in binary_pairs(es)]
    """
    strong, weak = binary.best_and_cheapest(es.train.quality, es.train.cost)
    pairs = [("", strong, weak)]
    # RouteLLM's own sets name them routellm/<name>; a BYOD model may be called that and is left alone.
    names = [unscoped(m) for m in es.models] if es.dataset in IDENTITY_SCOPES else list(es.models)
    s_name, w_name = binary.ROUTELLM_PAIR
    if s_name in names and w_name in names:
        p = (names.index(s_name), names.index(w_name))
        if p != (strong, weak):
            pairs.append(("_routellm_pair", *p))
        else:
            pairs[0] = ("", *p)
    return pairs


def run_routers(es: EvalSet, train_emb: np.ndarray, test_emb: np.ndarray, served: ServedOutputs | None,
                progress: Progress = lambda s: None, ws: np.ndarray = greedy.W_GRID,
                mf_epochs: int = 20, tfidf: tuple[np.ndarray, np.ndarray] | None = None) -> list[RouterResult]:
    """All routers on ``es``; ``served`` adds IRT-greedy and the policy (skipped when None);
    ``tfidf`` (train, test) reference embeddings add a kNN router on them.

    @example
        results = run_routers(es, train_emb, test_emb, served)
        {r.name: M.aiq(r.points, es.pool()) for r in results}
    """
    base = baseline_routers(es, train_emb, test_emb, progress, mf_epochs, tfidf)
    return merge_routers(base, served_routers(es, served, ws) if served is not None else [])


def baseline_routers(es: EvalSet, train_emb: np.ndarray, test_emb: np.ndarray, progress: Progress = lambda s: None,
                     mf_epochs: int = 20, tfidf: tuple[np.ndarray, np.ndarray] | None = None) -> list[RouterResult]:
    """Every router that does not need the bundle's policy or IRT: the hull, the binary routers,
    kNN, per-category and the oracle (the same for any identities the pool is routed with).

    @example
        base = baseline_routers(es, train_emb, test_emb)
    """
    te, tr = es.test, es.train
    cost, quality = te.cost, te.quality
    pool = es.pool()
    out: list[RouterResult] = []

    hull = [pool.points()[i] for i in range(len(pool.names))]
    out.append(RouterResult("hull", "single-model hull", hull, note="upper convex hull of single models"))

    # Binary routers on (best-quality, cheapest) and RouteLLM's own pair where present.
    progress("routellm-mf: training on train-split battles")
    mf_model = mf.train_mf(train_emb, tr.quality, epochs=mf_epochs)
    for suffix, s, w in binary_pairs(es):
        pair = (es.models[s], es.models[w])
        out.append(RouterResult("random_mix" + suffix, "binary random", binary.random_mix(cost, quality, s, w),
                                apgr=0.5, pair=pair))
        scores = mf.win_rate(mf_model, test_emb, s, w)
        pts, a = binary.threshold_points(scores, cost, quality, s, w)
        out.append(RouterResult("routellm_mf" + suffix, "binary threshold", pts, apgr=a, pair=pair, scores=scores))
        scores = sw_ranking.sw_scores(train_emb, tr.quality[:, s], tr.quality[:, w], test_emb)
        pts, a = binary.threshold_points(scores, cost, quality, s, w)
        out.append(RouterResult("sw_ranking" + suffix, "binary threshold", pts, apgr=a, pair=pair, scores=scores))
        progress(f"binary routers on {pair[0]} / {pair[1]} done")

    ecost = te.expected_cost
    pred = knn.knn_predict(train_emb, tr.quality, test_emb)
    out.append(RouterResult("knn", "multi-model, price swept", greedy.lambda_curve(pred, ecost, cost, quality),
                            note="k=50 nearest train prompts, cosine; argmax pred - lam * expected cost"))
    progress("knn done")
    if tfidf is not None:
        pred = knn.knn_predict(tfidf[0], tr.quality, tfidf[1])
        out.append(RouterResult("knn_tfidf", "multi-model, price swept", greedy.lambda_curve(pred, ecost, cost, quality),
                                note="k=50 nearest train prompts on TF-IDF + SVD (reference)"))

    if te.table.category is not None and tr.table.category is not None:
        pred = category.category_predict(tr.table.category, tr.quality, te.table.category)
        out.append(RouterResult("category", "multi-model, price swept",
                                greedy.lambda_curve(pred, ecost, cost, quality),
                                note="best model per category (train-split means) at each price lam"))
        progress("category done")

    oracle = M.choice_point(M.oracle_choice(cost, quality), cost, quality)
    out.append(RouterResult("oracle", "bound", [oracle], note="cheapest model with the best outcome"))
    return out


def served_routers(es: EvalSet, served: ServedOutputs, ws: np.ndarray = greedy.W_GRID) -> list[RouterResult]:
    """The routers the served bundle drives: the policy on each binary pair, IRT-greedy, IRT-lambda
    and the policy on the whole pool.

    @example
        mine = served_routers(es, served)
    """
    te = es.test
    cost, quality = te.cost, te.quality
    out: list[RouterResult] = []
    for suffix, s, w in binary_pairs(es):
        if (s, w) in served.pair_strong:
            pts, a = binary.choice_points(served.pair_strong[(s, w)], cost, quality, s, w)
            out.append(RouterResult("policy_pair" + suffix, "binary policy", pts, apgr=a, pair=(es.models[s], es.models[w]),
                                    note="the served policy with only this pair as candidates, w swept"))
    out.append(RouterResult("irt_greedy", "multi-model greedy",
                            greedy.greedy_curve(served.p_success, te.cost_norm(), cost, quality, ws),
                            note=f"irt.onnx of {served.bundle}; argmax w * p - (1 - w) * cost_norm"))
    out.append(RouterResult("irt_lambda", "multi-model, price swept",
                            greedy.lambda_curve(served.p_success, te.expected_cost, cost, quality),
                            note=f"irt.onnx of {served.bundle}; argmax p - lam * expected cost"))
    pts = [M.choice_point(c, cost, quality) for c in served.choices]
    out.append(RouterResult("policy", "multi-model policy", pts, note=f"int8 bundle {served.bundle} as served"))
    return out


def merge_routers(base: list[RouterResult], served: list[RouterResult]) -> list[RouterResult]:
    """One list in the report's order: each ``policy_pair`` after its pair's ``sw_ranking``, the
    other served routers after the baselines and before the oracle.

    @example
        results = merge_routers(baseline_routers(es, tr, te), served_routers(es, served))
    """
    pairs = {r.name.replace("policy_pair", "sw_ranking", 1): r for r in served if r.name.startswith("policy_pair")}
    rest = [r for r in served if not r.name.startswith("policy_pair")]
    out: list[RouterResult] = []
    for r in base:
        if r.name == "oracle":
            out += rest
        out.append(r)
        if r.name in pairs:
            out.append(pairs[r.name])
    return out
