"""Item bank JSON form (what bank.json and the R2 bank hold)."""
from __future__ import annotations

import numpy as np
import pytest

from trainer.onboard.items import ItemBank


def test_json_round_trip_without_and_with_text(tmp_path) -> None:
    bank = ItemBank(ids=["a", "b"], a=np.array([[1.0, 0.5], [0.25, -1.0]]), c=np.array([0.1, -0.2]),
                    bundle_version="v1", name="demo", prompts=["p1", "p2"], references=["A", None])
    bank.save(tmp_path / "bank.json")
    plain = ItemBank.load(tmp_path / "bank.json")
    assert plain.ids == ["a", "b"] and plain.prompts is None
    assert np.allclose(plain.a, bank.a) and np.allclose(plain.c, bank.c)
    bank.save(tmp_path / "text.json", with_text=True)
    full = ItemBank.load(tmp_path / "text.json")
    assert full.prompts == ["p1", "p2"] and full.references == ["A", None]
    assert full.subset(np.array([1])).ids == ["b"]
    assert bank.index(["b", "a"]).tolist() == [1, 0]
    with pytest.raises(KeyError):
        bank.index(["zz"])


def test_rejects_inconsistent_banks() -> None:
    with pytest.raises(ValueError):
        ItemBank(ids=["a", "a"], a=np.zeros((2, 2)), c=np.zeros(2))
    with pytest.raises(ValueError):
        ItemBank(ids=["a"], a=np.zeros((2, 2)), c=np.zeros(2))
    with pytest.raises(ValueError):
        ItemBank(ids=["a"], a=np.array([[np.nan]]), c=np.zeros(1))
