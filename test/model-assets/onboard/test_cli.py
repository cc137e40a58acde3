"""`npm run onboard` (model-assets/tools/onboard.ts, the worker's TS onboarding code) on a bank
built from BYOD prompts with the generated test bundle: quiz, fit from outcomes and from graded
answer text, and agreement with the Python Laplace fit on the same bank."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from trainer.onboard.bank import main as bank_main
from trainer.onboard.design import select_quiz
from trainer.onboard.items import ItemBank
from trainer.onboard.laplace import laplace_posterior

ROOT = Path(__file__).resolve().parents[3]


def onboard(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["npx", "--no-install", "tsx", str(ROOT / "model-assets/tools/onboard.ts"), *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def setup(tmp_path_factory) -> tuple[Path, Path]:
    tmp = tmp_path_factory.mktemp("cli")
    subprocess.run([sys.executable, str(ROOT / "test/fixtures/make_test_bundle.py"), str(tmp), "cli-v1"], check=True,
                   capture_output=True)
    prompts = tmp / "prompts.jsonl"
    topics = ["algebra", "poetry", "chemistry", "history", "python code", "geography", "law", "music"]
    with open(prompts, "w") as f:
        for i in range(40):
            f.write(json.dumps({"id": f"i{i}", "prompt": f"Question {i} about {topics[i % 8]}: explain step {i}.",
                                "reference": "B" if i % 2 else "Paris"}) + "\n")
    bank = tmp / "bank.json"
    assert bank_main(["--prompts", str(prompts), "--bundle", str(tmp / "cli-v1"), "--out", str(bank)]) == 0
    return tmp / "cli-v1", bank


def test_quiz_is_the_python_selection(setup) -> None:
    bundle, bank_file = setup
    r = onboard("--quiz", "8", "--bundle", str(bundle), "--bank", str(bank_file))
    assert r.returncode == 0, r.stderr
    ids = [json.loads(line)["id"] for line in r.stdout.splitlines()]
    bank = ItemBank.load(bank_file)
    manifest = json.loads((bundle / "manifest.json").read_text())
    prior = manifest["irt"]["prior"]
    want = select_quiz(bank.a, bank.c, np.array(prior["mean"]), np.array(prior["cov"]), 8, criterion="i-optimal").rows
    assert ids == [bank.ids[i] for i in want]


def test_next_item_is_the_python_adaptive_step(setup, tmp_path: Path) -> None:
    from trainer.onboard.design import next_item

    bundle, bank_file = setup
    bank = ItemBank.load(bank_file)
    prior = json.loads((bundle / "manifest.json").read_text())["irt"]["prior"]
    answers = [{"id": "i3", "outcome": 1}, {"id": "i8", "outcome": 0}]
    (tmp_path / "so-far.json").write_text(json.dumps(answers))
    r = onboard("--next", "--answers", str(tmp_path / "so-far.json"), "--bundle", str(bundle), "--bank", str(bank_file))
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout)
    want = next_item(bank.a, bank.c, np.array(prior["mean"]), np.array(prior["cov"]), bank.index(["i3", "i8"]),
                     np.array([1.0, 0.0]))
    assert got["id"] == bank.ids[want] and got["asked"] == 2


def test_fit_from_outcomes_and_graded_answers_matches_python(setup, tmp_path: Path) -> None:
    bundle, bank_file = setup
    bank = ItemBank.load(bank_file)
    outcomes = [{"id": f"i{i}", "outcome": i % 3 != 0} for i in range(12)]
    (tmp_path / "a.json").write_text(json.dumps(outcomes))
    r = onboard("--model", "new-model", "--answers", str(tmp_path / "a.json"), "--bundle", str(bundle), "--bank", str(bank_file))
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout)
    rows = bank.index([o["id"] for o in outcomes])
    y = np.array([float(o["outcome"]) for o in outcomes])
    manifest = json.loads((bundle / "manifest.json").read_text())
    prior = manifest["irt"]["prior"]
    want = laplace_posterior(bank.a[rows], bank.c[rows], y, np.array(prior["mean"]), np.array(prior["cov"]))
    assert got["source"] == "quiz" and got["n_items"] == 12 and got["bundle_version"] == "cli-v1"
    assert np.allclose(got["identity"], want.mean, atol=1e-6) and np.allclose(got["std"], want.std, atol=1e-6)
    factor = np.array(got["cov_factor"])   # vectors v_i with cov = sum_i v_i v_i^T
    assert np.allclose(factor.T @ factor, want.cov, atol=1e-8)

    # answer text graded against the references: i1 ("B") and i2 ("Paris") right, i3 wrong
    lines = [{"id": "i1", "answer": "The answer is (B)."}, {"id": "i2", "answer": "It is Paris."}, {"id": "i3", "answer": "C"}]
    (tmp_path / "b.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    r = onboard("--model", "new-model", "--answers", str(tmp_path / "b.jsonl"), "--bundle", str(bundle), "--bank", str(bank_file))
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["correct"] == 2

    (tmp_path / "c.csv").write_text("id,outcome\ni1,1\nzzz,0\n")
    r = onboard("--model", "m", "--answers", str(tmp_path / "c.csv"), "--bundle", str(bundle), "--bank", str(bank_file))
    assert r.returncode == 2 and "zzz" in r.stderr
