"""Distils the USE-Lite teacher into the hashed n-gram student and writes the embedder files.

Corpus: every prompt of every dataset (train split only for training: test-split prompts of all
datasets are never trained on and are the held-out set) plus every model answer to a train-split
prompt (about 33k distinct texts in all). Loss: 1 - cosine to the teacher vector. ``smoke=True`` trains on a few
hundred short prompts for tests.
"""
from __future__ import annotations

import json
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from .corpus import split_corpus
from .export import export_onnx
from .model import StudentConfig, StudentNet
from .student import SPACE, load_student
from .teacher import read_cache, teacher_embeddings, text_key
from .tokenizer import DEFAULT_SPEC, Tokenizer, TokenizerSpec

#: Epochs of a full build: the whole corpus is ~4x the texts of the first interim student, so
#: fewer passes give more steps than its 20 did.
FULL_EPOCHS = 10


@dataclass
class StudentInfo:
    """What ``train_student`` built and measured."""

    space: str
    dim: int
    buckets: int
    table_dim: int
    max_tokens: int
    bytes_int8: int
    bytes_fp32: int
    n_train: int
    n_heldout: int
    heldout_cosine: dict[str, float] = field(default_factory=dict)
    heldout_cosine_int8: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0
    smoke: bool = False
    n_train_corpus: int = 0
    partial_teacher_corpus: bool = False

    def to_dict(self) -> dict:
        """Plain dict (written to ``student.json``)."""
        return asdict(self)


def _ragged(ids_rows: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
    flat = torch.tensor([i for row in ids_rows for i in row], dtype=torch.int64)
    lengths = torch.tensor([len(r) for r in ids_rows], dtype=torch.int64)
    offsets = torch.cumsum(lengths, 0) - lengths
    return flat, offsets


def _embed_ragged(net: StudentNet, rows: list[list[int]], batch: int = 512) -> np.ndarray:
    out = []
    with torch.no_grad():
        for i in range(0, len(rows), batch):
            out.append(net(*_ragged(rows[i:i + batch])).numpy())
    return np.concatenate(out) if out else np.zeros((0, net.cfg.out_dim), np.float32)


def _cosines(pred: np.ndarray, target: np.ndarray) -> np.ndarray:
    t = target / np.maximum(np.linalg.norm(target, axis=1, keepdims=True), 1e-9)
    p = pred / np.maximum(np.linalg.norm(pred, axis=1, keepdims=True), 1e-9)
    return (p * t).sum(1)


def _by_source(cos: np.ndarray, sources: list[str]) -> dict[str, float]:
    out = {"all": float(cos.mean()) if len(cos) else float("nan")}
    for s in sorted(set(sources)):
        m = np.array([x == s for x in sources])
        out[s] = float(cos[m].mean())
    return out


def _drop_ids(rows: list[list[int]], p: float, rng: np.random.Generator) -> list[list[int]]:
    """Token dropout: each id of a row with at least 5 ids is dropped with probability ``p`` (a
    regulariser for a bag model; short rows are kept whole so no text turns into "empty")."""
    if p <= 0:
        return rows
    out = []
    for r in rows:
        if len(r) < 5:
            out.append(r)
            continue
        keep = rng.random(len(r)) >= p
        kept = [i for i, k in zip(r, keep) if k]
        out.append(kept or r[:1])
    return out


def fit(net: StudentNet, rows: list[list[int]], target: np.ndarray, epochs: int, seed: int,
        batch: int = 128, lr: float = 3e-3, dropout: float = 0.0, log: bool = True) -> None:
    """Minimises mean (1 - cosine) to the normalised teacher vectors (lazy Adam on the table, Adam
    elsewhere, lr decayed linearly to 10%, optional token dropout); one line per epoch."""
    g = torch.Generator().manual_seed(seed)
    rng = np.random.default_rng(seed)
    tgt = torch.from_numpy(target / np.linalg.norm(target, axis=1, keepdims=True)).float()
    # The table's gradient is sparse (a batch touches a few thousand of its rows): SparseAdam for
    # it, Adam for the rest; both decay linearly to 10%.
    table = [net.table.weight]
    rest = [p for p in net.parameters() if p is not net.table.weight]
    opts = [torch.optim.SparseAdam(table, lr=lr), torch.optim.Adam(rest, lr=lr)]
    steps = epochs * ((len(rows) + batch - 1) // batch)
    scheds = [torch.optim.lr_scheduler.LambdaLR(o, lambda s: 1.0 - 0.9 * s / max(1, steps)) for o in opts]
    for ep in range(epochs):
        t0 = time.time()
        perm = torch.randperm(len(rows), generator=g).tolist()
        total = 0.0
        for i in range(0, len(perm), batch):
            idx = perm[i:i + batch]
            flat, offsets = _ragged(_drop_ids([rows[j] for j in idx], dropout, rng))
            pred = net(flat, offsets)
            loss = (1.0 - (pred * tgt[idx]).sum(1)).mean()
            for o in opts:
                o.zero_grad()
            loss.backward()
            for o, sch in zip(opts, scheds):
                o.step()
                sch.step()
            total += float(loss) * len(idx)
        if log:
            print(f"[student] epoch {ep + 1}/{epochs}  train cos {1 - total / len(rows):.4f}  "
                  f"{time.time() - t0:.1f}s", file=sys.stderr, flush=True)


def train_student(out_dir: Path, smoke: bool = False, seed: int = 0,
                  cfg: StudentConfig | None = None, spec: TokenizerSpec | None = None,
                  epochs: int | None = None, only_cached: bool = False,
                  dropout: float = 0.25) -> StudentInfo:
    """Trains the student on the corpus and writes ``embedder.pt``, ``embedder.fp32.onnx``,
    ``embedder.onnx`` (int8), ``tokenizer.json`` and ``student.json`` into ``out_dir``.

    Runs the Node teacher for texts missing from the cache first (the whole corpus on a clean
    clone: ~36.5k texts with the held-out prompts, over an hour on one core: prompts run at ~20
    texts/s, long answers at ~6; a few hundred in smoke mode). ``only_cached=True`` instead trains
    on the part of the corpus whose teacher vectors are cached (``student.json`` says how much:
    ``n_train`` of ``n_train_corpus``).

    @example
        info = train_student(Path("build/embedder"), smoke=True)
        info.dim   # 512
    """
    t_start = time.time()
    torch.manual_seed(seed)
    spec = dict(spec or DEFAULT_SPEC)
    cfg = cfg or StudentConfig(buckets=spec["buckets"])
    if cfg.buckets != spec["buckets"]:
        raise ValueError("StudentConfig.buckets must equal the tokenizer spec's buckets")
    train, held, held_src = split_corpus(smoke)
    n_corpus = len(train)
    if only_cached:
        cache = read_cache()
        train = [t for t in train if text_key(t) in cache]
        pairs = [(t, s) for t, s in zip(held, held_src) if text_key(t) in cache]
        held, held_src = [t for t, _ in pairs], [s for _, s in pairs]
    print(f"[student] corpus: {len(train)}/{n_corpus} train texts, {len(held)} held-out prompts", file=sys.stderr)
    target = teacher_embeddings(train + held, run_missing=not only_cached)
    t_train, t_held = target[: len(train)], target[len(train):]
    tok = Tokenizer(spec)
    t0 = time.time()
    rows = [tok.ids(t) for t in train]
    held_rows = [tok.ids(t) for t in held]
    print(f"[student] tokenised in {time.time() - t0:.0f}s", file=sys.stderr)

    net = StudentNet(cfg)
    fit(net, rows, t_train, epochs=epochs or (30 if smoke else FULL_EPOCHS), seed=seed, dropout=dropout)
    net.eval()
    cos = _cosines(_embed_ragged(net, held_rows), t_held)

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    torch.save({"config": cfg.to_dict(), "spec": spec, "state": net.state_dict()}, out_dir / "embedder.pt")
    (out_dir / "tokenizer.json").write_text(json.dumps(spec, indent=2) + "\n")
    bytes_fp32 = export_onnx(net, out_dir / "embedder.fp32.onnx", quantize=False, max_tokens=spec["max_tokens"])
    bytes_int8 = export_onnx(net, out_dir / "embedder.onnx", quantize=True, max_tokens=spec["max_tokens"])

    int8 = load_student(out_dir)  # the int8 maths, as served
    cos8 = _cosines(int8.embed(held), t_held)
    info = StudentInfo(
        space=SPACE, dim=cfg.out_dim, buckets=cfg.buckets, table_dim=cfg.table_dim,
        max_tokens=spec["max_tokens"], bytes_int8=bytes_int8, bytes_fp32=bytes_fp32,
        n_train=len(train), n_heldout=len(held), heldout_cosine=_by_source(cos, held_src),
        heldout_cosine_int8=_by_source(cos8, held_src), seconds=time.time() - t_start, smoke=smoke,
        n_train_corpus=n_corpus, partial_teacher_corpus=len(train) < n_corpus,
    )
    (out_dir / "student.json").write_text(json.dumps(info.to_dict(), indent=2) + "\n")
    print(f"[student] held-out cosine to teacher {info.heldout_cosine['all']:.4f} "
          f"(int8 {info.heldout_cosine_int8['all']:.4f}); embedder.onnx {bytes_int8 / 1e6:.2f} MB; "
          f"{info.seconds:.0f}s", file=sys.stderr)
    return info
