"""Variational IRT: metrics by hand, recovery of a known bilinear model, ONNX export = torch."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from trainer.export.onnx_export import export_irt
from trainer.export.parity import run_onnx
from trainer.irt.baselines import per_model_logistic, per_model_mean
from trainer.irt.joint import JointData
from trainer.irt.metrics import auc, ece, log_loss
from trainer.irt.train import IrtConfig, cross_fit_heads, population_prior, predict, train_irt


def test_metrics_by_hand() -> None:
    p = np.array([0.9, 0.2, 0.8, 0.8])
    y = np.array([1.0, 0.0, 1.0, np.nan])
    assert log_loss(p, y) == pytest.approx(-(np.log(0.9) + np.log(0.8) + np.log(0.8)) / 3)
    assert auc(p, y) == 1.0
    assert auc(p, np.array([1.0, 1.0, np.nan, np.nan])) is None
    # bins: 0.2 -> |0.2 - 0| ; 0.8,0.9 -> separate bins [0.8,0.9) and [0.9,1]: |0.8-1|, |0.9-1|
    assert ece(p, y) == pytest.approx((0.2 + 0.2 + 0.1) / 3)


def _synthetic(seed: int = 0, n: int = 3000, k: int = 6, dim: int = 24) -> tuple[JointData, np.ndarray]:
    rng = np.random.default_rng(seed)
    e = rng.normal(size=(n, dim)).astype(np.float32)
    e /= np.linalg.norm(e, axis=1, keepdims=True)
    proj = rng.normal(size=(dim, 3)) * 2
    theta = rng.normal(size=(k, 3))
    bias = np.linspace(-1, 1, k)
    logit = (e @ proj) @ theta.T + bias
    p = 1 / (1 + np.exp(-logit))
    y = (rng.random(p.shape) < p).astype(np.float32)
    y[rng.random(y.shape) < 0.1] = np.nan       # 10% missing, masked
    split = np.where(np.arange(n) % 5 == 0, "test", "train").astype("<U5")
    data = JointData(models=[f"m{i}" for i in range(k)], datasets=["syn"], emb=e, y=y,
                     dataset_idx=np.zeros(n, dtype=int), split=split)
    return data, p


def test_irt_recovers_a_bilinear_model_better_than_baselines() -> None:
    torch.manual_seed(0)
    data, p_true = _synthetic()
    model = train_irt(data, IrtConfig(d=8, epochs=40, batch=256, lr=5e-3, seed=0), log=lambda _: None)
    te, tr = data.rows("test"), data.rows("train")
    pred = predict(model, data.emb[te])
    assert pred.shape == (len(te), 6) and (pred >= 0).all() and (pred <= 1).all()
    y = data.y[te]
    mean_ll = log_loss(per_model_mean(data.y[tr], len(te)), y)
    oracle_ll = log_loss(p_true[te], y)
    assert log_loss(pred, y) < mean_ll - 0.05            # learned the prompt dependence
    assert log_loss(pred, y) < oracle_ll + 0.08          # close to the true model
    assert auc(pred, y) > auc(per_model_logistic(data.emb[tr], data.y[tr], data.emb[te]), y) - 0.03
    assert float(model.kl()) >= 0
    prior = population_prior(model)
    assert len(prior["mean"]) == 8 and np.all(np.linalg.eigvalsh(np.array(prior["cov"])) > 0)


def test_cross_fit_heads_keep_identities_and_predict_their_fold_out_of_sample() -> None:
    data, _ = _synthetic(n=1500)
    cfg = IrtConfig(d=8, epochs=10, batch=256, lr=5e-3, seed=0)
    main = train_irt(data, cfg, log=lambda _: None)
    folds = np.arange(len(data.split)) % 3
    held = np.zeros(len(data.split), dtype=bool)
    held[:30] = True
    heads = cross_fit_heads(data, main, cfg, folds, exclude=held, log=lambda _: None)
    assert len(heads) == 3
    for h in heads:   # identities frozen at the main model's: the policy's identity space
        assert torch.equal(h.mu, main.mu) and torch.equal(h.log_std, main.log_std)
    # A head sees none of its own fold: its in-fold train loss is worse than on the rows it fitted.
    tr = data.split == "train"
    own, other = np.flatnonzero(tr & (folds == 0) & ~held), np.flatnonzero(tr & (folds != 0) & ~held)
    y_own, y_other = data.y[own], data.y[other]
    assert log_loss(predict(heads[0], data.emb[own]), y_own) > log_loss(predict(heads[0], data.emb[other]), y_other)


def test_irt_onnx_matches_torch_with_identities_as_input(tmp_path: Path) -> None:
    torch.manual_seed(0)
    data, _ = _synthetic(n=400)
    model = train_irt(data, IrtConfig(d=8, epochs=2, seed=0), log=lambda _: None)
    export_irt(model.head, 24, 8, tmp_path / "irt.onnx")
    e = data.emb[:17]
    theta = np.random.default_rng(1).normal(size=(3, 8)).astype(np.float32)   # a pool the model never saw
    out = run_onnx({"fp32": tmp_path / "irt.onnx"}, {"embedding": e, "identity": theta}, "p_success")
    with torch.no_grad():
        a, c = model.head(torch.from_numpy(e))
        ref = torch.sigmoid(a @ torch.from_numpy(theta).T - c[:, None]).numpy()
    assert out["fp32"]["node"].shape == (17, 3)
    np.testing.assert_allclose(out["fp32"]["node"], ref, atol=1e-5)
    np.testing.assert_allclose(out["fp32"]["web"], ref, atol=1e-5)
