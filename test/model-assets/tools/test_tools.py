"""The research tools under model-assets/tools are run by hand, not by the pipeline, so nothing else
notices when a refactor moves what they import (quiz_study.py imported the scoring modules from
their old place in trainer/eval until this test): each must at least start and print its usage."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ASSETS = Path(__file__).resolve().parents[3] / "model-assets"
#: Tools with a command line (``--help`` prints it and exits).
WITH_USAGE = ("quiz_study.py", "compare_embeddings.py", "pair_pooling.py")
#: Tools that take no arguments and write a file when run, checked by what they write instead:
#: make_warm_model.py's graph by test/worker/runtime.
NO_USAGE = ("make_warm_model.py",)


@pytest.mark.parametrize("tool", WITH_USAGE)
def test_the_tool_starts_and_prints_its_usage(tool: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(ASSETS), "OMP_NUM_THREADS": "1"}
    out = subprocess.run([sys.executable, str(ASSETS / "tools" / tool), "--help"], cwd=ASSETS, env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "usage:" in out.stdout


def test_every_tool_is_checked() -> None:
    assert sorted(t.name for t in (ASSETS / "tools").glob("*.py")) == sorted(WITH_USAGE + NO_USAGE)
