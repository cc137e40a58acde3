"""Every ``>>>`` example in the pipeline's docstrings runs and prints what it says. Examples that
need a built bundle, a trained student or the network are written as ``@example`` blocks instead."""
from __future__ import annotations

import doctest
import importlib
from pathlib import Path

import pytest

TRAINER = Path(__file__).resolve().parents[2] / "model-assets" / "trainer"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(TRAINER.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


WITH_EXAMPLES = sorted(module_name(p) for p in TRAINER.rglob("*.py") if ">>>" in p.read_text())


def test_the_pipeline_has_examples() -> None:
    assert len(WITH_EXAMPLES) > 20


@pytest.mark.parametrize("name", WITH_EXAMPLES)
def test_docstring_examples_hold(name: str) -> None:
    module = importlib.import_module(name)
    tests = doctest.DocTestFinder().find(module, name)
    found = sum(len(t.examples) for t in tests if t.filename and Path(t.filename).resolve().is_relative_to(TRAINER))
    # every ">>>" line of the source is an example doctest sees (none hidden where it cannot look)
    path = Path(module.__file__ or "")
    assert found == sum(line.lstrip().startswith(">>>") for line in path.read_text().splitlines())
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    report: list[str] = []
    for t in tests:
        runner.run(t, out=report.append)
    assert runner.failures == 0, "".join(report)
