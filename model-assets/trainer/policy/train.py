"""Policy training: supervised pairwise-wins pretraining, then multi-objective PPO (one-step bandit)."""
from __future__ import annotations

import copy
import time
from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F

from .episodes import EpisodeSampler, normalised_reward
from .model import SetPolicy


@dataclass
class PolicyConfig:
    """Hyper-parameters; defaults are the shipped bundle's."""

    width: int = 48
    heads: int = 4
    blocks: int = 2
    prompt_input: bool = False  # see SetPolicy: the prompt reaches the policy through p_success only
    prune_dominated: bool = True  # SetPolicy; build --no-prune-dominated shows all (model-assets/README.md, Policy)
    gate_by_w: bool = True  # SetPolicy: the learned correction is weighted by w, as quality is in the reward
    pretrain_steps: int = 400
    pretrain_batch: int = 256
    pretrain_lr: float = 1e-3
    ppo_iters: int = 0  # off by default: its checkpoints broke two-model pools (model-assets/README.md, Policy)
    ppo_batch: int = 1024
    ppo_epochs: int = 3
    ppo_minibatch: int = 256
    ppo_lr: float = 1e-4
    clip: float = 0.2
    entropy: float = 0.0
    eval_every: int = 5
    seed: int = 0


def pairwise_loss(logits: torch.Tensor, reward: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Pairwise wins weighted by the reward gap: ``(r_i - r_j)+ * -log sigmoid(logit_i - logit_j)``.

    Unweighted wins of noisy 0/1 outcomes would rank by quality alone (cost only breaks ties);
    weighting by the gap makes the optimum order candidates by *expected* reward, so the
    quality-versus-cost trade-off survives.

    @example
        pairwise_loss(torch.tensor([[2.0, 0.0]]), torch.tensor([[1.0, 0.0]]), torch.ones(1, 2))
    """
    logits = torch.where(mask > 0, logits, torch.zeros_like(logits))
    diff = logits[:, :, None] - logits[:, None, :]
    wins = torch.relu(reward[:, :, None] - reward[:, None, :]) * mask[:, :, None] * mask[:, None, :]
    return (F.softplus(-diff) * wins).sum() / wins.sum().clamp(min=1)


def pretrain(policy: SetPolicy, sampler: EpisodeSampler, cfg: PolicyConfig,
             validate: Callable[[SetPolicy], float] | None = None, log=print) -> SetPolicy:
    """Supervised pretraining on pairwise wins of realised rewards.

    @example
        pretrain(policy, sampler, PolicyConfig(pretrain_steps=100))
    """
    opt = torch.optim.AdamW(policy.parameters(), lr=cfg.pretrain_lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(cfg.pretrain_steps, 1))
    t0, running = time.time(), 0.0
    every = max(1, cfg.pretrain_steps // 5)
    for step in range(1, cfg.pretrain_steps + 1):
        policy.train()
        b = sampler.sample(cfg.pretrain_batch)
        loss = pairwise_loss(policy(b.emb, b.w, b.features, b.mask), b.reward, b.mask)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(policy.parameters(), 1.0)
        opt.step()
        sched.step()
        running += float(loss)
        if step % every == 0 or step == cfg.pretrain_steps:
            extra = f"  val score {validate(policy):.4f}" if validate else ""
            log(f"[policy] pretrain {step}/{cfg.pretrain_steps}  pairwise loss {running / every:.4f}{extra}  "
                f"({time.time() - t0:.0f}s)")
            running = 0.0
    return policy


def ppo(policy: SetPolicy, sampler: EpisodeSampler, cfg: PolicyConfig,
        validate: Callable[[SetPolicy], float] | None = None, log=print) -> tuple[SetPolicy, list[tuple[int, float]]]:
    """Multi-objective PPO: reward ``w * quality - (1 - w) * cost_norm`` normalised per candidate set.

    One step per episode (a contextual bandit), so the advantage of the sampled candidate is its
    normalised reward minus the old policy's expected normalised reward (known exactly, since every
    candidate's outcome is in the data). Returns the checkpoint with the best ``validate`` score
    (the pretrained one included) and the validation history.

    @example
        best, history = ppo(policy, sampler, cfg, validate=val_aiq)
    """
    opt = torch.optim.AdamW(policy.parameters(), lr=cfg.ppo_lr, weight_decay=1e-4)
    gen = torch.Generator().manual_seed(cfg.seed + 1)
    history: list[tuple[int, float]] = []
    best_state, best_score = copy.deepcopy(policy.state_dict()), float("-inf")
    if validate:
        best_score = validate(policy)
        history.append((0, best_score))
        log(f"[policy] ppo 0/{cfg.ppo_iters}  val score {best_score:.4f} (pretrained)")
    t0 = time.time()
    for it in range(1, cfg.ppo_iters + 1):
        policy.eval()
        rollouts, rewards = [], []
        for _ in range(max(1, cfg.ppo_batch // cfg.ppo_minibatch)):
            b = sampler.sample(cfg.ppo_minibatch)   # one pool per sub-batch
            adv_all = normalised_reward(b.reward, b.mask)
            with torch.no_grad():
                old = policy.probs(b.emb, b.w, b.features, b.mask)
                action = torch.multinomial(old + 1e-12 * b.mask, 1, generator=gen).squeeze(1)
                rows = torch.arange(len(action))
                old_logp = torch.log(old[rows, action].clamp(min=1e-12))
                adv = adv_all[rows, action] - (old * adv_all).sum(dim=1)
            rollouts.append((b, action, old_logp, adv))
            rewards.append(float((old * b.reward).sum(dim=1).mean()))
        mean_reward = sum(rewards) / len(rewards)
        policy.train()
        for _ in range(cfg.ppo_epochs):
            for j in torch.randperm(len(rollouts), generator=gen).tolist():
                b, action, old_logp, adv = rollouts[j]
                logp_all = torch.log_softmax(policy(b.emb, b.w, b.features, b.mask), dim=-1)
                logp = logp_all[torch.arange(len(action)), action]
                ratio = torch.exp(logp - old_logp)
                surr = torch.minimum(ratio * adv, torch.clamp(ratio, 1 - cfg.clip, 1 + cfg.clip) * adv)
                ent = -(torch.exp(logp_all) * torch.where(b.mask > 0, logp_all, torch.zeros_like(logp_all))).sum(dim=1)
                loss = -surr.mean() - cfg.entropy * ent.mean()
                opt.zero_grad()
                loss.backward()
                torch.nn.utils.clip_grad_norm_(policy.parameters(), 1.0)
                opt.step()
        if it % cfg.eval_every == 0 or it == cfg.ppo_iters:
            msg = f"[policy] ppo {it}/{cfg.ppo_iters}  expected reward {mean_reward:.4f}"
            if validate:
                score = validate(policy)
                history.append((it, score))
                msg += f"  val score {score:.4f}"
                if score > best_score:
                    best_score, best_state = score, copy.deepcopy(policy.state_dict())
            log(msg + f"  ({time.time() - t0:.0f}s)")
    if validate:
        policy.load_state_dict(best_state)
    policy.eval()
    return policy, history
