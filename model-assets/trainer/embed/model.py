"""The student embedder: a weighted bag of hashed n-gram vectors, a small head, L2-normalised.

``embedding = normalise(head(sum_i w[id_i] * table[id_i] / sum_i w[id_i]))`` over non-padding ids;
a row with no ids (empty prompt) gets the learned ``empty`` vector instead of the head's output.
``w`` is a learned positive weight per bucket (frequent, uninformative features learn small weights,
like IDF). Training uses a ragged ``EmbeddingBag``; export uses ``DeployedStudentNet``, the same maths
on padded ``[B, T]`` ids with an int8 table gathered *before* dequantising (so a request touches
``T x dim`` weights, not the whole table).
"""
from __future__ import annotations

import copy
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass
class StudentConfig:
    """Shape of the student (``buckets`` must equal the tokenizer spec's)."""

    buckets: int = 65536
    table_dim: int = 96
    hidden: int = 256
    out_dim: int = 512

    def to_dict(self) -> dict:
        """Plain dict (saved next to the weights)."""
        return asdict(self)


class StudentNet(nn.Module):
    """Trainable student (ragged input: flat ids + offsets, as ``nn.EmbeddingBag`` takes them)."""

    def __init__(self, cfg: StudentConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.table = nn.EmbeddingBag(cfg.buckets, cfg.table_dim, mode="sum", padding_idx=0, sparse=True)
        nn.init.normal_(self.table.weight, std=0.1)
        with torch.no_grad():
            self.table.weight[0].zero_()
        # softplus(0.5413) = 1: every bucket starts with weight 1 (plain mean).
        self.raw_weight = nn.Parameter(torch.full((cfg.buckets,), 0.5413))
        self.fc1 = nn.Linear(cfg.table_dim, cfg.hidden)
        self.fc2 = nn.Linear(cfg.hidden, cfg.out_dim)
        self.skip = nn.Linear(cfg.table_dim, cfg.out_dim, bias=False)
        self.empty = nn.Parameter(torch.randn(cfg.out_dim) * 0.05)

    def bucket_weight(self) -> torch.Tensor:
        """Positive per-bucket weight, 0 for padding."""
        w = F.softplus(self.raw_weight)
        return torch.cat([w.new_zeros(1), w[1:]])

    def head(self, pooled: torch.Tensor) -> torch.Tensor:
        """Pooled bag ``[B, table_dim]`` -> unnormalised ``[B, out_dim]``."""
        return self.fc2(F.gelu(self.fc1(pooled))) + self.skip(pooled)

    def forward(self, flat_ids: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
        """``flat_ids`` int64 [total] (no padding), ``offsets`` int64 [B] -> normalised ``[B, out_dim]``."""
        w = self.bucket_weight()[flat_ids]
        num = self.table(flat_ids, offsets, per_sample_weights=w)
        seg = torch.zeros(offsets.shape[0], dtype=w.dtype)
        lengths = torch.diff(torch.cat([offsets, offsets.new_tensor([flat_ids.shape[0]])]))
        seg = seg.index_add(0, torch.repeat_interleave(torch.arange(offsets.shape[0]), lengths), w)
        has = (seg > 0).unsqueeze(1)
        pooled = num / seg.clamp_min(1e-6).unsqueeze(1)
        y = torch.where(has, self.head(pooled), self.empty.expand(offsets.shape[0], -1))
        return F.normalize(y, dim=1, eps=1e-6)


class DeployedStudentNet(nn.Module):
    """Export form: padded int64 ids ``[B, T]`` -> ``embedding [B, out_dim]``, int8 table.

    Built from a trained ``StudentNet`` with per-row symmetric int8 quantisation of the table
    (the head stays float32). ``quantize=False`` keeps the fp32 table (the parity twin).
    """

    def __init__(self, student: StudentNet, quantize: bool = True) -> None:
        super().__init__()
        table = student.table.weight.detach().clone()
        if quantize:
            amax = table.abs().amax(dim=1)
            scale = torch.where(amax > 0, amax / 127.0, torch.ones_like(amax))
            q = torch.clamp(torch.round(table / scale[:, None]), -127, 127).to(torch.int8)
            self.register_buffer("table_q", q)
            self.row_scale = scale.float()
        else:
            self.register_buffer("table_f", table)
        self.quantized = quantize
        weight = student.bucket_weight().detach().clone()
        self.register_buffer("weight", weight)
        if quantize:
            self.register_buffer("scaled_weight", weight * self.row_scale)
        # The head stays float32: it is small (~0.8 MB), and dequantising it on every request
        # (DequantizeLinear runs per call in ORT at "basic") cost more than the whole bag.
        self.fc1, self.fc2, self.skip = (copy.deepcopy(m) for m in (student.fc1, student.fc2, student.skip))
        self.register_buffer("empty", student.empty.detach().clone())

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        """``ids`` int64 [B, T], 0 = padding -> ``embedding`` float32 [B, out_dim], L2-normalised."""
        w = self.weight[ids]  # [B, T]; padding has weight 0
        den = w.sum(dim=1, keepdim=True)
        # The weighted sum as one batched MatMul ([B, 1, T] x [B, T, dim]): fewer passes over the
        # [B, T, dim] rows than Mul + ReduceSum. For the int8 table the row scale joins the weight.
        if self.quantized:
            factor, rows = self.scaled_weight[ids], self.table_q[ids].float()
        else:
            factor, rows = w, self.table_f[ids]
        num = torch.matmul(factor.unsqueeze(1), rows).squeeze(1)
        pooled = num / den.clamp_min(1e-6)
        y = self.fc2(F.gelu(self.fc1(pooled))) + self.skip(pooled)
        y = torch.where(den > 0, y, self.empty.unsqueeze(0))
        return y / y.norm(dim=1, keepdim=True).clamp_min(1e-6)
