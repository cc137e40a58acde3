"""Interim student embedder trained only on the teacher vectors already cached.

The full student (``trainer.embed.train_student``) needs teacher vectors for its whole corpus;
on a busy machine the teacher fills that cache slowly. This trains the same network, with the same
tokenizer, loss and export, on the part of the corpus whose vectors are cached, so a servable bundle
exists before the cache is complete. ``student.json`` records how much of the corpus was used; a
rebuild with the full student replaces it.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import torch

from .embed.distill import _by_source, _corpus, _cosines, _embed_ragged, fit
from .embed.export import export_onnx
from .embed.model import StudentConfig, StudentNet
from .embed.student import SPACE, load_student
from .embed.teacher import read_cache, text_key
from .embed.tokenizer import DEFAULT_SPEC, Tokenizer


def train_student_from_cache(out_dir: Path, seed: int = 0, epochs: int = 20, log=print) -> dict:
    """Train and export the student on cached teacher vectors only; returns what ``student.json`` holds.

    @example
        info = train_student_from_cache(BUILD_DIR / "v2026-11-22" / "embedder")
    """
    t_start = time.time()
    torch.manual_seed(seed)
    spec = dict(DEFAULT_SPEC)
    cfg = StudentConfig(buckets=spec["buckets"])
    train_all, held_all, held_src_all = _corpus(smoke=False)
    cache = read_cache()
    train = [t for t in train_all if text_key(t) in cache]
    held_pairs = [(t, s) for t, s in zip(held_all, held_src_all) if text_key(t) in cache]
    held, held_src = [t for t, _ in held_pairs], [s for _, s in held_pairs]
    log(f"interim student: {len(train)}/{len(train_all)} train texts and {len(held)}/{len(held_all)} held-out "
        f"prompts have teacher vectors")
    t_train = np.stack([cache[text_key(t)] for t in train]).astype(np.float32)
    tok = Tokenizer(spec)
    rows = [tok.ids(t) for t in train]
    net = StudentNet(cfg)
    fit(net, rows, t_train, epochs=epochs, seed=seed)
    net.eval()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    torch.save({"config": cfg.to_dict(), "spec": spec, "state": net.state_dict()}, out_dir / "embedder.pt")
    (out_dir / "tokenizer.json").write_text(json.dumps(spec, indent=2) + "\n")
    bytes_fp32 = export_onnx(net, out_dir / "embedder.fp32.onnx", quantize=False, max_tokens=spec["max_tokens"])
    bytes_int8 = export_onnx(net, out_dir / "embedder.onnx", quantize=True, max_tokens=spec["max_tokens"])
    info: dict = {"space": SPACE, "dim": cfg.out_dim, "bytes_int8": bytes_int8, "bytes_fp32": bytes_fp32,
                  "n_train": len(train), "n_train_corpus": len(train_all), "n_heldout": len(held),
                  "partial_teacher_corpus": len(train) < len(train_all), "smoke": False}
    if held:
        t_held = np.stack([cache[text_key(t)] for t in held]).astype(np.float32)
        info["heldout_cosine"] = _by_source(_cosines(_embed_ragged(net, [tok.ids(t) for t in held]), t_held), held_src)
        info["heldout_cosine_int8"] = _by_source(_cosines(load_student(out_dir).embed(held), t_held), held_src)
        log(f"interim student held-out cosine to teacher {info['heldout_cosine']['all']:.4f} "
            f"(int8 {info['heldout_cosine_int8']['all']:.4f})")
    info["seconds"] = round(time.time() - t_start, 1)
    (out_dir / "student.json").write_text(json.dumps(info, indent=2) + "\n")
    return info
