"""Where the pipeline finds the shared data: the same order as scripts/setup.mjs dataRoot()."""
from __future__ import annotations

import subprocess
from pathlib import Path

from trainer.paths import data_root


def _git(*args: str) -> None:
    subprocess.run(["git", *args], check=True, capture_output=True)


def test_env_then_beside_then_beside_the_origin(tmp_path: Path) -> None:
    origin = tmp_path / "work" / "main"
    origin.mkdir(parents=True)
    _git("init", "-q", str(origin))
    shared = tmp_path / "work" / "shared" / "data"
    shared.mkdir(parents=True)
    clone = tmp_path / "elsewhere" / "x"
    clone.mkdir(parents=True)
    _git("init", "-q", str(clone))
    _git("-C", str(clone), "remote", "add", "origin", str(origin))

    assert data_root(origin, {"ROUTER_DATA": "/somewhere"}) == Path("/somewhere")
    assert data_root(origin, {}) == shared                                  # beside the project
    assert data_root(clone, {}) == shared                                   # beside the clone's origin
    _git("-C", str(clone), "remote", "set-url", "origin", f"file://{origin}")
    assert data_root(clone, {}) == shared
    lone = tmp_path / "lone"
    lone.mkdir()
    assert data_root(lone,
                     {}) == tmp_path / "shared" / "data"              # not there: the beside path, reported by readers
