"""Every router of the benchmark on one dataset: its (cost, quality) points and its scores.

Routers driven by a preference are swept over ``W_GRID``; binary routers over every threshold.
Scores follow ``metrics`` (the data README). Routers learn from the train split's outcomes as
recorded (``table.outcome``, NaN where a model has none), as the bundle's own training does; the
harness's fill of missing outcomes (``evalset.fill_missing``) is for scoring only, so that no
baseline learns the fill rule and then collects it on the test split. The baselines are ``Router`` classes in two
registries (``BINARY_ROUTERS``, ``PRICE_ROUTERS``): a new one is a subclass with ``@register``.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar, TypeVar

import numpy as np

from ..data import IDENTITY_SCOPES, unscoped
from ..scoring import binary, greedy
from ..scoring import metrics as M
from ..scoring.evalset import EvalSet
from .baselines import category, knn, mf, sw_ranking

#: What every results file says about missing outcomes (its ``meta.quality_missing``).
QUALITY_MISSING = ("filled with the model's mean outcome on the same split for scoring; "
                   "routers learn from recorded outcomes only")


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
    #: the policy served with only a strong/weak pair as candidates: (strong, weak) -> [W', P] with
    #: 1 where it chose the strong model, at ``preferences`` and the refined ones between them
    #: (``served.refined_masks``)
    pair_strong: dict[tuple[int, int], np.ndarray] = field(default_factory=dict)
    #: a two-model pool's choices at those refined preferences ([W' - W, P]): more points of the
    #: same router's curve, after ``choices``
    refined_choices: np.ndarray | None = None

    def all_choices(self) -> np.ndarray:
        """``choices`` and ``refined_choices``: every setting the pool was routed at."""
        return self.choices if self.refined_choices is None else np.concatenate([self.choices, self.refined_choices])


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


@dataclass
class RouterInputs:
    """What a baseline router may learn from and route: the dataset's splits, prompt embeddings of
    both (the served embedder's, or TF-IDF without a bundle), and TF-IDF reference embeddings."""

    es: EvalSet
    train_emb: np.ndarray
    test_emb: np.ndarray
    mf_epochs: int = 20
    tfidf: tuple[np.ndarray, np.ndarray] | None = None
    progress: Progress = lambda s: None


class RouterUnavailable(ValueError):
    """Raised by ``Router.fit`` when the train split gives the router nothing to learn from (e.g. no
    decisive battle for MF): the run goes on without that router and says so."""


class Router(ABC):
    """A baseline router (RouteLLM's ``Router`` is the model): ``fit`` learns from the train split
    once; a subclass says what it routes with. Registered by ``name``, in the report's order."""

    name: ClassVar[str]
    kind: ClassVar[str]
    note: ClassVar[str] = ""

    def fit(self, inp: RouterInputs) -> None:
        """Learns what the router needs from ``inp``'s train split (nothing by default); raises
        ``RouterUnavailable`` where there is nothing to learn from."""


class BinaryRouter(Router):
    """Routes between a strong and a weak model: a score per test prompt (RouteLLM's strong win
    rate), swept over every threshold."""

    kind = "binary threshold"

    @abstractmethod
    def strong_win_rate(self, inp: RouterInputs, strong: int, weak: int) -> np.ndarray:
        """[P_test] scores; higher sends the prompt to ``strong``. Raises ``RouterUnavailable``
        where the train split has nothing on this pair."""


class PriceRouter(Router):
    """Routes over the whole pool: predicted quality per (test prompt, model), the model with the
    best ``pred - lam * expected cost`` taken at each price ``lam``."""

    kind = "multi-model, price swept"
    #: whether finishing it is worth a progress line
    announce: ClassVar[bool] = True

    @abstractmethod
    def predict(self, inp: RouterInputs) -> np.ndarray | None:
        """[P_test, K] predicted quality, or ``None`` where the router does not apply."""


#: The baselines, by name, in the report's order within each kind.
BINARY_ROUTERS: dict[str, type[BinaryRouter]] = {}
PRICE_ROUTERS: dict[str, type[PriceRouter]] = {}


def register(cls: type[Router]) -> type[Router]:
    """Class decorator: adds a baseline to its kind's registry under its ``name``.

    @example
        @register
        class MyRouter(PriceRouter):
            name = "mine"
            def predict(self, inp): ...
    """
    registry: dict[str, Any] = BINARY_ROUTERS if issubclass(cls, BinaryRouter) else PRICE_ROUTERS
    if cls.name in registry:
        raise ValueError(f"a router named {cls.name!r} is registered already")
    registry[cls.name] = cls
    return cls


@register
class RouteLLMMF(BinaryRouter):
    """RouteLLM's matrix-factorisation router, trained on the train split's battles."""

    name = "routellm_mf"

    def fit(self, inp: RouterInputs) -> None:
        inp.progress("routellm-mf: training on train-split battles")
        try:
            self.model = mf.train_mf(inp.train_emb, inp.es.train.table.outcome, epochs=inp.mf_epochs)
        except ValueError as err:   # every train prompt a tie: no battle to learn from
            raise RouterUnavailable(str(err)) from err

    def strong_win_rate(self, inp: RouterInputs, strong: int, weak: int) -> np.ndarray:
        return mf.win_rate(self.model, inp.test_emb, strong, weak)


@register
class SWRanking(BinaryRouter):
    """RouteLLM's similarity-weighted ranking over the train prompts."""

    name = "sw_ranking"

    def strong_win_rate(self, inp: RouterInputs, strong: int, weak: int) -> np.ndarray:
        y = inp.es.train.table.outcome
        if (np.isnan(y[:, strong]) | np.isnan(y[:, weak])).all():
            raise RouterUnavailable(f"no train prompt has outcomes of both {inp.es.models[strong]} and "
                                    f"{inp.es.models[weak]}")
        return sw_ranking.sw_scores(inp.train_emb, y[:, strong], y[:, weak], inp.test_emb)


@register
class Knn(PriceRouter):
    name = "knn"
    note = "k=50 nearest train prompts, cosine; argmax pred - lam * expected cost"

    def predict(self, inp: RouterInputs) -> np.ndarray | None:
        return knn.knn_predict(inp.train_emb, inp.es.train.table.outcome, inp.test_emb)


@register
class KnnTfidf(PriceRouter):
    name = "knn_tfidf"
    note = "k=50 nearest train prompts on TF-IDF + SVD (reference)"
    announce = False

    def predict(self, inp: RouterInputs) -> np.ndarray | None:
        if inp.tfidf is None:
            return None
        return knn.knn_predict(inp.tfidf[0], inp.es.train.table.outcome, inp.tfidf[1])


@register
class Category(PriceRouter):
    name = "category"
    note = "best model per category (train-split means) at each price lam"

    def predict(self, inp: RouterInputs) -> np.ndarray | None:
        tr, te = inp.es.train, inp.es.test
        if te.table.category is None or tr.table.category is None:
            return None
        return category.category_predict(tr.table.category, tr.table.outcome, te.table.category)


R = TypeVar("R", bound=Router)


def fitted(router: R, inp: RouterInputs) -> R | None:
    """``router`` fitted on ``inp``, or None (said in the progress) where it is ``RouterUnavailable``.

    @example
        mf_router = fitted(RouteLLMMF(), inp)
    """
    try:
        router.fit(inp)
    except RouterUnavailable as err:
        inp.progress(f"{router.name}: skipped ({err})")
        return None
    return router


def baseline_routers(es: EvalSet, train_emb: np.ndarray, test_emb: np.ndarray, progress: Progress = lambda s: None,
                     mf_epochs: int = 20, tfidf: tuple[np.ndarray, np.ndarray] | None = None) -> list[RouterResult]:
    """Every router that does not need the bundle's policy or IRT: the hull, per binary pair the
    random mix and every ``BINARY_ROUTERS`` entry, every ``PRICE_ROUTERS`` entry, and the oracle
    (the same for any identities the pool is routed with).

    @example
        base = baseline_routers(es, train_emb, test_emb)
    """
    inp = RouterInputs(es, train_emb, test_emb, mf_epochs, tfidf, progress)
    te = es.test
    cost, quality = te.cost, te.quality
    pool = es.pool()
    out: list[RouterResult] = []

    hull = [pool.points()[i] for i in range(len(pool.names))]
    out.append(RouterResult("hull", "single-model hull", hull, note="upper convex hull of single models"))

    # Binary routers on (best-quality, cheapest) and RouteLLM's own pair where present.
    pair_routers = [r for r in (fitted(cls(), inp) for cls in BINARY_ROUTERS.values()) if r is not None]
    for suffix, s, w in binary_pairs(es):
        pair = (es.models[s], es.models[w])
        out.append(RouterResult("random_mix" + suffix, "binary random", binary.random_mix(cost, quality, s, w),
                                apgr=0.5, pair=pair))
        for router in pair_routers:
            try:
                scores = router.strong_win_rate(inp, s, w)
            except RouterUnavailable as err:   # e.g. no prompt graded on both (exported traffic)
                progress(f"{router.name}{suffix}: skipped ({err})")
                continue
            pts, a = binary.threshold_points(scores, cost, quality, s, w)
            out.append(RouterResult(router.name + suffix, router.kind, pts, apgr=a, pair=pair, scores=scores))
        progress(f"binary routers on {pair[0]} / {pair[1]} done")

    for cls in PRICE_ROUTERS.values():
        price_router = fitted(cls(), inp)
        if price_router is None:
            continue
        pred = price_router.predict(inp)
        if pred is None:
            continue
        out.append(RouterResult(price_router.name, price_router.kind,
                                greedy.lambda_curve(pred, te.expected_cost, cost, quality), note=price_router.note))
        if price_router.announce:
            progress(f"{price_router.name} done")

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
            out.append(RouterResult("policy_pair" + suffix, "binary policy", pts, apgr=a,
                                    pair=(es.models[s], es.models[w]),
                                    note="the served policy with only this pair as candidates, w swept"))
    out.append(RouterResult("irt_greedy", "multi-model greedy",
                            greedy.greedy_curve(served.p_success, te.cost_norm(), cost, quality, ws),
                            note=f"irt.onnx of {served.bundle}; argmax w * p - (1 - w) * cost_norm"))
    out.append(RouterResult("irt_lambda", "multi-model, price swept",
                            greedy.lambda_curve(served.p_success, te.expected_cost, cost, quality),
                            note=f"irt.onnx of {served.bundle}; argmax p - lam * expected cost"))
    # in preference order first (the presets are read off them), then any refined settings
    pts = [M.choice_point(c, cost, quality) for c in served.all_choices()]
    out.append(RouterResult("policy", "multi-model policy", pts, note=f"int8 bundle {served.bundle} as served"))
    return out


def merge_routers(base: list[RouterResult], served: list[RouterResult]) -> list[RouterResult]:
    """One list in the report's order: each ``policy_pair`` after its pair's binary baselines (its
    ``sw_ranking``, or the last of them where that one had nothing to learn from), the other served
    routers after the baselines and before the oracle.

    @example
        results = merge_routers(baseline_routers(es, tr, te), served_routers(es, served))
    """
    after: dict[int, list[RouterResult]] = {}
    for r in served:
        if r.name.startswith("policy_pair"):
            group = {name + r.name[len("policy_pair"):] for name in ("random_mix", *BINARY_ROUTERS)}
            after.setdefault(max(i for i, b in enumerate(base) if b.name in group), []).append(r)
    rest = [r for r in served if not r.name.startswith("policy_pair")]
    out: list[RouterResult] = []
    for i, r in enumerate(base):
        if r.name == "oracle":
            out += rest
        out += [r, *after.get(i, [])]
    return out
