"""``npm run eval``: every router on the fixed test split of every dataset (or of ``--data DIR``).

    npm run eval                                  # all shared datasets, docs/benchmarks/ + summary
    npm run eval -- --json results.json           # also the machine-readable results
    npm run eval -- --data my-folder --json r.json  # bring-your-own-data: train on its train split
    npm run eval -- --datasets mmlu-pro --max-test 500 --no-docs
    npm run eval -- --onboarding ...              # the onboarding benchmark (trainer.onboard.evaluate)
    npm run eval -- --online ...                  # online identity updates (trainer.onboard.replay)
    npm run eval -- --protocol byod               # generalisation: each dataset alone, as a customer's data
    npm run eval -- --protocol leave-one-out      # generalisation: a bundle on all datasets but the one it routes
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from ..paths import PROJECT_ROOT, default_bundle
from ..scoring.evalset import EvalSet, build_evalset
from ..scoring.greedy import W_GRID
from .report import markdown, plot, preset_points, readme_section, summary_table
from .routers import QUALITY_MISSING, run_routers
from .scores import score_dataset

DOCS_DIR = PROJECT_ROOT / "docs" / "benchmarks"


def log(msg: str) -> None:
    print(f"[eval {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def subsample(es: EvalSet, max_test: int | None, max_train: int | None) -> EvalSet:
    """Deterministic prefix subsets (small runs and tests); the full run uses every prompt."""
    if max_test is None and max_train is None:
        return es
    from ..scoring.evalset import SplitData

    def cut(s: SplitData, n: int | None) -> SplitData:
        if n is None or n >= s.size:
            return s
        r = np.arange(n)
        return SplitData(s.table.subset(rows=r), s.quality[r], s.cost[r], s.expected_cost[r])

    return EvalSet(es.dataset, es.models, cut(es.train, max_train), cut(es.test, max_test), es.excluded_models)


#: ``--identities``: ``auto`` keeps a bundle's trained identities on data it was built on and
#: refits every pool model on the train split of any other (``identity_mode``).
IDENTITY_CHOICES = ("auto", "manifest", "refit")


def identity_mode(requested: str, manifest: dict[str, Any], dataset: str, prompts: int, own_data: bool) -> str:
    """The identities a ``--data`` folder is routed with: under ``auto``, the bundle's own
    (``manifest``) where it was built on a dataset of the folder's name and size, else ``refit``
    (every pool model fitted on the folder's train split, head frozen, as the leave-one-out protocol
    serves a new customer). A model's trained identity describes it under the graders of the data
    the bundle saw; on other data it mis-ranks the model against those fitted there (leave-one-out
    bundles scoring the left-out set with the names they know kept: alpaca-eval 0.7145 against
    0.7321 refitted, mmlu-pro 0.8156 against 0.8177; docs/benchmarks/notes.md). The shared
    datasets (``own_data`` False) keep ``manifest``.

    @example
        >>> m = {"training_data": {"datasets": {"mine": {"prompts": 100}}}}
        >>> identity_mode("auto", m, "mine", 100, True), identity_mode("auto", m, "theirs", 100, True)
        ('manifest', 'refit')
    """
    if requested != "auto":
        return requested
    if not own_data:
        return "manifest"
    built_on = manifest.get("training_data", {}).get("datasets", {}).get(dataset, {})
    return "manifest" if built_on.get("prompts") == prompts else "refit"


def routed_identities(args: argparse.Namespace, manifest: dict[str, Any], dataset: str, prompts: int) -> str:
    """``identity_mode`` for the command line's ``--identities`` and ``--data``, said in the log."""
    mode = identity_mode(args.identities, manifest, dataset, prompts, args.data is not None)
    if args.data is not None:
        why = " (the bundle was not built on this folder: every pool model is fitted on its train split)"
        log(f"{dataset}: identities {mode}" + (why if mode == "refit" else ""))
    return mode


def evaluate(es: EvalSet, bundle: Path | None, embedding: str, mf_epochs: int,
             identities: str = "manifest") -> dict[str, Any]:
    """Embeds, runs every router and scores one dataset, the pool routed with ``identities``
    (``served.IDENTITY_MODES``)."""
    t0 = time.time()
    served_out = None
    meta: dict[str, Any] = {}
    if bundle is not None:
        from .served import run_served

        tr_emb, te_emb, served_out, meta = run_served(es, bundle, W_GRID, progress=log, identities=identities)
    from .embeddings import tfidf_embeddings

    tfidf = tfidf_embeddings(es.train.table.prompts, es.test.table.prompts)
    if bundle is None or embedding == "tfidf":
        tr_emb, te_emb = tfidf
        tfidf = None
        meta["baseline_embedding"] = "tfidf-svd"
    else:
        meta["baseline_embedding"] = "served embedder.onnx"
    log(f"{es.dataset}: {es.train.size} train / {es.test.size} test prompts, {len(es.models)} models; routers...")
    results = run_routers(es, tr_emb, te_emb, served_out, progress=lambda s: log(f"{es.dataset}: {s}"),
                          mf_epochs=mf_epochs, tfidf=tfidf)
    block = score_dataset(es, results, meta)
    presets = json.loads((bundle / "manifest.json").read_text())["policy"].get("presets") if bundle else None
    policy = next((r for r in results if r.name == "policy"), None)
    if presets and policy is not None:
        # The router's own points, one per W_GRID entry in order (the JSON block's are sorted by cost).
        block["presets"] = preset_points(policy.points, W_GRID, presets, block["best_single"])
    block["seconds"] = round(time.time() - t0, 1)
    pol = block["routers"].get("policy")
    log(f"{es.dataset}: hull AIQ {block['hull_aiq']:.3f}"
        + (f", policy AIQ {pol['aiq']:.3f}, saves {block['savings_vs']}" if pol else "")
        + f" ({block['seconds']}s)")
    return block


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if "--onboarding" in argv:
        from ..onboard import evaluate as onboarding  # the onboarding benchmark lives with onboarding

        return int(onboarding.main([a for a in argv if a != "--onboarding"]) or 0)
    if "--online" in argv:
        from ..onboard import replay  # the online-learning replay (issue 23)

        return int(replay.main([a for a in argv if a != "--online"]) or 0)
    ap = argparse.ArgumentParser(prog="npm run eval --", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json", type=Path, help="write machine-readable results here")
    ap.add_argument("--data", type=Path, help="bring-your-own-data folder (prompts.jsonl, outcomes.csv, prices.csv)")
    ap.add_argument("--datasets", help="comma-separated subset of the shared datasets")
    ap.add_argument("--bundle", type=Path, help="bundle folder (default: model-assets/bundles/$(cat DEFAULT))")
    ap.add_argument("--no-bundle", action="store_true", help="skip the policy and IRT-greedy (baselines on TF-IDF)")
    ap.add_argument("--embedding", choices=["served", "tfidf"], default="served",
                    help="prompt embedding of the baselines (default: the bundle's embedder)")
    ap.add_argument("--out", type=Path, help="where the Markdown table and plots go "
                    "(default: docs/benchmarks for the shared data, none for --data)")
    ap.add_argument("--no-docs", action="store_true", help="write no Markdown/PNG")
    ap.add_argument("--max-test", type=int, help="evaluate only the first N test prompts (quick runs)")
    ap.add_argument("--max-train", type=int, help="train baselines on the first N train prompts (quick runs)")
    ap.add_argument("--mf-epochs", type=int, default=20,
                    help="most MF epochs (early stopping on held-out train prompts)")
    ap.add_argument("--identities", choices=IDENTITY_CHOICES, default="auto",
                    help="pool identities with --data: auto (default) keeps the bundle's own where it was built on "
                         "that folder and fits every model on the folder's train split otherwise; manifest keeps the "
                         "bundle's for every model it knows; refit fits every one")
    gen = ap.add_argument_group("generalisation protocols (trainer/eval/protocol.py)")
    gen.add_argument("--protocol", choices=["byod", "leave-one-out"],
                     help="build a bundle per dataset (byod: on it alone; leave-one-out: on all the others) and score "
                          "it on data that bundle never saw; tables go to docs/benchmarks/generalisation-<protocol>.md")
    gen.add_argument("--work", type=Path, help="where the protocol's folders, bundles and build logs go "
                     "(default model-assets/.cache/protocol; built bundles there are reused)")
    gen.add_argument("--build-args", default="", help="extra trainer.build arguments for every bundle: the recipe "
                     "measured (e.g. \"--seed 1\")")
    gen.add_argument("--recipe", help="what to call the recipe in the tables (default: its build arguments)")
    gen.add_argument("--quiz-items", type=int, default=20,
                     help="quiz length of the leave-one-out quiz rows (default 20)")
    args = ap.parse_args(argv)
    if args.protocol:
        return run_protocol_cli(ap, args, argv)

    from ..data import COLD_START_MODELS, DATASETS, load_byod, load_dataset

    bundle = None if args.no_bundle else (args.bundle or default_bundle())
    if bundle is not None and not (Path(bundle) / "manifest.json").exists():
        ap.error(f"no manifest.json in bundle folder {bundle}")
    if bundle is None:
        log("no bundle: the policy and IRT-greedy are skipped; baselines use TF-IDF embeddings")
    if args.data is not None:
        tables = [("byod:" + args.data.name, lambda: load_byod(args.data), ())]
    else:
        names = args.datasets.split(",") if args.datasets else DATASETS
        unknown = [n for n in names if n not in DATASETS]
        if unknown:
            ap.error(f"unknown dataset(s) {unknown}; known: {', '.join(DATASETS)}")
        tables = [(n, (lambda n=n: load_dataset(n)), COLD_START_MODELS if n == "mmlu-pro" else ())
                  for n in names]
    out_dir = None if args.no_docs else (args.out or (None if args.data else DOCS_DIR))

    results: dict[str, Any] = {
        "meta": {
            "bundle": str(Path(bundle).name) if bundle else None,
            "w_grid": len(W_GRID),
            "embedding": ("TF-IDF + SVD (no bundle)" if bundle is None or args.embedding == "tfidf"
                          else "the bundle's embedder.onnx, as served"),
            "quality_missing": QUALITY_MISSING,
            "cold_start_excluded": list(COLD_START_MODELS),
            "max_test": args.max_test,
        },
        "datasets": {},
    }
    manifest = json.loads((Path(bundle) / "manifest.json").read_text()) if bundle is not None else None
    t0 = time.time()
    for i, (name, load, exclude) in enumerate(tables, 1):
        log(f"[{i}/{len(tables)}] {name}: loading")
        try:
            table = load()
            es = build_evalset(table, exclude=exclude)
        except ValueError as err:
            if args.data is not None:   # the one folder asked for: nothing to score is an error
                print(f"error: {err}", file=sys.stderr)
                return 2
            log(f"[{i}/{len(tables)}] {name}: skipped ({err})")
            continue
        if es.excluded_models:
            log(f"[{i}/{len(tables)}] {name}: not in the pool: {', '.join(es.excluded_models)}")
        mode = "manifest" if manifest is None else routed_identities(args, manifest, es.dataset,
                                                                     len(table.prompt_ids))
        es = subsample(es, args.max_test, args.max_train)
        block = evaluate(es, Path(bundle) if bundle else None, args.embedding, args.mf_epochs, identities=mode)
        if out_dir is not None:
            plot(name, block, Path(out_dir) / f"{name.replace(':', '-')}.png")
            block["plot"] = f"{name.replace(':', '-')}.png"
        results["datasets"][name] = block
    results["meta"]["seconds"] = round(time.time() - t0, 1)

    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=1) + "\n")
        log(f"wrote {args.json}")
    if out_dir is not None:
        Path(out_dir).mkdir(parents=True, exist_ok=True)
        (Path(out_dir) / "README.md").write_text(markdown(results))
        (Path(out_dir) / "results.json").write_text(json.dumps(results, indent=1) + "\n")
        if args.data is None and args.datasets is None and args.max_test is None:
            (Path(out_dir) / "readme-section.md").write_text(readme_section(results))
        log(f"wrote {out_dir}/README.md, results.json and plots")
    print("\n=== summary ===\n" + summary_table(results))
    log(f"done in {results['meta']['seconds']}s")
    return 0


def run_protocol_cli(ap: argparse.ArgumentParser, args: argparse.Namespace, argv: list[str]) -> int:
    """``--protocol``: run it, write its JSON (``--json``), its page, plot and compact JSON under
    ``--out`` (default docs/benchmarks), and print the summary.

    @example
        run_protocol_cli(ap, ap.parse_args(["--protocol", "byod", "--datasets", "routerarena"]), argv)
    """
    import shlex

    from ..data import DATASETS
    from .protocol import WORK_DIR, Recipe, run_protocol
    from .protocol_report import SHORT, protocol_markdown, protocol_plot, summary_rows

    clashes = [f for f, v in (("--data", args.data), ("--bundle", args.bundle), ("--no-bundle", args.no_bundle),
                              ("--max-test", args.max_test), ("--max-train", args.max_train),
                              ("--embedding tfidf", args.embedding == "tfidf")) if v]
    if clashes:
        ap.error(f"--protocol builds its own bundles on the whole shared data; drop {', '.join(clashes)}")
    names = args.datasets.split(",") if args.datasets else list(DATASETS)
    unknown = [n for n in names if n not in DATASETS]
    if unknown:
        ap.error(f"unknown dataset(s) {unknown}; known: {', '.join(DATASETS)}")
    if args.quiz_items < 1:
        ap.error("--quiz-items must be at least 1")
    build_args = shlex.split(args.build_args)
    recipe = Recipe(build_args, args.recipe or (f"build arguments `{args.build_args}`" if build_args
                                                else "the build's defaults"))
    res = run_protocol(args.protocol, names, recipe, args.work or WORK_DIR, args.quiz_items, args.mf_epochs, log)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(res, indent=1) + "\n")
        log(f"wrote {args.json}")
    out_dir = None if args.no_docs else (args.out or DOCS_DIR)
    if out_dir is not None:
        stem = f"generalisation-{SHORT[args.protocol]}"
        out_dir.mkdir(parents=True, exist_ok=True)
        plot_name = f"{stem}.png" if res["datasets"] else None
        if plot_name:
            protocol_plot(res, out_dir / plot_name)
        command = "npm run eval -- " + shlex.join(argv)
        (out_dir / f"{stem}.md").write_text(protocol_markdown(res, command, plot_name))
        (out_dir / f"{stem}.json").write_text(json.dumps(compact(res), indent=1) + "\n")
        log(f"wrote {out_dir}/{stem}.md, .png and .json")
    print("\n=== summary ===\n" + "\n".join(summary_rows(res)))
    failed = res["meta"]["failed"]
    if failed:
        log(f"FAILED builds: {', '.join(failed)}")
    log(f"done in {res['meta']['seconds']}s")
    return 1 if failed else 0


def compact(results: dict[str, Any]) -> dict[str, Any]:
    """The results without the routers' points (what docs/benchmarks archives; ``--json`` has them).

    @example
        compact(res)["datasets"]["mmlu-pro"]["routers"]["policy"]   # {"kind", "aiq", "ctm", "note"}
    """
    out = {"meta": results["meta"], "datasets": {}}
    for name, block in results["datasets"].items():
        b = dict(block)
        b["routers"] = {k: {f: v for f, v in r.items() if f != "points"} for k, r in block["routers"].items()}
        out["datasets"][name] = b
    return out


if __name__ == "__main__":
    sys.exit(main())
