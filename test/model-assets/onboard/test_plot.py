"""The onboarding plot: gain fraction against quiz size, from a results object or an archived JSON."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from trainer.onboard import evaluate
from trainer.onboard.plot import Y_RANGE, _clip, plot_gain

PNG = b"\x89PNG\r\n\x1a\n"


def results() -> dict:
    def q(g: float | None, r: float | None) -> dict:
        return {"gain_fraction": g, "random_gain_fraction": r}
    return {"onboarding": {"a": {"quiz": {"10": q(-2.5, None), "20": q(0.5, 0.1), "50": q(0.9, 0.7)}},
                           "b": {"quiz": {"20": q(None, None), "50": q(1.0, 0.95)}}},
            "meta": {"pool_size": 4, "pool_draws": 12}}


def test_clip_marks_points_outside_the_range() -> None:
    assert _clip(-2.5) == (Y_RANGE[0], True)
    assert _clip(0.5) == (0.5, False)
    assert _clip(3.0) == (Y_RANGE[1], True)


def test_plot_writes_a_png_and_refuses_empty_results(tmp_path: Path) -> None:
    out = tmp_path / "sub" / "gain.png"
    plot_gain(results(), out)   # gaps (None) and clipped points are drawn, not fatal
    assert out.read_bytes()[:8] == PNG
    with pytest.raises(ValueError):
        plot_gain({"onboarding": {}}, tmp_path / "empty.png")


def test_replot_draws_an_archived_run_without_running(tmp_path: Path) -> None:
    src = tmp_path / "run.json"
    src.write_text(json.dumps(results()))
    out = tmp_path / "replot.png"
    assert evaluate.main(["--replot", str(src), "--plot", str(out)]) == 0
    assert out.read_bytes()[:8] == PNG
    with pytest.raises(SystemExit):
        evaluate.main(["--replot", str(src)])                                   # nothing to draw to
    with pytest.raises(SystemExit):
        evaluate.main(["--replot", str(tmp_path / "missing.json"), "--plot", str(out)])
    (tmp_path / "bad.json").write_text(json.dumps({"meta": {}}))
    with pytest.raises(SystemExit):
        evaluate.main(["--replot", str(tmp_path / "bad.json"), "--plot", str(out)])
