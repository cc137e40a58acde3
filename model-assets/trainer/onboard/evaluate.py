"""The onboarding benchmark: ``npm run eval -- --onboarding --json PATH``.

For each cold-start model of mmlu-pro (never seen in IRT/policy training):

- *full*: its identity from all of its train-split outcomes (Laplace, IRT head frozen);
- *quiz N*: from N train-split items picked by the greedy D-optimal design (outcomes looked up in
  the data, as if the model had answered them), for N in the budgets (10, 20, 50);
- *random N*: from N random train-split items, averaged over several seeds;
- *prior*: no quiz at all (the population prior mean), for reference.

Each identity is put into the pool (the training pool + that model) and the mmlu-pro test split is
routed by the policy exactly as served (worker/decision on the bundle's int8 ONNX files, via
``model-assets/tools/onboard-routes.ts``) over a preference grid; IRT-greedy on the same
identities is the secondary number. ``hull_aiq`` is the single-model hull with the model in the
pool. Item parameters a_j, c_j are read off the served ``irt.onnx`` (probe identities), the prompts
embedded once by the served embedder (``serve-decisions.ts``) and cached.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..contract import MAX_UNCERTAINTY_PENALTY, UNCERTAINTY_PENALTY
from ..data import COLD_START_MODELS, load_dataset
from ..export.manifest import manifest_models
from ..export.node_bridge import onboard_routes, read_array
from ..paths import CACHE_DIR, default_bundle
from ..scoring import metrics as M
from ..scoring.bootstrap import bootstrap_aiqs, interval
from ..scoring.evalset import build_evalset, cost_norm
from ..scoring.greedy import greedy_curve
from .design import adaptive_quiz, random_quiz, select_quiz
from .laplace import laplace_posterior, sigmoid
from .plot import plot_gain
from .prior import MIN_MODELS as MIN_PRIOR_MODELS
from .prior import Prior, bank_prior, dataset_models, dataset_prior
from .served import Served, prior_of, served_items

DEFAULT_BUDGETS = (10, 20, 50)
#: Prompt resamples for the paired bootstrap intervals (``--bootstrap``); 90% percentile intervals.
DEFAULT_BOOTSTRAP = 200
CI_LEVEL = 0.9
#: AIQ differences below this (0.1 quality points x cost range) make a gain fraction meaningless.
MIN_GAIN = 1e-3
#: Static greedy designs and their adaptive versions (re-aimed at the posterior after each answer).
ALL_CRITERIA = ("d-optimal", "i-optimal", "adaptive-d-optimal", "adaptive-i-optimal")
# The first is reported as ``quiz`` and routed by the policy. Static I-optimal: it kept >= 94% of
# the gain at 20 items for all five cold-start models, where the adaptive quiz (re-aimed after every
# answer) over-rated gemini-1.5-flash (63%) and lost log loss from 20 to 50 items on 4 of 5 models
# (docs/benchmarks/onboarding.md, "Adaptive quiz").
DEFAULT_CRITERIA = ("i-optimal", "adaptive-i-optimal", "d-optimal", "adaptive-d-optimal")
# UNCERTAINTY_PENALTY and MAX_UNCERTAINTY_PENALTY come from the contract the worker reads too
# (trainer/contract.py). The policy pass gets the penalty from the worker's own code; IRT-greedy
# here applies it the same way.


def cov_factor(cov: np.ndarray) -> list[list[float]]:
    """The vectors v_i with ``cov = sum_i v_i v_i^T`` that D1 stores and the decision core reads:
    the columns of the Cholesky factor.

    @example
        >>> cov_factor(np.diag([4.0, 1.0]))
        [[2.0, 0.0], [0.0, 1.0]]
    """
    chol = np.linalg.cholesky(0.5 * (cov + cov.T))
    return [[float(x) for x in col] for col in chol.T]


def routed_p(a: np.ndarray, c: np.ndarray, mean: np.ndarray, cov: np.ndarray | None,
             penalty: float = UNCERTAINTY_PENALTY) -> np.ndarray:
    """Success probabilities an identity is routed on: at its mean, or with a covariance
    ``penalty`` posterior stds below it (the worker's ``UNCERTAINTY_PENALTY`` by default, a pool's
    ``uncertainty_penalty`` where set), as the worker does.

    @example
        >>> routed_p(np.array([[1.0, 1.0]]), np.zeros(1), np.zeros(2), np.eye(2)).round(3).tolist()
        [0.196]
    """
    logit = a @ mean - c
    if cov is not None:
        logit = logit - penalty * np.sqrt(np.einsum("pi,ij,pj->p", a, cov, a))
    return sigmoid(logit)


def condition_on_ability(mean: np.ndarray, cov: np.ndarray, abar: np.ndarray, target: float,
                         noise: float = 1e-6) -> tuple[np.ndarray, np.ndarray]:
    """The Gaussian posterior ``N(mean, cov)`` told one more fact: ``abar . theta = target`` (to
    variance ``noise``, which keeps the covariance positive definite). With ``abar`` the mean item
    vector of the test prompts and ``target`` the full identity's value, this is the quiz identity
    with the overall ability a quiz cannot pin down put right: the ``--oracle-ability`` diagnostic.

    @example
        >>> m, S = condition_on_ability(np.zeros(2), np.eye(2), np.array([1.0, 0.0]), 2.0)
        >>> m.round(3).tolist(), S.round(3).tolist()
        ([2.0, 0.0], [[0.0, 0.0], [0.0, 1.0]])
    """
    v = cov @ abar
    denom = float(abar @ v) + noise
    cond = cov - np.outer(v, v) / denom
    return mean + v * (target - float(abar @ mean)) / denom, 0.5 * (cond + cond.T)


def ability_gap(abar: np.ndarray, theta: np.ndarray, cov: np.ndarray, full: np.ndarray) -> tuple[float, float]:
    """How far an identity's overall ability is from the full identity's, and how sure its posterior
    is of it: with ``abar`` the mean item vector of some prompts, the mean over them of its success
    logit minus the full identity's, and the posterior std of that mean, ``sqrt(abar^T cov abar)``.
    Most of a 20-item quiz's routing error is this one number (docs/benchmarks/onboarding.md, "How far a
    quiz can go in a pool of four").

    @example
        >>> ability_gap(np.array([1.0, 1.0]), np.zeros(2), np.eye(2), np.array([0.5, 0.0]))
        (-0.5, 1.4142135623730951)
    """
    return float(abar @ (theta - full)), float(np.sqrt(abar @ cov @ abar))


def log(msg: str) -> None:
    print(f"[onboard-eval {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def route_variants(bundle: Path, emb: np.ndarray, prompt_tokens: np.ndarray, ws: np.ndarray,
                   variants: list[dict[str, Any]], penalty: float = UNCERTAINTY_PENALTY
                   ) -> tuple[np.ndarray, dict[str, Any]]:
    """Choices [V, W, P] of the served policy for every pool variant (onboard-routes.ts), routing
    candidates that carry a ``cov_factor`` ``penalty`` stds below their mean."""
    with tempfile.TemporaryDirectory(prefix="onboard-routes-") as tmp:
        work = Path(tmp)
        emb.astype("<f4").tofile(work / "emb.f32")
        req = {"bundle": str(bundle.resolve()), "embeddings": str(work / "emb.f32"),
               "prompt_tokens": [float(x) for x in prompt_tokens], "preferences": [float(w) for w in ws],
               "variants": variants, "uncertainty_penalty": float(penalty)}
        meta = onboard_routes(req, work, lambda line: log(line) if "variant" in line or "done" in line else None)
        choices = read_array(work / "choices.i32", "<i4", (len(variants), len(ws), emb.shape[0]))
    return choices.astype(np.int64), meta


def _round(x: float, digits: int = 4) -> float | None:
    return None if not np.isfinite(x) else round(float(x), digits)


def subset_table(table: Any, max_train: int | None, max_test: int | None) -> Any:
    """The first ``max_train`` train and ``max_test`` test rows (quick runs and tests)."""
    if max_train is None and max_test is None:
        return table
    rows = []
    for split, limit in (("train", max_train), ("test", max_test)):
        r = np.flatnonzero(table.split == split)
        rows.append(r if limit is None else r[:limit])
    return table.subset(rows=np.sort(np.concatenate(rows)))


def _quiz_keys(budgets: list[int], criteria: list[str], seeds: int) -> list[str]:
    """Identity variants per model; the ones after the primary criterion's come last, so the
    policy pass can skip them (``routed``): each variant costs P x W policy decisions."""
    keys = ["prior", "full"]
    for n in budgets:
        keys += [f"{criteria[0]}-{n}"] + [f"random-{n}-{s}" for s in range(seeds)]
    return keys + [f"{cr}-{n}" for n in budgets for cr in criteria[1:]]


def pool_draws_for(model: str, n_models: int, j: int, pool_size: int | None, n_draws: int) -> list[list[int]]:
    """Column sets (sorted indices into the pool's models, ``j`` always in) the model is routed in:
    the whole pool, or ``n_draws`` distinct tenant-sized pools of ``pool_size`` models, seeded by
    the model's name so every identity and every run sees the same draws.

    @example
        >>> pool_draws_for("m", 4, 2, None, 1)
        [[0, 1, 2, 3]]
        >>> [len(c) for c in pool_draws_for("m", 27, 5, 4, 3)], all(5 in c for c in pool_draws_for("m", 27, 5, 4, 3))
        ([4, 4, 4], True)
    """
    if pool_size is None:
        return [list(range(n_models))]
    if not 2 <= pool_size < n_models:
        raise ValueError(f"--pool-size must be at least 2 and below the {n_models} models of the pool")
    others = [c for c in range(n_models) if c != j]
    if n_draws > math.comb(len(others), pool_size - 1):
        raise ValueError(f"only {math.comb(len(others), pool_size - 1)} distinct pools of {pool_size} hold {j}")
    rng = np.random.default_rng(zlib.crc32(model.encode()))
    draws: list[list[int]] = []
    while len(draws) < n_draws:
        cols = sorted(rng.choice(others, pool_size - 1, replace=False).tolist() + [j])
        if cols not in draws:
            draws.append(cols)
    return draws


def _score_draws(job: dict[str, Any], keys: list[str], variants: list[dict[str, Any]], choices: np.ndarray | None,
                 slot: dict[int, int], a_te: np.ndarray, c_te: np.ndarray, ws: np.ndarray, prec: np.ndarray,
                 penalty: float, n_boot: int) -> tuple[dict[str, dict[str, float]], float, Any]:
    """Per identity key: IRT-greedy AIQ, policy AIQ and share (means over the job's pool draws), test
    log loss and identity distance; the mean hull AIQ; and the paired bootstrap (per resample, the
    mean over draws: every draw sees the same prompt resamples)."""
    es, j, model = job["es"], job["j"], job["model"]
    te = es.test
    full = job["identities"]["full"]
    y_te = te.table.outcome[:, j].astype(np.float64)
    ok_te = ~np.isnan(y_te)
    per: dict[str, dict[str, list[float]]] = {k: {} for k in keys}
    m: dict[str, dict[str, float]] = {}
    for key in keys:
        theta = job["identities"][key]
        pk = np.clip(sigmoid(a_te[ok_te] @ theta - c_te[ok_te]), 1e-6, 1 - 1e-6)  # its own (mean) prediction
        r = theta - full
        m[key] = {"logloss": float(-np.mean(y_te[ok_te] * np.log(pk) + (1 - y_te[ok_te]) * np.log(1 - pk))),
                  "dist": float(np.sqrt(r @ prec @ r))}
    hulls: list[float] = []
    boots: list[tuple[np.ndarray, dict[str, np.ndarray]]] = []
    for d_i, cols in enumerate(job["draws"]):
        cost, quality = te.cost[:, cols], te.quality[:, cols]
        names = [es.models[c] for c in cols]
        pool = M.single_pool(names, cost, quality)
        hulls.append(M.hull_aiq(pool))
        cnorm = cost_norm(te.expected_cost[:, cols])
        at = cols.index(j)
        routed_choices: dict[str, np.ndarray] = {}   # identity key -> [W, P] choices, routed variants only
        for i, key in enumerate(keys):
            v = job["first_variant"] + d_i * len(keys) + i
            thetas = np.array([c_["identity"] for c_ in variants[v]["candidates"]])
            p = sigmoid(a_te @ thetas.T - c_te[:, None])
            p[:, at] = routed_p(a_te, c_te, job["identities"][key], job["covs"].get(key), penalty)
            per[key].setdefault("greedy", []).append(M.aiq(greedy_curve(p, cnorm, cost, quality, ws), pool))
            if choices is not None and v in slot:
                routed_choices[key] = choices[slot[v]]
                per[key].setdefault("aiq", []).append(
                    M.aiq([M.choice_point(ch, cost, quality) for ch in routed_choices[key]], pool))
                per[key].setdefault("share", []).append(float(np.mean(routed_choices[key] == at)))
        if routed_choices and n_boot > 0:
            # seeded by the model's name: the same resamples whatever else is evaluated alongside
            boots.append(bootstrap_aiqs(routed_choices, cost, quality, names, n_boot=n_boot,
                                        seed=zlib.crc32(model.encode())))
    for key in keys:
        m[key].update({metric: float(np.mean(vals)) for metric, vals in per[key].items()})
    boot = None
    if boots:
        boot = (np.mean([b[0] for b in boots], axis=0),
                {k: np.mean([b[1][k] for b in boots], axis=0) for k in boots[0][1]})
    return m, float(np.mean(hulls)), boot


@dataclass
class OnboardingConfig:
    """What one onboarding benchmark run measures (``npm run eval -- --onboarding`` flags).

    ``criteria[0]`` is the selection reported as ``quiz``; the others go to ``quiz.<N>.alt`` with
    IRT-greedy, log loss and distance only (no policy pass: it is the expensive part).
    ``policy=False`` skips the served policy (IRT-greedy and identity metrics only; seconds).
    ``penalty``: how many posterior stds below its mean the onboarded model is routed, as the worker
    routes a quiz identity (``UNCERTAINTY_PENALTY`` by default, a pool's ``uncertainty_penalty``
    otherwise); 0 routes every identity at its posterior mean.
    ``pool_size``: route in ``pool_draws`` tenant-sized pools of that many models (the onboarded one
    and ``pool_size - 1`` others drawn at random, the same draws for every identity) instead of the
    whole pool; every AIQ, share and hull is then the mean over the draws (``tenant_pools``).
    ``prior``: what quizzes start from: ``bank``, the prior the mmlu-pro bank stores (its models,
    cold-start ones left out; :mod:`.prior`), or ``population``, the bundle's ``irt.prior``.
    ``oracle_ability``: a diagnostic, not a router. Every identity but the full one is conditioned
    on the full identity's mean logit over the test prompts (:func:`condition_on_ability`), so what
    is left of the gap is what the quiz misses beyond the overall ability.

    @example
        cfg = OnboardingConfig(bundle, ["mathstral-7B"], [10, 20], seeds=3, ws=np.linspace(0, 1, 11))
    """

    bundle: Path
    models: list[str]
    budgets: list[int]
    seeds: int
    ws: np.ndarray
    max_train: int | None = None
    max_test: int | None = None
    cache: Path | None = CACHE_DIR / "onboard"
    expectation: str = "prior"
    criteria: tuple[str, ...] = ("d-optimal",)
    policy: bool = True
    n_boot: int = DEFAULT_BOOTSTRAP
    penalty: float = UNCERTAINTY_PENALTY
    pool_size: int | None = None
    pool_draws: int = 1
    prior: str = "bank"
    oracle_ability: bool = False


@dataclass
class Bench:
    """The prompts every onboarded model is measured on: mmlu-pro's (subset) table, its served item
    parameters per split, the bundle's population prior, and the pool's identities (the manifest's,
    else fitted on the train split as the harness does, ``trainer.eval.served``; head frozen)."""

    manifest: dict[str, Any]
    table: Any
    served: Served
    train_rows: np.ndarray
    test_rows: np.ndarray
    prior_mean: np.ndarray
    prior_cov: np.ndarray
    fitted_pool: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def a_tr(self) -> np.ndarray:
        return self.served.a[self.train_rows]

    @property
    def c_tr(self) -> np.ndarray:
        return self.served.c[self.train_rows]

    @property
    def a_te(self) -> np.ndarray:
        return self.served.a[self.test_rows]

    @property
    def c_te(self) -> np.ndarray:
        return self.served.c[self.test_rows]

    def pool_identity(self, m: str) -> np.ndarray:
        """A pool model's identity: the manifest's, else fitted once on its train outcomes."""
        known = manifest_models(self.manifest)
        if m in known:
            return np.asarray(known[m], np.float64)
        if m not in self.fitted_pool:
            y_m = self.table.outcome[self.train_rows, self.table.models.index(m)].astype(np.float64)
            ok = ~np.isnan(y_m)
            self.fitted_pool[m] = laplace_posterior(self.a_tr[ok], self.c_tr[ok], y_m[ok], self.prior_mean,
                                                    self.prior_cov).mean
        return self.fitted_pool[m]


def load_bench(cfg: OnboardingConfig) -> Bench:
    """Stage 1: the (subset) mmlu-pro table and its prompts' served item parameters (cached).

    @example
        bench = load_bench(OnboardingConfig(bundle, ["mathstral-7B"], [4], 1, ws, 120, 40, None))
    """
    manifest = json.loads((cfg.bundle / "manifest.json").read_text())
    prior_mean, prior_cov = prior_of(manifest, int(manifest["identity_dim"]))
    table = subset_table(load_dataset("mmlu-pro"), cfg.max_train, cfg.max_test)
    served = served_items(cfg.bundle, list(table.prompts), cfg.cache)
    return Bench(manifest, table, served, np.flatnonzero(table.split == "train"), np.flatnonzero(table.split == "test"),
                 prior_mean, prior_cov)


def start_prior(cfg: OnboardingConfig, bench: Bench) -> Prior:
    """Stage 2: the prior every quiz (and the random baseline, and "prior") starts from: the
    mmlu-pro bank's (exactly what `bank --mmlu-pro` stores) or the bundle's. A bundle without the
    mmlu-pro models (the generated test bundle) gets them fitted as ``Bench.pool_identity`` does.

    @example
        start = start_prior(cfg, bench)   # Prior(mean, cov, source="dataset mmlu-pro ...")
    """
    if cfg.prior == "population":
        return Prior(bench.prior_mean, bench.prior_cov, source="bundle irt.prior")
    if len(dataset_models(bench.manifest, "mmlu-pro", COLD_START_MODELS)) >= MIN_PRIOR_MODELS:
        return dataset_prior(bench.manifest, "mmlu-pro", exclude=COLD_START_MODELS)
    population = [m for m in bench.table.models if m not in COLD_START_MODELS]
    return bank_prior(np.array([bench.pool_identity(m) for m in population]), bench.prior_cov, population,
                      "mmlu-pro models fitted on the train split")


def onboard_model(cfg: OnboardingConfig, bench: Bench, start: Prior, model: str, keys: list[str],
                  first_variant: int) -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
    """Stage 3, one model: its identities (prior, full, every quiz and random quiz of every
    budget), and the pool variants that route each of them in each of its pool draws; ``None``
    when the model is not in the pool.

    @example
        job, variants = onboard_model(cfg, bench, start, "mathstral-7B", _quiz_keys([4], ["i-optimal"], 1), 0)
    """
    criteria = list(cfg.criteria)
    a_tr, c_tr = bench.a_tr, bench.c_tr
    abar_te = bench.a_te.mean(axis=0)   # the overall ability's direction on the test prompts
    es = build_evalset(bench.table, exclude=[m for m in COLD_START_MODELS if m != model])
    if model not in es.models:
        log(f"{model}: not in the pool (too few test outcomes); skipped")
        return None
    j = es.models.index(model)
    y = es.train.table.outcome[:, j].astype(np.float64)
    observed = np.flatnonzero(~np.isnan(y))
    missing = np.flatnonzero(np.isnan(y))
    mean_out = es.train.table.output_tokens.astype(np.float64).mean(axis=0)
    base: list[dict[str, Any]] = []
    for k, m in enumerate(es.models):
        if m == model:
            continue
        theta_m = bench.pool_identity(m)
        base.append({"name": m, "identity": [float(x) for x in theta_m],
                     "input_usd_per_mtok": float(es.test.table.prices[k, 0]),
                     "output_usd_per_mtok": float(es.test.table.prices[k, 1]),
                     "expected_output_tokens": float(mean_out[k])})

    covs: dict[str, np.ndarray] = {}

    def fit(key: str, rows: np.ndarray, from_: Prior = start) -> np.ndarray:
        post = laplace_posterior(a_tr[rows], c_tr[rows], y[rows], from_.mean, from_.cov)
        covs[key] = post.cov
        return post.mean

    # "prior" is what a 0-item quiz would store: the prior mean and covariance. The full
    # identity (thousands of outcomes) is the reference whatever the quiz starts from.
    covs["prior"] = start.cov
    bundle_prior = Prior(bench.prior_mean, bench.prior_cov, source="bundle irt.prior")
    identities: dict[str, np.ndarray] = {"prior": start.mean.copy(), "full": fit("full", observed, bundle_prior)}
    info: dict[str, float] = {}
    top = max(cfg.budgets)
    # A quiz does not depend on the model (non-adaptive), except that items a model has no record
    # for are skipped: the data cannot "answer" them for it.
    for cr in criteria:
        # greedy designs, static or adaptive, are prefix-consistent: the N-item quiz is the
        # first N items of the longest one
        if cr.startswith("adaptive-"):
            rows_all, _ = adaptive_quiz(a_tr, c_tr, start.mean, start.cov, top, lambda r: float(y[r]),
                                        criterion=cr[len("adaptive-"):], exclude=missing)
            gains_all = np.full(top, np.nan)
        else:
            quiz = select_quiz(a_tr, c_tr, start.mean, start.cov, top, exclude=missing, expectation=cfg.expectation,
                               criterion=cr)
            rows_all, gains_all = quiz.rows, quiz.gains
        for n in cfg.budgets:
            identities[f"{cr}-{n}"] = fit(f"{cr}-{n}", rows_all[:n])
            info[f"{cr}-{n}"] = float(gains_all[:n].sum())
    for n in cfg.budgets:
        for s in range(cfg.seeds):
            rows = observed[random_quiz(len(observed), n, seed=1000 * n + s)]
            identities[f"random-{n}-{s}"] = fit(f"random-{n}-{s}", rows)
    if cfg.oracle_ability:
        for key in identities:
            if key != "full":
                identities[key], covs[key] = condition_on_ability(identities[key], covs[key], abar_te,
                                                                  float(abar_te @ identities["full"]))
    target = {"name": model, "input_usd_per_mtok": float(es.test.table.prices[j, 0]),
              "output_usd_per_mtok": float(es.test.table.prices[j, 1]),
              "expected_output_tokens": float(mean_out[j])}
    ability = {k: ability_gap(abar_te, identities[k], covs[k], identities["full"]) for k in identities}
    if cfg.penalty == 0:
        covs.clear()
    draws = pool_draws_for(model, len(es.models), j, cfg.pool_size, cfg.pool_draws)
    job = {"model": model, "es": es, "j": j, "identities": identities, "covs": covs, "info": info,
           "ability": ability, "first_variant": first_variant, "n_train_outcomes": int(len(observed)),
           "draws": draws}
    alt_prefixes = tuple(f"{cr}-" for cr in criteria[1:]) or ("\0",)
    variants: list[dict[str, Any]] = []
    for d_i, cols in enumerate(draws):
        for key in keys:
            # candidates in es.models order restricted to the draw's columns: choices index cols
            spread = {"cov_factor": cov_factor(covs[key])} if key in covs else {}
            onboarded = {**target, "identity": [float(x) for x in identities[key]], **spread}
            cands = [onboarded if c == j else base[c if c < j else c - 1] for c in cols]
            name = f"{model}/{key}" + (f"/pool{d_i}" if cfg.pool_size else "")
            variants.append({"name": name, "candidates": cands, "routed": not key.startswith(alt_prefixes)})
    log(f"{model}: {len(observed)} train outcomes; {len(identities)} identities fitted"
        + (f"; {len(draws)} pools of {cfg.pool_size}" if cfg.pool_size else ""))
    return job, variants


def route_all(cfg: OnboardingConfig, bench: Bench, variants: list[dict[str, Any]]
              ) -> tuple[np.ndarray | None, dict[str, Any], dict[int, int]]:
    """Stage 4: the served policy's choices for every routed variant in one Node run: (choices,
    the run's meta, variant index -> row of choices); no choices without ``cfg.policy``.

    @example
        choices, route_meta, slot = route_all(cfg, bench, variants)
    """
    if not (cfg.policy and variants):
        return None, {}, {}
    routed = [i for i, v in enumerate(variants) if v["routed"]]
    slot = {i: r for r, i in enumerate(routed)}
    test_rows = bench.test_rows
    log(f"routing {len(test_rows)} test prompts x {len(cfg.ws)} preferences x {len(routed)} pool variants")
    choices, route_meta = route_variants(cfg.bundle, bench.served.emb[test_rows], bench.table.input_tokens[test_rows],
                                         cfg.ws, [{"name": variants[i]["name"], "candidates": variants[i]["candidates"]}
                                                  for i in routed], cfg.penalty)
    return choices, route_meta, slot


def model_block(cfg: OnboardingConfig, bench: Bench, job: dict[str, Any], keys: list[str],
                variants: list[dict[str, Any]], choices: np.ndarray | None, slot: dict[int, int]) -> dict[str, Any]:
    """Stage 5, one model: its scores (hull, full, prior, and per budget the quiz against the
    random quizzes, with gain fractions and bootstrap intervals), as the results JSON holds them.

    @example
        out[job["model"]] = model_block(cfg, bench, job, keys, variants, choices, slot)
    """
    criteria, seeds, budgets = list(cfg.criteria), cfg.seeds, cfg.budgets
    model = job["model"]
    prec = np.linalg.inv(bench.prior_cov)
    m, hull, boot = _score_draws(job, keys, variants, choices, slot, bench.a_te, bench.c_te, cfg.ws, prec,
                                 cfg.penalty, cfg.n_boot)
    main_metric = "aiq" if choices is not None else "greedy"

    def frac(x: float, base: float = hull) -> float | None:
        # Below MIN_GAIN the full identity barely moves the router: a ratio would be noise.
        gain = m["full"][main_metric] - base
        return None if abs(gain) < MIN_GAIN else _round((x - base) / gain)

    def frac2(x: float, base: float, metric: str) -> float | None:
        gain = m["full"][metric] - base
        return None if abs(gain) < MIN_GAIN else _round((x - base) / gain)

    def opt(key: str, metric: str) -> float | None:
        return _round(m[key][metric]) if metric in m[key] else None

    def mean_rnd(n: int, metric: str) -> float | None:
        vals = [m[f"random-{n}-{s}"][metric] for s in range(seeds) if metric in m[f"random-{n}-{s}"]]
        return _round(np.mean(vals)) if vals else None

    def entry(key: str, n: int) -> dict[str, Any]:
        # alt selections have no policy AIQ: their gain fractions use IRT-greedy throughout
        metric = main_metric if main_metric in m[key] else "greedy"
        return {"aiq": opt(key, "aiq"), "share": opt(key, "share"), "greedy_aiq": _round(m[key]["greedy"]),
                "gain_fraction": frac2(m[key][metric], hull, metric),
                "gain_fraction_vs_prior": frac2(m[key][metric], m["prior"][metric], metric),
                "test_logloss": _round(m[key]["logloss"]), "identity_distance": _round(m[key]["dist"]),
                "criterion_gain": _round(job["info"][key]),
                "ability_error": _round(job["ability"][key][0]), "ability_std": _round(job["ability"][key][1])}

    block: dict[str, Any] = {
        "hull_aiq": _round(hull), "full_aiq": opt("full", "aiq"), "prior_aiq": opt("prior", "aiq"),
        "full_share": opt("full", "share"), "prior_share": opt("prior", "share"),
        "full_greedy_aiq": _round(m["full"]["greedy"]), "prior_greedy_aiq": _round(m["prior"]["greedy"]),
        "full_test_logloss": _round(m["full"]["logloss"]), "prior_test_logloss": _round(m["prior"]["logloss"]),
        "prior_identity_distance": _round(m["prior"]["dist"]),
        "prior_ability_error": _round(job["ability"]["prior"][0]),
        "prior_ability_std": _round(job["ability"]["prior"][1]),
        "n_train_outcomes": job["n_train_outcomes"], "quiz": {},
    }
    for n in budgets:
        quiz_key, random_keys = f"{criteria[0]}-{n}", [f"random-{n}-{s}" for s in range(seeds)]
        primary = entry(quiz_key, n)
        rnd_main = [m[k][main_metric] for k in random_keys]
        block["quiz"][str(n)] = {
            **primary,
            "random_aiq": mean_rnd(n, "aiq"),
            "random_share": mean_rnd(n, "share"),
            "random_aiq_std": _round(np.std([m[k]["aiq"] for k in random_keys])) if choices is not None else None,
            # against each random quiz, not their mean: one lucky draw can match a designed quiz
            "random_below_quiz": _round(float(np.mean([m[k][main_metric] < m[quiz_key][main_metric]
                                                       for k in random_keys]))),
            "random_greedy_aiq": mean_rnd(n, "greedy"),
            "random_gain_fraction": frac(float(np.mean(rnd_main))),
            "random_gain_fraction_vs_prior": frac(float(np.mean(rnd_main)), m["prior"][main_metric]),
            "random_test_logloss": mean_rnd(n, "logloss"),
            "random_identity_distance": mean_rnd(n, "dist"),
            "random_ability_error_abs": _round(np.mean([abs(job["ability"][k][0]) for k in random_keys])),
            "alt": {cr: entry(f"{cr}-{n}", n) for cr in criteria[1:]},
            **(_boot_entry(boot, quiz_key, random_keys) if boot and primary["gain_fraction"] is not None else {}),
        }
    log(f"{model}: hull {hull:.4f} full {m['full'][main_metric]:.4f} prior {m['prior'][main_metric]:.4f} "
        f"({main_metric}) | "
        + " ".join(f"N={n}: quiz {m[f'{criteria[0]}-{n}'][main_metric]:.4f} "
                   f"rand {np.mean([m[f'random-{n}-{s}'][main_metric] for s in range(seeds)]):.4f}"
                   for n in budgets))
    return block


def run_meta(cfg: OnboardingConfig, bench: Bench, start: Prior, routed: bool, route_meta: dict[str, Any],
             seconds: float) -> dict[str, Any]:
    """Stage 6: what the run measured and how, for the results' ``meta``.

    @example
        meta = run_meta(cfg, bench, start, choices is not None, route_meta, time.time() - t0)
    """
    criteria, penalty, pool_size, n_boot = list(cfg.criteria), cfg.penalty, cfg.pool_size, cfg.n_boot
    return {
        "bundle": bench.manifest["version"], "dataset": "mmlu-pro", "bank": "mmlu-pro train split",
        "budgets": cfg.budgets, "random_seeds": cfg.seeds, "preferences": len(cfg.ws),
        "selection": f"greedy {criteria[0]} ({cfg.expectation}-expected Fisher information; adaptive = "
                     "re-aimed at the Laplace posterior after every answer)",
        "alt_selections": criteria[1:],
        "alt_note": "alt selections are scored with IRT-greedy, test log loss and identity distance only",
        "router": ("policy as served (int8 ONNX, worker/decision via onboard-routes.ts)" if routed
                   else "none (--greedy-only): aiq fields are null, gain fractions use IRT-greedy"),
        "secondary": "greedy_aiq = IRT-greedy with the same identities",
        "gain_fraction": f"({'aiq' if routed else 'greedy_aiq'} - hull_aiq) / (full - hull_aiq); "
                         f"null when |full - hull_aiq| < {MIN_GAIN}",
        "gain_fraction_vs_prior": "the same with the prior-mean identity (no quiz) in place of the hull",
        "identity_distance": "Mahalanobis distance (prior metric) to the full-data identity",
        "ability_error": "mean over the test prompts of the identity's success logit minus the full identity's "
                         "(the overall ability it misses); ability_std: its posterior std of that mean; "
                         "random_ability_error_abs: mean |ability_error| of the random quizzes",
        "share": "fraction of the routed decisions (test prompts x preferences) that chose the onboarded model",
        "random_below_quiz": "fraction of the random quizzes (seeds) whose AIQ is below the quiz's",
        "test_logloss": "log loss of the onboarded model's predicted success on its test-split outcomes",
        "bootstrap": (f"{n_boot} paired resamples of the test prompts (hull and every identity on the same "
                      f"resample), {int(CI_LEVEL * 100)}% percentile intervals; share_at_least_95: resamples "
                      f"where the quiz keeps >= 95% of the gain, of those where the full identity gains >= "
                      f"{MIN_GAIN} over the hull (resamples_with_gain); quiz_beats_random_share: resamples where "
                      "its AIQ is above the random quizzes' mean") if routed and n_boot > 0 else None,
        "pool_identities_fitted_on_train": sorted(bench.fitted_pool),
        "prior": {"kind": cfg.prior, "source": start.source, "models": len(start.models),
                  "note": "quiz, random and prior identities start from it; full is fitted from the bundle's "
                          "irt.prior"},
        "test_prompts": int(len(bench.test_rows)), "train_items": int(len(bench.train_rows)),
        "route": {k: route_meta[k] for k in ("seconds", "ms_per_decision") if k in route_meta},
        "uncertainty_penalty": penalty,
        "oracle_ability": ("diagnostic: every identity but full conditioned on the full identity's mean "
                           "test-split logit (--oracle-ability); not a router") if cfg.oracle_ability else None,
        "pools": ("the whole pool (the training pool + the onboarded model)" if pool_size is None else
                  f"tenant_pools: {cfg.pool_draws} pools of {pool_size} models per onboarded model (it and "
                  f"{pool_size - 1} others drawn at random, the same draws for every identity); hull_aiq, "
                  "aiq, share and the bootstrap are means over the draws"),
        "pool_size": pool_size, "pool_draws": cfg.pool_draws if pool_size is not None else 1,
        "uncertainty": (f"the onboarded model is routed {penalty:g} posterior std below its mean "
                        "success logit (policy and IRT-greedy), as the worker routes a quiz identity"
                        if penalty > 0 else "every identity routed at its posterior mean (--route-on-mean)"),
        "seconds": round(seconds, 1),
    }


def run(cfg: OnboardingConfig) -> dict[str, Any]:
    """The whole benchmark, stage by stage; returns the ``{"onboarding": ..., "summary": ...,
    "meta": ...}`` results object.

    @example
        res = run(OnboardingConfig(bundle, ["mathstral-7B"], [10, 20], 3, np.linspace(0, 1, 11)))
    """
    t0 = time.time()
    bench = load_bench(cfg)
    start = start_prior(cfg, bench)
    keys = _quiz_keys(cfg.budgets, list(cfg.criteria), cfg.seeds)
    jobs: list[dict[str, Any]] = []
    variants: list[dict[str, Any]] = []
    for model in cfg.models:
        onboarded = onboard_model(cfg, bench, start, model, keys, len(variants))
        if onboarded is not None:
            jobs.append(onboarded[0])
            variants += onboarded[1]
    choices, route_meta, slot = route_all(cfg, bench, variants)
    out = {job["model"]: model_block(cfg, bench, job, keys, variants, choices, slot) for job in jobs}
    return {
        "onboarding": out,
        "summary": summarise(out, cfg.budgets, "aiq" if choices is not None else "greedy_aiq"),
        "meta": run_meta(cfg, bench, start, choices is not None, route_meta, time.time() - t0),
    }


def _boot_entry(boot: tuple[np.ndarray, dict[str, np.ndarray]], quiz: str, randoms: list[str]) -> dict[str, Any]:
    """Paired-bootstrap intervals for one budget: the quiz's gain share, and quiz minus random AIQ.

    A resample where the full identity gains less than ``MIN_GAIN`` over the hull (or loses to it)
    has no meaningful share and is left out of the share's numbers (``resamples_with_gain`` says how
    many count). ``share_at_least_95`` is the fraction of those where the quiz keeps >= 95% of the
    gain (the target); ``quiz_beats_random_share`` the fraction of all resamples where the quiz's
    AIQ is above the random quizzes' mean.

    @example
        >>> hull = np.array([0.80, 0.80, 0.80])
        >>> aiq = {"full": np.array([0.81, 0.8001, 0.82]), "q": np.array([0.8096, 0.9, 0.81]), "r": np.full(3, 0.805)}
        >>> b = _boot_entry((hull, aiq), "q", ["r"])["bootstrap"]
        >>> b["resamples_with_gain"], b["share_at_least_95"], b["quiz_beats_random_share"]
        (2, 0.5, 1.0)
    """
    hull, aiq = boot
    gain = aiq["full"] - hull
    ok = gain >= MIN_GAIN
    share = (aiq[quiz][ok] - hull[ok]) / gain[ok]
    diff = aiq[quiz] - np.mean([aiq[r] for r in randoms], axis=0)
    return {"bootstrap": {
        "resamples_with_gain": int(ok.sum()),
        "gain_fraction_interval": [_round(x) for x in interval(share, CI_LEVEL)] if ok.any() else None,
        "share_at_least_95": _round(float(np.mean(share >= 0.95))) if ok.any() else None,
        "quiz_minus_random_aiq_interval": [_round(x, 5) for x in interval(diff, CI_LEVEL)],
        "quiz_beats_random_share": _round(float(np.mean(diff > 0))),
    }}


def _beats(q: dict[str, Any], metric: str) -> bool:
    """Quiz above random: by gain fraction (unrounded AIQs) where both exist, else by ``metric``.

    @example
        >>> _beats({"gain_fraction": 0.95, "random_gain_fraction": 0.93, "aiq": 0.8, "random_aiq": 0.8}, "aiq")
        True
    """
    if q.get("gain_fraction") is not None and q.get("random_gain_fraction") is not None:
        return q["gain_fraction"] > q["random_gain_fraction"]
    return q[metric] > q["random_" + metric]


def summarise(out: dict[str, Any], budgets: list[int], metric: str) -> dict[str, Any]:
    """Per budget, across models: mean quiz and random AIQ, median gain fraction, and on how many
    models the quiz beats random (AIQ, test log loss, identity distance)."""
    summary: dict[str, Any] = {}
    for n in budgets:
        qs = [b["quiz"][str(n)] for b in out.values()]
        fr = [q["gain_fraction"] for q in qs if q["gain_fraction"] is not None]
        rmetric = "random_" + metric
        summary[str(n)] = {
            "metric": metric,
            "mean_quiz": _round(np.mean([q[metric] for q in qs])) if qs else None,
            "mean_random": _round(np.mean([q[rmetric] for q in qs])) if qs else None,
            "median_gain_fraction": _round(np.median(fr)) if fr else None,
            "min_gain_fraction": _round(np.min(fr)) if fr else None,
            # AIQs differ in the 5th digit here: compare the gain fractions, which are computed
            # before rounding, where both exist
            "quiz_beats_random": int(sum(_beats(q, metric) for q in qs)),
            "quiz_beats_every_random": int(sum(q.get("random_below_quiz") == 1.0 for q in qs)),
            "quiz_lower_logloss": int(sum(q["test_logloss"] < q["random_test_logloss"] for q in qs)),
            "quiz_closer_identity": int(sum(q["identity_distance"] < q["random_identity_distance"] for q in qs)),
            "models": len(qs),
        }
    return summary


def print_summary(res: dict[str, Any], budgets: list[int], quiz: str, metric: str) -> None:
    """The run's summary on stdout: per model the hull, full, prior and per budget quiz and random
    ``metric``; the bootstrap intervals; per budget the counts across models.

    @example
        print_summary(run(cfg), cfg.budgets, cfg.criteria[0], "aiq")
    """
    print(f"\n=== onboarding summary ({metric}; quiz = {quiz}) ===")
    print(f"{'model':30s} {'hull':>7s} {'full':>7s} {'prior':>7s} "
          + " ".join(f"{'q' + str(n):>7s} {'r' + str(n):>7s}" for n in budgets))
    for name, b in res["onboarding"].items():
        full = b["full_aiq"] if metric == "aiq" else b["full_greedy_aiq"]
        prior = b["prior_aiq"] if metric == "aiq" else b["prior_greedy_aiq"]
        print(f"{name:30s} {b['hull_aiq']:7.4f} {full:7.4f} {prior:7.4f} "
              + " ".join(f"{b['quiz'][str(n)][metric]:7.4f} {b['quiz'][str(n)]['random_' + metric]:7.4f}"
                         for n in budgets))
    for name, b in res["onboarding"].items():
        for n in budgets:
            bs = b["quiz"][str(n)].get("bootstrap")
            if bs and bs["share_at_least_95"] is not None:
                print(f"{name:30s} N={n}: gain share {b['quiz'][str(n)]['gain_fraction']} "
                      f"({int(CI_LEVEL * 100)}% interval {bs['gain_fraction_interval']}, >= 0.95 in "
                      f"{bs['share_at_least_95']:.0%} of {bs['resamples_with_gain']} resamples); quiz - random AIQ "
                      f"{bs['quiz_minus_random_aiq_interval']} (quiz ahead in {bs['quiz_beats_random_share']:.0%})")
    for n, s in res["summary"].items():
        print(f"N={n}: median gain fraction {s['median_gain_fraction']} (min {s['min_gain_fraction']}); quiz beats "
              f"random on {s['quiz_beats_random']}/{s['models']} ({metric}; every random quiz on "
              f"{s['quiz_beats_every_random']}), lower test log loss on {s['quiz_lower_logloss']}, "
              f"closer identity on {s['quiz_closer_identity']}")


def main(argv: list[str] | None = None) -> int:
    """CLI entry, reached through ``npm run eval -- --onboarding``."""
    ap = argparse.ArgumentParser(prog="npm run eval -- --onboarding", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json", type=Path, help="write the results here")
    ap.add_argument("--bundle", type=Path, help="bundle folder (default: model-assets/bundles/$(cat DEFAULT))")
    ap.add_argument("--models", help=f"comma-separated (default: the cold-start models {', '.join(COLD_START_MODELS)})")
    ap.add_argument("--budgets", default=",".join(map(str, DEFAULT_BUDGETS)), help="quiz sizes (default 10,20,50)")
    ap.add_argument("--criteria", default=",".join(DEFAULT_CRITERIA),
                    help=f"selection criteria, the first reported as quiz (of {', '.join(ALL_CRITERIA)}; "
                         f"default {','.join(DEFAULT_CRITERIA)})")
    ap.add_argument("--random-seeds", type=int, default=3, help="random quizzes per budget (default 3)")
    ap.add_argument("--w-points", type=int, default=11, help="preferences swept in [0, 1] (default 11)")
    ap.add_argument("--expectation", choices=["prior", "mean"], default="prior",
                    help="Fisher information averaged over the prior or at its mean")
    ap.add_argument("--bootstrap", type=int, default=DEFAULT_BOOTSTRAP,
                    help=f"paired prompt resamples for the intervals (default {DEFAULT_BOOTSTRAP}; 0: none)")
    ap.add_argument("--greedy-only", action="store_true",
                    help="skip the served policy (IRT-greedy, log loss, distances only)")
    ap.add_argument("--max-train", type=int, help="use only the first N train prompts (quick runs)")
    ap.add_argument("--max-test", type=int, help="use only the first N test prompts (quick runs)")
    ap.add_argument("--no-cache", action="store_true", help="do not cache served embeddings/item parameters")
    ap.add_argument("--uncertainty-penalty", type=float, default=UNCERTAINTY_PENALTY,
                    help=f"route the onboarded model this many posterior stds below its mean, as a pool with "
                         f"this uncertainty_penalty does (default {UNCERTAINTY_PENALTY:g}, the worker's default)")
    ap.add_argument("--route-on-mean", action="store_true", help="the same as --uncertainty-penalty 0")
    ap.add_argument("--prior", choices=["bank", "population"], default="bank",
                    help="what quizzes start from: the mmlu-pro bank's prior (its models; default) or the bundle's "
                         "irt.prior")
    ap.add_argument("--pool-size", type=int, help="route in tenant-sized pools of this many models (the onboarded "
                    "one and others drawn at random) instead of the whole pool")
    ap.add_argument("--pool-draws", type=int, help="tenant pools drawn per model with --pool-size (default 8)")
    ap.add_argument("--oracle-ability", action="store_true",
                    help="diagnostic, not a router: tell every quiz identity the full identity's overall "
                         "ability (its mean test-split logit) and measure what the quiz still misses")
    ap.add_argument("--plot", type=Path, help="also draw the gain fraction against the quiz size (PNG)")
    ap.add_argument("--replot", type=Path, help="draw --plot from this results JSON instead of running")
    ap.add_argument("--no-docs", action="store_true", help=argparse.SUPPRESS)  # the main harness's flag
    args = ap.parse_args(argv)
    if args.replot:
        if not args.plot:
            ap.error("--replot needs --plot")
        try:
            plot_gain(json.loads(args.replot.read_text()), args.plot)
        except (OSError, ValueError, KeyError) as e:
            ap.error(f"cannot plot {args.replot}: {e}")
        log(f"wrote {args.plot}")
        return 0
    bundle = args.bundle or default_bundle()
    if bundle is None or not (Path(bundle) / "manifest.json").exists():
        ap.error("no bundle: pass --bundle or commit one named in model-assets/bundles/DEFAULT")
    criteria = tuple(args.criteria.split(","))
    if any(c not in ALL_CRITERIA for c in criteria):
        ap.error(f"--criteria must name some of {', '.join(ALL_CRITERIA)}")
    if not 0 <= args.uncertainty_penalty <= MAX_UNCERTAINTY_PENALTY:
        ap.error(f"--uncertainty-penalty must be in [0, {MAX_UNCERTAINTY_PENALTY:g}] (the range a pool accepts)")
    if args.pool_draws is not None and args.pool_size is None:
        ap.error("--pool-draws needs --pool-size")
    if args.pool_size is not None and (args.pool_size < 2 or (args.pool_draws or 8) < 1):
        ap.error("--pool-size must be at least 2 and --pool-draws at least 1")
    models = args.models.split(",") if args.models else list(COLD_START_MODELS)
    budgets = [int(x) for x in args.budgets.split(",")]
    ws = np.linspace(0.0, 1.0, args.w_points)
    try:
        res = run(OnboardingConfig(
            bundle=Path(bundle), models=models, budgets=budgets, seeds=args.random_seeds, ws=ws,
            max_train=args.max_train, max_test=args.max_test, cache=None if args.no_cache else CACHE_DIR / "onboard",
            expectation=args.expectation, criteria=criteria, policy=not args.greedy_only, n_boot=args.bootstrap,
            penalty=0.0 if args.route_on_mean else args.uncertainty_penalty, pool_size=args.pool_size,
            pool_draws=args.pool_draws or 8, prior=args.prior, oracle_ability=args.oracle_ability))
    except ValueError as e:
        ap.error(str(e))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(res, indent=1) + "\n")
        log(f"wrote {args.json}")
    if args.plot:
        plot_gain(res, args.plot)
        log(f"wrote {args.plot}")
    print_summary(res, budgets, criteria[0], "aiq" if not args.greedy_only else "greedy_aiq")
    log(f"done in {res['meta']['seconds']}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
