"""The policy network: a SetTransformer over the candidate set, conditioned on prompt and preference.

Inputs follow ``docs/bundle-contract.md``: ``embedding [B, dim]``, ``preference [B, 1]``,
``features [B, K, F]``, ``mask [B, K]`` -> ``probs [B, K]`` (masked softmax, padding exactly 0).
Self-attention without positional input keeps it permutation-equivariant in K. A learned multiple
of the greedy utility ``w * p_success - (1 - w) * cost_rel`` is added to the logits: the network
starts from the price rule (one price per dollar within the set) and learns corrections to it.
With ``gate_by_w`` (the default) the correction is multiplied by w, as quality is in the
reward: at small w the choice among cheap models turns on cost differences of a fraction of a
percent of the set's dearest price, which an ungated correction drowned (model-assets/README.md).
"""
from __future__ import annotations

import copy
import math
import warnings
from typing import Any

import torch
from torch import nn

# No "identity": the policy sees a model only through its predicted success and price. With the
# 16-d identity as an input it had learned the 27 training identities and reacted
# unpredictably to an onboarded one: a quiz identity that predicted gemini-1.5-flash almost as well
# as its full identity routed below the bare prior. Without it, 4 of 5 onboarded models keep >= 95%
# of their gain at 20 items (3 of 5 before), at about 0.002 mmlu-pro AIQ over three seeds
# (model-assets/README.md, shipped bundle).
FEATURES_DEFAULT = ("cost_rel", "cost_norm", "p_success", "p_success_rel")
_NEG = -1e9


def feature_layout(d: int, names: tuple[str, ...] = FEATURES_DEFAULT) -> list[dict]:
    """The manifest's ``policy.features`` list for identity size ``d``.

    @example
        feature_layout(16)                      # [{"name": "cost_rel", "size": 1}, ...]
        feature_layout(16, ("identity", "p_success"))  # [{"name": "identity", "size": 16}, {...}]
    """
    return [{"name": n, "size": d if n == "identity" else 1} for n in names]


class SetAttentionBlock(nn.Module):
    """Pre-norm multi-head self-attention over candidates (padding masked as keys) + feed-forward.

    @example
        blk = SetAttentionBlock(64, 4)
        y = blk(torch.randn(2, 5, 64), torch.ones(2, 5))
    """

    def __init__(self, width: int, heads: int) -> None:
        super().__init__()
        self.heads, self.dh = heads, width // heads
        self.ln1, self.ln2 = nn.LayerNorm(width), nn.LayerNorm(width)
        self.qkv = nn.Linear(width, 3 * width)
        self.proj = nn.Linear(width, width)
        self.ff = nn.Sequential(nn.Linear(width, 2 * width), nn.GELU(), nn.Linear(2 * width, width))

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        b, k, w = x.shape[0], x.shape[1], x.shape[2]
        q, kk, v = self.qkv(self.ln1(x)).chunk(3, dim=-1)
        q = q.reshape(b, k, self.heads, self.dh).transpose(1, 2)
        kk = kk.reshape(b, k, self.heads, self.dh).transpose(1, 2)
        v = v.reshape(b, k, self.heads, self.dh).transpose(1, 2)
        att = q @ kk.transpose(-1, -2) / math.sqrt(self.dh) + ((1.0 - mask) * _NEG)[:, None, None, :]
        out = (torch.softmax(att, dim=-1) @ v).transpose(1, 2).reshape(b, k, w)
        x = x + self.proj(out)
        return x + self.ff(self.ln2(x))


class SetPolicy(nn.Module):
    """SetTransformer policy; ``forward`` returns logits, :meth:`probs` the masked softmax.

    ``cost_index`` / ``p_index`` locate the cost feature of the greedy prior (``cost_rel``) and
    ``p_success`` in the feature axis. ``prune_dominated`` records that the policy is trained on, and
    served, only the candidates no other one dominates in (cost, p_success) (manifest
    ``policy.candidates``); the graph itself is the same. ``prompt_input=False`` lets the prompt
    reach the policy only through the per-candidate IRT features (the exported graph then has no
    ``embedding`` input): with the embedding as a direct input the policy memorised training prompts
    and lost to the plain price rule on held-out ones. ``gate_by_w`` multiplies the head's output by
    w (see :meth:`logits`).

    @example
        pol = SetPolicy(dim=256, n_features=19, cost_index=16, p_index=17)
        probs = pol.probs(e, w, feats, mask)   # [B, K]
    """

    def __init__(self, dim: int, n_features: int, cost_index: int, p_index: int, width: int = 64,
                 heads: int = 4, blocks: int = 2, greedy_scale: float = 8.0, prompt_input: bool = True,
                 prune_dominated: bool = False, gate_by_w: bool = True) -> None:
        super().__init__()
        self.gate_by_w = gate_by_w
        self.cost_index, self.p_index = cost_index, p_index
        self.prune_dominated = prune_dominated
        self.prompt_input = prompt_input
        self.prompt = nn.Sequential(nn.Linear((dim if prompt_input else 0) + 1, width), nn.GELU(),
                                    nn.Linear(width, width))
        self.cand = nn.Sequential(nn.Linear(n_features + 1, width), nn.GELU(), nn.Linear(width, width))
        self.blocks = nn.ModuleList([SetAttentionBlock(width, heads) for _ in range(blocks)])
        self.head = nn.Sequential(nn.LayerNorm(width), nn.Linear(width, width), nn.GELU(), nn.Linear(width, 1))
        self.greedy_scale = nn.Parameter(torch.tensor(float(greedy_scale)))

    def forward(self, embedding: torch.Tensor, preference: torch.Tensor, features: torch.Tensor,
                mask: torch.Tensor) -> torch.Tensor:
        w_k = preference[:, None, :].expand(-1, features.shape[1], -1)
        x = self.cand(torch.cat([features, w_k], dim=-1)) + self.context(embedding, preference)[:, None, :]
        for blk in self.blocks:
            x = blk(x, mask)
        return self.logits(x, preference, features, mask)

    def context(self, embedding: torch.Tensor, preference: torch.Tensor) -> torch.Tensor:
        """The prompt MLP's output ``[B, width]`` (it reads the embedding only with ``prompt_input``)."""
        ctx = torch.cat([embedding, preference], dim=-1) if self.prompt_input else preference
        return self.prompt(ctx)

    def logits(self, x: torch.Tensor, preference: torch.Tensor, features: torch.Tensor,
               mask: torch.Tensor) -> torch.Tensor:
        """Logits ``[B, K]`` from the attended candidates ``x``: the head (times w with ``gate_by_w``)
        plus the price-rule prior ``greedy_scale * (w*p_success - (1-w)*cost)``, padding at -1e9.
        Shared with :class:`PolicyExport`.

        @example
            logits = pol.logits(torch.randn(2, 5, 64), w, feats, mask)
        """
        greedy = preference * features[..., self.p_index] - (1.0 - preference) * features[..., self.cost_index]
        head = self.head(x).squeeze(-1)
        if self.gate_by_w:
            head = preference * head
        return head + self.greedy_scale * greedy + (1.0 - mask) * _NEG

    def probs(self, embedding: torch.Tensor, preference: torch.Tensor, features: torch.Tensor,
              mask: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self(embedding, preference, features, mask), dim=-1) * mask


class _Reshape(torch.autograd.Function):
    """Export only: ``x`` reshaped to ``[B, K, *tail]``, written as ONNX ``Reshape`` with the constant
    shape ``[0, -1, *tail]`` (0 copies B, -1 is K).

    torch exports ``x.reshape(b, k, h, dh)`` with ``b, k`` read at run time (Shape, Gather, Unsqueeze,
    Concat: about 10 nodes per reshape), and onnxruntime-web pays a few microseconds per node per
    run whatever K is. A constant shape needs none of that; ``-1`` for K (not 0 as well) keeps an
    empty candidate axis legal and avoids a torch 1.13 export assertion.
    """

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, tail: tuple[int, ...]) -> torch.Tensor:  # type: ignore[override]
        return x.reshape(x.shape[0], x.shape[1], *tail)

    @staticmethod
    def symbolic(g: Any, x: Any, tail: tuple[int, ...]) -> Any:
        with warnings.catch_warnings():   # torch 1.13 flags g.op as deprecated; it is the documented way
            warnings.simplefilter("ignore", FutureWarning)
            shape = g.op("Constant", value_t=torch.tensor([0, -1, *tail], dtype=torch.int64))
            return g.op("Reshape", x, shape)


class _ServedAttention(nn.Module):
    """``SetAttentionBlock`` as exported: the same maths in fewer ONNX nodes (:class:`_Reshape` for the
    heads, and ``1/sqrt(dh)`` folded into the q weights)."""

    def __init__(self, blk: SetAttentionBlock) -> None:
        super().__init__()
        width = blk.qkv.weight.shape[1]
        self.width, self.heads, self.dh = width, blk.heads, blk.dh
        self.ln1, self.ln2, self.proj, self.ff = blk.ln1, blk.ln2, blk.proj, blk.ff
        self.qkv = copy.deepcopy(blk.qkv)
        with torch.no_grad():
            self.qkv.weight[:width] /= math.sqrt(blk.dh)
            self.qkv.bias[:width] /= math.sqrt(blk.dh)

    def forward(self, x: torch.Tensor, key_bias: torch.Tensor) -> torch.Tensor:
        heads = (self.heads, self.dh)
        q, k, v = (_Reshape.apply(t, heads) for t in self.qkv(self.ln1(x)).split(self.width, dim=-1))
        att = q.permute(0, 2, 1, 3) @ k.permute(0, 2, 3, 1) + key_bias   # [B, H, K, K]
        out = (torch.softmax(att, dim=-1) @ v.permute(0, 2, 1, 3)).permute(0, 2, 1, 3)
        x = x + self.proj(_Reshape.apply(out, (self.width,)))
        return x + self.ff(self.ln2(x))


class PolicyExport(nn.Module):
    """What ``policy.onnx`` computes: ``policy.probs``, written for a small graph (same parameters).

    Besides :class:`_ServedAttention`, the preference column of the candidate MLP's first layer is
    applied as ``w * column`` instead of concatenating an expanded ``w`` to every candidate (an
    Expand needs the run-time shape). Equal to ``policy.probs`` to float rounding
    (test/model-assets/policy/test_policy.py).

    @example
        torch.onnx.export(PolicyExport(policy), (e, w, f, m), "policy.onnx", opset_version=17, ...)
    """

    def __init__(self, policy: SetPolicy) -> None:
        super().__init__()
        self.policy = policy
        first = policy.cand[0]
        self.register_buffer("w_features", first.weight[:, :-1].T.detach().clone())
        self.register_buffer("w_preference", first.weight[:, -1].detach().clone())
        self.blocks = nn.ModuleList([_ServedAttention(b) for b in policy.blocks])

    def forward(self, embedding: torch.Tensor, preference: torch.Tensor, features: torch.Tensor,
                mask: torch.Tensor) -> torch.Tensor:
        p = self.policy
        first = features @ self.w_features + (preference * self.w_preference + p.cand[0].bias).unsqueeze(1)
        x = p.cand[2](p.cand[1](first)) + p.context(embedding, preference).unsqueeze(1)
        key_bias = ((1.0 - mask) * _NEG).unsqueeze(1).unsqueeze(1)
        for blk in self.blocks:
            x = blk(x, key_bias)
        return torch.softmax(p.logits(x, preference, features, mask), dim=-1) * mask
