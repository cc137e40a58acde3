"""A trained student loaded for use in Python: the same int8 maths as ``embedder.onnx``."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from .model import DeployedStudentNet, StudentConfig, StudentNet
from .tokenizer import Tokenizer, TokenizerSpec

SPACE = "router-local-v1"
EMPTY = "zero-ids-give-fixed-vector"


class Student:
    """Embeds texts as the worker does: tokenizer spec -> int8 deployed net -> L2-normalised.

    @example
        s = load_student(Path("build/embedder"))
        s.embed(["hi", ""]).shape   # (2, 512)
    """

    space: str = SPACE
    empty: str = EMPTY

    def __init__(self, net: StudentNet, spec: TokenizerSpec) -> None:
        self.tokenizer = Tokenizer(spec)
        self.tokenizer_spec: TokenizerSpec = dict(spec)
        self.net = DeployedStudentNet(net, quantize=True).eval()
        self.dim: int = net.cfg.out_dim

    def embed(self, texts: Sequence[str], batch: int = 256) -> np.ndarray:
        """float32 ``[N, dim]``, L2-normalised; an empty text gets the fixed empty vector."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        with torch.no_grad():
            for i in range(0, len(texts), batch):
                ids = torch.from_numpy(self.tokenizer.encode_batch(texts[i:i + batch]))
                out[i:i + len(ids)] = self.net(ids).numpy()
        return out


def load_student(out_dir: Path) -> Student:
    """Loads ``embedder.pt`` (+ its tokenizer spec) written by ``train_student``."""
    ckpt = torch.load(Path(out_dir) / "embedder.pt", map_location="cpu")
    net = StudentNet(StudentConfig(**ckpt["config"]))
    net.load_state_dict(ckpt["state"])
    spec = ckpt["spec"]
    disk = Path(out_dir) / "tokenizer.json"
    if disk.exists() and json.loads(disk.read_text()) != spec:
        raise ValueError(f"{disk} differs from the spec saved in embedder.pt")
    return Student(net.eval(), spec)
