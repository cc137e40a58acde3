"""The online-learning replay: ``npm run eval -- --online [--json PATH] [--plot PNG]``.

The mmlu-pro test split replayed as live traffic to a newcomer that starts from its 20-item quiz
identity, for each cold-start model, in tenant pools of four (the onboarding benchmark's draws,
:func:`.evaluate.pool_draws_for`, same seeds) and in the whole pool:

1. The test prompts are shuffled (``--seeds``); the first ``max(--events)`` are the traffic, the
   rest are kept for measuring: no prompt that fed an identity back is used to score it. Each
   traffic request gets a preference drawn from the benchmark's grid.
2. Traffic goes in rounds of ``--batch`` requests: each round is routed by the served policy
   (worker/decision on the bundle's int8 graphs, through ``model-assets/tools/online-routes.ts``)
   with the identities as they stand, the served model is drawn from the policy's probabilities
   at the pool's temperature (:func:`.online.explore`; temperature 0 serves the top choice), its
   true outcome is fed back, and the newcomer's identity is updated once from the round's
   outcomes of the newcomer (:func:`.online.update_identity`), as a service's batched updates would.
   Only the newcomer learns: a trained model has no covariance in the pool (it is routed on its
   identity as it is, no penalty) and its identity comes from thousands of outcomes.
3. After 0, 50, 200 and 1,000 feedback events (requests served, whichever model answered) the
   newcomer's identity as it then stands is routed on the held-out prompts x preferences like the
   onboarding benchmark routes an identity (top choice, one posterior std below the mean), and
   scored as it scores one: the share of the full identity's AIQ gain over the single-model hull.
   The control is the same traffic with no updates (its identity stays the quiz's).

``pool4`` is the median over the model's pools of four of each pool's share (pools where the full
identity gains under ``MIN_GAIN`` have none); ``pool4_pooled`` is the onboarding benchmark's way,
the share of the AIQs averaged over the pools.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from ..paths import CACHE_DIR, PROJECT_ROOT
from .design import select_quiz, sigmoid
from .evaluate import MIN_GAIN, UNCERTAINTY_PENALTY, cov_factor, pool_draws_for, subset_table
from .laplace import laplace_posterior
from .online import decayed_penalty, exploration_mask, explore, update_identity
from .prior import MIN_MODELS as MIN_PRIOR_MODELS
from .prior import bank_prior, dataset_models, dataset_prior
from .served import prior_of, served_items

ROUTES_TOOL = PROJECT_ROOT / "model-assets" / "tools" / "online-routes.ts"
DEFAULT_EVENTS = (50, 200, 1000)
#: Requests routed with the same identities before the newcomer's identity is updated from their
#: feedback (one update per round, at most this many outcomes: below MAX_UPDATE_BATCH).
DEFAULT_BATCH = 25
QUIZ_ITEMS = 20
POOL_SIZE = 4
#: Pools of four per model: the onboarding benchmark's tenant runs (docs/onboarding.md).
POOL_DRAWS = 12
#: The pool's exploration temperature in the default run (0 = serve the policy's top choice).
DEFAULT_TEMPERATURE = 1.0
#: The pool's levers in the default run (:data:`LEVERS`).
DEFAULT_LEVERS = "gate+explore-mean+decay"
#: Routing servers side by side (``--jobs``).
DEFAULT_JOBS = 2
#: Eval jobs per request to each routing server (keeps each JSON line to a few MB).
EVAL_CHUNK = 16


def log(msg: str) -> None:
    print(f"[online {time.strftime('%H:%M:%S')}] {msg}", flush=True)


@dataclass(frozen=True)
class Config:
    """One way of running the newcomer online: its exploration temperature (0: the top choice),
    whether feedback updates it (False: the control), and its uncertainty penalty, fixed or
    shrinking with its ability std (``decay``: ``penalty * std_now / std_quiz``). ``refit``: instead
    of the sequential update, refit from the bank prior on the quiz items and every outcome so far
    (the comparison a service that kept every outcome could run). ``explore_penalty``: route the
    traffic with this penalty instead (0: the newcomer at its mean, so that the policy is shown it
    where its pessimistic estimate is dominated); measuring still uses ``penalty``. ``gate``: explore
    only between the top choice and the newcomer (:func:`.online.exploration_mask`). ``every_outcome``:
    a ceiling, not a service: the newcomer is told its own outcome on every request, whoever served
    it (what the identity could learn from this traffic if the newcomer answered all of it)."""

    name: str
    temperature: float
    update: bool = True
    penalty: float = UNCERTAINTY_PENALTY
    decay: bool = False
    refit: bool = False
    explore_penalty: float | None = None
    gate: bool = False
    every_outcome: bool = False


@dataclass
class Arm:
    """One newcomer in one pool under one config: its posterior as it goes, and what it saw."""

    model: str
    pool: str                 # "whole" or "pool<i>"
    cols: list[int]           # indices into the model's es.models
    at: int                   # the newcomer's position in cols
    config: Config
    mean: np.ndarray
    cov: np.ndarray
    rng: np.random.Generator
    snapshots: dict[int, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    served: list[int] = field(default_factory=list)      # per event: index into cols
    top: list[int] = field(default_factory=list)         # per event: the policy's top choice
    propensity: list[float] = field(default_factory=list)
    shown: list[bool] = field(default_factory=list)      # the newcomer had p > 0
    fed: list[int] = field(default_factory=list)         # newcomer outcomes so far, per event
    penalty_used: list[float] = field(default_factory=list)
    kept: list[int] = field(default_factory=list)        # rows (test order) of its outcomes, for refit


class RouteServer:
    """The Node routing server (online-routes.ts) over a fixed set of prompt embeddings."""

    def __init__(self, bundle: Path, emb: np.ndarray, tokens: np.ndarray) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="online-routes-")
        work = Path(self._tmp.name)
        emb.astype("<f4").tofile(work / "emb.f32")
        (work / "tokens.json").write_text(json.dumps([float(x) for x in tokens]))
        self.stderr = open(work / "stderr.log", "w+")
        cmd = ["npx", "--no-install", "tsx", str(ROUTES_TOOL), "--bundle", str(bundle.resolve()),
               "--embeddings", str(work / "emb.f32"), "--prompt-tokens", str(work / "tokens.json")]
        self.proc = subprocess.Popen(cmd, cwd=PROJECT_ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.stderr, text=True, bufsize=1)

    def route(self, jobs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """One request: per job ``chosen`` (and ``probs`` where asked)."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps({"jobs": jobs}) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            self.stderr.seek(0)
            raise RuntimeError("online-routes stopped:\n" + self.stderr.read()[-4000:])
        answer = json.loads(line)
        if "error" in answer:
            raise RuntimeError(f"online-routes: {answer['error']}")
        return answer["jobs"]

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        self.proc.wait(timeout=60)
        self.stderr.close()
        self._tmp.cleanup()

    def __enter__(self) -> "RouteServer":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class RoutePool:
    """``n`` routing servers side by side: each request's jobs are split into ``n`` contiguous parts
    routed at once, the answers put back in order (routing is deterministic, so the numbers do not
    depend on ``n``; only the wall time does)."""

    def __init__(self, bundle: Path, emb: np.ndarray, tokens: np.ndarray, n: int) -> None:
        self.servers: list[RouteServer] = []
        try:
            for _ in range(n):
                self.servers.append(RouteServer(bundle, emb, tokens))
        except Exception:
            self.close()
            raise
        self._exec = ThreadPoolExecutor(max_workers=n)

    def route(self, jobs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Per job ``chosen`` (and ``probs`` where asked), in the order of ``jobs``."""
        n = min(len(self.servers), len(jobs))
        if n <= 1:
            return self.servers[0].route(jobs)
        cuts = np.linspace(0, len(jobs), n + 1).round().astype(int)
        parts = [self._exec.submit(srv.route, jobs[lo:hi]) for srv, lo, hi in zip(self.servers, cuts[:-1], cuts[1:])]
        return [ans for part in parts for ans in part.result()]

    def close(self) -> None:
        if hasattr(self, "_exec"):
            self._exec.shutdown()
        for srv in self.servers:
            srv.close()

    def __enter__(self) -> "RoutePool":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def checkpoints_of(events: list[int], batch: int) -> Iterator[tuple[int, int]]:
    """Rounds ``(start, end)`` over ``max(events)`` requests: ``batch`` at a time, each checkpoint
    ending a round, so every measured identity has just been updated.

    @example
        >>> list(checkpoints_of([5, 12], 4))
        [(0, 4), (4, 5), (5, 8), (8, 12)]
    """
    stops = sorted(set(list(range(batch, max(events) + 1, batch)) + list(events)))
    start = 0
    for end in stops:
        yield start, end
        start = end


def penalty_now(cfg: Config, abar: np.ndarray, cov: np.ndarray, std0: float) -> float:
    """The penalty a config routes the newcomer with: fixed, or shrinking with its ability std.

    @example
        >>> penalty_now(Config("d", 1.0, decay=True, penalty=1.0), np.ones(1), np.eye(1) * 0.25, 1.0)
        0.5
    """
    if not cfg.decay:
        return cfg.penalty
    return decayed_penalty(cfg.penalty, float(np.sqrt(abar @ cov @ abar)), std0)


def _candidate(target: dict[str, Any], mean: np.ndarray, cov: np.ndarray) -> dict[str, Any]:
    return {**target, "identity": [float(x) for x in mean], "cov_factor": cov_factor(cov)}


def _setup(bundle: Path, models: list[str], max_train: int | None, max_test: int | None,
           cache: Path | None, pool_size: int, pool_draws: int, whole: bool) -> dict[str, Any]:
    """Everything the onboarding benchmark builds before routing: the data, the served item
    parameters, the bank prior, and per model its pool, quiz identity (static I-optimal, 20
    items, from the bank prior) and full identity (all its train outcomes, from the bundle prior)."""
    from ..data import COLD_START_MODELS, load_dataset
    from ..export.manifest import manifest_models
    from ..scoring.evalset import build_evalset

    manifest = json.loads((bundle / "manifest.json").read_text())
    d = int(manifest["identity_dim"])
    prior_mean, prior_cov = prior_of(manifest, d)
    table = subset_table(load_dataset("mmlu-pro"), max_train, max_test)
    served = served_items(bundle, list(table.prompts), cache)
    train_rows, test_rows = np.flatnonzero(table.split == "train"), np.flatnonzero(table.split == "test")
    a_tr, c_tr = served.a[train_rows], served.c[train_rows]
    known = manifest_models(manifest)
    fitted: dict[str, np.ndarray] = {}

    def pool_identity(m: str) -> np.ndarray:
        # as the onboarding benchmark: the manifest's, else fitted on the train split, head frozen
        if m in known:
            return np.asarray(known[m], np.float64)
        if m not in fitted:
            y_m = table.outcome[train_rows, table.models.index(m)].astype(np.float64)
            ok = ~np.isnan(y_m)
            fitted[m] = laplace_posterior(a_tr[ok], c_tr[ok], y_m[ok], prior_mean, prior_cov).mean
        return fitted[m]

    if len(dataset_models(manifest, "mmlu-pro", COLD_START_MODELS)) >= MIN_PRIOR_MODELS:
        start = dataset_prior(manifest, "mmlu-pro", exclude=COLD_START_MODELS)
    else:
        population = [m for m in table.models if m not in COLD_START_MODELS]
        start = bank_prior(np.array([pool_identity(m) for m in population]), prior_cov, population,
                           "mmlu-pro models fitted on the train split")
    jobs: list[dict[str, Any]] = []
    for model in models:
        es = build_evalset(table, exclude=[m for m in COLD_START_MODELS if m != model])
        if model not in es.models:
            log(f"{model}: not in the pool (too few test outcomes); skipped")
            continue
        j = es.models.index(model)
        y = es.train.table.outcome[:, j].astype(np.float64)
        observed = np.flatnonzero(~np.isnan(y))
        mean_out = es.train.table.output_tokens.astype(np.float64).mean(axis=0)
        cands: list[dict[str, Any]] = []
        for k, m in enumerate(es.models):
            cands.append({"name": m, "input_usd_per_mtok": float(es.test.table.prices[k, 0]),
                          "output_usd_per_mtok": float(es.test.table.prices[k, 1]),
                          "expected_output_tokens": float(mean_out[k]),
                          **({} if k == j else {"identity": [float(x) for x in pool_identity(m)]})})
        quiz = select_quiz(a_tr, c_tr, start.mean, start.cov, QUIZ_ITEMS, exclude=np.flatnonzero(np.isnan(y)),
                           criterion="i-optimal")
        qpost = laplace_posterior(a_tr[quiz.rows], c_tr[quiz.rows], y[quiz.rows], start.mean, start.cov)
        fpost = laplace_posterior(a_tr[observed], c_tr[observed], y[observed], prior_mean, prior_cov)
        draws = pool_draws_for(model, len(es.models), j, pool_size, pool_draws)
        pools = {f"pool{i}": cols for i, cols in enumerate(draws)}
        if whole:
            pools["whole"] = list(range(len(es.models)))
        jobs.append({"model": model, "es": es, "j": j, "cands": cands, "pools": pools,
                     "quiz": (qpost.mean, qpost.cov), "full": (fpost.mean, fpost.cov),
                     "quiz_items": (a_tr[quiz.rows], c_tr[quiz.rows], y[quiz.rows])})
        log(f"{model}: quiz identity from {QUIZ_ITEMS} items, full from {len(observed)} outcomes; "
            f"{len(pools)} pools")
    return {"manifest": manifest, "table": table, "served": served, "test_rows": test_rows,
            "abar_bank": a_tr.mean(axis=0), "start": start, "jobs": jobs}


def _pool_candidates(job: dict[str, Any], cols: list[int], mean: np.ndarray, cov: np.ndarray) -> list[dict[str, Any]]:
    j = job["j"]
    return [_candidate(job["cands"][c], mean, cov) if c == j else job["cands"][c] for c in cols]


def replay_seed(server: RoutePool, setup: dict[str, Any], configs: list[Config], seed: int, events: list[int],
                batch: int, ws: np.ndarray) -> dict[str, Any]:
    """One replay: shuffle, route the traffic round by round, update, snapshot, then measure."""
    served, test_rows = setup["served"], setup["test_rows"]
    a_te, c_te = served.a[test_rows], served.c[test_rows]
    n_test = len(test_rows)
    n_replay = max(events)
    rng = np.random.default_rng(seed)
    order = rng.permutation(n_test)
    replay, held = order[:n_replay], np.sort(order[n_replay:])
    prefs = rng.choice(ws, size=n_replay)
    abar = setup["abar_bank"]
    arms: list[Arm] = []
    for job in setup["jobs"]:
        for pool, cols in job["pools"].items():
            for cfg in configs:
                # the same uniform draws for every config of one (model, pool): paired comparisons
                arm_rng = np.random.default_rng([seed, zlib.crc32(job["model"].encode()), zlib.crc32(pool.encode())])
                mean, cov = job["quiz"]
                arms.append(Arm(job["model"], pool, cols, cols.index(job["j"]), cfg, mean.copy(), cov.copy(), arm_rng))
    by_model = {job["model"]: job for job in setup["jobs"]}
    std0 = {m: float(np.sqrt(abar @ job["quiz"][1] @ abar)) for m, job in by_model.items()}
    t0 = time.time()
    for arm in arms:
        arm.snapshots[0] = (arm.mean.copy(), arm.cov.copy())
    rounds = list(checkpoints_of(events, batch))
    for r_i, (s, e) in enumerate(rounds):
        rows = replay[s:e]
        reqs = []
        for arm in arms:
            job = by_model[arm.model]
            pen = (arm.config.explore_penalty if arm.config.explore_penalty is not None
                   else penalty_now(arm.config, abar, arm.cov, std0[arm.model]))
            arm.penalty_used.append(pen)
            reqs.append({"candidates": _pool_candidates(job, arm.cols, arm.mean, arm.cov),
                         "rows": [int(x) for x in rows], "preferences": [float(x) for x in prefs[s:e]],
                         "uncertainty_penalty": pen, "probs": True})
        answers = server.route(reqs)
        for arm, ans in zip(arms, answers):
            job = by_model[arm.model]
            y_new = job["es"].test.table.outcome[:, job["j"]]
            fed = arm.fed[-1] if arm.fed else 0
            ev_a, ev_c, ev_y = [], [], []
            for k, row in enumerate(rows):
                probs, top = ans["probs"][k], ans["chosen"][k]
                u = float(arm.rng.random())   # drawn whatever the temperature: the same stream per config
                if arm.config.temperature > 0:
                    mask = exploration_mask(top, [i == arm.at for i in range(len(probs))]) if arm.config.gate else None
                    pick, q = explore(probs, arm.config.temperature, u, mask)
                else:
                    pick, q = top, 1.0
                arm.served.append(pick)
                arm.top.append(top)
                arm.propensity.append(q)
                arm.shown.append(probs[arm.at] > 0)
                learns = pick == arm.at or arm.config.every_outcome
                if learns and not np.isnan(y_new[row]):
                    arm.kept.append(int(row))
                    ev_a.append(a_te[row])
                    ev_c.append(c_te[row])
                    ev_y.append(float(y_new[row]))
                fed += int(learns and not np.isnan(y_new[row]))
                arm.fed.append(fed)
            if arm.config.refit and ev_y:
                qa, qc, qy = job["quiz_items"]
                kept = np.array(arm.kept)
                start = setup["start"]
                post = laplace_posterior(np.vstack([qa, a_te[kept]]), np.r_[qc, c_te[kept]], np.r_[qy, y_new[kept]],
                                         start.mean, start.cov)
                arm.mean, arm.cov = post.mean, post.cov
            elif arm.config.update and ev_y:
                post = update_identity(arm.mean, arm.cov, np.array(ev_a), np.array(ev_c), np.array(ev_y))
                arm.mean, arm.cov = post.mean, post.cov
            if e in events:
                arm.snapshots[e] = (arm.mean.copy(), arm.cov.copy())
        if e in events or r_i % 10 == 0:
            fed_now = [a.fed[-1] for a in arms if a.config.update]
            log(f"seed {seed}: {e}/{n_replay} requests replayed over {len(arms)} arms "
                f"(newcomer outcomes per arm: median {int(np.median(fed_now)) if fed_now else 0}; "
                f"{time.time() - t0:.0f}s)")
    scored = _measure(server, setup, arms, held, ws, events, seed)
    return {**scored, "replay_prompts": int(n_replay), "held_out_prompts": int(len(held)),
            "seconds": round(time.time() - t0, 1),
            "diagnostics": _diagnostics(setup, arms, replay, prefs, events, held)}


def _measure(server: RoutePool, setup: dict[str, Any], arms: list[Arm], held: np.ndarray, ws: np.ndarray,
             events: list[int], seed: int) -> dict[str, Any]:
    """Routes every snapshot (and each pool's full identity) on the held-out prompts x preferences,
    top choice, and scores AIQs and gain shares per (model, pool)."""

    by_model = {job["model"]: job for job in setup["jobs"]}
    rows = [int(r) for w in ws for r in held]
    prefs = [float(w) for w in ws for _ in held]
    # distinct (model, pool, identity) jobs: the control and every config share the quiz snapshot
    keys: dict[tuple[str, str, bytes], int] = {}
    jobs: list[dict[str, Any]] = []

    def want(model: str, pool: str, mean: np.ndarray, cov: np.ndarray, penalty: float) -> int:
        key = (model, pool, mean.tobytes() + cov.tobytes() + np.float64(penalty).tobytes())
        if key not in keys:
            keys[key] = len(jobs)
            job = by_model[model]
            jobs.append({"candidates": _pool_candidates(job, job["pools"][pool], mean, cov), "rows": rows,
                         "preferences": prefs, "uncertainty_penalty": penalty})
        return keys[key]

    # the full identity routed by each config's own rule (its base penalty), as the benchmark does
    penalties = sorted({arm.config.penalty for arm in arms})
    full_slot = {(job["model"], pool, k): want(job["model"], pool, *job["full"], k)
                 for job in setup["jobs"] for pool in job["pools"] for k in penalties}
    abar = setup["abar_bank"]
    std0 = {m: float(np.sqrt(abar @ job["quiz"][1] @ abar)) for m, job in by_model.items()}
    snap_slot = {(id(arm), n): want(arm.model, arm.pool, *arm.snapshots[n],
                                    penalty_now(arm.config, abar, arm.snapshots[n][1], std0[arm.model]))
                 for arm in arms for n in arm.snapshots}
    log(f"seed {seed}: measuring {len(jobs)} distinct identities x pools on {len(held)} held-out prompts x "
        f"{len(ws)} preferences")
    choices: list[np.ndarray] = []
    t0 = time.time()
    chunk = EVAL_CHUNK * len(server.servers)
    for s in range(0, len(jobs), chunk):
        for ans in server.route(jobs[s:s + chunk]):
            choices.append(np.asarray(ans["chosen"], np.int64).reshape(len(ws), len(held)))
        log(f"seed {seed}: measured {min(len(jobs), s + chunk)}/{len(jobs)} ({time.time() - t0:.0f}s)")
    # the slots each (model, pool) needs, scored on that pool's held-out costs and qualities
    needs: dict[tuple[str, str], set[int]] = {}
    for arm in arms:
        needs.setdefault((arm.model, arm.pool), set()).update(snap_slot[(id(arm), n)] for n in arm.snapshots)
    scored: dict[tuple[str, str], dict[str, Any]] = {}
    for job in setup["jobs"]:
        te = job["es"].test
        for pool, cols in job["pools"].items():
            key = (job["model"], pool)
            fulls = {k: full_slot[(job["model"], pool, k)] for k in penalties}
            slots = sorted(needs.get(key, set()) | set(fulls.values()))
            hull, by_slot = score_slots([choices[k] for k in slots], te.cost[np.ix_(held, cols)],
                                        te.quality[np.ix_(held, cols)], [job["es"].models[c] for c in cols],
                                        cols.index(job["j"]))
            scored[key] = {"hull": round(hull, 6), "slots": dict(zip(slots, by_slot)),
                           "full": {k: round(by_slot[slots.index(f)][0], 6) for k, f in fulls.items()}}
    per_arm: dict[str, dict[str, dict[str, dict[str, Any]]]] = {}
    for arm in arms:
        base = scored[(arm.model, arm.pool)]
        entry = per_arm.setdefault(arm.config.name, {}).setdefault(arm.model, {}).setdefault(
            arm.pool, {"hull": base["hull"], "full": base["full"][arm.config.penalty], "aiq": {}, "decisions": {}})
        for n in arm.snapshots:
            aiq, newcomer = base["slots"][snap_slot[(id(arm), n)]]
            entry["aiq"][str(n)], entry["decisions"][str(n)] = round(aiq, 6), round(newcomer, 4)
    return {"aiq": per_arm}


def score_slots(choices: list[np.ndarray], cost: np.ndarray, quality: np.ndarray, names: list[str],
                at: int) -> tuple[float, list[tuple[float, float]]]:
    """One pool on the held-out prompts: its single-model hull AIQ, and per routed identity
    (choices [W, P] into the pool's columns) its AIQ and the share of decisions that went to the
    newcomer (column ``at``), with the harness's metrics (trainer/eval/metrics.py).

    @example
        >>> cost, quality = np.array([[1.0, 3.0], [1.0, 3.0]]), np.array([[0.0, 1.0], [1.0, 1.0]])
        >>> hull, ((aiq, newcomer),) = score_slots([np.array([[0, 0], [1, 0]])], cost, quality, ["a", "b"], 1)
        >>> round(hull, 4), round(aiq, 4), newcomer
        (0.75, 0.875, 0.25)
    """
    from ..scoring import metrics as M

    pool = M.single_pool(names, cost, quality)
    out = [(M.aiq([M.choice_point(ch, cost, quality) for ch in ch_w], pool), float(np.mean(ch_w == at)))
           for ch_w in choices]
    return M.hull_aiq(pool), out


def share(aiq: float, hull: float, full: float) -> float | None:
    """The onboarding benchmark's gain fraction; None when the full identity gains under MIN_GAIN.

    @example
        >>> round(share(0.81, 0.80, 0.82), 6), share(0.81, 0.80, 0.8005)
        (0.5, None)
    """
    gain = full - hull
    return None if abs(gain) < MIN_GAIN else (aiq - hull) / gain


def summarise_config(per_model: dict[str, dict[str, dict[str, Any]]], events: list[int]) -> dict[str, Any]:
    """Per model: ``pool4`` (median over its pools of four of each pool's share), ``pool4_pooled``
    (share of the mean AIQs, the onboarding benchmark's tenant number), ``whole``, and the AIQ
    change against the quiz identity (mean over pools of four; worst pool; whole pool)."""
    out: dict[str, Any] = {}
    ns = [0] + list(events)
    for model, pools in per_model.items():
        p4 = {k: v for k, v in pools.items() if k != "whole"}
        block: dict[str, Any] = {}
        if p4:
            med, pooled, delta, worst = {}, {}, {}, {}
            for n in ns:
                fr = [share(v["aiq"][str(n)], v["hull"], v["full"]) for v in p4.values()]
                fr = [f for f in fr if f is not None]
                med[str(n)] = _r(np.median(fr)) if fr else None
                hull = np.mean([v["hull"] for v in p4.values()])
                pooled[str(n)] = _r(share(np.mean([v["aiq"][str(n)] for v in p4.values()]), hull,
                                          np.mean([v["full"] for v in p4.values()])))
                diffs = [v["aiq"][str(n)] - v["aiq"]["0"] for v in p4.values()]
                delta[str(n)], worst[str(n)] = _r(np.mean(diffs), 5), _r(np.min(diffs), 5)
            block.update({"pool4": med, "pool4_pooled": pooled, "pool4_aiq_vs_quiz": delta,
                          "pool4_worst_pool_aiq_vs_quiz": worst,
                          "pool4_pools_with_gain": int(sum(share(1.0, v["hull"], v["full"]) is not None
                                                           for v in p4.values())),
                          "pool4_decisions": {str(n): _r(np.mean([v["decisions"][str(n)] for v in p4.values()]))
                                              for n in ns}})
        if "whole" in pools:
            v = pools["whole"]
            block.update({"whole": {str(n): _r(share(v["aiq"][str(n)], v["hull"], v["full"])) for n in ns},
                          "whole_aiq": {str(n): _r(v["aiq"][str(n)]) for n in ns},
                          "whole_hull_aiq": _r(v["hull"]), "whole_full_aiq": _r(v["full"]),
                          "whole_decisions": {str(n): _r(v["decisions"][str(n)]) for n in ns}})
        out[model] = block
    return out


def _r(x: float | None, digits: int = 4) -> float | None:
    return None if x is None or not np.isfinite(x) else round(float(x), digits)


def _diagnostics(setup: dict[str, Any], arms: list[Arm], replay: np.ndarray, prefs: np.ndarray,
                 events: list[int], held: np.ndarray) -> dict[str, Any]:
    """Per config and model, at each checkpoint (means over the model's pools of four; the whole
    pool apart): the newcomer's outcomes received, how often it was shown to the policy, how often
    the served model was not the top choice, the ability std and error of its identity on the
    held-out prompts, and what exploration cost on the traffic (quality and cost of the served
    model minus the top choice's). ``ips``: the top-choice policy's mean quality on the traffic
    estimated by inverse propensity from the logged (served, propensity, outcome), against its truth.
    ``logloss``: the held-out log loss of the newcomer's predicted success at its mean (``full_logloss``:
    the full identity's), whether or not the routing moves."""
    by_model = {job["model"]: job for job in setup["jobs"]}
    served = setup["served"]
    a_held, c_held = served.a[setup["test_rows"]][held], served.c[setup["test_rows"]][held]
    abar = a_held.mean(axis=0)

    def logloss(theta: np.ndarray, y: np.ndarray) -> float:
        ok = ~np.isnan(y)
        p = np.clip(sigmoid(a_held[ok] @ theta - c_held[ok]), 1e-6, 1 - 1e-6)
        return float(-np.mean(y[ok] * np.log(p) + (1 - y[ok]) * np.log(1 - p)))

    out: dict[str, Any] = {}
    for arm in arms:
        job = by_model[arm.model]
        te = job["es"].test
        cols = arm.cols
        q_served = te.quality[replay, np.array(cols)[arm.served]]
        q_top = te.quality[replay, np.array(cols)[arm.top]]
        c_served = te.cost[replay, np.array(cols)[arm.served]]
        c_top = te.cost[replay, np.array(cols)[arm.top]]
        full = job["full"][0]
        y_held = te.table.outcome[held, job["j"]].astype(np.float64)
        rec: dict[str, Any] = {"full_logloss": logloss(full, y_held)}
        for n in [0] + list(events):
            mean, cov = arm.snapshots[n]
            k = slice(0, n)
            rec[str(n)] = {
                "newcomer_outcomes": arm.fed[n - 1] if n else 0,
                "shown": float(np.mean(arm.shown[k])) if n else None,
                "explored": float(np.mean(np.array(arm.served[k]) != np.array(arm.top[k]))) if n else None,
                "served_newcomer": float(np.mean(np.array(arm.served[k]) == arm.at)) if n else None,
                "ability_std": float(np.sqrt(abar @ cov @ abar)),
                "ability_error": float(abar @ (mean - full)),
                "logloss": logloss(mean, y_held),
                "quality_vs_top": float(np.mean(q_served[k] - q_top[k])) if n else None,
                "cost_vs_top": float(np.mean(c_served[k] - c_top[k]) / max(np.mean(c_top[k]), 1e-12)) if n else None,
            }
        n = max(events)
        hit = np.array(arm.served) == np.array(arm.top)
        w = hit / np.array(arm.propensity)
        rec["ips"] = {"estimate": float(np.sum(w * q_served) / np.sum(w)) if w.sum() > 0 else None,
                      "truth": float(np.mean(q_top)), "requests": n}
        grp = "whole" if arm.pool == "whole" else "pool4"
        out.setdefault(arm.config.name, {}).setdefault(arm.model, {}).setdefault(grp, []).append(rec)
    agg: dict[str, Any] = {}
    for cfg, models in out.items():
        for model, groups in models.items():
            for grp, recs in groups.items():
                cell: dict[str, Any] = {}
                for key in recs[0]:
                    if key == "ips":
                        est = [r["ips"]["estimate"] for r in recs if r["ips"]["estimate"] is not None]
                        errs = [abs(r["ips"]["estimate"] - r["ips"]["truth"])
                                for r in recs if r["ips"]["estimate"] is not None]
                        cell["ips"] = {"estimate": _r(np.mean(est)) if est else None,
                                       "truth": _r(np.mean([r["ips"]["truth"] for r in recs])),
                                       "mean_abs_error": _r(np.mean(errs)) if errs else None}
                        continue
                    if not isinstance(recs[0][key], dict):
                        cell[key] = _r(np.mean([r[key] for r in recs]))
                        continue
                    cell[key] = {f: (_r(np.mean([r[key][f] for r in recs]), 4) if recs[0][key][f] is not None else None)
                                 for f in recs[0][key]}
                agg.setdefault(cfg, {}).setdefault(model, {})[grp] = cell
    return agg


#: Levers (``--levers`` for the pool's config, ``--variants`` for configs beside it, joined with
#: ``+``): the penalty shrinking with the newcomer's ability std, traffic routed with the newcomer
#: at its mean, exploring only between the top choice and the newcomer; ``every-outcome`` is a
#: ceiling, not a lever (the newcomer told its outcome on every request); ``plain``: none.
LEVERS: dict[str, dict[str, Any]] = {"plain": {}, "decay": {"decay": True}, "explore-mean": {"explore_penalty": 0.0},
                                     "gate": {"gate": True}, "every-outcome": {"every_outcome": True}}


def lever_options(name: str) -> dict[str, Any]:
    """Config fields for levers joined with ``+``.

    @example
        >>> lever_options("gate+decay")
        {'gate': True, 'decay': True}
    """
    opts: dict[str, Any] = {}
    for part in filter(None, name.split("+")):
        if part not in LEVERS:
            raise ValueError(f"unknown lever {part!r}; known: {', '.join(LEVERS)}")
        opts.update(LEVERS[part])
    return opts


def configs_for(temperature: float, sweep: list[float], levers: str, penalty: float, refit: bool = False,
                variants: list[str] = ()) -> list[Config]:
    """The run's configs: the control (the pool's traffic with no updates), the pool's setting
    (``online``: ``levers`` at ``temperature``), swept temperatures with the same levers, the refit
    comparison, and each of ``variants`` (levers from none, at ``temperature``).

    @example
        >>> [c.name for c in configs_for(1.0, [0.0, 2.0], "gate", 1.0, refit=True, variants=["plain", "decay"])]
        ['control', 'online', 'T=0', 'T=2', 'refit', 'plain', 'decay']
    """
    main = lever_options(levers)
    traffic = {k: v for k, v in main.items() if k in ("explore_penalty", "gate")}
    out = [Config("control", temperature, update=False, penalty=penalty, **traffic),
           Config("online", temperature, penalty=penalty, **main)]
    for t in sweep:
        if t != temperature:
            out.append(Config(f"T={t:g}", t, penalty=penalty, **main))
    if refit:
        out.append(Config("refit", temperature, penalty=penalty, refit=True, **main))
    for name in variants:
        out.append(Config(name, temperature, penalty=penalty, **lever_options(name)))
    return out


def run(bundle: Path, models: list[str], seeds: list[int], events: list[int], batch: int, temperature: float,
        sweep: list[float], ws: np.ndarray, *, max_train: int | None = None, max_test: int | None = None,
        cache: Path | None = CACHE_DIR / "onboard", pool_size: int = POOL_SIZE, pool_draws: int = POOL_DRAWS,
        pools: str = "both", levers: str = "", penalty: float = UNCERTAINTY_PENALTY,
        refit: bool = False, variants: list[str] = (), jobs: int = 1) -> dict[str, Any]:
    """The whole replay; returns the ``{"online": ..., "control": ..., ...}`` results object.
    ``jobs``: routing servers (Node processes) that share each round's and each measurement's jobs."""
    t0 = time.time()
    setup = _setup(bundle, models, max_train, max_test, cache, pool_size, pool_draws if pools != "whole" else 0,
                   pools != "pool4")
    if pools == "whole":
        for job in setup["jobs"]:
            job["pools"] = {"whole": job["pools"]["whole"]}
    n_test = len(setup["test_rows"])
    if max(events) >= n_test:
        raise ValueError(f"{max(events)} feedback events need more than the {n_test} test prompts "
                         "(the rest are held out)")
    configs = configs_for(temperature, sweep, levers, penalty, refit, list(variants))
    served, test_rows, table = setup["served"], setup["test_rows"], setup["table"]
    runs: dict[str, Any] = {}
    with RoutePool(bundle, served.emb[test_rows], table.input_tokens[test_rows], jobs) as server:
        for seed in seeds:
            res = replay_seed(server, setup, configs, seed, events, batch, ws)
            runs[str(seed)] = {
                **{cfg.name: summarise_config(res["aiq"][cfg.name], events) for cfg in configs},
                "diagnostics": res["diagnostics"], "aiq": res["aiq"],
                "replay_prompts": res["replay_prompts"], "held_out_prompts": res["held_out_prompts"],
                "seconds": res["seconds"],
            }
            runs[str(seed)]["summary"] = targets(runs[str(seed)]["online"], runs[str(seed)]["control"], events)
    result: dict[str, Any] = {cfg.name: _over_seeds(runs, cfg.name) for cfg in configs}
    result["online"] = result.pop("online")
    return {
        "online": result["online"],
        "control": result["control"],
        "sweep": {k: v for k, v in result.items() if k not in ("online", "control")},
        "summary": targets(result["online"], result["control"], events),
        "diagnostics": mean_tree([r["diagnostics"] for r in runs.values()]),
        "seeds": runs,
        "meta": {
            "bundle": setup["manifest"]["version"], "dataset": "mmlu-pro",
            "quiz": f"static i-optimal, {QUIZ_ITEMS} items from the bank prior ({setup['start'].source})",
            "full": "Laplace on all the model's train outcomes, from the bundle's irt.prior",
            "traffic": f"the test split shuffled per seed: the first {max(events)} prompts replayed as traffic "
                       f"(a preference drawn from the {len(ws)}-point grid each), the rest held out for measuring",
            "events": events, "batch": batch, "seeds": seeds, "preferences": len(ws), "pool_draws": pool_draws,
            "configs": {c.name: {"temperature": c.temperature, "update": c.update, "penalty": c.penalty,
                                 "decay": c.decay, "refit": c.refit, "explore_penalty": c.explore_penalty,
                                 "gate": c.gate, "every_outcome": c.every_outcome} for c in configs},
            "temperature": temperature, "levers": levers or "plain",
            "feedback_event": "one served request with its outcome fed back, whichever model answered; only "
                              "the newcomer's own outcomes update it",
            "update": "Laplace from the current posterior (trainer/onboard/online.py), once per round of "
                      f"{batch} requests",
            "measure": "the newcomer's identity at each checkpoint routed by the policy as served (top choice, "
                       "one posterior std below the mean unless a config says otherwise) on the held-out "
                       "prompts x preferences; share = (aiq - hull) / (full identity's aiq - hull), null when "
                       f"the full identity gains under {MIN_GAIN}",
            "pool4": f"median over the model's {pool_draws} pools of {pool_size} (evaluate.pool_draws_for) of "
                     "each pool's share; pool4_pooled: share of the AIQs averaged over those pools",
            "over_seeds": "online/control/sweep: the median over seeds of each seed's number (summary: the targets "
                          "read off those medians); diagnostics: the mean over seeds; seeds: per seed, "
                          "with its own summary",
            "test_prompts": int(n_test),
            "seconds": round(time.time() - t0, 1),
        },
    }


def _over_seeds(runs: dict[str, Any], name: str) -> dict[str, Any]:
    """The median over seeds of every number of one config's per-seed summary (one seed: its own).

    @example
        >>> runs = {str(k): {"online": {"m": {"pool4": {"0": v}, "n": v}}} for k, v in enumerate([0.1, 0.9, 0.3])}
        >>> _over_seeds(runs, "online")
        {'m': {'pool4': {'0': 0.3}, 'n': 0.3}}
    """
    per_seed = [r[name] for r in runs.values()]
    out: dict[str, Any] = {}
    for model in per_seed[0]:
        out[model] = {}
        for key, val in per_seed[0][model].items():
            if isinstance(val, dict):
                out[model][key] = {n: _median_r([s[model][key][n] for s in per_seed]) for n in val}
            else:
                out[model][key] = _median_r([s[model][key] for s in per_seed])
    return out


def contract(res: dict[str, Any]) -> dict[str, Any]:
    """What ``--json`` writes, exactly issue 23's shape: per model the share of the full identity's
    gain after each number of feedback events, ``pool4`` (median over its pools of four) and
    ``whole`` (the pools the run had).

    @example
        >>> contract({"online": {"m": {"pool4": {"0": 0.5}, "pool4_pooled": {"0": 0.4}, "whole": {"0": 1.0}}},
        ...           "control": {}})
        {'online': {'m': {'pool4': {'0': 0.5}, 'whole': {'0': 1.0}}}}
    """
    return {"online": {m: {g: b[g] for g in ("pool4", "whole") if g in b} for m, b in res["online"].items()}}


def mean_tree(trees: list[Any]) -> Any:
    """The mean over seeds of nested dicts of numbers with the same keys (None where none is set).

    @example
        >>> mean_tree([{"a": {"b": 1.0, "c": None}}, {"a": {"b": 3.0, "c": None}}])
        {'a': {'b': 2.0, 'c': None}}
    """
    if isinstance(trees[0], dict):
        return {k: mean_tree([t[k] for t in trees]) for k in trees[0]}
    return _mean(trees)


def brief(res: dict[str, Any]) -> dict[str, Any]:
    """The results without the per-seed detail (per-pool AIQs and per-seed diagnostics): what
    docs/benchmarks/onboarding-runs/ keeps. The per-seed summaries stay where there are several
    seeds (with one, they are the top-level numbers).

    @example
        >>> brief({"online": {}, "seeds": {"0": {"online": {}, "aiq": {}, "diagnostics": {}}}})
        {'online': {}}
        >>> brief({"seeds": {"0": {"online": 1, "aiq": {}}, "1": {"online": 2, "aiq": {}}}})
        {'seeds': {'0': {'online': 1}, '1': {'online': 2}}}
    """
    seeds = res.get("seeds", {})
    out = {k: v for k, v in res.items() if k != "seeds"}
    if len(seeds) > 1:
        out["seeds"] = {k: {n: v for n, v in r.items() if n not in ("aiq", "diagnostics")} for k, r in seeds.items()}
    return out


def dumps(res: dict[str, Any]) -> str:
    """JSON with one level per line except the innermost objects, which stay on one line each
    (checkpoint -> number maps): readable, and a fraction of the size of ``indent=1``.

    @example
        >>> print(dumps({"a": {"0": 1, "50": 2}}), end="")
        {
         "a": {"0": 1, "50": 2}
        }
    """
    import re

    text = json.dumps(res, indent=1)
    return re.sub(r"\{[^{}\[\]]*\}", lambda m: json.dumps(json.loads(m.group(0))), text) + "\n"


def _mean(xs: list[Any]) -> float | None:
    vals = [x for x in xs if x is not None]
    return _r(float(np.mean(vals)), 5) if vals else None


def _median_r(xs: list[Any]) -> float | None:
    vals = [x for x in xs if x is not None]
    return _r(float(np.median(vals)), 5) if vals else None


def targets(online: dict[str, Any], control: dict[str, Any], events: list[int]) -> dict[str, Any]:
    """Issue 23's targets: median over models of the pools-of-four share >= 95% after 200 events
    (or the middle checkpoint), every model >= 80%, and the online identity's AIQ never more than
    0.002 below the quiz identity's (means over pools of four, and the whole pool)."""
    at = "200" if 200 in events else str(sorted(events)[len(events) // 2])
    out: dict[str, Any] = {"at_events": int(at)}
    for grp in ("pool4", "whole"):
        vals = {m: b[grp][at] for m, b in online.items() if grp in b and b[grp][at] is not None}
        ctrl = {m: b[grp][at] for m, b in control.items() if grp in b and b[grp][at] is not None}
        if not vals:
            continue
        out[grp] = {"median": _r(np.median(list(vals.values()))), "min": _r(min(vals.values())),
                    "lowest_model": min(vals, key=lambda m: vals[m]),
                    "control_median": _r(np.median(list(ctrl.values()))) if ctrl else None,
                    "median_at_least_95": bool(np.median(list(vals.values())) >= 0.95),
                    "every_model_at_least_80": bool(min(vals.values()) >= 0.8)}
    drops = []
    for m, b in online.items():
        for key in ("pool4_aiq_vs_quiz",):
            if key in b:
                drops += [v for v in b[key].values() if v is not None]
        if "whole_aiq" in b:
            drops += [b["whole_aiq"][n] - b["whole_aiq"]["0"] for n in b["whole_aiq"] if b["whole_aiq"][n] is not None]
    worst = [v for b in online.values() for v in b.get("pool4_worst_pool_aiq_vs_quiz", {}).values() if v is not None]
    out["largest_single_pool_drop"] = _r(-min(worst), 5) if worst else None
    out["largest_aiq_drop_vs_quiz"] = _r(-min(drops), 5) if drops else None
    out["never_below_quiz_by_more_than_0.002"] = bool(not drops or min(drops) >= -0.002)
    return out


def print_summary(res: dict[str, Any]) -> None:
    """The table per model and checkpoint (online, and the same traffic with no updates), the swept
    configs' medians, and the targets met or missed."""
    meta, events = res["meta"], res["meta"]["events"]
    ns = ["0"] + [str(n) for n in events]
    print(f"\n=== online learning: bundle {meta['bundle']}, temperature {meta['temperature']:g}, levers "
          f"{meta['levers']}, seeds {meta['seeds']} "
          f"({'medians over seeds' if len(meta['seeds']) > 1 else 'one seed'}) ===")
    print("share of the full identity's AIQ gain over the single-model hull, after N feedback events")
    head = " ".join(f"{'@' + n:>6s}" for n in ns)
    groups = (("pool4", f"pools of four (median over {meta.get('pool_draws', POOL_DRAWS)})"), ("whole", "whole pool"))
    for grp, title in groups:
        if not any(grp in b for b in res["online"].values()):
            continue
        print(f"\n{title:34s} {head}   no updates @{events[-1]}  newcomer outcomes @{events[-1]}")
        for model, b in res["online"].items():
            if grp not in b:
                continue
            ctrl = res["control"][model][grp].get(str(events[-1]))
            diag = res["diagnostics"]["online"][model][grp][str(events[-1])]
            print(f"{model:34s} " + " ".join(f"{_pct(b[grp][n]):>6s}" for n in ns)
                  + f"   {_pct(ctrl):>13s}  {diag['newcomer_outcomes']:>20.0f}")
    for name, block in res.get("sweep", {}).items():
        for grp in ("pool4", "whole"):
            vals = [b[grp] for b in block.values() if grp in b]
            if vals:
                print(f"{name:10s} {grp:6s} median over models: " + " ".join(
                    f"@{n} {_pct(_median([v[n] for v in vals]))}" for n in ns))
    s = res["summary"]
    print(f"\ntargets after {s['at_events']} feedback events:")
    if "pool4" in s:
        g = s["pool4"]
        print(f"  pools of four, median over models >= 95%: {_pct(g['median']).strip()} "
              f"(no updates {_pct(g['control_median']).strip()})  {_verdict(g['median_at_least_95'])}")
        print(f"  every model >= 80%: lowest {_pct(g['min']).strip()} ({g.get('lowest_model', '?')})  "
              f"{_verdict(g['every_model_at_least_80'])}")
    if "whole" in s:
        g = s["whole"]
        print(f"  (whole pool: median {_pct(g['median']).strip()}, lowest {_pct(g['min']).strip()})")
    print(f"  AIQ never more than 0.002 below the quiz identity's (mean over pools of four; whole pool): largest "
          f"drop {s['largest_aiq_drop_vs_quiz']}  {_verdict(s['never_below_quiz_by_more_than_0.002'])}"
          + (f"; worst single pool {s['largest_single_pool_drop']}"
             if s.get("largest_single_pool_drop") is not None else ""))


def _verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def _median(xs: list[Any]) -> float | None:
    vals = [x for x in xs if x is not None]
    return float(np.median(vals)) if vals else None


def _pct(x: float | None) -> str:
    return f"{'-':>7s}" if x is None else f"{100 * x:6.0f}%"


def main(argv: list[str] | None = None) -> int:
    """CLI entry, reached through ``npm run eval -- --online``."""
    from ..data import COLD_START_MODELS
    from ..paths import default_bundle
    from .online import MAX_TEMPERATURE, MAX_UPDATE_BATCH, MIN_TEMPERATURE
    from .online_plot import plot_online

    ap = argparse.ArgumentParser(prog="npm run eval -- --online", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json", type=Path, help='write {"online": {"<model>": {"pool4": {"0": share, "50": ...}, '
                    '"whole": {...}}}} here (medians over seeds)')
    ap.add_argument("--details", type=Path, help="write everything here: the control (no updates), swept configs, "
                    "targets, diagnostics, per-seed numbers and the run's settings")
    ap.add_argument("--brief", action="store_true",
                    help="leave the per-seed detail (per-pool AIQs, per-seed diagnostics) out of --details")
    ap.add_argument("--plot", type=Path, help="draw the share against feedback events per model (PNG)")
    ap.add_argument("--replot", type=Path, help="draw --plot from a --details JSON instead of running")
    ap.add_argument("--bundle", type=Path, help="bundle folder (default: model-assets/bundles/$(cat DEFAULT))")
    ap.add_argument("--models", help=f"comma-separated (default: the cold-start models {', '.join(COLD_START_MODELS)})")
    ap.add_argument("--seeds", default="0",
                    help="traffic shuffles (and exploration draws), comma-separated (default 0)")
    ap.add_argument("--events", default=",".join(map(str, DEFAULT_EVENTS)), help="checkpoints (default 50,200,1000)")
    ap.add_argument("--batch", type=int, default=DEFAULT_BATCH,
                    help=f"requests per update round (default {DEFAULT_BATCH})")
    ap.add_argument("--temperature", type=float, default=DEFAULT_TEMPERATURE,
                    help=f"the pool's exploration temperature (0: the top choice; default {DEFAULT_TEMPERATURE:g})")
    ap.add_argument("--sweep", default="", help="more temperatures run on the same traffic, comma-separated")
    ap.add_argument("--levers", default=DEFAULT_LEVERS,
                    help=f"the pool's exploration and routing levers, joined with + (of {', '.join(LEVERS)}; "
                         f"default {DEFAULT_LEVERS}): decay = route the newcomer penalty x (ability std now / at "
                         "the quiz) stds below its mean; explore-mean = route the traffic with the newcomer at its "
                         "mean; gate = explore only between the top choice and the newcomer")
    ap.add_argument("--uncertainty-penalty", type=float, default=UNCERTAINTY_PENALTY,
                    help=f"the pool's uncertainty penalty (default {UNCERTAINTY_PENALTY:g})")
    ap.add_argument("--refit", action="store_true",
                    help="also run a refit from the bank prior on the quiz items and every outcome so far")
    ap.add_argument("--variants", default="",
                    help=f"more configs on the same traffic, comma-separated, each one or more of "
                         f"{', '.join(LEVERS)} joined with +")
    ap.add_argument("--jobs", type=int, default=DEFAULT_JOBS, help="Node routing servers that share the routing "
                    f"(the numbers do not depend on it; default {DEFAULT_JOBS}, one per core of a small machine)")
    ap.add_argument("--pools", choices=["both", "pool4", "whole"], default="both", help="which pools (default both)")
    ap.add_argument("--pool-draws", type=int, default=POOL_DRAWS,
                    help=f"pools of four per model (default {POOL_DRAWS})")
    ap.add_argument("--w-points", type=int, default=11, help="preferences in [0, 1] (default 11)")
    ap.add_argument("--max-train", type=int, help="use only the first N train prompts (quick runs)")
    ap.add_argument("--max-test", type=int, help="use only the first N test prompts (quick runs)")
    ap.add_argument("--no-cache", action="store_true", help="do not cache served embeddings/item parameters")
    ap.add_argument("--no-docs", action="store_true", help=argparse.SUPPRESS)  # the main harness's flag
    args = ap.parse_args(argv)
    if args.replot:
        if not args.plot:
            ap.error("--replot needs --plot")
        try:
            plot_online(json.loads(args.replot.read_text()), args.plot)
        except (OSError, ValueError, KeyError) as e:
            ap.error(f"cannot plot {args.replot}: {e}")
        log(f"wrote {args.plot}")
        return 0
    bundle = args.bundle or default_bundle()
    if bundle is None or not (Path(bundle) / "manifest.json").exists():
        ap.error("no bundle: pass --bundle or commit one named in model-assets/bundles/DEFAULT")
    try:
        events = sorted({int(x) for x in args.events.split(",")})
        seeds = [int(x) for x in args.seeds.split(",")]
        sweep = [float(x) for x in args.sweep.split(",") if x]
    except ValueError:
        ap.error("--events, --seeds and --sweep take comma-separated numbers")
    if events[0] < 1:
        ap.error("--events must be positive")
    if args.jobs < 1:
        ap.error("--jobs must be at least 1")
    if not 1 <= args.batch <= MAX_UPDATE_BATCH:
        ap.error(f"--batch must be in [1, {MAX_UPDATE_BATCH}] (one update folds in at most that many outcomes)")
    for t in [args.temperature, *sweep]:
        if t != 0 and not MIN_TEMPERATURE <= t <= MAX_TEMPERATURE:
            ap.error(f"temperatures must be 0 (top choice) or in [{MIN_TEMPERATURE:g}, {MAX_TEMPERATURE:g}]")
    if not 0 <= args.uncertainty_penalty <= 5:
        ap.error("--uncertainty-penalty must be in [0, 5]")
    models = args.models.split(",") if args.models else list(COLD_START_MODELS)
    try:
        res = run(Path(bundle), models, seeds, events, args.batch, args.temperature, sweep,
                  np.linspace(0.0, 1.0, args.w_points), max_train=args.max_train, max_test=args.max_test,
                  cache=None if args.no_cache else CACHE_DIR / "onboard", pool_draws=args.pool_draws,
                  pools=args.pools, levers=args.levers, penalty=args.uncertainty_penalty,
                  refit=args.refit, variants=[v for v in args.variants.split(",") if v], jobs=args.jobs)
    except ValueError as e:
        ap.error(str(e))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(dumps(contract(res)))
        log(f"wrote {args.json}")
    if args.details:
        args.details.parent.mkdir(parents=True, exist_ok=True)
        args.details.write_text(dumps(brief(res)) if args.brief else json.dumps(res, indent=1) + "\n")
        log(f"wrote {args.details}")
    if args.plot:
        plot_online(res, args.plot)
        log(f"wrote {args.plot}")
    print_summary(res)
    log(f"done in {res['meta']['seconds']}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
