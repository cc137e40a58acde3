"""A build publishes its bundle folder whole or not at all: a late stage that fails, a parity check
that fails, or a SIGTERM mid-build (the real stages, in a subprocess) leaves no bundle folder (and
no staging folder) behind, and an older bundle of the same version stays as it was. Bad command
lines and malformed folders stop before anything is written."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import trainer.build as build
from trainer.data import load_dataset
from trainer.data.byod import write_byod

ROOT = Path(__file__).resolve().parents[3]
SMOKE = ["--smoke", "--dev-embedding", "--pretrain-steps", "5", "--ppo-iters", "0"]


@pytest.fixture(scope="module")
def evals(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small customer folder: 150 arena-hard prompts (fixed split) x 4 models."""
    t = load_dataset("arena-hard-v1")
    return write_byod(t.subset(rows=np.arange(150), models=t.models[:4]), tmp_path_factory.mktemp("byod") / "evals")


def _leftovers(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir()) if parent.exists() else []


def _late_stage(fail: str):
    """A stand-in for stages 2-9 that writes the graphs into the staging folder, then fails the
    way asked: an exception (a crash) or a parity check that disagrees. main()'s handling of
    either is what is under test; the SIGTERM test below runs the real stages."""
    def stages(args: object, tables: object, staging: Path, *_a: object) -> dict:
        for name in ("irt.onnx", "policy.onnx"):
            (staging / name).write_bytes(b"half-written")
        if fail == "crash":
            raise RuntimeError("onnxruntime-node exited with signal 9")
        agree = {"top_choice_agreement": 1.0, "max_abs_diff": 0.0}
        return {"parity": {"policy": {"fp32_node": agree,
                                      "int8_web": {"top_choice_agreement": 0.9, "max_abs_diff": 0.3}},
                           "policy_rows": 500},
                "manifest": {"files": {}}, "policy_eval": {"policy": {"aiq": 0.5, "ctm": None},
                                                           "irt_greedy": {"aiq": 0.5, "ctm": None},
                                                           "single_model_hull_aiq": 0.5},
                "irt_eval": {}, "ref_name": "evals", "total_onnx": 24}
    return stages


def test_a_late_stage_failure_leaves_the_old_bundle_and_no_new_folder(evals: Path, tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "bundles" / "v-mine"
    out.mkdir(parents=True)
    (out / "manifest.json").write_text('{"version": "v-mine", "old": true}')   # a bundle already published
    monkeypatch.setattr(build, "build_bundle", _late_stage("crash"))
    with pytest.raises(RuntimeError, match="signal 9"):
        build.main([*SMOKE, "--byod", str(evals), "--version", "v-mine", "--out", str(out)])
    assert _leftovers(out.parent) == ["build", "v-mine"]           # no .v-mine.partial-* staging folder
    assert json.loads((out / "manifest.json").read_text()) == {"version": "v-mine", "old": True}
    assert sorted(p.name for p in out.iterdir()) == ["manifest.json"]   # nothing of the failed build in it


def test_a_failed_parity_check_publishes_nothing(evals: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(build, "build_bundle", _late_stage("parity"))
    out = tmp_path / "bundles" / "v-mine"
    assert build.main([*SMOKE, "--byod", str(evals), "--version", "v-mine", "--out", str(out)]) == 1
    assert _leftovers(out.parent) == ["build"]
    assert "no bundle written" in capsys.readouterr().err


def test_sigterm_mid_build_leaves_no_bundle_folder(evals: Path, tmp_path: Path) -> None:
    out = tmp_path / "bundles" / "v-mine"
    env = {**os.environ, "PYTHONPATH": str(ROOT / "model-assets"), "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "trainer.build", *SMOKE, "--byod", str(evals), "--version", "v-mine",
                             "--out", str(out)], cwd=ROOT / "model-assets", env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    assert proc.stdout is not None
    seen = []
    for line in proc.stdout:   # stop it once the staging folder holds the exported graphs
        seen.append(line)
        if line.startswith("[build 8/10]"):
            assert any(p.name.startswith(".v-mine.partial-") for p in out.parent.iterdir())
            proc.send_signal(signal.SIGTERM)
            break
    assert proc.wait(timeout=60) == 128 + signal.SIGTERM, "".join(seen)
    assert _leftovers(out.parent) == ["build"]


def test_a_malformed_folder_is_refused_before_anything_is_written(
        evals: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad"
    bad.mkdir()
    for f in ("prompts.jsonl", "prices.csv"):
        (bad / f).write_bytes((evals / f).read_bytes())
    lines = (evals / "outcomes.csv").read_text().splitlines()
    lines[5] = lines[5].replace(lines[5].split(",")[2], "1.5", 1)   # an outcome outside [0, 1] on line 6
    (bad / "outcomes.csv").write_text("\n".join(lines) + "\n")
    out = tmp_path / "bundles" / "v-mine"
    assert build.main([*SMOKE, "--byod", str(bad), "--version", "v-mine", "--out", str(out)]) == 2
    assert "outcomes.csv:6: outcome must be in [0, 1], got 1.5" in capsys.readouterr().err
    assert not out.parent.exists()


@pytest.mark.parametrize("flags,what", [
    (["--exclude-dataset", "nope", "--version", "v-x"], "not a shared dataset"),
    (["--exclude-dataset", "routerarena"], "needs --version"),
    (["--version", "../escape"], "--version"),
    (["--version", ".hidden"], "--version"),
])
def test_bad_build_flags_are_refused(flags: list[str], what: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as err:
        build.main(["--smoke", "--dev-embedding", *flags])
    assert err.value.code == 2 and what in capsys.readouterr().err


def test_byod_and_exclude_dataset_do_not_mix(evals: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        build.main(["--byod", str(evals), "--version", "v-x", "--exclude-dataset", "routerarena"])
    assert "--exclude-dataset" in capsys.readouterr().err


def test_a_byod_build_reuses_the_default_bundles_embedder_unless_told_otherwise(evals: Path) -> None:
    args = build.parse_args(["--byod", str(evals), "--version", "v-x"])
    default = build.default_bundle_dir()
    assert default is not None and args.student_from_bundle == default
    assert args.student_dir == build.reused_student_dir(default) and args.reused_embedder == default.name
    for opt_out in (["--retrain-embedder"], ["--dev-embedding"], ["--student-dir", "/tmp/s"]):
        assert build.parse_args(["--byod", str(evals), "--version", "v-x", *opt_out]).reused_embedder is None


def test_progress_reports_each_stages_time() -> None:
    p = build.Progress(2)
    p.step("one")
    time.sleep(0.05)
    p.step("two")
    (n1, s1), (n2, s2) = p.stage_seconds()
    assert (n1, n2) == ("one", "two") and s1 >= 0.05 and s2 >= 0.0
