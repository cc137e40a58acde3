"""The leave-one-out quiz study (docs/benchmarks/generalisation-quiz.md), on a bundle already built.

    cd model-assets
    python3 tools/quiz_study.py validate mmlu-pro .cache/protocol/bundles/KEY/gen-loo-mmlu-pro --seeds 6
    python3 tools/quiz_study.py served mmlu-pro .cache/protocol/bundles/KEY/gen-loo-mmlu-pro --items 20,50

``validate`` chooses a quiz design and prior without the test split: 30% of the *train* prompts
held out, the quiz drawn from the rest, the IRT-lambda router's AIQ on the held-out part (random,
stratified and medoid designs over ``--seeds`` seeds; bundle, pool and priced pool prior, each also
routed by level alone). ``fixed`` asks how often N outcomes per model pick the right fixed model
(no bundle: ``python3 tools/quiz_study.py fixed mmlu-pro --items 20,50``). ``served``
scores quiz identities on the full test split through the served decision core, as the protocol
does (policy AIQ against the single-model hull; binary pairs are skipped). Embeddings and item
parameters are cached under ``--work`` per dataset and bundle.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import pickle
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from trainer.data.byod import load_byod  # noqa: E402
from trainer.eval import protocol as P  # noqa: E402
from trainer.eval import served as S  # noqa: E402
from trainer.eval.routers import served_routers  # noqa: E402
from trainer.eval.scores import score_dataset  # noqa: E402
from trainer.onboard import laplace_posterior, random_quiz, select_quiz  # noqa: E402
from trainer.onboard.design import sigmoid  # noqa: E402
from trainer.onboard.prior import Prior, pool_prior, priced_pool_prior  # noqa: E402
from trainer.onboard.served import prior_of  # noqa: E402
from trainer.scoring import greedy  # noqa: E402
from trainer.scoring import metrics as M  # noqa: E402
from trainer.scoring.evalset import EvalSet, build_evalset  # noqa: E402


def load(name: str, bundle: Path, work: Path) -> tuple[EvalSet, S.ServedPrompts, dict]:
    """The dataset as the protocol serves it, with its served embeddings and train item parameters."""
    es = build_evalset(load_byod(P.export_folder(name, work)))
    cache = work / f"{name}-{bundle.parent.name}.pkl"
    if cache.exists():
        prompts = pickle.loads(cache.read_bytes())
    else:
        prompts = S.embed_and_probe(es, bundle, probe=True)
        cache.write_bytes(pickle.dumps(prompts))
    return es, prompts, json.loads((bundle / "manifest.json").read_text())


def lambda_aiq(es: EvalSet, a: np.ndarray, c: np.ndarray, thetas: np.ndarray, covs: np.ndarray | None,
               level_bank: tuple[np.ndarray, np.ndarray] | None = None) -> float:
    """AIQ of the IRT-lambda router on ``es``'s test split, identities routed one std below the mean.
    With ``level_bank`` (a, c of the bank) every prompt gets each model's mean predicted success over
    the bank instead of its own: routing by level alone, i.e. one fixed model per price."""
    u = a @ thetas.T - c[:, None]
    if covs is not None:
        u = u - np.sqrt(np.maximum(np.einsum("pd,mde,pe->pm", a, covs, a), 0.0))
    p = sigmoid(u)
    if level_bank is not None:
        p = np.broadcast_to(sigmoid(level_bank[0] @ thetas.T - level_bank[1][:, None]).mean(axis=0), p.shape)
    pts = greedy.lambda_curve(p, es.test.expected_cost, es.test.cost, es.test.quality)
    return float(M.aiq(pts, es.pool()))


def design_rows(a: np.ndarray, c: np.ndarray, prior: Prior, n: int, how: str, seed: int) -> np.ndarray:
    """The same ``n`` bank rows for every model: ``i-optimal``, ``random``, ``stratified`` (one random
    row per k-means cluster) or ``medoid`` (the row nearest each cluster's centre)."""
    from sklearn.cluster import KMeans

    if how == "i-optimal":
        return select_quiz(a, c, prior.mean, prior.cov, n, criterion="i-optimal").rows
    if how == "random":
        return random_quiz(a.shape[0], n, seed)
    km = KMeans(n_clusters=n, n_init=1, random_state=seed).fit(a)
    rng = np.random.default_rng(seed)
    rows = []
    for k in range(n):
        members = np.flatnonzero(km.labels_ == k)
        best = members[np.argmin(((a[members] - km.cluster_centers_[k]) ** 2).sum(axis=1))]
        rows.append(int(best) if how == "medoid" else int(rng.choice(members)))
    return np.array(rows)


def validate(name: str, bundle: Path, work: Path, seeds: int, items: list[int]) -> None:
    es, prompts, manifest = load(name, bundle, work)
    t = es.train.table
    held = np.random.default_rng(12345).random(len(t.prompt_ids)) < 0.3
    ves = build_evalset(dataclasses.replace(t, split=np.where(held, "test", "train")))
    a, c = prompts.a[~held], prompts.c[~held]
    av, cv = prompts.a[held], prompts.c[held]
    y = ves.train.table.outcome.astype(np.float64)
    start = Prior(*prior_of(manifest, a.shape[1]), source="bundle irt.prior")

    log_price = np.log(ves.train.expected_cost.mean(axis=0))

    def identities(rows: np.ndarray, prior: Prior | list[Prior]) -> tuple[np.ndarray, np.ndarray]:
        priors = prior if isinstance(prior, list) else [prior] * y.shape[1]
        posts = [laplace_posterior(a[r], c[r], y[r, j], priors[j].mean, priors[j].cov)
                 for j in range(y.shape[1]) for r in [rows[~np.isnan(y[rows, j])]]]
        return np.array([p.mean for p in posts]), np.array([p.cov for p in posts])

    def priced(quizzes: list[tuple[np.ndarray, np.ndarray]]) -> list[Prior]:
        pp = priced_pool_prior(a, c, quizzes, log_price, start)
        return [pp.at(x) for x in log_price]

    full = identities(np.arange(len(c)), start)[0]
    print(f"{name} validation: hull {M.hull_aiq(ves.pool()):.4f}, refit {lambda_aiq(ves, av, cv, full, None):.4f}")
    for n in items:
        for how in ("i-optimal", "random", "stratified", "medoid"):
            res: dict[str, list[float]] = {}
            for seed in ([0] if how == "i-optimal" else range(seeds)):
                rows = design_rows(a, c, start, n, how, seed)
                quizzes = [(rows[~np.isnan(y[rows, j])], y[rows[~np.isnan(y[rows, j])], j]) for j in range(y.shape[1])]
                priors: dict[str, Prior | list[Prior]] = {"bundle": start}
                if len(quizzes) >= 3:
                    priors |= {"pool": pool_prior(a, c, quizzes, start), "priced": priced(quizzes)}
                for k, prior in priors.items():
                    thetas, covs = identities(rows, prior)
                    res.setdefault(k, []).append(lambda_aiq(ves, av, cv, thetas, covs))
                    res.setdefault(k + " level", []).append(lambda_aiq(ves, av, cv, thetas, None, (a, c)))
            print(f"{name} n={n} {how:10s} " + " | ".join(
                f"{k}: mean {np.mean(v):.4f} [{np.min(v):.4f}, {np.max(v):.4f}]" for k, v in res.items()),
                flush=True)


def fixed(name: str, work: Path, items: list[int], draws: int = 100) -> None:
    """How well ``n`` outcomes per model pick the best fixed model at each price: per draw, the same
    ``n`` random train prompts for every model, its mean there (and, ``price-shrunk``, that mean
    shrunk toward a regression on log price across the pool, by method of moments), the model with
    the best ``mean - lam * expected cost`` at each ``lam``, scored on the test split."""
    es = build_evalset(load_byod(P.export_folder(name, work)))
    y = es.train.table.outcome.astype(np.float64)
    pool, hull = es.pool(), M.hull_aiq(es.pool())
    price = es.train.expected_cost.mean(axis=0)
    x = np.c_[np.ones(len(price)), np.log(price)]
    lams = greedy.lambda_grid(es.test.expected_cost)

    def aiq(level: np.ndarray) -> float:
        picks = [int(np.argmax(level - lam * price)) for lam in lams]
        return float(M.aiq([(es.test.cost[:, j].mean(), es.test.quality[:, j].mean()) for j in picks], pool))

    def shrunk(q: np.ndarray, n: int) -> np.ndarray:
        reg = x @ np.linalg.lstsq(x, q, rcond=None)[0]
        noise = q * (1 - q) / n
        spread = max(float(np.var(q - reg, ddof=2) - noise.mean()), 1e-6)
        return q + noise / (spread + noise + 1e-12) * (reg - q)

    graded = np.flatnonzero(~np.isnan(y).any(axis=1))
    rng = np.random.default_rng(0)
    print(f"{name}: hull {hull:.4f}, every train outcome {aiq(np.nanmean(y, axis=0)):.4f}")
    for n in items:
        res: dict[str, list[float]] = {"quiz mean": [], "price-shrunk": []}
        for _ in range(draws):
            q = y[rng.choice(graded, n, replace=False)].mean(axis=0)
            res["quiz mean"].append(aiq(q))
            res["price-shrunk"].append(aiq(shrunk(q, n)))
        at_hull = {k: float(np.mean(np.array(v) >= hull - 1e-4)) for k, v in res.items()}
        print(f"{name} n={n} " + " | ".join(
            f"{k}: median {np.median(v):.4f}, mean {np.mean(v):.4f}, at the hull in {at_hull[k]:.0%}"
            for k, v in res.items()), flush=True)


def served(name: str, bundle: Path, work: Path, items: list[int], configs: list[tuple[str, str]]) -> None:
    es, prompts, manifest = load(name, bundle, work)
    original = S.binary_pairs
    S.binary_pairs = lambda _es: []   # the pair routers do not change the pool's AIQ
    try:
        for n in items:
            for design, prior in configs:
                ids = S.pool_identities(es, manifest, prompts, "quiz", n, quiz_prior=prior, quiz_design=design)
                out, _ = S.route_pool(es, bundle, ids, greedy.W_GRID, lambda s: None)
                block = score_dataset(es, served_routers(es, out), {})
                print(f"{name}:quiz-{n} design={ids.meta['quiz']['design']} prior={prior}: "
                      f"hull {block['hull_aiq']:.4f}, "
                      f"policy {block['routers']['policy']['aiq']:.4f}", flush=True)
    finally:
        S.binary_pairs = original


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("what", choices=("validate", "served", "fixed"))
    ap.add_argument("dataset")
    ap.add_argument("bundle", type=Path, nargs="?", help="the leave-one-out bundle (not read by 'fixed')")
    ap.add_argument("--work", type=Path, default=P.WORK_DIR / "quiz-study")
    ap.add_argument("--items", default="20,50")
    ap.add_argument("--seeds", type=int, default=6)
    ap.add_argument("--configs", default="i-optimal:bundle,auto:pool", help="design:prior pairs for 'served'")
    args = ap.parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    items = [int(x) for x in args.items.split(",")]
    t0 = time.time()
    if args.what == "fixed":
        fixed(args.dataset, args.work, items)
    elif args.bundle is None:
        ap.error(f"{args.what} needs the bundle")
    elif args.what == "validate":
        validate(args.dataset, args.bundle, args.work, args.seeds, items)
    else:
        served(args.dataset, args.bundle, args.work, items, [tuple(c.split(":")) for c in args.configs.split(",")])
    print(f"done in {time.time() - t0:.0f}s")


if __name__ == "__main__":
    main()
