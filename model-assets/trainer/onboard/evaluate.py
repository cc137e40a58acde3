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
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from ..paths import CACHE_DIR, PROJECT_ROOT
from .design import random_quiz, select_quiz, sigmoid
from .laplace import laplace_posterior
from .served import prior_of, served_items

ROUTES_TOOL = PROJECT_ROOT / "model-assets" / "tools" / "onboard-routes.ts"
DEFAULT_BUDGETS = (10, 20, 50)


def log(msg: str) -> None:
    print(f"[onboard-eval {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def route_variants(bundle: Path, emb: np.ndarray, prompt_tokens: np.ndarray, ws: np.ndarray,
                   variants: list[dict[str, Any]]) -> tuple[np.ndarray, dict[str, Any]]:
    """Choices [V, W, P] of the served policy for every pool variant (onboard-routes.ts)."""
    with tempfile.TemporaryDirectory(prefix="onboard-routes-") as tmp:
        work = Path(tmp)
        emb.astype("<f4").tofile(work / "emb.f32")
        req = {"bundle": str(bundle.resolve()), "embeddings": str(work / "emb.f32"),
               "prompt_tokens": [float(x) for x in prompt_tokens], "preferences": [float(w) for w in ws],
               "variants": variants}
        (work / "request.json").write_text(json.dumps(req))
        cmd = ["npx", "--no-install", "tsx", str(ROUTES_TOOL), "--request", str(work / "request.json"), "--out", str(work)]
        proc = subprocess.Popen(cmd, cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        assert proc.stdout is not None
        tail: list[str] = []
        for line in proc.stdout:
            tail = (tail + [line.rstrip()])[-20:]
            if "variant" in line or "done" in line:
                log(line.rstrip())
        if proc.wait() != 0:
            raise RuntimeError("onboard-routes failed:\n" + "\n".join(tail))
        meta = json.loads((work / "meta.json").read_text())
        choices = np.fromfile(work / "choices.i32", dtype="<i4").reshape(len(variants), len(ws), emb.shape[0])
    return choices.astype(np.int64), meta


def _round(x: float, digits: int = 4) -> float:
    return round(float(x), digits)


def subset_table(table: Any, max_train: int | None, max_test: int | None) -> Any:
    """The first ``max_train`` train and ``max_test`` test rows (quick runs and tests)."""
    if max_train is None and max_test is None:
        return table
    rows = []
    for split, limit in (("train", max_train), ("test", max_test)):
        r = np.flatnonzero(table.split == split)
        rows.append(r if limit is None else r[:limit])
    return table.subset(rows=np.sort(np.concatenate(rows)))


def run(bundle: Path, models: list[str], budgets: list[int], seeds: int, ws: np.ndarray,
        max_train: int | None = None, max_test: int | None = None, cache: Path | None = CACHE_DIR / "onboard",
        expectation: str = "prior") -> dict[str, Any]:
    """The whole benchmark; returns the ``{"onboarding": ...}`` results object."""
    from ..data import COLD_START_MODELS, load_dataset
    from ..eval import metrics as M
    from ..eval.baselines.greedy import greedy_curve
    from ..eval.evalset import build_evalset
    from ..eval.served import manifest_models

    t0 = time.time()
    manifest = json.loads((bundle / "manifest.json").read_text())
    d = int(manifest["identity_dim"])
    prior_mean, prior_cov = prior_of(manifest, d)
    table = subset_table(load_dataset("mmlu-pro"), max_train, max_test)
    served = served_items(bundle, list(table.prompts), cache)
    train_rows, test_rows = np.flatnonzero(table.split == "train"), np.flatnonzero(table.split == "test")
    a_tr, c_tr = served.a[train_rows], served.c[train_rows]
    a_te, c_te = served.a[test_rows], served.c[test_rows]
    known = manifest_models(manifest)

    # The D-optimal quiz does not depend on the model; compute it once per budget over the whole
    # train bank. Items a model has no record for are skipped (we cannot "ask" the data for them).
    fitted_pool: dict[str, np.ndarray] = {}
    jobs: list[dict[str, Any]] = []
    variants: list[dict[str, Any]] = []
    for model in models:
        others = [m for m in COLD_START_MODELS if m != model]
        es = build_evalset(table, exclude=others)
        if model not in es.models:
            log(f"{model}: not in the pool (too few test outcomes); skipped")
            continue
        j = es.models.index(model)
        y = es.train.table.outcome[:, j].astype(np.float64)
        observed = np.flatnonzero(~np.isnan(y))
        missing = np.flatnonzero(np.isnan(y))
        mean_out = es.train.table.output_tokens.astype(np.float64).mean(axis=0)
        base: list[dict[str, Any]] = []
        for k, m in enumerate(es.models):
            if m == model:
                continue
            if m in known:
                theta_m = np.asarray(known[m], np.float64)
            else:  # as the harness does (trainer.eval.served): fitted on the train split, head frozen
                if m not in fitted_pool:
                    y_m = es.train.table.outcome[:, k].astype(np.float64)
                    ok = ~np.isnan(y_m)
                    fitted_pool[m] = laplace_posterior(a_tr[ok], c_tr[ok], y_m[ok], prior_mean, prior_cov).mean
                theta_m = fitted_pool[m]
            base.append({"name": m, "identity": [float(x) for x in theta_m],
                         "input_usd_per_mtok": float(es.test.table.prices[k, 0]),
                         "output_usd_per_mtok": float(es.test.table.prices[k, 1]),
                         "expected_output_tokens": float(mean_out[k])})

        def fit(rows: np.ndarray) -> np.ndarray:
            return laplace_posterior(a_tr[rows], c_tr[rows], y[rows], prior_mean, prior_cov).mean

        identities: dict[str, np.ndarray] = {"prior": prior_mean.copy(), "full": fit(observed)}
        info: dict[str, float] = {}
        for n in budgets:
            quiz = select_quiz(a_tr, c_tr, prior_mean, prior_cov, n, exclude=missing, expectation=expectation)
            identities[f"quiz-{n}"] = fit(quiz.rows)
            info[f"quiz-{n}"] = quiz.log_det_gain
            for s in range(seeds):
                rows = observed[random_quiz(len(observed), n, seed=1000 * n + s)]
                identities[f"random-{n}-{s}"] = fit(rows)
        target = {"name": model, "input_usd_per_mtok": float(es.test.table.prices[j, 0]),
                  "output_usd_per_mtok": float(es.test.table.prices[j, 1]),
                  "expected_output_tokens": float(mean_out[j])}
        job = {"model": model, "es": es, "j": j, "identities": identities, "info": info, "first_variant": len(variants),
               "n_train_outcomes": int(len(observed))}
        for key, theta in identities.items():
            # the onboarded model goes where it sits in es.models, so choices index es.models
            cands = base[:j] + [{**target, "identity": [float(x) for x in theta]}] + base[j:]
            variants.append({"name": f"{model}/{key}", "candidates": cands})
        jobs.append(job)
        log(f"{model}: {len(observed)} train outcomes; identities fitted ({', '.join(identities)})")

    test_tokens = table.input_tokens[test_rows]
    log(f"routing {len(test_rows)} test prompts x {len(ws)} preferences x {len(variants)} pool variants")
    choices, route_meta = route_variants(bundle, served.emb[test_rows], test_tokens, ws, variants)

    out: dict[str, Any] = {}
    for job in jobs:
        es, j, model = job["es"], job["j"], job["model"]
        te = es.test
        pool = es.pool()
        cnorm = te.cost_norm()
        keys = list(job["identities"])
        aiq: dict[str, float] = {}
        greedy: dict[str, float] = {}
        for i, key in enumerate(keys):
            pts = [M.choice_point(ch, te.cost, te.quality) for ch in choices[job["first_variant"] + i]]
            aiq[key] = M.aiq(pts, pool)
            thetas = np.array([c["identity"] for c in variants[job["first_variant"] + i]["candidates"]])
            p = sigmoid(a_te @ thetas.T - c_te[:, None])
            greedy[key] = M.aiq(greedy_curve(p, cnorm, te.cost, te.quality, ws), pool)
        hull = M.hull_aiq(pool)
        full = job["identities"]["full"]
        prec = np.linalg.inv(prior_cov)

        def dist(theta: np.ndarray) -> float:  # prior-Mahalanobis distance to the full identity
            r = theta - full
            return float(np.sqrt(r @ prec @ r))

        def frac(x: float) -> float | None:
            gain = aiq["full"] - hull
            return None if abs(gain) < 1e-9 else _round((x - hull) / gain)

        block: dict[str, Any] = {
            "hull_aiq": _round(hull), "full_aiq": _round(aiq["full"]), "prior_aiq": _round(aiq["prior"]),
            "full_greedy_aiq": _round(greedy["full"]), "prior_greedy_aiq": _round(greedy["prior"]),
            "n_train_outcomes": job["n_train_outcomes"], "quiz": {},
        }
        for n in budgets:
            rnd = [aiq[f"random-{n}-{s}"] for s in range(seeds)]
            rnd_g = [greedy[f"random-{n}-{s}"] for s in range(seeds)]
            q = aiq[f"quiz-{n}"]
            block["quiz"][str(n)] = {
                "aiq": _round(q), "random_aiq": _round(np.mean(rnd)), "random_aiq_std": _round(np.std(rnd)),
                "gain_fraction": frac(q), "random_gain_fraction": frac(float(np.mean(rnd))),
                "greedy_aiq": _round(greedy[f"quiz-{n}"]), "random_greedy_aiq": _round(np.mean(rnd_g)),
                "identity_distance": _round(dist(job["identities"][f"quiz-{n}"])),
                "random_identity_distance": _round(np.mean([dist(job["identities"][f"random-{n}-{s}"]) for s in range(seeds)])),
                "expected_information_nats": _round(job["info"][f"quiz-{n}"]),
            }
        out[model] = block
        q20 = block["quiz"].get("20", block["quiz"][str(budgets[0])])
        log(f"{model}: hull {hull:.4f} full {aiq['full']:.4f} prior {aiq['prior']:.4f} | "
            + " ".join(f"N={n}: quiz {block['quiz'][str(n)]['aiq']:.4f} rand {block['quiz'][str(n)]['random_aiq']:.4f}"
                       for n in budgets) + f" | gain fraction {q20['gain_fraction']}")
    summary: dict[str, Any] = {}
    for n in budgets:
        fr = [b["quiz"][str(n)]["gain_fraction"] for b in out.values() if b["quiz"][str(n)]["gain_fraction"] is not None]
        summary[str(n)] = {
            "mean_aiq": _round(np.mean([b["quiz"][str(n)]["aiq"] for b in out.values()])) if out else None,
            "mean_random_aiq": _round(np.mean([b["quiz"][str(n)]["random_aiq"] for b in out.values()])) if out else None,
            "median_gain_fraction": _round(np.median(fr)) if fr else None,
            "quiz_beats_random": sum(b["quiz"][str(n)]["aiq"] > b["quiz"][str(n)]["random_aiq"] for b in out.values()),
            "quiz_closer_than_random": sum(b["quiz"][str(n)]["identity_distance"] < b["quiz"][str(n)]["random_identity_distance"]
                                           for b in out.values()),
            "models": len(out),
        }
    return {
        "onboarding": out,
        "summary": summary,
        "meta": {
            "bundle": manifest["version"], "dataset": "mmlu-pro", "bank": "mmlu-pro train split",
            "budgets": budgets, "random_seeds": seeds, "preferences": len(ws), "selection": f"greedy D-optimal ({expectation}-expected Fisher information)",
            "router": "policy as served (int8 ONNX, worker/decision via onboard-routes.ts)",
            "secondary": "greedy_aiq = IRT-greedy with the same identities",
            "gain_fraction": "(aiq - hull_aiq) / (full_aiq - hull_aiq)",
            "identity_distance": "Mahalanobis distance (prior metric) to the full-data identity",
            "pool_identities_fitted_on_train": sorted(fitted_pool),
            "test_prompts": int(len(test_rows)), "train_items": int(len(train_rows)),
            "route": {k: route_meta[k] for k in ("seconds", "ms_per_decision") if k in route_meta},
            "seconds": round(time.time() - t0, 1),
        },
    }


def main(argv: list[str] | None = None) -> int:
    """CLI entry, reached through ``npm run eval -- --onboarding``."""
    from ..data import COLD_START_MODELS
    from ..eval.__main__ import default_bundle

    ap = argparse.ArgumentParser(prog="npm run eval -- --onboarding", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json", type=Path, help="write the results here")
    ap.add_argument("--bundle", type=Path, help="bundle folder (default: model-assets/bundles/$(cat DEFAULT))")
    ap.add_argument("--models", help=f"comma-separated (default: the cold-start models {', '.join(COLD_START_MODELS)})")
    ap.add_argument("--budgets", default=",".join(map(str, DEFAULT_BUDGETS)), help="quiz sizes (default 10,20,50)")
    ap.add_argument("--random-seeds", type=int, default=3, help="random quizzes per budget (default 3)")
    ap.add_argument("--w-points", type=int, default=11, help="preferences swept in [0, 1] (default 11)")
    ap.add_argument("--expectation", choices=["prior", "mean"], default="prior", help="Fisher information averaged over the prior or at its mean")
    ap.add_argument("--max-train", type=int, help="use only the first N train prompts (quick runs)")
    ap.add_argument("--max-test", type=int, help="use only the first N test prompts (quick runs)")
    ap.add_argument("--no-cache", action="store_true", help="do not cache served embeddings/item parameters")
    # tolerate the main harness's flags that do not apply here
    ap.add_argument("--no-docs", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    bundle = args.bundle or default_bundle()
    if bundle is None or not (Path(bundle) / "manifest.json").exists():
        ap.error("no bundle: pass --bundle or commit one named in model-assets/bundles/DEFAULT")
    models = args.models.split(",") if args.models else list(COLD_START_MODELS)
    budgets = [int(x) for x in args.budgets.split(",")]
    ws = np.linspace(0.0, 1.0, args.w_points)
    res = run(Path(bundle), models, budgets, args.random_seeds, ws, args.max_train, args.max_test,
              None if args.no_cache else CACHE_DIR / "onboard", args.expectation)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(res, indent=1) + "\n")
        log(f"wrote {args.json}")
    print("\n=== onboarding summary ===")
    print(f"{'model':32s} {'hull':>7s} {'full':>7s} " + " ".join(f"{'q' + str(n):>7s} {'r' + str(n):>7s}" for n in budgets))
    for m, b in res["onboarding"].items():
        print(f"{m:32s} {b['hull_aiq']:7.4f} {b['full_aiq']:7.4f} "
              + " ".join(f"{b['quiz'][str(n)]['aiq']:7.4f} {b['quiz'][str(n)]['random_aiq']:7.4f}" for n in budgets))
    for n, s in res["summary"].items():
        print(f"N={n}: median gain fraction {s['median_gain_fraction']}, quiz beats random on "
              f"{s['quiz_beats_random']}/{s['models']} models, closer identity on {s['quiz_closer_than_random']}/{s['models']}")
    log(f"done in {res['meta']['seconds']}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
