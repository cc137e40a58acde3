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
    r = onboard("--model", "new-model", "--answers", str(tmp_path / "a.json"), "--bundle", str(bundle), "--bank",
                str(bank_file))
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
    # the overall ability on the bank: the worker's bankAbility and the benchmark's ability_gap agree
    from trainer.onboard.design import sigmoid
    from trainer.onboard.evaluate import ability_gap
    assert got["ability"]["logit_std"] == pytest.approx(ability_gap(bank.a.mean(axis=0), want.mean, want.cov,
                                                                    want.mean)[1], abs=1e-6)
    assert got["ability"]["expected_accuracy"] == pytest.approx(float(sigmoid(bank.a @ want.mean - bank.c).mean()),
                                                                abs=1e-6)

    # answer text graded against the references: i1 ("B") and i2 ("Paris") right, i3 wrong
    lines = [{"id": "i1", "answer": "The answer is (B)."}, {"id": "i2", "answer": "It is Paris."},
             {"id": "i3", "answer": "C"}]
    (tmp_path / "b.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    r = onboard("--model", "new-model", "--answers", str(tmp_path / "b.jsonl"), "--bundle", str(bundle), "--bank",
                str(bank_file))
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["correct"] == 2

    (tmp_path / "c.csv").write_text("id,outcome\ni1,1\nzzz,0\n")
    r = onboard("--model", "m", "--answers", str(tmp_path / "c.csv"), "--bundle", str(bundle), "--bank", str(bank_file))
    assert r.returncode == 2 and "zzz" in r.stderr


def test_a_bank_with_a_prior_starts_every_command_from_it(setup, tmp_path: Path) -> None:
    """A bank built with --prior-models carries its population's prior; quiz, next and fit all start
    from it (the Python twins given that prior), and the fit says so."""
    from trainer.onboard.design import next_item

    bundle, _ = setup
    prompts = bundle.parent / "prompts.jsonl"
    bank_file = tmp_path / "bank-prior.json"
    names = "test-large,test-medium,small"   # an alias counts as its model
    assert bank_main(["--prompts", str(prompts), "--bundle", str(bundle), "--out", str(bank_file),
                      "--prior-models", names]) == 0
    bank = ItemBank.load(bank_file)
    assert bank.prior is not None and bank.prior.models == ["test-large", "test-medium", "small"]
    manifest = json.loads((bundle / "manifest.json").read_text())
    ids = {m["name"]: m["identity"] for m in manifest["models"]}
    assert np.allclose(bank.prior.mean, np.mean([ids["test-large"], ids["test-medium"], ids["test-small"]], axis=0),
                       atol=1e-6)
    mean, cov = bank.prior.mean, bank.prior.cov
    assert not np.allclose(mean, manifest["irt"]["prior"]["mean"])

    r = onboard("--quiz", "8", "--bundle", str(bundle), "--bank", str(bank_file))
    assert r.returncode == 0, r.stderr
    assert [json.loads(line)["id"] for line in r.stdout.splitlines()] == \
        [bank.ids[i] for i in select_quiz(bank.a, bank.c, mean, cov, 8, criterion="i-optimal").rows]

    answers = [{"id": "i3", "outcome": 1}, {"id": "i8", "outcome": 0}]
    (tmp_path / "so-far.json").write_text(json.dumps(answers))
    r = onboard("--next", "--answers", str(tmp_path / "so-far.json"), "--bundle", str(bundle), "--bank", str(bank_file))
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["id"] == bank.ids[next_item(bank.a, bank.c, mean, cov, bank.index(["i3", "i8"]),
                                                            np.array([1.0, 0.0]))]

    outcomes = [{"id": f"i{i}", "outcome": i % 3 != 0} for i in range(12)]
    (tmp_path / "a.json").write_text(json.dumps(outcomes))
    r = onboard("--model", "new-model", "--answers", str(tmp_path / "a.json"), "--bundle", str(bundle), "--bank",
                str(bank_file))
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout)
    want = laplace_posterior(bank.a[:12], bank.c[:12], np.array([float(i % 3 != 0) for i in range(12)]), mean, cov)
    assert got["prior"] == "bank" and np.allclose(got["identity"], want.mean, atol=1e-5)


def test_bank_prior_options(setup, tmp_path: Path) -> None:
    bundle, bank_file = setup
    assert ItemBank.load(bank_file).prior is None   # an operator's bank names no population by default
    prompts = bundle.parent / "prompts.jsonl"
    out = tmp_path / "x.json"
    assert bank_main(["--prompts", str(prompts), "--bundle", str(bundle), "--out", str(out), "--prior-models",
                      "test-large,nope"]) == 2
    assert bank_main(["--prompts", str(prompts), "--bundle", str(bundle), "--out", str(out), "--prior-models",
                      "test-large,small"]) == 2
    assert not out.exists()
    assert bank_main(["--prompts", str(prompts), "--bundle", str(bundle), "--out", str(out), "--prior-models",
                      "test-large,test-medium,test-tiny", "--population-prior"]) == 0
    assert ItemBank.load(out).prior is None
