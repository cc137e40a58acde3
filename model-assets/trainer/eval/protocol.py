"""Generalisation protocols: every router judged on data its bundle was not trained on.

    npm run eval -- --protocol byod            # each shared dataset alone, as a customer's folder
    npm run eval -- --protocol leave-one-out   # a bundle on all shared datasets but one, serving that one

``byod``: each shared dataset (mmlu-pro without its cold-start models) is written as a
bring-your-own-data folder (``data.byod.write_byod``: its fixed split, the cost model's token
counts, prices) and goes through ``build:bundle --byod`` on it; the bundle then routes the
folder's test split, scored as ``npm run eval -- --data DIR --bundle DIR`` scores it.

``leave-one-out``: a bundle built with ``--exclude-dataset NAME`` routes NAME's test split as a
new customer would be served: every pool model's identity fitted on NAME's train split with the
prompt head frozen, those also trained under another dataset's grading included (a customer's
grades are its own), and again with each identity from a quiz of ``--quiz-items`` train prompts
(``served.quiz_identities``: the same representative items for every pool model, the posterior
under the prior the quizzed pool's outcomes and prices give, routed with its posterior spread;
chosen on a validation split of the train prompts, docs/benchmarks/generalisation-quiz.md). Results: ``NAME``
and ``NAME:quiz-20``.

The bundles are built by the build's own entry point (``python -m trainer.build``) with the
recipe's extra arguments (``--build-args``), so a changed recipe is measured by the same protocol.
They are cached in the work folder (``model-assets/.cache/protocol`` by default) under a key of
the recipe, the build's source files, the data and the reused embedder: a rerun (or a run stopped
half-way) reuses every bundle already built. Every bundle reuses the default bundle's embedder.
"""
from __future__ import annotations

import ast
import hashlib
import json
import os
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..data import COLD_START_MODELS, DATASETS, load_dataset
from ..data.byod import load_byod, write_byod
from ..embed.recover import reused_student_dir
from ..paths import ASSETS_ROOT, CACHE_DIR, PROJECT_ROOT, default_bundle_dir
from ..scoring import metrics as M
from ..scoring.bootstrap import bootstrap_aiqs, bootstrap_apgrs, interval
from ..scoring.evalset import EvalSet, build_evalset
from ..scoring.greedy import W_GRID
from .routers import QUALITY_MISSING

PROTOCOLS = ("byod", "leave-one-out")
WORK_DIR = CACHE_DIR / "protocol"
QUIZ_ITEMS = 20
N_BOOT = 200
CI_LEVEL = 0.9
#: Baselines the byod protocol's target compares the policy with (issue 22).
TARGET_BASELINES = ("knn", "knn_tfidf", "routellm_mf", "sw_ranking", "category", "irt_lambda")
TRAINER = ASSETS_ROOT / "trainer"

Progress = Callable[[str], None]


@dataclass
class Recipe:
    """How every bundle of a protocol run is built: extra ``trainer.build`` arguments on top of the
    protocol's own, and a label for the tables.

    @example
        Recipe(["--seed", "1"], "seed 1").key_parts()["build_args"]   # ["--seed", "1"]
    """

    build_args: list[str] = field(default_factory=list)
    label: str = "default build arguments"

    def key_parts(self) -> dict[str, Any]:
        """What a cached bundle must match: the arguments and the build's source files.

        @example
            Recipe().key_parts()   # {"build_args": [], "sources": "9ff4b416b89dd077"}
        """
        return {"build_args": self.build_args, "sources": source_digest()}


def build_sources(entry: Path = TRAINER / "build.py") -> list[Path]:
    """Every ``trainer`` module the build can import (statically, imports inside functions too),
    with the packages' ``__init__.py`` files: what a bundle's contents can depend on.

    @example
        [p.name for p in build_sources()][:3]   # ["build.py", "__init__.py", ...]
    """
    seen: list[Path] = []
    todo = [entry]
    while todo:
        path = todo.pop()
        if path in seen or not path.exists():
            continue
        seen.append(path)
        package = path.parent
        for pkg in [package, *package.parents]:
            if pkg == TRAINER.parent:
                break
            init = pkg / "__init__.py"
            if init not in seen and init not in todo:
                todo.append(init)
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom):
                base = package
                for _ in range(max(node.level - 1, 0)):
                    base = base.parent
                if node.level == 0:
                    if not (node.module or "").startswith("trainer"):
                        continue
                    base, parts = TRAINER.parent, (node.module or "").split(".")
                else:
                    parts = (node.module or "").split(".") if node.module else []
                target = base.joinpath(*parts)
                names = [a.name for a in node.names]
                for cand in [target.with_suffix(".py"), target / "__init__.py",
                             *(target / f"{n}.py" for n in names), *(target / n / "__init__.py" for n in names)]:
                    if cand.exists():
                        todo.append(cand)
    return sorted(seen)


def source_digest() -> str:
    """sha256 (16 hex) over the build's source files (:func:`build_sources`): any edit to them,
    a docstring too, keys every protocol bundle afresh.

    @example
        source_digest()   # "9ff4b416b89dd077"
    """
    h = hashlib.sha256()
    for p in build_sources():
        h.update(str(p.relative_to(ASSETS_ROOT)).encode() + b"\0" + p.read_bytes())
    return h.hexdigest()[:16]


def folder_digest(folder: Path) -> str:
    """sha256 (16 hex) of a BYOD folder's three files.

    @example
        folder_digest(Path("model-assets/.cache/protocol/byod/routerarena"))
    """
    h = hashlib.sha256()
    for name in ("prompts.jsonl", "outcomes.csv", "prices.csv"):
        h.update((folder / name).read_bytes())
    return h.hexdigest()[:16]


def shared_data_digest() -> str:
    """sha256 (16 hex) over every shared dataset's table cache key (source file stats + adapter code).

    @example
        shared_data_digest()   # changes when any file under shared/data or data/*.py changes
    """
    from ..data.cache import cache_key
    from ..data.datasets import SOURCE_DIRS
    from ..paths import DATA_ROOT

    keys = [cache_key(n, [DATA_ROOT / SOURCE_DIRS[n], DATA_ROOT / "prices.csv"]) for n in DATASETS]
    return hashlib.sha256("|".join(keys).encode()).hexdigest()[:16]


def pool_models(name: str) -> list[str] | None:
    """The models a dataset's customer folder holds: mmlu-pro without its cold-start models (never
    trained on, onboarded by quiz only), every other dataset's all (None).

    @example
        len(pool_models("mmlu-pro")), pool_models("routerarena")   # (27, None)
    """
    if name != "mmlu-pro":
        return None
    return [m for m in load_dataset(name).models if m not in COLD_START_MODELS]


def export_folder(name: str, work: Path) -> Path:
    """``work/byod/<name>``: the dataset as a customer's folder (rewritten each run; cheap).

    @example
        export_folder("arena-hard-v1", WORK_DIR)   # .cache/protocol/byod/arena-hard-v1
    """
    return write_byod(load_dataset(name), work / "byod" / name, pool_models(name))


def default_embedder_bundle() -> Path:
    """The bundle whose embedder every protocol bundle reuses (bundles/DEFAULT).

    @example
        default_embedder_bundle().name   # the version in bundles/DEFAULT
    """
    bundle = default_bundle_dir()
    if bundle is None or not (bundle / "embedder.onnx").exists():
        raise SystemExit("the protocols reuse the default bundle's embedder: model-assets/bundles/DEFAULT names none")
    return bundle


def build_command(protocol: str, name: str, folder: Path, out: Path, recipe: Recipe, embedder: Path) -> list[str]:
    """The ``trainer.build`` command line of one protocol bundle (the recipe's arguments last).

    @example
        build_command("leave-one-out", "routerarena", folder, out, Recipe(), embedder)
        # [python, -m, trainer.build, --exclude-dataset, routerarena, --version, gen-loo-routerarena, ...]
    """
    version = out.name
    own = ["--byod", str(folder)] if protocol == "byod" else ["--exclude-dataset", name]
    return [sys.executable, "-m", "trainer.build", *own, "--version", version, "--out", str(out),
            "--build-dir", str(out.parent / f"{version}.build"), "--student-from-bundle", str(embedder),
            "--student-dir", str(reused_student_dir(embedder)), *recipe.build_args]


def bundle_key(protocol: str, name: str, folder: Path, recipe: Recipe, embedder: Path) -> tuple[str, dict[str, Any]]:
    """(key, what it covers) of a protocol bundle: the protocol and dataset, the data it trains on
    (the folder's files, or every shared dataset's source), the recipe's arguments, the build's
    source files and the reused embedder. A cached bundle is reused only under the same key.

    @example
        key, parts = bundle_key("byod", "routerarena", folder, Recipe(), embedder)
    """
    data = folder_digest(folder) if protocol == "byod" else shared_data_digest()
    parts = {"protocol": protocol, "dataset": name, "data": data, **recipe.key_parts(),
             "embedder": hashlib.sha256((embedder / "embedder.onnx").read_bytes()).hexdigest()[:16]}
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16], parts


def bundle_for(protocol: str, name: str, folder: Path, recipe: Recipe, work: Path, embedder: Path,
               progress: Progress) -> dict[str, Any]:
    """Build (or find in the work folder) the bundle that protocol ``protocol`` serves ``name`` with.

    @example
        info = bundle_for("byod", "routerarena", folder, Recipe(), WORK_DIR, embedder, print)
        info["path"], info["cached"], info["build_seconds"]
    """
    key, parts = bundle_key(protocol, name, folder, recipe, embedder)
    version = f"gen-{'byod' if protocol == 'byod' else 'loo'}-{name}"
    out = work / "bundles" / key / version
    record = out.parent / f"{version}.json"
    if (out / "manifest.json").exists() and record.exists():   # the build publishes whole folders only
        info = json.loads(record.read_text())
        progress(f"{name}: bundle {version} from the work folder (key {key}, built in {info['build_seconds']}s)")
        return {**info, "path": str(out), "cached": True}
    cmd = build_command(protocol, name, folder, out, recipe, embedder)
    log_path = work / "logs" / f"{key}-{version}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    progress(f"{name}: building {version} (log {log_path})")
    t0 = time.time()
    env = {**os.environ, "PYTHONPATH": str(ASSETS_ROOT), "OMP_NUM_THREADS": "1"}
    with open(log_path, "w") as log:
        proc = subprocess.Popen(cmd, cwd=ASSETS_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True)
        assert proc.stdout is not None
        for line in proc.stdout:
            log.write(line)
            log.flush()   # the log can be followed while the build runs
            if line.startswith("[build "):
                progress(f"{name}: {line.strip()}")
        rc = proc.wait()
    if rc != 0:
        tail = log_path.read_text().splitlines()[-15:]
        raise RuntimeError(f"{name}: build failed (exit {rc}); {log_path}:\n" + "\n".join(tail))
    info = {"version": version, "key": key, "key_parts": parts, "build_seconds": round(time.time() - t0, 1),
            "command": shlex.join(["python3", "-m", "trainer.build", *(_rel(a) for a in cmd[3:])])}
    record.write_text(json.dumps(info, indent=1) + "\n")
    return {**info, "path": str(out), "cached": False}


def score_variants(es: EvalSet, bundle: Path, variants: list[tuple[str, str]], quiz_items: int = QUIZ_ITEMS,
                   mf_epochs: int = 20, progress: Progress = print, n_boot: int = N_BOOT) -> dict[str, dict[str, Any]]:
    """One results block per ``(suffix, identity mode)`` (``served.IDENTITY_MODES``): every
    baseline once (on the served embedding, plus kNN on TF-IDF), the served routers per variant,
    scored as ``npm run eval`` scores them, with paired bootstrap intervals.

    @example
        blocks = score_variants(es, bundle, [("", "refit"), (":quiz-20", "quiz")])
        blocks[":quiz-20"]["routers"]["policy"]["aiq"]
    """
    from .embeddings import tfidf_embeddings
    from .routers import baseline_routers, merge_routers, served_routers
    from .scores import score_dataset
    from .served import ORT_RUNTIME, embed_and_probe, manifest_models, pool_identities, route_pool

    t0 = time.time()
    manifest = json.loads((bundle / "manifest.json").read_text())
    known = manifest_models(manifest)
    probe = any(mode != "manifest" for _, mode in variants) or any(m not in known for m in es.models)
    prompts = embed_and_probe(es, bundle, probe=probe, progress=progress)
    tfidf = tfidf_embeddings(es.train.table.prompts, es.test.table.prompts)
    progress(f"{es.dataset}: {es.train.size} train / {es.test.size} test prompts, {len(es.models)} models; "
             "baselines...")
    base = baseline_routers(es, prompts.train_emb, prompts.test_emb, lambda s: progress(f"{es.dataset}: {s}"),
                            mf_epochs, tfidf)
    blocks = {}
    for suffix, mode in variants:
        ids = pool_identities(es, manifest, prompts, mode, quiz_items)
        served, served_meta = route_pool(es, bundle, ids, W_GRID, progress)
        results = merge_routers(base, served_routers(es, served))
        meta = {"bundle": bundle.name, "ort": ORT_RUNTIME, "baseline_embedding": "served embedder.onnx",
                **ids.meta, "served": served_meta}
        block = score_dataset(es, results, meta)
        block["knn_saves_vs_hull"] = _knn_saves_vs_hull(es, results)
        block["bootstrap"] = bootstrap_block(es, results, served, n_boot)
        block["seconds"] = round(time.time() - t0, 1)
        pol = block["routers"]["policy"]
        progress(f"{es.dataset}{suffix}: hull AIQ {block['hull_aiq']:.4f}, policy AIQ {pol['aiq']:.4f}, "
                 f"saves vs hull {block['savings_vs']['hull']}")
        blocks[suffix] = block
    return blocks


def _knn_saves_vs_hull(es: EvalSet, results: list[Any]) -> float | None:
    by = {r.name: r for r in results}
    if "knn" not in by:
        return None
    s = M.savings(by["knn"].points, by["hull"].points, es.pool())
    return None if s is None or not np.isfinite(s) else round(float(s), 4)


def bootstrap_block(es: EvalSet, results: list[Any], served: Any, n_boot: int = N_BOOT, seed: int = 0
                    ) -> dict[str, Any]:
    """Paired bootstrap over the test prompts (the same resamples for every number): 90% intervals
    of the policy's AIQ minus the hull's and, for each binary pair, of the policy's APGR on the
    pair minus SW ranking's and RouteLLM-MF's.

    @example
        bootstrap_block(es, results, served)["policy_minus_hull_aiq"]   # [lo, hi]
    """
    te = es.test
    hull, aiqs = bootstrap_aiqs({"policy": served.all_choices()}, te.cost, te.quality, es.models, n_boot=n_boot,
                                seed=seed)
    out: dict[str, Any] = {"n": n_boot, "level": CI_LEVEL, "prompts": te.size,
                           "policy_minus_hull_aiq": _ci(aiqs["policy"] - hull)}
    by = {r.name: r for r in results}
    for r in results:
        if not r.name.startswith("policy_pair"):
            continue
        suffix = r.name[len("policy_pair"):]
        s, w = es.models.index(r.pair[0]), es.models.index(r.pair[1])
        routers = {"policy_pair": ("choices", served.pair_strong[(s, w)])}
        for name in ("sw_ranking", "routellm_mf"):
            if by.get(name + suffix) is not None and by[name + suffix].scores is not None:
                routers[name] = ("scores", by[name + suffix].scores)
        ap = bootstrap_apgrs(routers, te.cost, te.quality, s, w, n_boot=n_boot, seed=seed)
        out["pair" + suffix] = {
            "pair": list(r.pair),
            "policy_pair_apgr": _ci(ap["policy_pair"]),
            **{f"policy_pair_minus_{k}_apgr": _ci(ap["policy_pair"] - ap[k]) for k in ap if k != "policy_pair"},
        }
    return out


def _ci(values: np.ndarray) -> list[float] | None:
    try:
        return [round(x, 4) for x in interval(values, CI_LEVEL)]
    except ValueError:
        return None


def run_protocol(protocol: str, names: list[str], recipe: Recipe, work: Path = WORK_DIR, quiz_items: int = QUIZ_ITEMS,
                 mf_epochs: int = 20, progress: Progress = print) -> dict[str, Any]:
    """The whole protocol over ``names``: ``{"meta", "datasets"}`` in ``npm run eval --json``'s shape.

    @example
        res = run_protocol("byod", ["routerarena"], Recipe())
        res["datasets"]["routerarena"]["routers"]["policy"]["aiq"]
    """
    if protocol not in PROTOCOLS:
        raise ValueError(f"protocol must be one of {PROTOCOLS}, not {protocol!r}")
    t0 = time.time()
    embedder = default_embedder_bundle()
    results: dict[str, Any] = {
        "meta": {
            "protocol": protocol,
            "recipe": {"label": recipe.label, "build_args": recipe.build_args, "sources": source_digest(),
                       "commit": _git_commit()},
            "embedder": f"{embedder.name}'s embedder.onnx, reused by every bundle",
            "w_grid": len(W_GRID),
            "embedding": "each protocol bundle's embedder.onnx (the default bundle's), as served",
            "quality_missing": QUALITY_MISSING,
            "cold_start_excluded": list(COLD_START_MODELS),
            "identities": ("the bundle's own (trained on the dataset's train split)" if protocol == "byod" else
                           f"every pool model fitted on the left-out dataset's train split (head frozen), and from "
                           f"a {quiz_items}-item quiz (':quiz-{quiz_items}'; representative items, "
                           "the pool's own prior)"),
            "bootstrap": {"n": N_BOOT, "level": CI_LEVEL, "over": "test prompts, paired"},
            "bundles": {},
            "failed": {},
        },
        "datasets": {},
    }
    variants = [("", "manifest")] if protocol == "byod" else [("", "refit"), (f":quiz-{quiz_items}", "quiz")]
    for i, name in enumerate(names, 1):
        say = (lambda s, i=i: progress(f"[{protocol} {i}/{len(names)}] {s}"))
        folder = export_folder(name, work)
        try:
            info = bundle_for(protocol, name, folder, recipe, work, embedder, say)
        except RuntimeError as err:
            say(str(err))
            results["meta"]["failed"][name] = str(err).splitlines()[0]
            continue
        results["meta"]["bundles"][name] = {k: v for k, v in info.items() if k not in ("path", "key_parts")}
        es = build_evalset(load_byod(folder))   # the eval's --data path: the folder is the customer's data
        blocks = score_variants(es, Path(info["path"]), variants, quiz_items, mf_epochs, say)
        for suffix, block in blocks.items():
            results["datasets"][name + suffix] = block
    results["meta"]["seconds"] = round(time.time() - t0, 1)
    return results


def _rel(arg: str) -> str:
    """A path argument relative to the project root where it lies inside it (tables stay portable)."""
    p = Path(arg)
    return str(p.relative_to(PROJECT_ROOT)) if p.is_absolute() and p.is_relative_to(PROJECT_ROOT) else arg


def _git_commit() -> str | None:
    try:
        head = subprocess.run(["git", "-C", str(PROJECT_ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(PROJECT_ROOT), "status", "--porcelain", "--", "model-assets/trainer"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return (head + (" (trainer/ modified)" if dirty else "")) or None
