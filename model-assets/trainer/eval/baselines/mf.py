"""RouteLLM's matrix-factorisation router, re-implemented (Ong et al. 2024, ``routellm/routers/
matrix_factorization``): a bilinear score ``s(m, x) = w . (normalise(v_m) * (W e_x))`` per model,
trained so that ``sigmoid(s(a, x) - s(b, x))`` predicts which of two models wins on prompt x. As a
binary router it sends x to the strong model when that win probability exceeds a threshold.

RouteLLM trained on Chatbot Arena battles; here the battles are the pairs of pool models with
different outcomes on the same train prompt (every pair, so the model sees all models as in Arena).
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn


class MFModel(nn.Module):
    """The RouteLLM MF scorer: model embeddings, a prompt projection and a linear read-out."""

    def __init__(self, num_models: int, text_dim: int, dim: int = 128) -> None:
        super().__init__()
        self.P = nn.Embedding(num_models, dim)
        self.text_proj = nn.Linear(text_dim, dim, bias=False)
        self.classifier = nn.Linear(dim, 1, bias=False)

    def forward(self, model_ids: torch.Tensor, prompt_emb: torch.Tensor) -> torch.Tensor:
        """Score of each (model, prompt) pair: ``[N]``."""
        m = nn.functional.normalize(self.P(model_ids), p=2, dim=-1)
        return self.classifier(m * self.text_proj(prompt_emb)).squeeze(-1)


def battles(quality: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All decisive pairs (prompt, winner, loser) of a [P, K] quality matrix (NaN: no outcome, no battle).

    @example
        >>> p, w, l = battles(np.array([[1.0, 0.0, 1.0]]))
        >>> list(zip(p.tolist(), w.tolist(), l.tolist()))
        [(0, 0, 1), (0, 2, 1)]
    """
    q = np.asarray(quality)
    i, j = np.triu_indices(q.shape[1], k=1)
    diff = q[:, i] - q[:, j]
    rows, cols = np.nonzero(np.nan_to_num(diff) != 0)
    win_first = diff[rows, cols] > 0
    winner = np.where(win_first, i[cols], j[cols])
    loser = np.where(win_first, j[cols], i[cols])
    return rows, winner, loser


def train_mf(train_emb: np.ndarray, train_quality: np.ndarray, *, dim: int = 128, epochs: int = 20,
             batch: int = 256, lr: float = 3e-3, weight_decay: float = 1e-5, max_battles: int = 200_000,
             val_fraction: float = 0.1, patience: int = 2, seed: int = 0) -> MFModel:
    """Fit the MF scorer on the decisive pairs of the train split (subsampled to ``max_battles``).

    A random ``val_fraction`` of the train *prompts* is held out; training stops when their battle
    log loss has not improved for ``patience`` epochs and the best epoch's weights are kept, so the
    same settings fit 3,000 battles (RouteLLM's pair on GSM8K) and 200,000 (mmlu-pro's 27 models).

    @example
        mf = train_mf(train_emb, train_quality)
    """
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    rows, win, lose = battles(train_quality)
    if len(rows) == 0:
        raise ValueError("no decisive pairs to train the MF router on")
    if len(rows) > max_battles:
        keep = rng.choice(len(rows), size=max_battles, replace=False)
        rows, win, lose = rows[keep], win[keep], lose[keep]
    # Random orientation so the label is not always 1: y = 1 when the first model wins.
    flip = rng.random(len(rows)) < 0.5
    a = torch.as_tensor(np.where(flip, lose, win))
    b = torch.as_tensor(np.where(flip, win, lose))
    y = torch.as_tensor((~flip).astype(np.float32))
    tr = torch.as_tensor(rows)
    val_prompts = rng.random(train_quality.shape[0]) < val_fraction
    is_val = torch.as_tensor(val_prompts[rows])
    fit_idx, val_idx = torch.nonzero(~is_val).squeeze(1), torch.nonzero(is_val).squeeze(1)
    if len(val_idx) == 0 or len(fit_idx) == 0:
        fit_idx, val_idx = torch.arange(len(rows)), torch.arange(0)
    emb = torch.as_tensor(np.asarray(train_emb, np.float32))
    model = MFModel(train_quality.shape[1], emb.shape[1], dim)
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    loss_fn = nn.BCEWithLogitsLoss()

    def loss_of(idx: torch.Tensor) -> torch.Tensor:
        e = emb[tr[idx]]
        return loss_fn(model(a[idx], e) - model(b[idx], e), y[idx])

    best, best_state, stale = float("inf"), None, 0
    for _ in range(epochs):
        model.train()
        perm = fit_idx[torch.as_tensor(rng.permutation(len(fit_idx)))]
        for s in range(0, len(perm), batch):
            loss = loss_of(perm[s:s + batch])
            opt.zero_grad()
            loss.backward()
            opt.step()
        if len(val_idx) == 0:
            continue
        model.eval()
        with torch.no_grad():
            val = float(loss_of(val_idx))
        if val < best - 1e-4:
            best, stale = val, 0
            best_state = {k: v.clone() for k, v in model.state_dict().items()}
        else:
            stale += 1
            if stale >= patience:
                break
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    return model


@torch.no_grad()
def win_rate(model: MFModel, test_emb: np.ndarray, strong: int, weak: int) -> np.ndarray:
    """P(strong beats weak) per test prompt: the MF router's routing score.

    @example
        scores = win_rate(mf, test_emb, strong=best, weak=cheapest)
    """
    e = torch.as_tensor(np.asarray(test_emb, np.float32))
    n = len(e)
    s = model(torch.full((n,), strong, dtype=torch.long), e)
    w = model(torch.full((n,), weak, dtype=torch.long), e)
    return torch.sigmoid(s - w).numpy().astype(np.float64)
