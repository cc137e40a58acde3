"""Training episodes for the policy: (prompt, preference, random candidate subset, perturbed prices).

Each episode draws a dataset, a train prompt (mixed with a second one with probability ``mixup``:
on-manifold mixup of unit embeddings, renormalised; outcomes and token counts mix with the same
weight), a preference w, a random subset of that dataset's models (sizes 2..``kmax``), and
log-normal multipliers on every candidate's prices, so one policy serves any pool and price list.
Features are built exactly as the worker builds them (contract vocabulary), with ``p_success`` from
the frozen IRT head on the (mixed) embedding and identities optionally sampled from their posteriors,
passed through the bundle's prediction layer when it has one (``layer``: the neighbour estimate at the
mixed embedding, with both prompts' own outcomes taken out of the index, so it is out of sample as
the IRT's cross-fit estimate is).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..data.table import OutcomeTable
from ..irt.model import IrtModel
from ..predict import PredictionLayer


@dataclass
class PolicyPool:
    """One dataset's train prompts, as the policy sees them."""

    name: str
    emb: torch.Tensor          # [P, dim]
    quality: torch.Tensor      # [P, K] outcomes, missing filled with the model's mean
    in_tokens: torch.Tensor    # [P]
    mean_out: torch.Tensor     # [K] mean output tokens on the train split
    prices: torch.Tensor       # [K, 2]
    irt_index: torch.Tensor    # [K] long, column of each model in the IRT model list
    fold: torch.Tensor | None = None  # [P] long: which cross-fit head predicts each prompt
    index_rows: np.ndarray | None = None  # [P] each prompt's row in the neighbour index (-1: not in it)


def make_pool(table: OutcomeTable, emb: np.ndarray, irt_models: list[str],
              fold: np.ndarray | None = None, index_rows: np.ndarray | None = None) -> PolicyPool:
    """A :class:`PolicyPool` from a table restricted to rows used for training and to IRT-known models.

    ``fold`` [P] names each prompt's cross-fit head (see ``EpisodeSampler(heads=...)``);
    ``index_rows`` [P] each prompt's row in the prediction layer's neighbour index (-1: not in it).

    @example
        pool = make_pool(mmlu.subset(rows=train_rows), emb[train_rows], joint.models)
    """
    keep = [j for j, m in enumerate(table.models) if m in irt_models]
    t = table.subset(models=keep)
    y = t.outcome.astype(np.float64)
    with np.errstate(all="ignore"):
        means = np.nanmean(y, axis=0)
    y = np.where(np.isnan(y), np.where(np.isnan(means), 0.5, means)[None, :], y)
    f = lambda a: torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))  # noqa: E731
    return PolicyPool(
        name=t.dataset, emb=f(emb), quality=f(y), in_tokens=f(t.input_tokens),
        mean_out=f(t.output_tokens.mean(axis=0)), prices=f(t.prices),
        irt_index=torch.tensor([irt_models.index(m) for m in t.models], dtype=torch.long),
        fold=None if fold is None else torch.from_numpy(np.asarray(fold, dtype=np.int64)),
        index_rows=None if index_rows is None else np.asarray(index_rows, dtype=np.int64),
    )


@dataclass
class Batch:
    """A batch of episodes, padded to ``kmax`` candidates."""

    emb: torch.Tensor       # [B, dim]
    w: torch.Tensor         # [B, 1]
    features: torch.Tensor  # [B, K, F]
    mask: torch.Tensor      # [B, K]
    reward: torch.Tensor    # [B, K] w * quality - (1 - w) * cost_rel (0 on padding)


def cost_norm(log_cost: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Contract ``cost_norm``: per-row min-max of log cost over unmasked candidates, 0 if all equal.

    @example
        cost_norm(torch.log(torch.tensor([[1.0, 10.0, 100.0]])), torch.ones(1, 3))  # [[0, .5, 1]]
    """
    big = 1e9
    lo = torch.where(mask > 0, log_cost, torch.full_like(log_cost, big)).min(dim=1, keepdim=True).values
    hi = torch.where(mask > 0, log_cost, torch.full_like(log_cost, -big)).max(dim=1, keepdim=True).values
    span = hi - lo
    out = torch.where(span > 1e-9, (log_cost - lo) / torch.clamp(span, min=1e-9), torch.zeros_like(log_cost))
    return out * mask


def cost_rel(cost: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Contract ``cost_rel``: expected cost over the largest in the candidate set (linear, in [0, 1]).

    Linear in dollars on purpose: ``w * p - (1 - w) * cost_rel`` then charges one price per dollar
    within a set, which traces nearly the best mean-cost frontier the predictions allow
    (docs/benchmarks/cost-normalisation.md), where the log-scaled ``cost_norm`` does not.

    @example
        cost_rel(torch.tensor([[1.0, 10.0, 100.0]]), torch.ones(1, 3))  # [[0.01, 0.1, 1]]
    """
    top = (cost * mask).max(dim=1, keepdim=True).values
    return torch.where(top > 0, cost / top.clamp(min=1e-30), torch.zeros_like(cost)) * mask


def non_dominated(cost: torch.Tensor, p: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The mask of candidates no other unmasked one dominates: ``j`` dominates ``i`` when it costs no
    more and is predicted to succeed no less often, one of them strictly (exact twins stay). The
    worker's twin is ``nonDominated`` in worker/decision/frontier.ts; a policy trained on these sets
    (``SetPolicy.prune_dominated``) is shown only them when serving.

    @example
        non_dominated(torch.tensor([[1.0, 2.0, 3.0]]), torch.tensor([[0.5, 0.4, 0.9]]), torch.ones(1, 3))  # [[1, 0, 1]]
    """
    ci, cj = cost[:, :, None], cost[:, None, :]
    pi, pj = p[:, :, None], p[:, None, :]
    dominates = (cj <= ci) & (pj >= pi) & ((cj < ci) | (pj > pi)) & (mask[:, None, :] > 0)   # [B, i, j]
    return mask * (~dominates.any(dim=2)).to(mask.dtype)


def build_features(p: torch.Tensor, cost: torch.Tensor, theta: torch.Tensor, mask: torch.Tensor,
                   names: tuple[str, ...]) -> torch.Tensor:
    """Stack contract features in ``names`` order: [B, K, F]; ``cost`` is the expected cost in USD.

    @example
        f = build_features(p, cost_usd, theta, mask, ("identity", "cost_rel", "cost_norm", "p_success"))
    """
    cols = []
    for n in names:
        if n == "identity":
            cols.append(theta)
        elif n == "cost_norm":
            cols.append(cost_norm(torch.log(cost.clamp(min=1e-12)), mask)[..., None])
        elif n == "cost_rel":
            cols.append(cost_rel(cost, mask)[..., None])
        elif n == "p_success":
            cols.append(p[..., None])
        elif n == "p_success_rel":
            pmax = torch.where(mask > 0, p, torch.full_like(p, -1.0)).max(dim=1, keepdim=True).values
            cols.append(((p - pmax) * mask)[..., None])
        elif n == "p_success_z":
            cnt = mask.sum(dim=1, keepdim=True).clamp(min=1)
            mean = (p * mask).sum(dim=1, keepdim=True) / cnt
            std = torch.sqrt((((p - mean) * mask) ** 2).sum(dim=1, keepdim=True) / cnt)
            cols.append((((p - mean) / (std + 1e-3)) * mask)[..., None])
        else:
            raise ValueError(f"unknown feature {n!r}")
    return torch.cat(cols, dim=-1) * mask[..., None]


class EpisodeSampler:
    """Draws :class:`Batch` es of random episodes (see module docs).

    @example
        sampler = EpisodeSampler(pools, irt, names, seed=0)
        batch = sampler.sample(512)
    """

    def __init__(self, pools: list[PolicyPool], irt: IrtModel, names: tuple[str, ...], seed: int = 0,
                 kmax: int = 32, mixup: float = 0.3, price_sigma: float = 0.7, identity_noise: float = 0.5,
                 pool_weights: list[float] | None = None, heads: list[IrtModel] | None = None,
                 prune_dominated: bool = False, layer: PredictionLayer | None = None) -> None:
        self.pools, self.irt, self.names, self.kmax = pools, irt, names, kmax
        self.layer = layer
        self.prune_dominated = prune_dominated
        self.heads = heads
        self.mixup, self.price_sigma, self.identity_noise = mixup, price_sigma, identity_noise
        w = np.array(pool_weights if pool_weights is not None else [1.0] * len(pools), dtype=np.float64)
        self.pool_p = w / w.sum()
        self.rng = np.random.default_rng(seed)
        self.gen = torch.Generator().manual_seed(seed)
        self.mu = irt.mu.detach()
        self.std = torch.exp(irt.log_std.detach())

    def _randn(self, *shape: int) -> torch.Tensor:
        return torch.randn(*shape, generator=self.gen)

    @torch.no_grad()
    def _pool_batch(self, pool: PolicyPool, n: int) -> Batch:
        rng, kmax = self.rng, self.kmax
        n_prompts, k_all = pool.quality.shape
        k = min(k_all, kmax)
        i1 = torch.from_numpy(rng.integers(0, n_prompts, n))
        i2 = torch.from_numpy(rng.integers(0, n_prompts, n))
        lam = torch.from_numpy(np.where(rng.random(n) < self.mixup, rng.beta(0.4, 0.4, n), 1.0).astype(np.float32))
        lam = torch.maximum(lam, 1 - lam)[:, None]   # the first prompt dominates
        emb = lam * pool.emb[i1] + (1 - lam) * pool.emb[i2]
        emb = emb / emb.norm(dim=1, keepdim=True).clamp(min=1e-8)
        sizes = torch.from_numpy(rng.integers(2, k + 1, n))
        sel = torch.from_numpy(np.argsort(rng.random((n, k_all)), axis=1)[:, :k])   # [n, k]
        mask = (torch.arange(k)[None, :] < sizes[:, None]).float()
        quality = lam * pool.quality[i1][torch.arange(n)[:, None],
                                         sel] + (1 - lam) * pool.quality[i2][torch.arange(n)[:, None], sel]
        in_tok = lam[:, 0] * pool.in_tokens[i1] + (1 - lam[:, 0]) * pool.in_tokens[i2]
        prices = pool.prices[sel]                                       # [n, k, 2]
        mult = torch.exp(self.price_sigma * self._randn(n, k, 1) + 0.3 * self.price_sigma * self._randn(n, k, 2))
        prices = prices * mult
        exp_cost = (prices[..., 0] * in_tok[:, None] + prices[..., 1] * pool.mean_out[sel]) / 1e6
        exp_cost = exp_cost * mask
        idx = pool.irt_index[sel]
        theta = self.mu[idx]
        noisy = torch.from_numpy(rng.random(n) < self.identity_noise)[:, None, None]
        theta = torch.where(noisy, theta + self.std[idx] * self._randn(*theta.shape), theta)
        a, c = self._prompt_params(pool, emb, i1)
        p = torch.sigmoid(torch.einsum("bd,bkd->bk", a, theta) - c[:, None])
        if self.layer is not None:
            p = self._layered(pool, emb, p, sel, i1, i2)
        p = p * mask
        u = rng.random(n)
        w = np.where(u < 0.05, 0.0, np.where(u < 0.10, 1.0, rng.random(n))).astype(np.float32)
        w = torch.from_numpy(w)[:, None]
        reward = (w * quality - (1 - w) * cost_rel(exp_cost, mask)) * mask
        feats = build_features(p, exp_cost, theta, mask, self.names)
        if self.prune_dominated:
            # Features stay relative to the whole set (as the worker computes them); the policy
            # attends over, and chooses among, the non-dominated candidates only, moved to the
            # front (stable: the order of the draw) so that `sample` can trim the padding.
            shown = non_dominated(exp_cost, p, mask)
            order = torch.sort(-shown, dim=1, stable=True).indices
            mask = torch.gather(shown, 1, order)
            reward = torch.gather(reward, 1, order) * mask
            feats = torch.gather(feats, 1, order[..., None].expand_as(feats)) * mask[..., None]
        return Batch(emb, w, feats, mask, reward)

    def _layered(self, pool: PolicyPool, emb: torch.Tensor, p_irt: torch.Tensor, sel: torch.Tensor,
                 i1: torch.Tensor, i2: torch.Tensor) -> torch.Tensor:
        """The prediction layer over the IRT's probabilities: neighbour estimates of all the pool's
        models at the (mixed) embedding, both prompts left out of the index, then the stack."""
        assert self.layer is not None
        a, b = i1.numpy(), i2.numpy()
        # A prompt drawn twice is taken out once.
        leave = [] if pool.index_rows is None else [pool.index_rows[a], np.where(a == b, -1, pool.index_rows[b])]
        cols = pool.irt_index.numpy()
        p_nb_all = self.layer.index.predict(emb.numpy().astype(np.float64), cols, leave_out=leave)   # [n, K_all]
        p_nb = np.take_along_axis(p_nb_all, sel.numpy(), axis=1)
        p = self.layer.stack.combine(p_irt.numpy().astype(np.float64), p_nb, cols[sel.numpy()])
        return torch.from_numpy(p.astype(np.float32))

    def _prompt_params(self, pool: PolicyPool, emb: torch.Tensor,
                       rows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """IRT prompt parameters (a, c): from the cross-fit head of each prompt's fold when there are
        heads (out-of-sample ``p_success``, as on live traffic), else from the main IRT."""
        if self.heads is None or pool.fold is None:
            return self.irt.head(emb)
        fold = pool.fold[rows]
        # Every fold has a head (cross_fit_heads makes max(fold) + 1), so each row is written.
        a = emb.new_empty(len(emb), self.mu.shape[1])
        c = emb.new_empty(len(emb))
        for k, h in enumerate(self.heads):
            sel = fold == k
            if bool(sel.any()):
                a[sel], c[sel] = h.head(emb[sel])
        return a, c

    def sample(self, n: int) -> Batch:
        """``n`` episodes from one pool (drawn by weight), padded to the largest subset drawn.

        One pool per batch keeps padding small (two-model pools do not pay for 32 slots).

        @example
            b = sampler.sample(256); b.features.shape   # [256, K, F], K <= kmax
        """
        self.irt.eval()
        for h in self.heads or []:
            h.eval()
        pool = self.pools[int(self.rng.choice(len(self.pools), p=self.pool_p))]
        b = self._pool_batch(pool, n)
        k = int(b.mask.sum(dim=1).max())
        return Batch(b.emb, b.w, b.features[:, :k], b.mask[:, :k], b.reward[:, :k])


def normalised_reward(reward: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Reward normalisation across model sets: per episode, zero mean and unit std over candidates.

    @example
        normalised_reward(torch.tensor([[0.2, 0.4, 0.0]]), torch.tensor([[1.0, 1.0, 0.0]]))  # [[-1, 1, 0]]
    """
    cnt = mask.sum(dim=1, keepdim=True).clamp(min=1)
    mean = (reward * mask).sum(dim=1, keepdim=True) / cnt
    std = torch.sqrt((((reward - mean) * mask) ** 2).sum(dim=1, keepdim=True) / cnt)
    return (reward - mean) / (std + 1e-2) * mask
