"""Choosing the stack by how it routes, not only by its log loss.

The stack's slopes are fitted by log loss, which the per-prompt difficulty dominates (every model
finds the same prompt hard), while routing reads only the differences between models on a prompt.
On mmlu-pro's bring-your-own-data build the log-loss slopes (IRT 0.55, neighbours 0.58) give the
IRT's per-model contrasts more weight than routing can use: with the IRT's slope halved and the
rest refitted, the price rule (``argmax p - lam * expected cost``) on the train prompts'
out-of-sample estimates rose from AIQ 0.8276 to 0.8297, on the test split from 0.8221 to 0.8230,
and the served policy from 0.8216 to 0.8230 (issue 22, byod protocol; a coarser kernel, k-means
cluster means or per-model slopes as further stack inputs moved the test AIQ by at most 0.0013).
Over 70 variants of the stack's weights the out-of-sample AIQ on the train prompts and the test
AIQ correlated at 0.98 on mmlu-pro (and on arena-hard), so the build chooses on the train
prompts: the log-loss stack, the stacks with the IRT's slope shrunk by each of ``IRT_SHRINK`` and
the level (both slopes 0: each model's mean on every prompt, so one model per price, the
single-model hull's own strategy, for data whose per-prompt estimates route worse than none, e.g.
a folder where most prompts are ties) are scored by the price rule's AIQ on every routed dataset's
train prompts (out-of-sample inputs, the metric of ``scoring.metrics``), and the best one replaces
the log-loss stack only when it
routes at least ``MIN_GAIN`` better (prompt-weighted mean over the datasets with 3 or more
models) and better in ``CONFIDENCE`` of paired bootstrap resamples of those prompts; otherwise
the log-loss stack stays, e.g. where the IRT carries the routing (arena-hard) or the prompts are
too few to tell.
"""
from __future__ import annotations

from dataclasses import dataclass
from itertools import product
from typing import Any, Sequence

import numpy as np

from ..scoring import greedy
from ..scoring import metrics as M
from ..scoring.binary import threshold_points
from ..scoring.bootstrap import bootstrap_aiqs
from .neighbours import NeighbourIndex
from .stack import Stack, level_stack, refit_with_irt_slope

#: Fractions of the log-loss IRT slope the build also tries.
IRT_SHRINK = (0.75, 0.5, 0.25, 0.0)
#: Least out-of-sample AIQ gain (prompt-weighted mean) for which a shrunk stack replaces the
#: log-loss one: the spread of that AIQ between k-means seeds of the same index was about 0.0005.
MIN_GAIN = 0.0005
#: Only datasets with at least this many pool models are scored (a pair routes on its APGR).
MIN_MODELS = 3
#: ... and the gain must be positive in at least this share of paired bootstrap resamples of the
#: train prompts (``N_BOOT`` of them): the leave-one-out bundle without mmlu-pro saw +0.0008 on 670
#: alpaca-eval and arena-hard prompts, better in only 48% of resamples (and alpaca-eval's
#: out-of-sample AIQ tracked its test AIQ at 0.40, mmlu-pro's 8,623 prompts' at 0.98).
CONFIDENCE = 0.9
N_BOOT = 100


@dataclass
class RoutingSet:
    """One dataset's train prompts as the price rule routes them.

    ``rows``: positions in the layer's fit arrays; ``columns``: the pool's model columns (joint
    model order); ``cost``, ``expected_cost``, ``quality``: [len(rows), len(columns)] as the eval's
    ``SplitData`` holds them."""

    name: str
    rows: np.ndarray
    columns: np.ndarray
    cost: np.ndarray
    expected_cost: np.ndarray
    quality: np.ndarray

    def aiq(self, p: np.ndarray) -> float:
        """AIQ of the price rule on estimates ``p`` [N_fit, M] (every fit row, every column).

        @example
            s.aiq(stack.combine(p_irt, p_nb, np.arange(m)))
        """
        pred = p[np.ix_(self.rows, self.columns)]
        curve = greedy.lambda_curve(pred, self.expected_cost, self.cost, self.quality)
        return float(M.aiq(curve, M.single_pool(self.names, self.cost, self.quality)))

    @property
    def names(self) -> list[str]:
        return [str(c) for c in self.columns]

    def choices(self, p: np.ndarray) -> np.ndarray:
        """[L, len(rows)] the model each price of ``greedy.lambda_grid`` picks (as ``lambda_curve``).

        @example
            s.choices(p_layer)[0]   # the choices at price 0
        """
        pred = p[np.ix_(self.rows, self.columns)]
        rank = self.expected_cost / self.expected_cost.max()
        return np.stack([np.argmax(pred - float(lam) * self.expected_cost - 1e-9 * rank, axis=1)
                         for lam in greedy.lambda_grid(self.expected_cost)])


def routing_score(p: np.ndarray, sets: Sequence[RoutingSet]) -> float:
    """Prompt-weighted mean AIQ of the price rule over ``sets``.

    @example
        routing_score(p_layer, sets)
    """
    n = np.array([len(s.rows) for s in sets], np.float64)
    return float(np.dot(n, [s.aiq(p) for s in sets]) / n.sum())


def gain_confidence(p_base: np.ndarray, p_new: np.ndarray, sets: Sequence[RoutingSet], n_boot: int = N_BOOT) -> float:
    """Share of paired prompt resamples (each set resampled, prompt-weighted mean over sets) in
    which ``p_new`` routes better than ``p_base``.

    @example
        gain_confidence(free.combine(p_irt, p_nb, cols), shrunk.combine(p_irt, p_nb, cols), sets)
    """
    n = np.array([len(s.rows) for s in sets], np.float64)
    diff = np.zeros(n_boot)
    for s, w in zip(sets, n / n.sum()):
        _, aiq = bootstrap_aiqs({"base": s.choices(p_base), "new": s.choices(p_new)}, s.cost, s.quality, s.names,
                                n_boot=n_boot)
        diff += w * (aiq["new"] - aiq["base"])
    return float((diff > 0).mean())


def label(shrink: float | str) -> str:
    """How the stack log names a candidate: ``x0.5`` for an IRT slope shrunk by half, ``level``."""
    return shrink if isinstance(shrink, str) else f"x{shrink}"


def choose_stack(stack: Stack, p_irt: np.ndarray, p_nb: np.ndarray, outcomes: np.ndarray,
                 sets: Sequence[RoutingSet], log=lambda s: None) -> tuple[Stack, dict[str, Any]]:
    """The log-loss ``stack``, or the shrunk-IRT or level stack that routes best (module docs), and a report.

    ``p_irt``, ``p_nb``, ``outcomes``: the out-of-sample inputs ``stack`` was fitted on [N_fit, M].

    @example
        stack, report = choose_stack(fit_stack(p_irt, p_nb, y), p_irt, p_nb, y, sets)
    """
    sets = [s for s in sets if len(s.columns) >= MIN_MODELS and len(s.rows) > 0]
    if not sets:
        return stack, {"chosen": "log loss", "why": "no dataset to route"}
    cols = np.arange(p_irt.shape[1])
    base = routing_score(stack.combine(p_irt, p_nb, cols), sets)
    tried = [{"irt_shrink": 1.0, "slope_irt": round(stack.slope_irt, 4), "slope_neighbours": round(stack.slope_nb, 4),
              "aiq": round(base, 5)}]
    best, best_score = stack, base
    candidates = [(shrink, refit_with_irt_slope(p_irt, p_nb, outcomes, shrink * stack.slope_irt))
                  for shrink in (IRT_SHRINK if stack.slope_irt > 0 else ())]
    if stack.slope_irt > 0 or stack.slope_nb > 0:
        candidates.append(("level", level_stack(p_irt, p_nb, outcomes)))
    if not candidates:
        return stack, {"chosen": "log loss", "why": "the stack is the level already (both slopes 0)"}
    for shrink, cand in candidates:
        score = routing_score(cand.combine(p_irt, p_nb, cols), sets)
        tried.append({"irt_shrink": shrink, "slope_irt": round(cand.slope_irt, 4),
                      "slope_neighbours": round(cand.slope_nb, 4), "aiq": round(score, 5)})
        if score > best_score:
            best, best_score = cand, score
    confidence = (gain_confidence(stack.combine(p_irt, p_nb, cols), best.combine(p_irt, p_nb, cols), sets)
                  if best is not stack and best_score >= base + MIN_GAIN else 0.0)
    chosen = best if confidence >= CONFIDENCE else stack
    log(f"[stack] out-of-sample routing AIQ on {sum(len(s.rows) for s in sets)} train prompts of "
        f"{[s.name for s in sets]}: " + ", ".join(f"{label(t['irt_shrink'])} {t['aiq']:.4f}" for t in tried)
        + f"; best better in {confidence:.0%} of resamples; kept slopes irt {chosen.slope_irt:.3f}, "
        f"neighbours {chosen.slope_nb:.3f}")
    return chosen, {"chosen": "log loss" if chosen is stack else "routing", "min_gain": MIN_GAIN,
                    "datasets": [s.name for s in sets], "tried": tried, "confidence": round(confidence, 3)}


def routing_sets(tables: Sequence[Any], models: Sequence[str], fit_rows: np.ndarray,
                 exclude: Sequence[str] = ()) -> list[RoutingSet]:
    """Every table's train prompts among the layer's fit rows, as the eval routes them
    (``build_evalset``: its pool, costs and qualities, missing outcomes filled).

    ``tables``: the build's ``OutcomeTable`` s in joint order (joint rows are their rows, concatenated);
    ``models``: the joint's model columns; ``fit_rows``: the joint rows the layer is fitted on.

    @example
        sets = routing_sets(tables, joint.models, np.flatnonzero(train & ~held), exclude=COLD_START_MODELS)
    """
    from ..scoring.evalset import build_evalset

    fit_rows = np.asarray(fit_rows, np.int64)
    out: list[RoutingSet] = []
    start = 0
    for t in tables:
        train = np.flatnonzero(t.split == "train") + start
        start += len(t.split)
        try:
            es = build_evalset(t, exclude=exclude)
        except ValueError:   # no test prompts: the eval would not route it either
            continue
        keep = np.flatnonzero(np.isin(train, fit_rows))
        pool = [j for j, m in enumerate(es.models) if m in models]
        if len(keep) == 0 or len(pool) < 2:
            continue
        tr = es.train
        pick = np.ix_(keep, pool)
        out.append(RoutingSet(t.dataset, np.searchsorted(fit_rows, train[keep]),
                              np.array([list(models).index(es.models[j]) for j in pool], np.int64),
                              tr.cost[pick], tr.expected_cost[pick], tr.quality[pick]))
    return out


#: Kernel widths a build whose routed datasets are all pairs also tries (``choose_pair_width``).
PAIR_TAUS = (0.1, 0.2, 0.4, 0.8, 1.6, 3.2)
#: Folds of the within-fold cross-validated APGR, and how many times it is repeated with other
#: folds: on routellm-gsm8k's train prompts one 5-fold split gave broad widths +0.015 and +0.020
#: over the log-loss width and another +0.000, so one split alone decides by chance.
PAIR_FOLDS = 5
PAIR_REPEATS = 3
#: Least cross-validated APGR gain for which a width replaces the log-loss one. Widths are compared
#: on the same folds, so their difference varies less than either mean does (the 5-fold mean's
#: standard error on routellm-gsm8k's train prompts is about 0.010).
MIN_APGR_GAIN = 0.005


def pair_cv_apgr(index: NeighbourIndex, emb: np.ndarray, outcomes: np.ndarray, s: RoutingSet, tau: float,
                 folds: int = PAIR_FOLDS, repeats: int = PAIR_REPEATS) -> float:
    """The neighbour estimate's cross-validated APGR on one pair's train prompts: each of ``folds``
    folds (drawn ``repeats`` times, seeds 0, 1, ...) is routed by the strong-minus-weak estimate
    with the fold's own outcomes taken out of the index and scored within the fold (every
    threshold, as RouteLLM's routers are); the folds' gaps recovered are pooled (summed in quality
    units, divided by the summed gap), so that a fold where the two models happen to score alike
    does not blow up the mean. NaN without a gap.

    @example
        pair_cv_apgr(index, emb, y, pair_set, 1.6)
    """
    y = np.asarray(outcomes, np.float64)
    strong, weak = (0, 1) if s.quality[:, 0].mean() >= s.quality[:, 1].mean() else (1, 0)
    area = gap = 0.0
    splits = [np.random.default_rng(seed).permutation(len(s.rows)) % folds for seed in range(repeats)]
    for fold, f in product(splits, range(folds)):
        rows = s.rows[fold == f]
        obs = ~np.isnan(y[rows])
        sums, counts = index.sums.copy(), index.counts.copy()
        np.add.at(sums, index.assignment[rows], -np.where(obs, y[rows], 0.0))
        np.add.at(counts, index.assignment[rows], -obs.astype(np.float64))
        w = index.weights(emb[rows], tau)
        cols = s.columns
        p = (w @ sums[:, cols] + index.kappa * index.model_mean[cols]) / (
            np.maximum(w @ counts[:, cols], 0.0) + index.kappa)
        sel = fold == f
        q = s.quality[sel]
        a = threshold_points(p[:, strong] - p[:, weak], s.cost[sel], q, strong, weak)[1]
        if np.isfinite(a):
            g = float(q[:, strong].mean() - q[:, weak].mean())
            area, gap = area + a * g, gap + g
    return area / gap if gap > 1e-9 else float("nan")


def choose_pair_width(index: NeighbourIndex, emb: np.ndarray, outcomes: np.ndarray, sets: Sequence[RoutingSet],
                      log=lambda s: None) -> dict[str, Any]:
    """Where every routed dataset is a pair, sets ``index.tau`` to the width with the best
    cross-validated APGR (``pair_cv_apgr``, prompt-weighted over the pairs) if it beats the
    log-loss width by ``MIN_APGR_GAIN``; returns a report. Builds with a dataset of 3 or more
    models keep the log-loss width (``choose_stack`` routes those).

    Why: a pair routes on one difference per prompt, and the log-loss width follows each model's
    level, not that difference. On routellm-gsm8k the difference is nearly the same everywhere
    (SW ranking, RouteLLM's best router there, is in effect a very broad kernel): in its byod build
    the log-loss width 0.2 has a cross-validated APGR of 0.598 and 1.6 0.619, and the neighbour
    estimate alone ranks the test prompts at APGR 0.551 and 0.587. On routellm-mmlu the log-loss
    width 0.1 is also the best routing one.

    @example
        report = choose_pair_width(index, emb, y, sets)
    """
    pairs = [s for s in sets if len(s.rows) > 0]
    if not pairs or any(len(s.columns) != 2 for s in pairs):
        return {"chosen": "log loss", "why": "a dataset with 3 or more models routes the build" if pairs
                else "no dataset to route"}
    base_tau = index.tau
    # a pair whose two models score the same on its train prompts has no APGR to rank by
    scored = [(s, a) for s in pairs for a in [pair_cv_apgr(index, emb, outcomes, s, base_tau)] if np.isfinite(a)]
    pairs = [s for s, _ in scored]
    if not pairs:
        return {"chosen": "log loss", "why": "no pair with a quality gap"}
    n = np.array([len(s.rows) for s in pairs], np.float64)

    def weighted(apgrs: list[float]) -> float:
        return float(np.dot(n, apgrs) / n.sum())

    tried = {float(base_tau): weighted([a for _, a in scored])}
    for tau in PAIR_TAUS:
        if tau not in tried:
            tried[tau] = weighted([pair_cv_apgr(index, emb, outcomes, s, tau) for s in pairs])
    best = max(tried, key=lambda t: tried[t])
    if tried[best] >= tried[base_tau] + MIN_APGR_GAIN:
        index.tau = best
    log("[neighbours] pair width by cross-validated APGR on " + ", ".join(s.name for s in pairs) + ": "
        + ", ".join(f"{t:g} {a:.3f}" for t, a in sorted(tried.items())) + f"; kept {index.tau:g}")
    return {"chosen": "pair APGR" if index.tau != base_tau else "log loss", "log_loss_tau": base_tau,
            "tau": index.tau, "cv_apgr": {f"{t:g}": round(a, 4) for t, a in sorted(tried.items())},
            "min_gain": MIN_APGR_GAIN}
