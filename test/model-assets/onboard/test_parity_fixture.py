"""Pins the Python onboarding numbers to the fixture that the worker's TS twin is tested against.

``test/worker/onboarding/design.test.ts`` checks the TypeScript selection and Laplace fit against
the same file, so together the two tests mean: TS == fixture == Python. Regenerate after an
intended change with ``UPDATE_FIXTURES=1 /usr/bin/python3 -m pytest test/model-assets/onboard``.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from trainer.onboard.design import expected_item_weights, select_quiz
from trainer.onboard.laplace import laplace_posterior

from .synthetic import draw_outcomes, synthetic_bank

FIXTURE = Path(__file__).resolve().parents[2] / "worker" / "onboarding" / "fixtures" / "parity.json"


def build_case() -> dict:
    """A synthetic bank (60 items, d = 6), a 12-item quiz per expectation mode, and its posteriors."""
    a, c, mean, cov = synthetic_bank(n_items=60, dim=6, seed=42)
    a, c = np.round(a, 6), np.round(c, 6)
    mean, cov = np.round(mean, 6), np.round(cov, 6)
    theta = np.random.default_rng(43).multivariate_normal(mean, cov)
    y = draw_outcomes(a, c, theta, np.random.default_rng(44))
    case: dict = {
        "a": a.tolist(), "c": c.tolist(), "prior": {"mean": mean.tolist(), "cov": cov.tolist()},
        "y": y.tolist(), "weights": expected_item_weights(a, c, mean, cov).tolist(), "quizzes": {},
    }
    for mode in ("prior", "mean", "i-optimal"):
        quiz = (select_quiz(a, c, mean, cov, 12, criterion="i-optimal") if mode == "i-optimal"
                else select_quiz(a, c, mean, cov, 12, expectation=mode))
        rows = quiz.rows
        post = laplace_posterior(a[rows], c[rows], y[rows], mean, cov)
        case["quizzes"][mode] = {
            "rows": rows.tolist(), "gains": quiz.gains.tolist(),
            "posterior": {"mean": post.mean.tolist(), "cov": post.cov.tolist(), "iterations": post.iterations},
        }
    from trainer.onboard.design import adaptive_quiz

    for crit in ("i-optimal", "d-optimal"):
        rows, _ = adaptive_quiz(a, c, mean, cov, 10, lambda r: float(y[r]), criterion=crit)
        case.setdefault("adaptive", {})[crit] = rows.tolist()
    full = laplace_posterior(a, c, y, mean, cov)
    case["full_posterior"] = {"mean": full.mean.tolist(), "cov": full.cov.tolist()}
    return case


def test_fixture_matches_python() -> None:
    case = build_case()
    if os.environ.get("UPDATE_FIXTURES") == "1":
        FIXTURE.parent.mkdir(parents=True, exist_ok=True)
        FIXTURE.write_text(json.dumps(case, indent=1) + "\n")
    stored = json.loads(FIXTURE.read_text())
    for mode in ("prior", "mean", "i-optimal"):
        assert stored["quizzes"][mode]["rows"] == case["quizzes"][mode]["rows"]
        for key in ("mean", "cov"):
            assert np.allclose(stored["quizzes"][mode]["posterior"][key], case["quizzes"][mode]["posterior"][key],
                               atol=1e-9)
    assert np.allclose(stored["weights"], case["weights"], atol=1e-12)
    assert stored["adaptive"] == case["adaptive"]
    assert np.allclose(stored["full_posterior"]["mean"], case["full_posterior"]["mean"], atol=1e-9)
