"""The leave-one-out quiz study (docs/benchmarks/generalisation-quiz.md), on a bundle already built.

    cd model-assets
    python3 tools/quiz_study.py validate mmlu-pro .cache/protocol/bundles/KEY/gen-loo-mmlu-pro --seeds 6
    python3 tools/quiz_study.py served mmlu-pro .cache/protocol/bundles/KEY/gen-loo-mmlu-pro --items 20,50

``validate`` chooses a quiz design and prior without the test split: 30% of the *train* prompts
held out, the quiz drawn from the rest, the IRT-lambda router's AIQ on the held-out part (random,
stratified and medoid designs over ``--seeds`` seeds; bundle prior / pool prior). ``served``
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
from trainer.eval import metrics as M  # noqa: E402
from trainer.eval import protocol as P  # noqa: E402
from trainer.eval import served as S  # noqa: E402
from trainer.eval.baselines import greedy  # noqa: E402
from trainer.eval.evalset import EvalSet, build_evalset  # noqa: E402
from trainer.eval.routers import served_routers  # noqa: E402
from trainer.eval.scores import score_dataset  # noqa: E402
from trainer.onboard import laplace_posterior, random_quiz, select_quiz  # noqa: E402
from trainer.onboard.design import sigmoid  # noqa: E402
from trainer.onboard.prior import Prior, pool_prior  # noqa: E402
from trainer.onboard.served import prior_of  # noqa: E402


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


def lambda_aiq(es: EvalSet, a: np.ndarray, c: np.ndarray, thetas: np.ndarray, covs: np.ndarray | None) -> float:
    """AIQ of the IRT-lambda router on ``es``'s test split, identities routed one std below the mean."""
    u = a @ thetas.T - c[:, None]
    if covs is not None:
        u = u - np.sqrt(np.maximum(np.einsum("pd,mde,pe->pm", a, covs, a), 0.0))
    pts = greedy.lambda_curve(sigmoid(u), es.test.expected_cost, es.test.cost, es.test.quality)
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

    def identities(rows: np.ndarray, prior: Prior) -> tuple[np.ndarray, np.ndarray]:
        posts = [laplace_posterior(a[r], c[r], y[r, j], prior.mean, prior.cov)
                 for j in range(y.shape[1]) for r in [rows[~np.isnan(y[rows, j])]]]
        return np.array([p.mean for p in posts]), np.array([p.cov for p in posts])

    full = identities(np.arange(len(c)), start)[0]
    print(f"{name} validation: hull {M.hull_aiq(ves.pool()):.4f}, refit {lambda_aiq(ves, av, cv, full, None):.4f}")
    for n in items:
        for how in ("i-optimal", "random", "stratified", "medoid"):
            res: dict[str, list[float]] = {"bundle": [], "pool": []}
            for seed in ([0] if how == "i-optimal" else range(seeds)):
                rows = design_rows(a, c, start, n, how, seed)
                res["bundle"].append(lambda_aiq(ves, av, cv, *identities(rows, start)))
                quizzes = [(rows[~np.isnan(y[rows, j])], y[rows[~np.isnan(y[rows, j])], j]) for j in range(y.shape[1])]
                if len(quizzes) >= 3:
                    res["pool"].append(lambda_aiq(ves, av, cv, *identities(rows, pool_prior(a, c, quizzes, start))))
            print(f"{name} n={n} {how:10s} " + " | ".join(
                f"{k} prior: mean {np.mean(v):.4f} [{np.min(v):.4f}, {np.max(v):.4f}]" for k, v in res.items() if v),
                flush=True)


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
    ap.add_argument("what", choices=("validate", "served"))
    ap.add_argument("dataset")
    ap.add_argument("bundle", type=Path)
    ap.add_argument("--work", type=Path, default=P.WORK_DIR / "quiz-study")
    ap.add_argument("--items", default="20,50")
    ap.add_argument("--seeds", type=int, default=6)
    ap.add_argument("--configs", default="i-optimal:bundle,auto:pool", help="design:prior pairs for 'served'")
    args = ap.parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    items = [int(x) for x in args.items.split(",")]
    t0 = time.time()
    if args.what == "validate":
        validate(args.dataset, args.bundle, args.work, args.seeds, items)
    else:
        served(args.dataset, args.bundle, args.work, items, [tuple(c.split(":")) for c in args.configs.split(",")])
    print(f"done in {time.time() - t0:.0f}s")


if __name__ == "__main__":
    main()
