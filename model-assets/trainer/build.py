"""Build a bundle end to end: data -> embeddings -> IRT -> policy -> ONNX (int8) -> parity -> manifest.

Usage (from ``model-assets/``, or via ``npm run build:bundle``)::

    python3 -m trainer.build                       # the default bundle (version from bundles/DEFAULT)
    python3 -m trainer.build --smoke --out /tmp/b  # small subset, dev embedding, a few minutes
    python3 -m trainer.build --byod my-evals/ --version v-mine   # your own eval logs (see README)
    python3 -m trainer.build --exclude-dataset routerarena --version v-loo --out /tmp/b/v-loo

Progress lines go to stdout, a summary at the end (with the time of each stage). Seeds are fixed; a
rebuild reproduces metrics within noise (single-threaded torch). The bundle is built in a hidden
folder beside the target and renamed into place only when every stage (parity included) passed: a
failed or interrupted build leaves no bundle folder behind.
"""
from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import os
import re
import shutil
import signal
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from .common_embed import Embedder, dev_embedding_for, embed_cached, texts_digest
from .contract import FEATURE_NAMES
from .data import COLD_START_MODELS, DATASETS, ByodError, OutcomeTable, aliases_of, load_byod, load_dataset
from .embed.recover import recover_student, reused_student_dir
from .export.fuse import fuse_gelu_file
from .export.manifest import write_manifest
from .export.node_bridge import check_manifest
from .export.onnx_export import export_irt, export_policy
from .export.parity import agreement, run_onnx
from .export.quantize import quantize_weight_only
from .irt.evaluate import evaluate_irt
from .irt.joint import JointData, build_joint
from .irt.train import IrtConfig, cross_fit_heads, population_prior, predict, train_irt
from .paths import BUILD_DIR, BUNDLES_DIR, DEFAULT_FILE, default_bundle_dir
from .policy.episodes import EpisodeSampler, make_pool
from .policy.evaluate import evaluate_policy, served_inputs
from .policy.model import FEATURES_DEFAULT, SetPolicy, feature_layout
from .policy.presets import calibrate_presets
from .policy.train import PolicyConfig, ppo, pretrain
from .policy.validation import pair_pools, validation_score
from .predict import evaluate_layer, fit_layer
from .predict.export import export_neighbours, predictor_block
from .predict.fit import CENTROIDS, INDEX_DIM
from .predict.routing import routing_sets
from .scoring.evalset import build_evalset

VAL_PROMPTS = 1000            # mmlu-pro train prompts held out of policy training to pick checkpoints
VAL_RANDOM_PAIRS = 5          # random model pairs the checkpoint is also validated on (plus best/cheapest)
CROSS_FIT_FOLDS = 4           # prompt heads giving the policy out-of-sample p_success (irt.train.cross_fit_heads)
# Policy weights smaller than this stay fp32: the candidate-feature input layer, the attention output
# projections and the head carry the small cost / p_success differences between cheap candidates
# that the price rule ranks by (int8 everywhere: 98.4% top-choice agreement; from 3,000: 99.7%,
# 127 KB instead of 92 KB).
POLICY_INT8_MIN_ELEMENTS = 3000
EMBEDDER_PARITY_ATOL = 1e-4    # bundle embedder.onnx vs the Python student (same int8 maths)
PARITY_PROMPTS = 500          # mmlu-pro test prompts x PARITY_W for the parity check
PARITY_W = (0.0, 0.25, 0.5, 0.75, 1.0)
MAX_ONNX_BYTES = 10 * 1024 * 1024
#: A version names a folder here and an R2 prefix (bundles/<version>/): no separators, no dot first.
VERSION_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
#: Least train / test prompts of a bring-your-own-data folder (validation, cross-fit folds, parity).
BYOD_MIN_TRAIN, BYOD_MIN_TEST = 20, 5


class Progress:
    """Numbered step lines with elapsed time: ``[build 3/9] IRT ... (42s)``; :meth:`stage_seconds`
    gives each stage's duration for the summary.

    @example
        p = Progress(3); p.step("loading"); p.log("2 tables"); p.stage_seconds()  # [("loading", 0.0)]
    """

    def __init__(self, total: int) -> None:
        self.total, self.i, self.t0 = total, 0, time.time()
        self.stages: list[tuple[str, float]] = []

    def step(self, what: str) -> None:
        self.i += 1
        self.stages.append((what, time.time()))
        print(f"[build {self.i}/{self.total}] {what}  ({time.time() - self.t0:.0f}s)", flush=True)

    def log(self, msg: str) -> None:
        print(f"  {msg}", flush=True)

    def stage_seconds(self) -> list[tuple[str, float]]:
        """(stage, seconds) for every stage so far, the last one up to now."""
        ends = [t for _, t in self.stages[1:]] + [time.time()]
        return [(what, end - start) for (what, start), end in zip(self.stages, ends)]


def _smoke_subset(t: OutcomeTable, rng: np.random.Generator, n_train: int, n_test: int) -> OutcomeTable:
    tr, te = np.flatnonzero(t.split == "train"), np.flatnonzero(t.split == "test")
    rows = np.concatenate([rng.choice(tr, min(n_train, len(tr)), replace=False),
                           rng.choice(te, min(n_test, len(te)), replace=False)])
    return t.subset(rows=np.sort(rows))


def load_tables(smoke: bool, byod: Path | None, seed: int, exclude: Sequence[str] = ()) -> list[OutcomeTable]:
    """Every dataset's table but ``exclude`` (or one BYOD table); smoke mode keeps a small random
    subset of each.

    @example
        tables = load_tables(False, None, 0, exclude=["routerarena"])   # six shared datasets
    """
    tables = [load_byod(byod)] if byod else [load_dataset(n) for n in DATASETS if n not in set(exclude)]
    if smoke:
        rng = np.random.default_rng(seed)
        tables = [_smoke_subset(t, rng, 2500 if t.dataset == "mmlu-pro" else 300,
                                700 if t.dataset == "mmlu-pro" else 100) for t in tables]
    return tables


def get_embedder(args: BuildConfig, tables: list[OutcomeTable], student_dir: Path,
                 p: Progress) -> tuple[Embedder, str, dict, dict | None, Path | None]:
    """(embedder, cache tag, manifest embedding block, tokenizer spec, embedder.onnx path or None)."""
    if args.dev_embedding:
        corpus = [x for t in tables for x, s in zip(t.prompts, t.split) if s == "train"]
        dev = dev_embedding_for(corpus, dim=128, seed=args.seed)
        p.log(f"development embedding (TF-IDF + SVD, {dev.dim}-d; not servable by the worker)")
        block = {"space": dev.space, "dim": dev.dim, "provider": "dev", "model": None,
                 "text": "last-user-message", "empty": "not-defined"}
        return dev, texts_digest(corpus), block, None, None
    from .embed import load_student, train_student

    if args.student_from_bundle and not (student_dir / "embedder.pt").exists() and not args.retrain_embedder:
        p.log(f"recovering the student embedder from {args.student_from_bundle} into {student_dir}")
        # into a hidden sibling first: an interrupted recovery must not look like a student folder
        student_dir.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{student_dir.name}.partial-", dir=student_dir.parent))
        try:
            recover_student(args.student_from_bundle, tmp)
            tmp.rename(student_dir)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    if not (student_dir / "embedder.pt").exists() or args.retrain_embedder:
        what = "an interim student (cached teacher vectors only)" if args.interim_student else "the student embedder"
        p.log(f"training {what} into {student_dir}")
        train_student(student_dir, smoke=args.smoke, seed=args.seed, only_cached=args.interim_student)
    student = load_student(student_dir)
    onnx_path = student_dir / "embedder.onnx"
    tag = hashlib.sha256(onnx_path.read_bytes()).hexdigest()[:16]
    block = {"space": student.space, "dim": student.dim, "provider": "local", "model": None,
             "text": "last-user-message", "empty": student.empty}
    p.log(f"student embedder {student.space} ({student.dim}-d), onnx sha256 {tag}")
    return student, tag, block, student.tokenizer_spec, onnx_path


def validation_split(mmlu: OutcomeTable, emb: np.ndarray, n_val: int, seed: int):
    """Hold ``n_val`` mmlu-pro train prompts out of policy training; build an eval set on them."""
    rng = np.random.default_rng(seed + 7)
    train_rows = np.flatnonzero(mmlu.split == "train")
    val = np.zeros(len(mmlu.split), dtype=bool)
    val[rng.choice(train_rows, min(n_val, len(train_rows) // 3), replace=False)] = True
    marked = dataclasses.replace(mmlu, split=np.where(val, "test", "train").astype("<U5"))
    sub = marked.subset(rows=mmlu.split == "train")
    es = build_evalset(sub, exclude=COLD_START_MODELS)
    return val, es, emb[mmlu.split == "train"][sub.split == "test"]


#: The least ``mean_output_tokens`` a manifest may say (the contract wants a positive number): a
#: model whose every logged answer is 0 tokens long is priced by its prompt alone, near enough.
MIN_OUTPUT_TOKENS = 1.0


def model_entries(joint: JointData, irt, tables: list[OutcomeTable]) -> list[dict]:
    """``models[]``: identity mean/std, mean output tokens over graded train rows (at least
    ``MIN_OUTPUT_TOKENS``), list prices."""
    mu = irt.mu.detach().numpy()
    std = np.exp(irt.log_std.detach().numpy())
    out = []
    for k, name in enumerate(joint.models):
        tokens, prices = [], None
        for t in tables:
            if name in t.models:
                j = t.models.index(name)
                tr = t.split == "train"
                obs = ~np.isnan(t.outcome[tr, j])
                tokens.append(t.output_tokens[tr, j][obs])
                prices = t.prices[j]
        out.append({
            "name": name, "aliases": aliases_of(name),
            "identity": [round(float(x), 6) for x in mu[k]],
            "identity_std": [round(float(x), 6) for x in std[k]],
            "mean_output_tokens": round(max(float(np.concatenate(tokens).mean()), MIN_OUTPUT_TOKENS), 1),
            "input_usd_per_mtok": round(float(prices[0]), 6), "output_usd_per_mtok": round(float(prices[1]), 6),
        })
    return out


def parity_check(policy: SetPolicy, irt, joint: JointData, es_test, emb_test: np.ndarray, names, build: Path,
                 bundle: Path, n: int, p: Progress, layer=None) -> dict:
    """Policy top choice: torch fp32 vs fp32/int8 ONNX on onnxruntime-node (basic) and -web; with a
    prediction layer, also ``neighbours.onnx`` against the Python index on both runtimes."""
    e, feats, mask, _ = served_inputs(es_test, emb_test[:n], layer or irt, joint.models, names,
                                      prune=policy.prune_dominated)
    cn = np.tile(es_test.cost_norm()[:n], (len(PARITY_W), 1))
    e_rep = e.repeat(len(PARITY_W), 1)
    f_rep = feats.repeat(len(PARITY_W), 1, 1)
    m_rep = mask.repeat(len(PARITY_W), 1)
    w = torch.tensor(np.repeat(PARITY_W, len(e)), dtype=torch.float32)[:, None]
    with torch.no_grad():
        ref = policy.probs(e_rep, w, f_rep, m_rep).numpy()
    outs = run_onnx({"fp32": build / "policy.fp32.onnx", "int8": bundle / "policy.onnx"},
                    {"embedding": e_rep.numpy(), "preference": w.numpy(), "features": f_rep.numpy(),
                     "mask": m_rep.numpy()}, "probs")
    rep = agreement(ref, outs, cn)
    # IRT: int8 vs torch p_success (absolute error; it feeds the features).
    theta = irt.mu.detach().numpy()
    with torch.no_grad():
        p_ref = predict(irt, emb_test[:n])
    irt_out = run_onnx({"int8": bundle / "irt.onnx"}, {"embedding": emb_test[:n], "identity": theta}, "p_success")
    res = {"policy": rep, "policy_rows": int(len(ref)), "preferences": list(PARITY_W),
           "irt_int8_max_abs_diff": {rt: round(float(np.abs(a - p_ref).max()), 5) for rt, a in irt_out["int8"].items()}}
    if layer is not None:
        cols = np.arange(len(joint.models), dtype=np.int64)
        nb_ref = layer.index.predict(emb_test[:n], cols)
        nb_out = run_onnx({"nb": bundle / "neighbours.onnx"}, {"embedding": emb_test[:n], "columns": cols},
                          "p_neighbour")
        res["neighbours_max_abs_diff"] = {rt: round(float(np.abs(a - nb_ref).max()), 7) for rt,
                                          a in nb_out["nb"].items()}
        p.log(f"neighbours.onnx vs the Python index: max |dp| {res['neighbours_max_abs_diff']}")
    p.log(f"parity: {json.dumps(rep)}; irt int8 max |dp| {res['irt_int8_max_abs_diff']}")
    return res


def embedder_parity(onnx_file: Path, tokenizer_spec: dict, texts: list[str], ref: np.ndarray, p: Progress) -> float:
    """Largest |difference| between the bundle's ``embedder.onnx`` (on both runtimes) and the Python
    student's vectors ``ref`` for ``texts``; the build stops above ``EMBEDDER_PARITY_ATOL``. The
    bundle's file is the student's export with its GELU fused (``export/fuse.py``), so this is what
    shows the rewrite kept the maths.

    @example
        embedder_parity(bundle / "embedder.onnx", spec, test_texts[:200], test_emb[:200], progress)
    """
    from .embed.tokenizer import Tokenizer

    ids = Tokenizer(tokenizer_spec).encode_batch(texts)
    out = run_onnx({"e": onnx_file}, {"ids": ids}, "embedding")["e"]
    worst = max(float(np.abs(v - ref).max()) for v in out.values())
    p.log(f"embedder.onnx vs the Python student on {len(texts)} test prompts: max |diff| {worst:.2e}")
    if worst > EMBEDDER_PARITY_ATOL:
        raise SystemExit(f"embedder.onnx differs from the student by {worst:.2e} > {EMBEDDER_PARITY_ATOL}")
    return worst


@dataclass
class BuildConfig:
    """What one build makes: the command line's settings (``parse_args``; one field per flag, the
    same names), checked, with what they imply (``feature_names``; ``reused_embedder``: the bundle
    whose embedder a bring-your-own-data build reuses)."""

    smoke: bool
    version: str | None
    out: Path | None
    dev_embedding: bool
    student_dir: Path | None
    retrain_embedder: bool
    student_from_bundle: Path | None
    interim_student: bool
    byod: Path | None
    exclude_dataset: list[str]
    build_dir: Path | None
    seed: int
    features: str
    prune_dominated: bool
    policy_width: int
    policy_blocks: int
    pretrain_steps: int
    neighbours: bool
    neighbour_centroids: int
    neighbour_dim: int
    ppo_iters: int
    feature_names: tuple[str, ...] = ()
    reused_embedder: str | None = None


def parse_args(argv: list[str] | None) -> BuildConfig:
    """The build's command line, checked (``argparse`` exits 2 with the reason on a bad one).

    @example
        args = parse_args(["--byod", "my-evals", "--version", "v-mine"])
    """
    ap = argparse.ArgumentParser(prog="python3 -m trainer.build", description=__doc__.split("\n")[0])
    ap.add_argument("--smoke", action="store_true", help="small subset and short training (tests)")
    ap.add_argument("--version", default=None, help="bundle version (default: bundles/DEFAULT)")
    ap.add_argument("--out", type=Path, default=None, help="bundle folder (default: bundles/<version>)")
    ap.add_argument("--dev-embedding", action="store_true", help="TF-IDF dev embedding instead of the student")
    ap.add_argument("--student-dir", type=Path, default=None,
                    help="student embedder folder (default: build/<version>/embedder)")
    ap.add_argument("--retrain-embedder", action="store_true",
                    help="train the student embedder from scratch (on the shared corpus; over an hour on a clean "
                         "clone) instead of reusing one (with --byod the default bundle's is reused)")
    ap.add_argument("--student-from-bundle", type=Path, default=None,
                    help="when the student folder is empty, recover the student from this bundle's embedder.onnx "
                         "instead of training it (e.g. model-assets/bundles/v2026-11-23.4)")
    ap.add_argument("--interim-student", action="store_true",
                    help="if the student must be trained, train it on cached teacher vectors only")
    ap.add_argument("--byod", type=Path, default=None,
                    help="bring-your-own-data folder instead of shared/data (needs --version); reuses the default "
                         "bundle's embedder unless --retrain-embedder, --student-dir or --student-from-bundle says "
                         "otherwise")
    ap.add_argument("--exclude-dataset", action="append", default=[], metavar="NAME",
                    help=f"leave this shared dataset out of training (repeatable; one of {', '.join(DATASETS)}): "
                         "the leave-one-out generalisation protocol's bundles")
    ap.add_argument("--build-dir", type=Path, default=None,
                    help="where the fp32 twins and the checkpoint go (default: build/<version>, or beside --out "
                         "with --smoke)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--features", default=",".join(FEATURES_DEFAULT),
                    help=f"policy input features, from the contract vocabulary (default {','.join(FEATURES_DEFAULT)})")
    ap.add_argument("--prune-dominated", action=argparse.BooleanOptionalAction, default=PolicyConfig.prune_dominated,
                    help="train (and have the worker serve) the policy on the non-dominated candidates only (the "
                         "default, as shipped: faster at 32+ candidates, AIQ level or better on mmlu-pro and "
                         "arena-hard and "
                         "within 0.001 elsewhere here; model-assets/README.md); "
                         "--no-prune-dominated shows it every candidate")
    ap.add_argument("--policy-width", type=int, default=PolicyConfig.width,
                    help=f"policy width, a multiple of its {PolicyConfig.heads} heads (default {PolicyConfig.width})")
    ap.add_argument("--policy-blocks", type=int, default=PolicyConfig.blocks,
                    help=f"policy attention blocks (default {PolicyConfig.blocks}); run time grows with width and "
                         "blocks")
    ap.add_argument("--pretrain-steps", type=int, default=PolicyConfig.pretrain_steps,
                    help=f"policy pairwise pretraining steps (default {PolicyConfig.pretrain_steps})")
    ap.add_argument("--neighbours", action=argparse.BooleanOptionalAction, default=True,
                    help="serve the prediction layer: the IRT corrected by a neighbour estimate over the train "
                         "prompts (trainer/predict; the default); --no-neighbours serves the IRT alone")
    ap.add_argument("--neighbour-centroids", type=int, default=CENTROIDS,
                    help=f"most centroids of the neighbour index (default {CENTROIDS}; fewer prompts: one per prompt)")
    ap.add_argument("--neighbour-dim", type=int, default=INDEX_DIM,
                    help=f"dimensions the index projects prompts onto (default {INDEX_DIM})")
    ap.add_argument("--ppo-iters", type=int, default=PolicyConfig.ppo_iters,
                    help=f"policy PPO iterations after pretraining (default {PolicyConfig.ppo_iters}; 0 = none)")
    args = ap.parse_args(argv)
    if args.policy_width < PolicyConfig.heads or args.policy_width % PolicyConfig.heads or args.policy_blocks < 1:
        ap.error(f"--policy-width must be a positive multiple of {PolicyConfig.heads} and --policy-blocks at least 1")
    if args.pretrain_steps < 1 or args.ppo_iters < 0:
        ap.error("--pretrain-steps must be at least 1 and --ppo-iters at least 0")
    names = tuple(args.features.split(","))
    if any(n not in FEATURE_NAMES for n in names) or not {"cost_rel", "p_success"} <= set(names):
        ap.error(f"--features: names from {', '.join(FEATURE_NAMES)}, including cost_rel and p_success "
                 f"(the policy's price rule reads them); got {args.features!r}")
    if args.byod and not args.version:
        raise SystemExit("--byod needs --version (a bundle of your data must not replace the default bundle)")
    if args.version is not None and not VERSION_PATTERN.fullmatch(args.version):
        ap.error(f"--version {args.version!r}: letters, digits, '.', '_' and '-' only, not starting with '.' or '-'")
    unknown = [n for n in args.exclude_dataset if n not in DATASETS]
    if unknown:
        ap.error(f"--exclude-dataset {', '.join(unknown)}: not a shared dataset ({', '.join(DATASETS)})")
    if args.exclude_dataset and args.byod:
        ap.error("--exclude-dataset leaves a shared dataset out; a --byod build trains on its folder alone")
    if len(set(args.exclude_dataset)) >= len(DATASETS):
        ap.error("--exclude-dataset: at least one shared dataset must stay in training")
    if args.exclude_dataset and not args.version:
        ap.error("--exclude-dataset needs --version (such a bundle must not replace the default bundle)")
    args = BuildConfig(**vars(args), feature_names=names)
    if args.byod and not (args.dev_embedding or args.retrain_embedder or args.student_dir):
        # A customer's build reuses the default bundle's embedder: recovered once into the cache
        # (keyed by that file's hash), so every later build on any folder starts from it at once.
        source = args.student_from_bundle or default_bundle_dir()
        if source is None or not (Path(source) / "embedder.onnx").exists():
            ap.error("--byod reuses the default bundle's embedder, but there is no bundle with an embedder.onnx "
                     "in model-assets/bundles/DEFAULT; give --student-from-bundle, --student-dir or --retrain-embedder")
        args.student_from_bundle = Path(source)
        args.student_dir = reused_student_dir(Path(source))
        args.reused_embedder = Path(source).name
    return args


def publish(staging: Path, final: Path) -> None:
    """Move the finished ``staging`` folder to ``final`` (same file system, so each rename is
    atomic); an older bundle of the same version is moved aside first and removed after.

    @example
        publish(Path("bundles/.v-mine.partial-x1"), Path("bundles/v-mine"))
    """
    old = None
    if final.exists():
        old = final.parent / f".{final.name}.old-{os.getpid()}"
        final.rename(old)
    staging.rename(final)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _interrupted(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)   # unwinds like Ctrl-C, so the staging folder is removed


def check_byod(tables: list[OutcomeTable]) -> None:
    """A bring-your-own-data table must leave the router a choice and every stage some prompts.

    @example
        check_byod([load_byod(Path("my-evals"))])   # raises ByodError with what is missing
    """
    for t in tables:
        n_train, n_test = int((t.split == "train").sum()), int((t.split == "test").sum())
        if len(t.models) < 2:
            raise ByodError(f"{t.dataset}: outcomes for {len(t.models)} model; a router needs at least 2")
        if n_train < BYOD_MIN_TRAIN or n_test < BYOD_MIN_TEST:
            raise ByodError(f"{t.dataset}: {n_train} train and {n_test} test prompts; the build needs at least "
                            f"{BYOD_MIN_TRAIN} and {BYOD_MIN_TEST} (\"split\" in prompts.jsonl, or ids hashed 80/20)")


def main(argv: list[str] | None = None) -> int:
    """Build a bundle; returns the exit status (0 when the bundle was published).

    @example
        main(["--byod", "my-evals", "--version", "v-mine", "--out", "/tmp/bundles/v-mine"])
    """
    args = parse_args(argv)
    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    version = args.version or (DEFAULT_FILE.read_text().strip() if DEFAULT_FILE.exists() else "v2026-11-22")
    if args.smoke and args.out is None:
        args.out = Path(tempfile.mkdtemp(prefix="bundle-smoke-")) / version
    final = (args.out or BUNDLES_DIR / version).resolve()
    if final.name != version:
        raise SystemExit(f"bundle folder name {final.name!r} must equal the version {version!r}")
    build = args.build_dir or (BUILD_DIR / version if not args.smoke else final.parent / "build")
    student_dir = args.student_dir or (BUILD_DIR / version / "embedder" if not args.smoke else build / "embedder")

    p = Progress(10)
    p.step("loading outcome tables")
    try:
        tables = load_tables(args.smoke, args.byod, args.seed, args.exclude_dataset)
        if args.byod:
            check_byod(tables)
    except ByodError as err:
        print(f"error: {err}", file=sys.stderr)
        print("no bundle written", file=sys.stderr)
        return 2
    for t in tables:
        p.log(f"{t.dataset}: {len(t.prompt_ids)} prompts x {len(t.models)} models, {(t.split == 'test').sum()} test")
    if args.reused_embedder:
        p.log(f"embedder: reusing {args.reused_embedder}'s (--retrain-embedder to train one)")

    final.parent.mkdir(parents=True, exist_ok=True)
    build.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{version}.partial-", dir=final.parent))
    os.chmod(staging, 0o777 & ~_umask())   # mkdtemp makes it private; a bundle is read like any folder
    on_main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _interrupted) if on_main else None
    try:
        out = build_bundle(args, tables, staging, version, build, student_dir, p)
        agree = min(v["top_choice_agreement"] for v in out["parity"]["policy"].values())
        p.step(f"publishing {final}" if agree >= 0.99 else "parity failed: nothing published")
        if agree >= 0.99:
            publish(staging, final)
            if not args.smoke and args.out is None and not args.byod and not args.exclude_dataset:
                DEFAULT_FILE.write_text(version + "\n")   # the service ships this bundle
                p.log(f"{DEFAULT_FILE} -> {version}")
        print_summary(out, final, version, args, p)
        if agree < 0.99:
            print(f"FAIL: top-choice agreement {agree} below 0.99; no bundle written", file=sys.stderr)
            return 1
        return 0
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        if on_main:
            signal.signal(signal.SIGTERM, previous)


@dataclass
class Embedded:
    """Stage 2's output: the embedder, its cache tag, manifest block and tokenizer spec, the
    student's ``embedder.onnx`` (``None`` for the dev embedding), and every table's embeddings."""

    embedder: Embedder
    tag: str
    block: dict
    tokenizer: dict | None
    onnx: Path | None
    embs: list[np.ndarray]


@dataclass
class IrtFit:
    """Stages 3-4: the joint data, the IRT (and its matrix-factorisation baseline) and their
    held-out metrics; ``exclude``: the models left out of training (cold-start ones)."""

    exclude: list[str]
    joint: JointData
    cfg: IrtConfig
    irt: Any
    evaluation: dict


@dataclass
class PolicyFit:
    """Stage 5: the trained policy and what it was trained, validated and calibrated with."""

    ref_name: str
    ref_table: OutcomeTable
    ref_emb: np.ndarray
    val_mask: np.ndarray
    layout: list[dict]
    n_features: int
    layer_fit: Any
    pcfg: PolicyConfig
    policy: SetPolicy
    history: list
    chosen: tuple
    greedy_val: float
    val_pairs: list
    presets: dict
    preset_report: dict

    @property
    def layer(self) -> Any:
        """The prediction layer the worker will serve, or ``None`` (the IRT alone)."""
        return self.layer_fit.layer if self.layer_fit else None


def embed_stage(cfg: BuildConfig, tables: list[OutcomeTable], student_dir: Path, p: Progress) -> Embedded:
    """Stage 2: the embedder (student or dev) and every table's prompt embeddings (cached).

    @example
        emb = embed_stage(cfg, tables, student_dir, Progress(10))
    """
    p.step("prompt embeddings")
    embedder, tag, emb_block, tokenizer, embedder_onnx = get_embedder(cfg, tables, student_dir, p)
    embs = []
    for t in tables:
        t0 = time.time()
        embs.append(embed_cached(embedder, t.prompts, tag))
        p.log(f"{t.dataset}: {embs[-1].shape} ({time.time() - t0:.1f}s)")
    return Embedded(embedder, tag, emb_block, tokenizer, embedder_onnx, embs)


def untrained_models(tables: list[OutcomeTable], exclude: Sequence[str] = ()) -> list[str]:
    """Models no train prompt of any table has an outcome of (in a bring-your-own-data folder, one
    graded on test prompts only): the IRT would give them the prior and the manifest no output length.

    @example
        untrained_models([load_byod(Path("my-evals"))])   # e.g. ["model-added-last-week"]
    """
    seen = {m for t in tables for j, m in enumerate(t.models)
            if (~np.isnan(t.outcome[t.split == "train", j])).any()}
    return sorted({m for t in tables for m in t.models} - seen - set(exclude))


def irt_stage(cfg: BuildConfig, tables: list[OutcomeTable], emb: Embedded, p: Progress) -> IrtFit:
    """Stages 3-4: the joint variational IRT over every table's train split (cold-start models
    left out of the shared data) and its held-out metrics against the baselines.

    @example
        fit = irt_stage(cfg, tables, emb, p)
    """
    p.step("variational IRT (joint over datasets, cold-start models excluded)")
    exclude = list([] if cfg.byod else COLD_START_MODELS)
    ungraded = untrained_models(tables, exclude)
    if ungraded:
        p.log(f"left out, no outcome on any train prompt to learn an identity from: {', '.join(ungraded)}")
    exclude += ungraded
    joint = build_joint(tables, emb.embs, exclude=exclude)
    p.log(f"{len(joint.models)} models, {int((~np.isnan(joint.y[joint.rows('train')])).sum())} train observations")
    irt_cfg = IrtConfig(epochs=25 if cfg.smoke else 30, seed=cfg.seed)
    irt = train_irt(joint, irt_cfg, log=p.log)
    mf = train_irt(joint, dataclasses.replace(irt_cfg, linear=True, variational=False, dropout=0.0), log=p.log)

    p.step("IRT held-out metrics vs baselines")
    irt_eval = evaluate_irt(joint, {"irt": irt, "matrix_factorisation": mf}, logistic=True, log=p.log)
    return IrtFit(exclude, joint, irt_cfg, irt, irt_eval)


def policy_stage(cfg: BuildConfig, tables: list[OutcomeTable], emb: Embedded, fit: IrtFit, p: Progress) -> PolicyFit:
    """Stage 5: out-of-sample p_success (cross-fit heads), the prediction layer, then the policy's
    pairwise pretraining and PPO, its checkpoint chosen on held-out validation prompts and its
    presets calibrated there.

    @example
        pol = policy_stage(cfg, tables, emb, fit, p)
    """
    p.step("policy: pairwise pretraining, then multi-objective PPO")
    names, joint, irt, embs = cfg.feature_names, fit.joint, fit.irt, emb.embs
    d = fit.cfg.d
    layout = feature_layout(d, names)
    n_features = sum(f["size"] for f in layout)
    ref_name = "mmlu-pro" if "mmlu-pro" in joint.datasets else joint.datasets[0]
    ref_i = joint.datasets.index(ref_name)
    ref_table, ref_emb = tables[ref_i], embs[ref_i]
    val_mask, val_es, val_emb = validation_split(ref_table, ref_emb, 300 if cfg.smoke else VAL_PROMPTS, cfg.seed)
    val_ws = np.linspace(0, 1, 21)
    # Out-of-sample p_success for policy training and validation: one prompt head per fold, trained
    # on the other folds with the IRT's identities frozen; validation prompts train no head.
    starts = np.cumsum([0] + [len(t.prompt_ids) for t in tables])
    folds = np.random.default_rng(cfg.seed + 11).integers(0, CROSS_FIT_FOLDS, len(joint.split))
    held = np.zeros(len(joint.split), dtype=bool)
    held[starts[ref_i]:starts[ref_i + 1]] = val_mask
    heads = cross_fit_heads(joint, irt, fit.cfg, folds, exclude=held, log=p.log)
    layer_fit = None
    if cfg.neighbours:
        p.log("prediction layer: neighbour index over the train prompts (validation prompts left out), stack")
        fit_rows = np.flatnonzero((joint.split == "train") & ~held)
        layer_fit = fit_layer(joint, irt, heads, folds, fit_rows, centroids=cfg.neighbour_centroids,
                              dim=cfg.neighbour_dim, seed=cfg.seed,
                              routing=routing_sets(tables, joint.models, fit_rows, exclude=fit.exclude), log=p.log)
    # What the policy is trained, validated and tested on: the layer the worker will serve (over the
    # cross-fit head for validation prompts, which no head was trained on), or the IRT alone.
    layer = layer_fit.layer if layer_fit else None
    val_predictor = layer.with_irt(heads[0]) if layer else heads[0]
    # With PPO on, checkpoints are chosen on the whole validation pool and on strong/weak pairs of it
    # (trainer/policy/validation.py). PPO is off by default: even so its checkpoints broke RouteLLM's pairs.
    val_pairs = pair_pools(val_es, VAL_RANDOM_PAIRS, cfg.seed)

    def validate(pol: SetPolicy) -> float:
        return validation_score(pol, val_predictor, joint.models, val_es, val_emb, names, val_ws, val_pairs)

    pools = []
    for i, (t, e) in enumerate(zip(tables, embs)):
        rows = t.split == "train"
        if t.dataset == ref_name:
            rows = rows & ~val_mask
        if len([m for m in t.models if m in joint.models]) >= 2:
            index_rows = layer_fit.index_row[starts[i]:starts[i + 1]][rows] if layer_fit else None
            pools.append(make_pool(t.subset(rows=rows), e[rows], joint.models,
                                   fold=folds[starts[i]:starts[i + 1]][rows], index_rows=index_rows))
    weights = [3.0 if pl.name == ref_name else 1.0 for pl in pools]
    pcfg = PolicyConfig(seed=cfg.seed, prune_dominated=cfg.prune_dominated, width=cfg.policy_width,
                        blocks=cfg.policy_blocks, pretrain_steps=cfg.pretrain_steps, ppo_iters=cfg.ppo_iters)
    if cfg.smoke:
        pcfg = dataclasses.replace(pcfg, pretrain_steps=40, ppo_iters=4, ppo_batch=512, eval_every=2)
    sampler = EpisodeSampler(pools, irt, names, seed=cfg.seed, pool_weights=weights, heads=heads,
                             prune_dominated=pcfg.prune_dominated, layer=layer)
    torch.manual_seed(cfg.seed)
    offsets = {f["name"]: sum(g["size"] for g in layout[:i]) for i, f in enumerate(layout)}
    policy = SetPolicy(joint.emb.shape[1], n_features, cost_index=offsets["cost_rel"], p_index=offsets["p_success"],
                       width=pcfg.width, heads=pcfg.heads, blocks=pcfg.blocks, prompt_input=pcfg.prompt_input,
                       prune_dominated=pcfg.prune_dominated, gate_by_w=pcfg.gate_by_w)
    greedy_val = evaluate_policy(policy, val_predictor, joint.models, val_es.test, val_emb, names,
                                 ws=val_ws)["irt_greedy"]["aiq"]
    p.log(f"validation AIQ of IRT-greedy: {greedy_val:.4f}")
    pretrain(policy, sampler, pcfg, validate=None, log=p.log)
    policy, history = ppo(policy, sampler, pcfg, validate=validate, log=p.log)
    chosen = max(history, key=lambda h: h[1]) if history else (None, None)
    p.log(f"kept checkpoint: PPO iteration {chosen[0]} (0 = pretrained only), validation score {chosen[1]:.4f} "
          f"(AIQ gain over the hull: half the whole pool, half {len(val_pairs)} pairs)")
    presets, preset_report = calibrate_presets(policy, val_predictor, joint.models, val_es.test, val_emb, names)
    p.log(f"presets {presets} ({json.dumps(preset_report)})")
    return PolicyFit(ref_name, ref_table, ref_emb, val_mask, layout, n_features, layer_fit, pcfg, policy, history,
                     chosen, greedy_val, val_pairs, presets, preset_report)


def evaluate_stage(cfg: BuildConfig, fit: IrtFit, pol: PolicyFit, p: Progress) -> tuple[Any, np.ndarray, dict]:
    """Stage 6: the policy on the reference dataset's test split against IRT-greedy and the hull:
    (eval set, test embeddings, the policy's evaluation).

    @example
        es, test_emb, policy_eval = evaluate_stage(cfg, fit, pol, p)
    """
    p.step(f"policy on the {pol.ref_name} test split (AIQ, CTM vs IRT-greedy and the single-model hull)")
    es = build_evalset(pol.ref_table, exclude=fit.exclude)
    test_emb = pol.ref_emb[pol.ref_table.split == "test"]
    predictor = pol.layer or fit.irt
    policy_eval = evaluate_policy(pol.policy, predictor, fit.joint.models, es.test, test_emb, cfg.feature_names)
    p.log(json.dumps({k: v for k, v in policy_eval.items() if k != "policy_points"}))
    return es, test_emb, policy_eval


def export_stage(fit: IrtFit, pol: PolicyFit, emb: Embedded, bundle: Path, build: Path, p: Progress) -> int:
    """Stage 7: fp32 ONNX twins into ``build``, the int8 graphs (and the neighbour index and fused
    embedder) into ``bundle``, a torch checkpoint; returns the bundle's ONNX bytes (at most 10 MB).

    @example
        total_onnx = export_stage(fit, pol, emb, staging, build, p)
    """
    p.step("ONNX export (fp32 twins in build/) and int8 weight-only quantisation")
    joint, irt, policy, layer = fit.joint, fit.irt, pol.policy, pol.layer
    export_irt(irt.head, joint.emb.shape[1], fit.cfg.d, build / "irt.fp32.onnx")
    export_policy(policy, joint.emb.shape[1], pol.n_features, build / "policy.fp32.onnx")
    for name in ("irt", "policy"):
        n_q = quantize_weight_only(build / f"{name}.fp32.onnx", bundle / f"{name}.onnx",
                                   min_elements=POLICY_INT8_MIN_ELEMENTS if name == "policy" else 256)
        p.log(f"{name}.onnx: {n_q} weights int8, {(bundle / f'{name}.onnx').stat().st_size} bytes")
    if layer is not None:
        p.log(f"neighbours.onnx: {export_neighbours(layer.index, bundle / 'neighbours.onnx')} bytes")
    if emb.onnx is not None:
        fuse_gelu_file(emb.onnx, bundle / "embedder.onnx")   # the student's file, GELU fused
    torch.save({"irt": irt.state_dict(), "policy": policy.state_dict(), "models": joint.models,
                "irt_config": dataclasses.asdict(fit.cfg), "policy_config": dataclasses.asdict(pol.pcfg)},
               build / "checkpoint.pt")
    total_onnx = sum(f.stat().st_size for f in bundle.glob("*.onnx"))
    if total_onnx > MAX_ONNX_BYTES:
        raise SystemExit(f"ONNX files total {total_onnx} bytes > 10 MB")
    return total_onnx


def parity_stage(cfg: BuildConfig, fit: IrtFit, pol: PolicyFit, emb: Embedded, es_test: Any, test_emb: np.ndarray,
                 bundle: Path, build: Path, p: Progress) -> dict:
    """Stage 8: torch fp32 against the int8 graphs on both ONNX runtimes (and the bundle's embedder
    against the Python student).

    @example
        parity = parity_stage(cfg, fit, pol, emb, es.test, test_emb, staging, build, p)
    """
    p.step("parity: torch fp32 vs int8 on onnxruntime-node (basic) and onnxruntime-web")
    parity = parity_check(pol.policy, fit.irt, fit.joint, es_test, test_emb, cfg.feature_names, build, bundle,
                          min(PARITY_PROMPTS, len(test_emb)), p, layer=pol.layer)
    if emb.onnx is not None:
        rows = np.flatnonzero(pol.ref_table.split == "test")[:200]
        parity["embedder_max_abs_diff"] = round(embedder_parity(
            bundle / "embedder.onnx", emb.tokenizer, [pol.ref_table.prompts[i] for i in rows], test_emb[:len(rows)],
            p), 7)
    return parity


def manifest_stage(cfg: BuildConfig, tables: list[OutcomeTable], version: str, emb: Embedded, fit: IrtFit,
                   pol: PolicyFit, policy_eval: dict, parity: dict, bundle: Path, p: Progress) -> dict:
    """Stage 9: ``manifest.json`` with the models, the evaluation and the training data's summary.

    @example
        manifest = manifest_stage(cfg, tables, version, emb, fit, pol, policy_eval, parity, staging, p)
    """
    p.step("manifest")
    joint, irt, layer, layer_fit = fit.joint, fit.irt, pol.layer, pol.layer_fit
    models = model_entries(joint, irt, tables)
    eval_summary = {
        "split": "test (fixed splits of shared/data/README.md)",
        "policy": {pol.ref_name: {k: v for k, v in policy_eval.items()}, "kept_ppo_iteration": pol.chosen[0],
                   "validation_history": [[i, round(s, 5)] for i, s in pol.history],
                   "validation_score": "AIQ gain over the single-model hull on the validation prompts: half the "
                                       f"whole pool, half the mean of {len(pol.val_pairs)} pairs "
                                       "(trainer/policy/validation.py)",
                   "validation_irt_greedy_aiq": pol.greedy_val, "presets": pol.preset_report},
        "irt": fit.evaluation,
        **({"prediction_layer": {"fit": layer_fit.report, "test_log_loss": evaluate_layer(joint, layer)}}
           if layer_fit else {}),
        "parity": parity,
        "smoke": bool(cfg.smoke),
    }
    training_data = {
        "datasets": {t.dataset: {"prompts": len(t.prompt_ids), "train": int((t.split == "train").sum()),
                                 "test": int((t.split == "test").sum()), "models": len(t.models)} for t in tables},
        "excluded_models": list(fit.exclude),
        "identity_models": len(joint.models),
        "train_observations": int((~np.isnan(joint.y[joint.rows("train")])).sum()),
        "policy_validation_prompts": int(pol.val_mask.sum()),
        "seed": cfg.seed,
        "embedding_cache_tag": emb.tag,
        "policy_config": dataclasses.asdict(pol.pcfg),
    }
    if emb.onnx is not None and (emb.onnx.parent / "student.json").exists():
        training_data["embedder"] = json.loads((emb.onnx.parent / "student.json").read_text())
    manifest = write_manifest(bundle, version, emb.block, emb.tokenizer, fit.cfg.d, population_prior(irt),
                              pol.layout, models, eval_summary, training_data, presets=pol.presets,
                              candidates="non-dominated" if pol.pcfg.prune_dominated else "all",
                              predictor=predictor_block(layer.index, layer.stack) if layer else None)
    if not cfg.dev_embedding:   # a development bundle is not servable, by design (no embedder.onnx)
        p.log(check_manifest(bundle / "manifest.json"))
    return manifest


def build_bundle(cfg: BuildConfig, tables: list[OutcomeTable], bundle: Path, version: str, build: Path,
                 student_dir: Path, p: Progress) -> dict:
    """Stages 2-9 on loaded ``tables``: embeddings, IRT, policy, test, export into ``bundle`` (the
    staging folder), parity, manifest. Returns what the summary reports.

    @example
        out = build_bundle(cfg, tables, staging, "v-mine", build, student_dir, Progress(10))
    """
    emb = embed_stage(cfg, tables, student_dir, p)
    fit = irt_stage(cfg, tables, emb, p)
    pol = policy_stage(cfg, tables, emb, fit, p)
    es, test_emb, policy_eval = evaluate_stage(cfg, fit, pol, p)
    total_onnx = export_stage(fit, pol, emb, bundle, build, p)
    parity = parity_stage(cfg, fit, pol, emb, es.test, test_emb, bundle, build, p)
    manifest = manifest_stage(cfg, tables, version, emb, fit, pol, policy_eval, parity, bundle, p)
    return {"manifest": manifest, "policy_eval": policy_eval, "irt_eval": fit.evaluation, "parity": parity,
            "ref_name": pol.ref_name, "total_onnx": total_onnx}


def print_summary(out: dict, final: Path, version: str, args: BuildConfig, p: Progress) -> None:
    """The closing summary: files, IRT and policy metrics, parity, time per stage, next step."""
    pe, ref_name, parity = out["policy_eval"], out["ref_name"], out["parity"]
    print("\n=== bundle summary ===")
    print(f"bundle      {final}  (version {version})")
    for name, f in out["manifest"]["files"].items():
        print(f"file        {name}.onnx  {f['bytes']} bytes  sha256 {f['sha256'][:12]}")
    print(f"onnx total  {out['total_onnx']} bytes")
    for k, v in out["irt_eval"].get(ref_name, {}).items():
        print(f"irt {ref_name:9s} {k:22s} log-loss {v['log_loss']}  auc {v['auc']}  ece {v['ece']}")
    print(f"policy      AIQ {pe['policy']['aiq']} (CTM {pe['policy']['ctm']})  IRT-greedy AIQ {pe['irt_greedy']['aiq']}"
          f" (CTM {pe['irt_greedy']['ctm']})  single-model hull AIQ {pe['single_model_hull_aiq']}  ({ref_name} test "
          "split)")
    agree = min(v["top_choice_agreement"] for v in parity["policy"].values())
    print(f"parity      min top-choice agreement {agree}  over {parity['policy_rows']} rows")
    for what, sec in p.stage_seconds():
        print(f"stage       {sec:6.1f}s  {what}")
    print(f"elapsed     {time.time() - p.t0:.0f}s")
    if args.byod and agree >= 0.99:
        print(f"next        npm run eval -- --data {args.byod} --bundle {final} --json results.json")


if __name__ == "__main__":
    sys.exit(main())
