"""Training of the variational IRT model (and of the matrix-factorisation baseline, same loop)."""
from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from .joint import JointData
from .model import IrtModel


@dataclass
class IrtConfig:
    """Hyper-parameters; defaults are the shipped bundle's."""

    d: int = 16
    hidden: int = 128
    dropout: float = 0.1
    epochs: int = 30
    batch: int = 512
    lr: float = 2e-3
    weight_decay: float = 1e-4
    kl_weight: float = 1.0      # times KL / (number of observations): the ELBO's weight
    mc_samples: int = 1
    linear: bool = False        # True + variational False = matrix factorisation baseline
    variational: bool = True
    # Observation weight ~ n_obs(dataset) ** -balance (0 = plain mean). 0.5 (the first bundle) cost
    # mmlu-pro routing 0.007 AIQ (IRT-lambda 0.809 vs 0.816 at 0); 0 in turn cost the small sets
    # (arena-hard policy AIQ 0.734 at 0, 0.759 at 0.25) while 0.25 keeps mmlu-pro (policy 0.816-0.817).
    dataset_balance: float = 0.25
    seed: int = 0


def row_weights(data: JointData, rows: np.ndarray, balance: float) -> np.ndarray:
    """Per-row loss weights so small datasets are not drowned by mmlu-pro (mean weight per observation 1).

    @example
        w = row_weights(joint, joint.rows("train"), 0.5)
    """
    obs = (~np.isnan(data.y[rows])).sum(axis=1).astype(np.float64)
    ds = data.dataset_idx[rows]
    per_ds = np.bincount(ds, weights=obs, minlength=len(data.datasets))
    w = np.where(per_ds[ds] > 0, per_ds[ds], 1.0) ** -balance
    return (w * obs.sum() / max((w * obs).sum(), 1e-12)).astype(np.float32)


def train_irt(data: JointData, cfg: IrtConfig, log=print, rows: np.ndarray | None = None,
              identities_from: IrtModel | None = None) -> IrtModel:
    """Fit on the train rows of ``data``: soft-label BCE over observed entries + KL to N(0, I).

    ``rows`` restricts training to those rows; ``identities_from`` freezes the identity posteriors
    at that model's and trains only a fresh prompt head (see :func:`cross_fit_heads`).

    @example
        model = train_irt(joint, IrtConfig(epochs=3))
    """
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    rows = data.rows("train") if rows is None else rows
    e_all = torch.from_numpy(data.emb[rows])
    y_np = data.y[rows]
    mask_all = torch.from_numpy(~np.isnan(y_np))
    y_all = torch.from_numpy(np.nan_to_num(y_np, nan=0.0))
    n_obs = float(mask_all.sum())
    w_all = torch.from_numpy(row_weights(data, rows, cfg.dataset_balance))
    model = IrtModel(data.emb.shape[1], cfg.d, len(data.models), cfg.hidden, cfg.dropout, cfg.linear, cfg.variational)
    if identities_from is not None:
        model.mu.data.copy_(identities_from.mu.data)
        model.log_std.data.copy_(identities_from.log_std.data)
        model.mu.requires_grad_(False)
        model.log_std.requires_grad_(False)
    opt = torch.optim.AdamW([q for q in model.parameters() if q.requires_grad], lr=cfg.lr,
                            weight_decay=cfg.weight_decay)
    steps = cfg.epochs * int(np.ceil(len(rows) / cfg.batch))
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=steps, pct_start=0.1)
    kind = "mf" if cfg.linear else "irt"
    t0 = time.time()
    for epoch in range(cfg.epochs):
        model.train()
        order = rng.permutation(len(rows))
        total, count = 0.0, 0.0
        for s in range(0, len(order), cfg.batch):
            b = torch.from_numpy(order[s:s + cfg.batch])
            e, y, m = e_all[b], y_all[b], mask_all[b] * w_all[b][:, None]
            nll = 0.0
            for _ in range(cfg.mc_samples):
                logits = model(e, sample=True)
                nll = nll + (F.binary_cross_entropy_with_logits(logits, y, reduction="none") * m).sum()
            nll = nll / cfg.mc_samples
            loss = nll / m.sum().clamp(min=1) + cfg.kl_weight * model.kl() / n_obs
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += float(nll)
            count += float(m.sum())
        if epoch == 0 or (epoch + 1) % max(1, cfg.epochs // 5) == 0 or epoch + 1 == cfg.epochs:
            log(f"[{kind}] epoch {epoch + 1}/{cfg.epochs}  train nll {total / max(count, 1):.4f}  "
                f"({time.time() - t0:.0f}s)")
    model.eval()
    return model


def cross_fit_heads(data: JointData, main: IrtModel, cfg: IrtConfig, folds: np.ndarray,
                    exclude: np.ndarray | None = None, log=print) -> list[IrtModel]:
    """One prompt head per fold, trained on the train rows of the *other* folds with ``main``'s
    identities frozen: ``heads[k]`` predicts fold ``k``'s prompts out of sample, in the identity
    space the bundle serves.

    The policy learns how far to trust ``p_success``; on prompts the IRT was trained on, ``p`` is
    sharper than it will ever be on a live prompt, and a policy trained on those in-sample values
    over-trusts it (on mmlu-pro it then lost to the plain greedy rule on the same IRT).
    ``folds`` [N] gives each joint row its fold; rows in ``exclude`` (bool [N]) train no head.

    @example
        heads = cross_fit_heads(joint, irt, cfg, folds=np.arange(len(joint.split)) % 4)
    """
    train = data.split == "train"
    if exclude is not None:
        train &= ~exclude
    heads = []
    for k in range(int(folds.max()) + 1):
        rows = np.flatnonzero(train & (folds != k))
        log(f"[irt] cross-fit head {k + 1}/{int(folds.max()) + 1} on {len(rows)} rows")
        heads.append(train_irt(data, dataclasses.replace(cfg, seed=cfg.seed + 1 + k), log=lambda _: None,
                               rows=rows, identities_from=main))
    return heads


@torch.no_grad()
def predict(model: IrtModel, emb: np.ndarray) -> np.ndarray:
    """p(success) [N, K] with identities at their posterior means.

    @example
        p = predict(model, joint.emb[joint.rows("test")])
    """
    model.eval()
    return torch.sigmoid(model(torch.from_numpy(emb.astype(np.float32)))).numpy()


def population_prior(model: IrtModel) -> dict[str, list]:
    """Mean and covariance of the learned identities (cov of the means + mean posterior variance).

    @example
        prior = population_prior(model)   # {"mean": [d], "cov": [[d x d]]}
    """
    mu = model.mu.detach().numpy().astype(np.float64)
    var = np.exp(2 * model.log_std.detach().numpy().astype(np.float64))
    cov = np.cov(mu.T) + np.diag(var.mean(axis=0))
    return {"mean": mu.mean(axis=0).round(6).tolist(), "cov": cov.round(6).tolist()}
