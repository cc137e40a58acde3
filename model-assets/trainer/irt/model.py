"""The IRT networks: prompt -> (a(e), c(e)) and per-model Gaussian identities theta_k.

``logit[b, k] = a(e_b) . theta_k - c(e_b)``. The last component of ``a`` is the constant 1, so the
last component of ``theta`` is the model's bias (the contract's required bilinear form: onboarding
fits a new theta by Bayesian logistic regression with ``a`` and ``c`` frozen).
"""
from __future__ import annotations

import torch
from torch import nn


class PromptHead(nn.Module):
    """``e -> (a(e) [B, d], c(e) [B])`` with a shared hidden layer; ``linear=True`` gives plain MF.

    @example
        head = PromptHead(dim=256, d=16)
        a, c = head(torch.randn(4, 256))
    """

    def __init__(self, dim: int, d: int, hidden: int = 128, dropout: float = 0.1, linear: bool = False) -> None:
        super().__init__()
        self.linear = linear
        if linear:
            self.a = nn.Linear(dim, d - 1)
        else:
            self.trunk = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Dropout(dropout))
            self.a = nn.Linear(hidden, d - 1)
            self.c = nn.Linear(hidden, 1)

    def forward(self, e: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        a, c = self.free(e)
        ones = torch.ones(a.shape[0], 1, dtype=a.dtype)
        return torch.cat([a, ones], dim=-1), c.squeeze(-1)

    def free(self, e: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The learned parts: ``a`` without its constant last component ``[B, d-1]``, and ``c`` ``[B, 1]``.

        @example
            a, c = PromptHead(dim=256, d=16).free(torch.randn(4, 256))   # [4, 15], [4, 1]
        """
        if self.linear:
            return self.a(e), torch.zeros(e.shape[0], 1, dtype=e.dtype)
        h = self.trunk(e)
        return self.a(h), self.c(h)


class IrtModel(nn.Module):
    """Prompt head plus per-model identity posteriors N(mu_k, diag(exp(log_std_k))^2).

    @example
        m = IrtModel(dim=256, d=16, n_models=27)
        logits = m(torch.randn(8, 256))         # [8, 27], identities at their means
    """

    def __init__(self, dim: int, d: int, n_models: int, hidden: int = 128, dropout: float = 0.1,
                 linear: bool = False, variational: bool = True) -> None:
        super().__init__()
        self.head = PromptHead(dim, d, hidden, dropout, linear)
        self.mu = nn.Parameter(0.1 * torch.randn(n_models, d))
        self.log_std = nn.Parameter(torch.full((n_models, d), -2.0), requires_grad=variational)
        self.variational = variational

    def identities(self, sample: bool) -> torch.Tensor:
        if sample and self.variational:
            return self.mu + torch.exp(self.log_std) * torch.randn_like(self.mu)
        return self.mu

    def forward(self, e: torch.Tensor, sample: bool = False) -> torch.Tensor:
        a, c = self.head(e)
        return a @ self.identities(sample).T - c[:, None]

    def kl(self) -> torch.Tensor:
        """KL(q(theta) || N(0, I)) summed over models and components."""
        if not self.variational:
            return 0.5 * (self.mu ** 2).sum()
        var = torch.exp(2 * self.log_std)
        return 0.5 * (var + self.mu ** 2 - 1.0 - 2 * self.log_std).sum()


class IrtExport(nn.Module):
    """What ``irt.onnx`` computes: ``(embedding [B, dim], identity [K, d]) -> p_success [B, K]``.

    @example
        torch.onnx.export(IrtExport(model.head), (e, theta), "irt.onnx", opset_version=17, ...)
    """

    def __init__(self, head: PromptHead) -> None:
        super().__init__()
        self.head = head

    def forward(self, embedding: torch.Tensor, identity: torch.Tensor) -> torch.Tensor:
        # The head's constant last component of a, written as "+ theta_last": the same logit without
        # the ones column, whose shape arithmetic (Shape, ConstantOfShape, Concat) ran on every request.
        a, c = self.head.free(embedding)
        return torch.sigmoid(a @ identity[:, :-1].T + identity[:, -1] - c)
