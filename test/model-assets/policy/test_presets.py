"""Preset calibration: ``balanced`` is the least w from which the policy keeps 95% of the best single
model's validation quality."""
from __future__ import annotations

import numpy as np
import pytest

from trainer.policy.presets import least_w_from_which


def test_least_w_from_which_needs_every_larger_w_to_reach_the_target() -> None:
    ws = [0.0, 0.25, 0.5, 0.75, 1.0]
    assert least_w_from_which(ws, [0.2, 0.5, 0.9, 0.92, 0.95], 0.9) == 0.5
    # A lucky 0.25 followed by a dip does not count: the dip at 0.5 sets the bound.
    assert least_w_from_which(ws, [0.2, 0.91, 0.85, 0.92, 0.95], 0.9) == 0.75
    # Not even w = 1 reaches it: balanced becomes quality (the largest w on the grid).
    assert least_w_from_which(ws, [0.2, 0.5, 0.6, 0.7, 0.8], 0.9) == 1.0
    assert least_w_from_which(ws[:4], [0.2, 0.5, 0.6, 0.7], 0.9) == 0.75
    assert least_w_from_which(ws, [0.95] * 5, 0.9) == 0.0


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_least_w_from_which_matches_a_brute_force_scan(seed: int) -> None:
    rng = np.random.default_rng(seed)
    ws = np.round(np.linspace(0, 1, 21), 2)
    q = np.sort(rng.uniform(0.3, 0.9, 21)) + rng.normal(0, 0.03, 21)
    target = 0.75
    ok = [w for i, w in enumerate(ws) if np.all(q[i:] >= target)]
    assert least_w_from_which(ws, q, target) == (min(ok) if ok else ws[-1])
