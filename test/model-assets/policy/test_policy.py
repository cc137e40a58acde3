"""Policy pieces: contract features, masking, equivariance, losses, episode sampling, learning."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from trainer.export.onnx_export import export_policy
from trainer.export.parity import run_onnx
from trainer.irt.model import IrtModel
from trainer.policy.episodes import (EpisodeSampler, PolicyPool, build_features, cost_norm, cost_rel, non_dominated,
                                     normalised_reward)
from trainer.policy.model import PolicyExport, SetPolicy, feature_layout
from trainer.policy.train import PolicyConfig, pairwise_loss, pretrain
from trainer.scoring.evalset import cost_norm as eval_cost_norm

NAMES = ("identity", "cost_rel", "p_success", "p_success_rel")


def test_cost_norm_matches_the_eval_harness_and_ignores_padding() -> None:
    c = np.array([[1.0, 10.0, 100.0, 5.0], [2.0, 2.0, 7.0, 7.0]])
    mask = torch.tensor([[1.0, 1.0, 1.0, 0.0], [1.0, 1.0, 0.0, 0.0]])
    got = cost_norm(torch.log(torch.tensor(c, dtype=torch.float32)), mask).numpy()
    np.testing.assert_allclose(got[0, :3], eval_cost_norm(c[:1, :3])[0], atol=1e-6)
    assert got[0, 3] == 0 and (got[1] == 0).all()   # padding 0; equal costs -> 0


def test_cost_rel_is_linear_in_dollars_and_ignores_padding() -> None:
    mask = torch.tensor([[1.0, 1.0, 1.0, 0.0], [1.0, 1.0, 0.0, 0.0]])
    got = cost_rel(torch.tensor([[1.0, 10.0, 40.0, 0.0], [0.0, 0.0, 0.0, 0.0]]), mask).numpy()
    np.testing.assert_allclose(got[0], [0.025, 0.25, 1.0, 0.0], atol=1e-7)
    assert (got[1] == 0).all()   # all free -> 0, not NaN


def test_features_layout_and_rel() -> None:
    p = torch.tensor([[0.2, 0.7, 0.5]])
    theta = torch.randn(1, 3, 4)
    cost = torch.tensor([[0.001, 0.004, 0.002]])
    names = ("identity", "cost_rel", "cost_norm", "p_success", "p_success_rel")
    f = build_features(p, cost, theta, torch.tensor([[1.0, 1.0, 0.0]]), names)
    assert f.shape == (1, 3, 4 + 4)
    assert sum(x["size"] for x in feature_layout(4, names)) == 8
    np.testing.assert_allclose(f[0, :2, 4].numpy(), [0.25, 1.0], atol=1e-6)   # cost_rel
    np.testing.assert_allclose(f[0, :2, 5].numpy(), [0.0, 1.0], atol=1e-6)    # cost_norm
    np.testing.assert_allclose(f[0, :2, 7].numpy(), [-0.5, 0.0], atol=1e-6)   # p_success_rel
    assert (f[0, 2] == 0).all()


def test_policy_masks_and_is_permutation_equivariant() -> None:
    torch.manual_seed(0)
    pol = SetPolicy(dim=8, n_features=7, cost_index=4, p_index=5, width=16, heads=2).eval()
    e, w = torch.randn(2, 8), torch.tensor([[0.3], [0.9]])
    f = torch.randn(2, 5, 7)
    m = torch.tensor([[1.0, 1, 1, 1, 1], [1, 1, 0, 1, 0]])
    probs = pol.probs(e, w, f, m)
    assert torch.allclose(probs.sum(1), torch.ones(2), atol=1e-6) and (probs[1, [2, 4]] == 0).all()
    perm = torch.tensor([4, 2, 0, 3, 1])
    assert torch.allclose(pol.probs(e, w, f[:, perm], m[:, perm]), probs[:, perm], atol=1e-6)
    # Padding content must not matter.
    f2 = f.clone()
    f2[1, 2] = 100.0
    assert torch.allclose(pol.probs(e, w, f2, m), probs, atol=1e-6)


def _trained_like(pol: SetPolicy, seed: int) -> SetPolicy:
    """Parameters away from their initial values (LayerNorm gains, biases): a fresh policy's zero biases
    would hide a dropped bias or a mis-folded scale in the export graph."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for prm in pol.parameters():
            prm.add_(0.3 * torch.randn(prm.shape, generator=g))
    return pol.eval()


def test_export_graph_equals_the_policy() -> None:
    # PolicyExport rewrites the head split (constant-shape reshapes), the preference column and the score scale.
    for prompt_input, heads, gate in ((False, 4, True), (True, 2, False), (False, 1, False)):
        pol = _trained_like(SetPolicy(dim=8, n_features=5, cost_index=1, p_index=3, width=24, heads=heads,
                                      prompt_input=prompt_input, gate_by_w=gate), seed=heads)
        g = torch.Generator().manual_seed(7)
        for k in (1, 2, 9):
            e, w, f = torch.randn(4, 8, generator=g), torch.rand(4, 1, generator=g), torch.rand(4, k, 5, generator=g)
            m = torch.ones(4, k)
            m[1, k // 2 + 1:] = 0
            m[2, -1] = 0 if k > 1 else 1     # masking also at k = 2 (the line above masks nothing there)
            with torch.no_grad():
                ref, out = pol.probs(e, w, f, m), PolicyExport(pol)(e, w, f, m)
            assert torch.allclose(out, ref, atol=1e-6), (prompt_input, heads, k, (out - ref).abs().max())
            assert (out[m == 0] == 0).all()


def test_gated_policy_weights_its_correction_by_w() -> None:
    # gate_by_w scales the learned correction by w, as the reward scales quality: at w = 0 only the
    # price rule's cost term is left (the cheapest candidate first, whatever the weights), and at
    # any w the gated logits are the ungated ones with the head's output times w.
    g = torch.Generator().manual_seed(3)
    for seed in range(3):
        pol = _trained_like(SetPolicy(dim=8, n_features=4, cost_index=0, p_index=2, width=16, heads=4,
                                      prompt_input=False, gate_by_w=True), seed)
        e, f, m = torch.randn(5, 8, generator=g), torch.rand(5, 7, 4, generator=g), torch.ones(5, 7)
        with torch.no_grad():
            probs = pol.probs(e, torch.zeros(5, 1), f, m)
            rule = torch.softmax(-pol.greedy_scale * f[..., 0], dim=-1)
            assert torch.allclose(probs, rule, atol=1e-6)
            assert torch.equal(probs.argmax(1), f[..., 0].argmin(1))
            w = torch.rand(5, 1, generator=g)
            gated = pol(e, w, f, m)
            pol.gate_by_w = False
            free = pol(e, w, f, m)
            greedy = pol.greedy_scale * (w * f[..., 2] - (1 - w) * f[..., 0])
            assert torch.allclose(gated - greedy, w * (free - greedy), atol=1e-5)
            assert not torch.allclose(gated, free, atol=1e-3)


def test_policy_onnx_matches_torch_on_both_runtimes(tmp_path: Path) -> None:
    pol = _trained_like(SetPolicy(dim=8, n_features=4, cost_index=0, p_index=2, width=16, heads=4, prompt_input=False,
                                  gate_by_w=True), 3)
    export_policy(pol, 8, 4, tmp_path / "policy.onnx")
    rng = np.random.default_rng(5)
    # The dynamic axes at the sizes the exporter's constant-shape reshapes must cope with: one row,
    # one candidate, and an empty candidate axis.
    for b, k in ((3, 6), (1, 1), (2, 0)):
        f = rng.random((b, k, 4)).astype(np.float32)
        m = np.ones((b, k), dtype=np.float32)
        if k > 4:
            m[-1, 4:] = 0
        w = rng.random((b, 1)).astype(np.float32)
        e = rng.normal(size=(b, 8)).astype(np.float32)
        out = run_onnx({"p": tmp_path / "policy.onnx"}, {"embedding": e, "preference": w, "features": f, "mask": m},
                       "probs")["p"]
        with torch.no_grad():
            ref = pol.probs(*(torch.from_numpy(x) for x in (e, w, f, m))).numpy()
        for runtime in ("node", "web"):
            assert out[runtime].shape == (b, k)
            np.testing.assert_allclose(out[runtime], ref, atol=1e-5)


def test_pairwise_loss_prefers_higher_reward_and_normalised_reward() -> None:
    r, m = torch.tensor([[1.0, 0.0]]), torch.ones(1, 2)
    assert pairwise_loss(torch.tensor([[2.0, 0.0]]), r, m) < pairwise_loss(torch.tensor([[0.0, 2.0]]), r, m)
    nr = normalised_reward(torch.tensor([[0.2, 0.4, 9.0]]), torch.tensor([[1.0, 1.0, 0.0]]))
    np.testing.assert_allclose(nr.numpy(), [[-0.1 / 0.11, 0.1 / 0.11, 0.0]], atol=1e-5)


def _toy_pool(n: int = 400, k: int = 4, dim: int = 8) -> tuple[PolicyPool, IrtModel]:
    # Model 0 is cheap and as good as the others on "easy" prompts (first half of embedding space),
    # useless on hard ones; the expensive models succeed everywhere.
    rng = np.random.default_rng(0)
    e = rng.normal(size=(n, dim)).astype(np.float32)
    e /= np.linalg.norm(e, axis=1, keepdims=True)
    easy = e[:, 0] > 0
    q = np.ones((n, k), dtype=np.float32)
    q[~easy, 0] = 0.0
    irt = IrtModel(dim, 4, k)
    pool = PolicyPool("toy", torch.from_numpy(e), torch.from_numpy(q), torch.full((n,), 100.0),
                      torch.full((k,), 200.0), torch.tensor([[0.1, 0.1]] + [[10.0, 10.0]] * (k - 1)),
                      torch.arange(k))
    return pool, irt


def test_sampler_batches_follow_the_contract() -> None:
    pool, irt = _toy_pool()
    s = EpisodeSampler([pool], irt, NAMES, seed=0, kmax=32)
    b = s.sample(300)
    sizes = b.mask.sum(1)
    assert sizes.min() >= 2 and sizes.max() <= 4 and b.features.shape[2] == 4 + 3
    assert ((b.w >= 0) & (b.w <= 1)).all()
    assert torch.allclose(b.emb.norm(dim=1), torch.ones(300), atol=1e-5)   # mixup stays on the sphere
    assert (b.reward[b.mask == 0] == 0).all() and (b.features[b.mask == 0] == 0).all()


def test_pretraining_learns_when_the_cheap_model_suffices() -> None:
    torch.manual_seed(0)
    pool, irt = _toy_pool()
    s = EpisodeSampler([pool], irt, NAMES, seed=0, mixup=0.0, price_sigma=0.0, identity_noise=0.0)
    pol = SetPolicy(8, 7, cost_index=4, p_index=5, width=16, heads=2, greedy_scale=0.0)
    pretrain(pol, s, PolicyConfig(pretrain_steps=250, pretrain_batch=128, pretrain_lr=3e-3), log=lambda _: None)
    e = pool.emb[:200]
    mask = torch.ones(200, 4)
    theta = irt.mu.detach()[None].expand(200, -1, -1)
    cost = torch.tensor([[0.001, 0.1, 0.1, 0.1]]).expand(200, -1)    # model 0 cheapest
    with torch.no_grad():
        a, c = irt.head(e)
        p = torch.sigmoid(a @ irt.mu.T - c[:, None])              # features exactly as in training
        f = build_features(p, cost, theta, mask, NAMES)
        choice = pol.probs(e, torch.full((200, 1), 0.8), f, mask).argmax(1).numpy()
    easy = e[:, 0].numpy() > 0
    assert (choice[easy] == 0).mean() > 0.85        # cheap model where it is enough
    assert (choice[~easy] != 0).mean() > 0.85       # a strong model where it is not


def test_non_dominated_matches_the_definition_and_ignores_padding() -> None:
    g = torch.Generator().manual_seed(0)
    cost = torch.randint(0, 5, (200, 12), generator=g).float()     # few values: many ties
    p = torch.randint(0, 5, (200, 12), generator=g).float() / 4
    mask = (torch.rand(200, 12, generator=g) < 0.8).float()
    kept = non_dominated(cost, p, mask)
    for b in range(200):
        idx = [i for i in range(12) if mask[b, i] > 0]
        for i in range(12):
            dominated = any(cost[b, j] <= cost[b, i] and p[b, j] >= p[b, i]
                            and (cost[b, j] < cost[b, i] or p[b, j] > p[b, i]) for j in idx)
            assert kept[b, i] == (1.0 if mask[b, i] > 0 and not dominated else 0.0)


def test_pruning_sampler_shows_the_non_dominated_subset_with_whole_set_features() -> None:
    # 12 models with spread prices and qualities, so that sets have dominated members.
    rng = np.random.default_rng(1)
    n, dim, k = 64, 8, 12
    e = rng.normal(size=(n, dim)).astype(np.float32)
    e /= np.linalg.norm(e, axis=1, keepdims=True)
    pool = PolicyPool("toy12", torch.from_numpy(e), torch.from_numpy((rng.random((n, k)) < 0.6).astype(np.float32)),
                      torch.full((n,), 100.0), torch.full((k,), 200.0),
                      torch.from_numpy(rng.uniform(0.1, 10.0, (k, 2)).astype(np.float32)), torch.arange(k))
    irt = IrtModel(dim, 4, k)
    with torch.no_grad():
        irt.mu.normal_()
    full = EpisodeSampler([pool], irt, NAMES, seed=3, kmax=32).sample(400)
    pruned = EpisodeSampler([pool], irt, NAMES, seed=3, kmax=32, prune_dominated=True).sample(400)
    assert pruned.mask.sum() < full.mask.sum() and (pruned.mask.sum(1) >= 1).all()
    # Shown candidates come first, padding after; the padding is trimmed to the largest shown set.
    assert torch.equal(pruned.mask, torch.sort(pruned.mask, dim=1, descending=True).values)
    assert pruned.mask.shape[1] == int(pruned.mask.sum(1).max())
    assert (pruned.reward[pruned.mask == 0] == 0).all() and (pruned.features[pruned.mask == 0] == 0).all()
    c, q = full.features[..., 4], full.features[..., 5]   # identity (4 columns), cost_rel, p_success, ...
    keep = non_dominated(c, q, full.mask)   # cost_rel orders candidates as their cost does
    for b in range(400):
        # Same draws: the shown rows are the full set's non-dominated rows, features relative to the whole set.
        want = sorted(full.features[b][keep[b] > 0].tolist())
        got = sorted(pruned.features[b][pruned.mask[b] > 0].tolist())
        assert got == want
        assert sorted(pruned.reward[b][pruned.mask[b] > 0].tolist()) == sorted(full.reward[b][keep[b] > 0].tolist())


def test_non_dominated_keeps_what_the_shared_fixture_says() -> None:
    # The worker's frontier.ts is tested against the same cases (test/worker/decision/frontier.test.ts).
    fixture = Path(__file__).resolve().parents[2] / "worker" / "decision" / "fixtures" / "frontier.json"
    for case in json.loads(fixture.read_text())["cases"]:
        k = len(case["cost"])
        kept = non_dominated(torch.tensor([case["cost"]], dtype=torch.float64),
                             torch.tensor([case["p"]], dtype=torch.float64),
                             torch.ones(1, k, dtype=torch.float64))
        assert torch.nonzero(kept[0]).flatten().tolist() == case["kept"]
