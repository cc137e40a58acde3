"""Routing quality with student vs teacher embeddings (issue 3's 2% check), mmlu-pro.

Trains the bundle's IRT recipe (16-d identities, hidden 128, 30 epochs, ELBO KL) on the mmlu-pro
train split twice, once on USE-Lite teacher vectors (read from the teacher cache) and once on the
student's, and reports the test-split AIQ of IRT-lambda (``argmax p - lam * expected cost``) and
IRT-greedy (``w p - (1-w) cost_norm``) for two seeds each. Cold-start models are out of the pool.

    cd model-assets && PYTHONPATH=. /usr/bin/python3 tools/compare_embeddings.py [--student DIR]
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from trainer.data import COLD_START_MODELS, load_dataset
from trainer.embed import load_student
from trainer.embed.teacher import read_cache, text_key
from trainer.irt.model import IrtModel
from trainer.paths import BUILD_DIR, DEFAULT_FILE
from trainer.scoring.evalset import build_evalset, cost_norm
from trainer.scoring.greedy import greedy_curve, lambda_curve
from trainer.scoring.metrics import aiq, hull_aiq


def fit_irt(emb: np.ndarray, y: np.ndarray, seed: int, epochs: int = 30) -> IrtModel:
    """The shipped IRT recipe on one dataset (soft BCE, missing masked, KL / n_obs)."""
    torch.manual_seed(seed)
    model = IrtModel(emb.shape[1], 16, y.shape[1], 128, 0.1)
    opt = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=1e-4)
    e, t = torch.from_numpy(emb), torch.from_numpy(np.nan_to_num(y))
    mask = torch.from_numpy(~np.isnan(y)).float()
    for _ in range(epochs):
        model.train()
        for b in torch.randperm(len(e)).split(512):
            bce = torch.nn.functional.binary_cross_entropy_with_logits(model(e[b], sample=True), t[b], reduction="none")
            loss = (bce * mask[b]).sum() / mask[b].sum() + model.kl() / mask.sum()
            opt.zero_grad()
            loss.backward()
            opt.step()
    return model.eval()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    version = DEFAULT_FILE.read_text().strip()
    ap.add_argument("--student", type=Path, default=BUILD_DIR / version / "embedder")
    args = ap.parse_args()
    torch.set_num_threads(1)
    es = build_evalset(load_dataset("mmlu-pro"), exclude=COLD_START_MODELS)
    train, test = es.train, es.test
    cache = read_cache()
    texts = train.table.prompts + test.table.prompts
    missing = sum(text_key(p) not in cache for p in texts)
    if missing:
        raise SystemExit(f"{missing} mmlu-pro prompts have no teacher vector yet: run `python3 -m "
                         "trainer.embed.teacher`")
    student = load_student(args.student)
    spaces = {
        "teacher": [np.stack([cache[text_key(p)] for p in s.table.prompts]).astype(np.float32) for s in (train, test)],
        "student": [student.embed(s.table.prompts) for s in (train, test)],
    }
    pool = es.pool()
    print(f"mmlu-pro: {train.size} train / {test.size} test prompts, {len(es.models)} models; hull AIQ "
          f"{hull_aiq(pool):.4f}")
    for name, (e_train, e_test) in spaces.items():
        t0 = time.time()
        rows = []
        for seed in (0, 1):
            model = fit_irt(e_train, train.table.outcome, seed)
            with torch.no_grad():
                p = torch.sigmoid(model(torch.from_numpy(e_test))).numpy()
            rows.append((aiq(lambda_curve(p, test.expected_cost, test.cost, test.quality), pool),
                         aiq(greedy_curve(p, cost_norm(test.expected_cost), test.cost, test.quality), pool)))
        lam, greedy = np.mean(rows, axis=0)
        print(f"[{name}] IRT-lambda AIQ {lam:.4f}  IRT-greedy AIQ {greedy:.4f}  (2 seeds, {time.time() - t0:.0f}s)")


if __name__ == "__main__":
    main()
