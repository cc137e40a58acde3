"""Runs the policy exactly as served: the Node runner ``model-assets/tools/serve-decisions.ts``
(worker/decision + worker/embedding on the bundle's int8 ONNX files, through
``trainer.export.node_bridge``) over a dataset's prompts.

Identities (``IDENTITY_MODES``): by default a pool model found in the manifest (name or alias)
uses its trained identity; any other model (bring-your-own-data, or a model the bundle was not
trained on) gets one fitted on the *train* split with the IRT head frozen, exactly as onboarding
does (Laplace posterior under the manifest's prior), its item parameters read off ``irt.onnx``
itself. ``refit`` fits every pool model that way, known or not (a new customer's pool: the
leave-one-out protocol); ``quiz`` gives every one the identity of a short quiz on the train
prompts, routed with its posterior spread as the worker routes a quiz identity.
"""
from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..data import unscoped
from ..export.manifest import manifest_models
from ..export.node_bridge import ORT_RUNTIME
from ..export.node_bridge import embed_and_probe as bridge_embed_and_probe
from ..export.node_bridge import read_array, serve_decisions
from ..onboard import laplace_posterior, select_quiz
from ..onboard.design import representative_quiz
from ..onboard.evaluate import cov_factor
from ..onboard.prior import MIN_MODELS, Prior, pool_prior, priced_pool_prior
from ..onboard.served import prior_of
from ..scoring.evalset import EvalSet
from .routers import ServedOutputs, binary_pairs


def fit_identity(a: np.ndarray, c: np.ndarray, y: np.ndarray, manifest: dict[str, Any]) -> np.ndarray:
    """MAP identity of one model from its train outcomes (NaN skipped), head frozen."""
    d = a.shape[1]
    prior = (manifest.get("irt") or {}).get("prior") or {}
    mean = np.asarray(prior.get("mean", np.zeros(d)), np.float64)
    cov = np.asarray(prior.get("cov", np.eye(d)), np.float64)
    ok = ~np.isnan(y)
    return laplace_posterior(a[ok], c[ok], y[ok], mean, cov).mean


@dataclass
class ServedPrompts:
    """A dataset's prompts under a bundle: served embeddings of both splits and, when probed, the
    item parameters of the train prompts read off ``irt.onnx`` (a [P_train, d], c [P_train])."""

    train_emb: np.ndarray
    test_emb: np.ndarray
    a: np.ndarray | None = None
    c: np.ndarray | None = None


@dataclass
class PoolIdentities:
    """Per pool model (``es.models`` order): its identity (``None``: the manifest's, by its name)
    and, for a quiz identity, the posterior covariance factor it is routed with (``None``: routed
    at the identity itself)."""

    vectors: list[list[float] | None]
    cov_factors: list[list[list[float]] | None]
    meta: dict[str, Any] = field(default_factory=dict)


#: How the pool's identities are found: ``manifest`` (the manifest's, else fitted on the train
#: split), ``refit`` (every one fitted on the train split, as a new customer's would be) or
#: ``quiz`` (every one from a quiz of ``quiz_items`` train prompts, as onboarding does).
IDENTITY_MODES = ("manifest", "refit", "quiz")
#: Quiz selection criterion: the one onboarding uses by default (docs/onboarding.md).
QUIZ_CRITERION = "i-optimal"


def embed_and_probe(es: EvalSet, bundle: Path, probe: bool, progress: Callable[[str], None] = print) -> ServedPrompts:
    """Embeds both splits with the bundle's ``embedder.onnx`` and, with ``probe``, reads the train
    prompts' item parameters off its ``irt.onnx`` (the Node runner, as served).

    @example
        sp = embed_and_probe(es, Path("model-assets/bundles/v1"), probe=True)
        sp.a.shape   # (P_train, identity_dim)
    """
    train_texts, test_texts = es.train.table.prompts, es.test.table.prompts
    n_train, n = len(train_texts), len(train_texts) + len(test_texts)
    progress(f"{es.dataset}: embedding {n} prompts with the served embedder")
    emb32, a, c = bridge_embed_and_probe(Path(bundle), train_texts + test_texts, n_train if probe else 0,
                                         lambda s: None)
    emb = emb32.astype(np.float64)
    return ServedPrompts(emb[:n_train], emb[n_train:], a, c)


def pool_identities(es: EvalSet, manifest: dict[str, Any], prompts: ServedPrompts, mode: str = "manifest",
                    quiz_items: int = 20, quiz_prior: str = "priced", quiz_design: str = "auto"
                    ) -> PoolIdentities:
    """The identities the pool is routed with (``IDENTITY_MODES``); fits need ``prompts`` probed.
    A quiz identity is the posterior under ``quiz_prior`` (``QUIZ_PRIORS``): ``priced``, the prior
    the quizzed pool's own outcomes and prices give (``onboard.prior.priced_pool_prior``; each
    model's price is its mean expected cost per train prompt), ``pool``, the same without prices,
    or ``bundle``, the bundle's ``irt.prior``; the quiz items are designed under the bundle's prior
    either way.

    @example
        ids = pool_identities(es, manifest, embed_and_probe(es, bundle, probe=True), mode="quiz")
    """
    if mode not in IDENTITY_MODES:
        raise ValueError(f"identity mode must be one of {IDENTITY_MODES}, not {mode!r}")
    known = manifest_models(manifest)
    meta: dict[str, Any] = {"identities": mode}
    # Bundles built before RouteLLM's sets had identities of their own have no routellm/<name>
    # identities (data.aliases.IDENTITY_SCOPES): they route those sets with the shared identity, as
    # they were built to.
    shared = ({j: unscoped(m) for j, m in enumerate(es.models) if m not in known and unscoped(m) in known}
              if mode == "manifest" else {})
    fit = [j for j, m in enumerate(es.models) if mode != "manifest" or (m not in known and j not in shared)]
    # None: the runner resolves the name in the manifest itself (and reports the source as such)
    vectors: list[list[float] | None] = [None] * len(es.models)
    covs: list[list[list[float]] | None] = [None] * len(es.models)
    for j, name in shared.items():
        vectors[j] = list(known[name])
    if shared:
        meta["identities_shared"] = {es.models[j]: name for j, name in shared.items()}
    if fit and (prompts.a is None or prompts.c is None):
        raise ValueError("fitting identities needs the train prompts' item parameters (embed_and_probe(probe=True))")
    if mode == "quiz":
        log_price = np.log(np.maximum(es.train.expected_cost[:, fit].mean(axis=0), 1e-12))
        quiz = quiz_identities(prompts.a, prompts.c, es.train.table.outcome[:, fit].astype(np.float64), manifest,
                               quiz_items, quiz_prior, quiz_design, log_price)
        for j, (theta, cov) in zip(fit, quiz.posteriors):
            vectors[j], covs[j] = theta.tolist(), cov_factor(cov)
        meta["quiz"] = {"items": quiz_items, "design": quiz.design, "prior": quiz.prior_source,
                        "bank": "the train split", "routed": "one posterior std below the mean (the worker's default)"}
    else:
        for j in fit:
            y = es.train.table.outcome[:, j].astype(np.float64)
            vectors[j] = fit_identity(prompts.a, prompts.c, y, manifest).tolist()
        if fit:
            meta["identities_fitted_on_train"] = [es.models[j] for j in fit]
    return PoolIdentities(vectors, covs, meta)


#: How a quiz's items are chosen: ``representative`` (``onboard.design.representative_quiz``) or
#: ``i-optimal`` (onboarding's static design under the bundle's prior); ``auto`` (the protocol's
#: default) is ``representative`` where the pool prior is used and ``i-optimal`` elsewhere, as a
#: validation split carved from the train prompts chose (docs/benchmarks/generalisation-quiz.md:
#: on two-model pools the design made no difference there, and the served policy of
#: routellm-mmlu's pair fell on its test split with representative items).
QUIZ_DESIGNS = ("auto", "representative", "i-optimal")


def quiz_rows(a: np.ndarray, c: np.ndarray, y: np.ndarray, manifest: dict[str, Any], n_items: int,
              design: str = QUIZ_CRITERION) -> np.ndarray:
    """The bank rows of one model's ``n_items`` quiz over the train prompts it has outcomes for:
    ``design`` ``i-optimal`` (onboarding's static design under the bundle's ``irt.prior``) or
    ``representative`` (k-means medoids of the items).

    @example
        rows = quiz_rows(a_train, c_train, y_train, manifest, 20)
    """
    if design not in QUIZ_DESIGNS or design == "auto":
        raise ValueError(f"quiz design must be one of {QUIZ_DESIGNS[1:]}, not {design!r}")
    missing = np.flatnonzero(np.isnan(y))
    n = min(n_items, int((~np.isnan(y)).sum()))
    if design == "representative":
        return representative_quiz(a, n, exclude=missing).rows
    mean, cov = prior_of(manifest, a.shape[1])
    return select_quiz(a, c, mean, cov, n, exclude=missing, criterion=QUIZ_CRITERION).rows


def quiz_identity(a: np.ndarray, c: np.ndarray, y: np.ndarray, manifest: dict[str, Any], n_items: int,
                  prior: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(mean, covariance) of one model's identity from an ``n_items`` quiz (:func:`quiz_rows`):
    the Laplace posterior of its outcomes on those items (head frozen) under ``prior`` (mean,
    cov; default the bundle's ``irt.prior``).

    @example
        theta, cov = quiz_identity(a_train, c_train, y_train, manifest, 20)
    """
    mean, cov = prior if prior is not None else prior_of(manifest, a.shape[1])
    rows = quiz_rows(a, c, y, manifest, n_items)
    post = laplace_posterior(a[rows], c[rows], y[rows], mean, cov)
    return post.mean, post.cov


#: The prior a quiz identity's posterior is taken under (``pool_identities``'s ``quiz_prior``).
#: ``priced`` is the protocol's: on validation (30% of the train prompts held out,
#: tools/quiz_study.py) it had the highest AIQ summed over mmlu-pro, alpaca-eval and arena-hard left
#: out at 20 and 50 items, the rule that chose ``pool`` before it (docs/benchmarks/generalisation-quiz.md).
QUIZ_PRIORS = ("pool", "priced", "bundle")


@dataclass
class QuizIdentities:
    """Per quizzed model, (posterior mean, covariance), and the prior they are posteriors under."""

    posteriors: list[tuple[np.ndarray, np.ndarray]]
    prior_source: str
    design: str


def quiz_identities(a: np.ndarray, c: np.ndarray, y: np.ndarray, manifest: dict[str, Any], n_items: int,
                    prior: str = "priced", design: str = "auto", log_price: np.ndarray | None = None
                    ) -> QuizIdentities:
    """Identities of a pool whose every model took a quiz of ``n_items`` (``y`` [P, M] its train
    outcomes; only the quiz items' are read), the same items for every model, chosen by ``design``
    (``QUIZ_DESIGNS``). ``prior="pool"``: posteriors under the prior EM
    estimates from all the pool's quiz outcomes (``onboard.prior.pool_prior``; fewer than
    ``MIN_MODELS`` models fall back to the bundle's); ``"priced"``: the same EM with each model's
    ``log_price`` (e.g. of its mean expected cost per request) as a covariate of the prior mean
    (``onboard.prior.priced_pool_prior``); ``"bundle"``: under the bundle's ``irt.prior``.

    @example
        ids = quiz_identities(a_train, c_train, y_train, manifest, 20)
        ids.posteriors[0][0]   # the first model's identity
    """
    if prior not in QUIZ_PRIORS:
        raise ValueError(f"quiz prior must be one of {QUIZ_PRIORS}, not {prior!r}")
    if design not in QUIZ_DESIGNS:
        raise ValueError(f"quiz design must be one of {QUIZ_DESIGNS}, not {design!r}")
    start = Prior(*prior_of(manifest, a.shape[1]), source="bundle irt.prior")
    use_pool = prior != "bundle" and y.shape[1] >= MIN_MODELS
    if use_pool and prior == "priced" and (log_price is None or len(log_price) != y.shape[1]):
        raise ValueError("the priced quiz prior needs every pool model's log price")
    if design == "auto":
        design = "representative" if use_pool else QUIZ_CRITERION
    quizzes = []
    for j in range(y.shape[1]):
        rows = quiz_rows(a, c, y[:, j], manifest, n_items, design)
        quizzes.append((rows, y[rows, j]))
    if use_pool and prior == "priced":
        priced = priced_pool_prior(a, c, quizzes, np.asarray(log_price), start)
        priors = [priced.at(x) for x in np.asarray(log_price)]
    else:
        priors = [pool_prior(a, c, quizzes, start) if use_pool else start] * len(quizzes)
    posts = [laplace_posterior(a[r], c[r], yj, pr.mean, pr.cov) for (r, yj), pr in zip(quizzes, priors)]
    return QuizIdentities([(p.mean, p.cov) for p in posts], priors[0].source, design)


#: A binary router's curve is only as fine as the preferences it is routed at. Where the served pair
#: router's share of strong calls changes by more than ``PAIR_STEP`` between two neighbouring
#: preferences, evenly spaced preferences between them are routed too (enough for steps of
#: ``PAIR_STEP`` were the change even, at most ``PAIR_MAX_INSERT`` per gap), ``PAIR_ROUNDS`` times:
#: a pair's predicted gains can all lie within a few hundredths of each other (routellm-gsm8k: the
#: whole switch from weak to strong within w 0.832-0.838), where steps of 0.01 left 3 of its splits
#: and APGR scored the rest as random mixing. The threshold baselines are swept over every
#: threshold already.
PAIR_STEP = 0.01
PAIR_ROUNDS = 3
PAIR_MAX_INSERT = 128


def refined_masks(strong_at: Callable[[np.ndarray], np.ndarray], preferences: np.ndarray,
                  step: float = PAIR_STEP, rounds: int = PAIR_ROUNDS) -> tuple[np.ndarray, np.ndarray]:
    """(preferences, [W, P] strong masks) of a binary router: ``strong_at(ws)`` [len(ws), P] at
    ``preferences``, then (``rounds`` times, one call each) at evenly spaced preferences inside every
    gap between neighbours whose shares of strong calls differ by more than ``step``; sorted.

    @example
        >>> ws, m = refined_masks(lambda ws: np.linspace(0, 1, 200)[None, :] < ws[:, None], np.linspace(0, 1, 11))
        >>> len(ws), float(np.abs(np.diff(m.mean(axis=1))).max()) <= 0.01
        (212, True)
    """
    ws = np.asarray(preferences, np.float64)
    masks = np.asarray(strong_at(preferences), bool)
    for _ in range(rounds):
        jumps = np.abs(np.diff(masks.mean(axis=1)))
        gaps = np.flatnonzero(jumps > step)
        if len(gaps) == 0:
            break
        inserted = [np.linspace(ws[g], ws[g + 1], min(PAIR_MAX_INSERT, int(np.ceil(2 * jumps[g] / step))) + 2)[1:-1]
                    for g in gaps]
        new = np.concatenate(inserted)
        ws = np.concatenate([ws, new])
        masks = np.concatenate([masks, np.asarray(strong_at(new), bool)])
        order = np.argsort(ws, kind="stable")
        ws, masks = ws[order], masks[order]
    return ws, masks


def route_pool(es: EvalSet, bundle: Path, ids: PoolIdentities, preferences: np.ndarray,
               progress: Callable[[str], None] = print) -> tuple[ServedOutputs, dict[str, Any]]:
    """The served policy's choices over the whole pool (and over each binary pair of a larger
    pool) on the test prompts, and its IRT predictions, with the pool routed on ``ids``.

    @example
        served, meta = route_pool(es, bundle, pool_identities(es, manifest, prompts), W_GRID)
    """
    test_texts = es.test.table.prompts
    mean_out = es.train.table.output_tokens.astype(np.float64).mean(axis=0)
    t = es.test.table
    with tempfile.TemporaryDirectory(prefix="served-") as tmp:
        work = Path(tmp)

        def route(members: list[int], label: str, preferences: np.ndarray = preferences
                  ) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
            req = {
                "bundle": str(Path(bundle).resolve()),
                "route": {
                    "texts": test_texts,
                    "prompt_tokens": [float(x) for x in t.input_tokens],
                    "preferences": [float(w) for w in preferences],
                    "candidates": [{"name": es.models[j], "identity": ids.vectors[j],
                                    "input_usd_per_mtok": float(t.prices[j, 0]),
                                    "output_usd_per_mtok": float(t.prices[j, 1]),
                                    "expected_output_tokens": float(mean_out[j]),
                                    **({"cov_factor": ids.cov_factors[j]} if ids.cov_factors[j] is not None else {}),
                                    # an identity fitted here (refit, quiz) is not the bundle's model: the
                                    # bundle's outcome rows of a same-named model do not describe it
                                    "neighbours": ids.vectors[j] is None}
                                   for j in members],
                },
            }
            progress(f"{es.dataset}: routing {len(test_texts)} test prompts x {len(preferences)} preferences "
                     f"over {label} through the served decision core")
            run_meta = serve_decisions(req, work,
                                       lambda s: progress(f"{es.dataset}: {s}") if "decisions" in s else None)
            p, w = len(test_texts), len(preferences)
            choices = read_array(work / "route_choices.i32", "<i4", (w, p)).astype(np.int64)
            p_success = read_array(work / "route_p_success.f32", "<f4", (p, len(members))).astype(np.float64)
            return choices, p_success, run_meta

        choices, p_success, run_meta = route(list(range(len(es.models))), f"the pool of {len(es.models)}")
        pair_strong: dict[tuple[int, int], np.ndarray] = {}
        refined: np.ndarray | None = None
        for _, s, w in binary_pairs(es):
            # a two-model pool is its own pair: the main run already routed it at ``preferences``
            own = len(es.models) == 2
            members = list(range(2)) if own else [s, w]
            first = (choices == s) if own else None

            def strong_at(ws: np.ndarray, members: list[int] = members, s: int = s,
                          first: np.ndarray | None = first) -> np.ndarray:
                if first is not None and np.array_equal(ws, preferences):
                    return first
                label = f"the pair {es.models[members[0]]} / {es.models[members[1]]}"
                return route(members, label, ws)[0] == members.index(s)

            ws, pair_strong[(s, w)] = refined_masks(strong_at, np.asarray(preferences))
            if first is not None:
                extra = ~np.isin(ws, preferences)
                refined = np.where(pair_strong[(s, w)][extra], s, w)
    meta = {k_: run_meta[k_] for k_ in ("route_ms_per_decision", "wall_seconds", "identity_sources") if k_ in run_meta}
    out = ServedOutputs(preferences=np.asarray(preferences), choices=choices, p_success=p_success,
                        bundle=Path(bundle).name, pair_strong=pair_strong, refined_choices=refined)
    return out, meta


def run_served(es: EvalSet, bundle: Path, preferences: np.ndarray, progress: Callable[[str], None] = print,
               identities: str = "manifest") -> tuple[np.ndarray, np.ndarray, ServedOutputs, dict[str, Any]]:
    """(train embeddings, test embeddings, the policy's choices and IRT predictions, meta), the
    pool's identities found as ``identities`` says (``IDENTITY_MODES``).

    @example
        tr_emb, te_emb, served, meta = run_served(es, Path("model-assets/bundles/v1"), W_GRID)
    """
    manifest = json.loads((Path(bundle) / "manifest.json").read_text())
    known = manifest_models(manifest)
    needs_fit = identities != "manifest" or any(m not in known and unscoped(m) not in known for m in es.models)
    prompts = embed_and_probe(es, bundle, probe=needs_fit, progress=progress)
    ids = pool_identities(es, manifest, prompts, identities)
    if ids.meta.get("identities_fitted_on_train"):
        progress(f"{es.dataset}: fitted identities of {len(ids.meta['identities_fitted_on_train'])} models "
                 "on the train split")
    out, served_meta = route_pool(es, bundle, ids, preferences, progress)
    meta: dict[str, Any] = {"bundle": Path(bundle).name, "ort": ORT_RUNTIME,
                            **{k: v for k, v in ids.meta.items() if k != "identities" or v != "manifest"},
                            "served": served_meta}
    return prompts.train_emb, prompts.test_emb, out, meta
