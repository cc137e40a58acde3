"""The manifest the worker reads with JSON.parse, which refuses NaN."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from trainer.export.manifest import write_manifest

MODEL = {"name": "m", "aliases": [], "identity": [0.1], "identity_std": [0.2], "mean_output_tokens": 10.0,
         "input_usd_per_mtok": 1.0, "output_usd_per_mtok": 2.0}


def _write(tmp_path: Path, models: list[dict], ev: dict) -> dict:
    return write_manifest(tmp_path, "v-t", {"space": "s", "dim": 1}, None, 1, {"mean": [0.0], "cov": [[1.0]]}, [],
                          models, ev, {"datasets": {}})


def test_a_report_without_a_number_says_null(tmp_path: Path) -> None:
    _write(tmp_path, [MODEL], {"policy": {"apgr": float("nan"), "points": [[1.0, float("inf")]]}})
    m = json.loads((tmp_path / "manifest.json").read_text())   # Python's json.loads, like JSON.parse, sees null
    assert m["eval"]["policy"] == {"apgr": None, "points": [[1.0, None]]}
    assert "NaN" not in (tmp_path / "manifest.json").read_text()


def test_a_contract_field_without_a_number_fails_the_build(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not a finite number"):
        _write(tmp_path, [{**MODEL, "mean_output_tokens": float("nan")}], {})
    assert not (tmp_path / "manifest.json").exists()
