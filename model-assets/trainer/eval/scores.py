"""From router curves to the numbers of the results JSON (one dataset)."""
from __future__ import annotations

from typing import Any

import numpy as np

from ..scoring import metrics as M
from ..scoring.evalset import EvalSet
from .routers import RouterResult

#: Routers the policy's matched-quality savings are reported against (``savings_vs``).
SAVINGS_BASELINES = ("hull", "routellm_mf", "irt_greedy")
#: At most this many points per router go to the JSON (metrics use all of them).
MAX_JSON_POINTS = 101


def thin(points: list[M.Point], pool: M.SinglePool, limit: int = MAX_JSON_POINTS) -> list[list[float]]:
    """At most ~``limit`` points sorted by cost, always keeping the frontier's vertices.

    @example
        >>> pool = M.SinglePool(["a"], np.array([1.0]), np.array([0.0]))
        >>> len(thin([(float(i), i / 1000) for i in range(1000)], pool, limit=10)) <= 12
        True
    """
    pts = sorted(points)
    if len(pts) > limit:
        keep = set(np.linspace(0, len(pts) - 1, limit).round().astype(int).tolist())
        vertices = set(zip(M.frontier(pts, pool).costs.tolist(), M.frontier(pts, pool).qualities.tolist()))
        pts = [p for i, p in enumerate(pts) if i in keep or p in vertices]
    return [[round(c, 9), round(q, 6)] for c, q in pts]


def _num(x: float | None, digits: int = 4) -> float | None:
    if x is None or not np.isfinite(x):
        return None
    return round(float(x), digits)


def score_dataset(es: EvalSet, results: list[RouterResult], meta: dict[str, Any] | None = None) -> dict[str, Any]:
    """The JSON block of one dataset: pool, single models, every router's AIQ/CTM/APGR/points,
    and the policy's savings at matched quality against each router.

    @example
        block = score_dataset(es, run_routers(es, tr_emb, te_emb, served))
        block["routers"]["policy"]["aiq"], block["savings_vs"]["hull"]
    """
    pool = es.pool()
    b, ch = pool.best, pool.cheapest
    routers: dict[str, Any] = {}
    by_name = {r.name: r for r in results}
    for r in results:
        entry: dict[str, Any] = {
            "kind": r.kind,
            "aiq": _num(M.aiq(r.points, pool)),
            "ctm": _num(M.ctm(r.points, pool)),
            "points": thin(r.points, pool),
        }
        if r.apgr is not None:
            entry["apgr"] = _num(r.apgr)
        if r.pair is not None:
            entry["pair"] = {"strong": r.pair[0], "weak": r.pair[1]}
        if r.note:
            entry["note"] = r.note
        routers[r.name] = entry
    savings_vs: dict[str, float | None] = {k: None for k in SAVINGS_BASELINES}
    savings_all: dict[str, float | None] = {}
    policy = by_name.get("policy")
    if policy is not None:
        for r in results:
            if r.name in ("policy", "oracle"):
                continue
            savings_all[r.name] = _num(M.savings(policy.points, r.points, pool))
        savings_vs = {k: savings_all.get(k) for k in SAVINGS_BASELINES}
    block: dict[str, Any] = {
        "pool": es.models,
        "excluded_models": es.excluded_models,
        "n_train": es.train.size,
        "n_test": es.test.size,
        "best_single": {"model": pool.names[b], "cost": _num(pool.costs[b], 9), "quality": _num(pool.qualities[b])},
        "cheapest_single": {"model": pool.names[ch], "cost": _num(pool.costs[ch], 9),
                            "quality": _num(pool.qualities[ch])},
        "hull_aiq": _num(M.hull_aiq(pool)),
        "single_models": {n: {"cost": _num(c, 9), "quality": _num(q)}
                          for n, c, q in zip(pool.names, pool.costs, pool.qualities)},
        "routers": routers,
        "savings_vs": savings_vs,
        "savings_vs_all": savings_all,
    }
    if meta:
        block.update(meta)
    return block
