"""Bring-your-own-data reader: good folders load, bad rows are named by file and line."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from trainer.data import ByodError, load_byod
from trainer.data.byod import hash_split


def _write(folder: Path, prompts: list[dict], outcomes: str, prices: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "prompts.jsonl").write_text("".join(json.dumps(p) + "\n" for p in prompts))
    (folder / "outcomes.csv").write_text(outcomes)
    (folder / "prices.csv").write_text(prices)
    return folder


PRICES = "model,input_usd_per_mtok,output_usd_per_mtok,basis\nbig,10,30,list\nsmall,0.2,0.2,list\n"


def test_loads_with_optional_columns_empty(tmp_path: Path) -> None:
    prompts = [{"id": "a", "prompt": "x" * 40, "split": "train"}, {"id": "b", "prompt": "yy", "split": "test"},
               {"id": "c", "prompt": "zzz"}]
    outcomes = ("prompt_id,model,outcome,input_tokens,output_tokens\n"
                "a,big,1,,100\na,small,0,,\nb,big,0.5,7,300\nb,small,1,,50\nc,big,1,,\n")
    t = load_byod(_write(tmp_path / "mine", prompts, outcomes, PRICES))
    assert t.dataset == "mine" and t.models == ["big", "small"]
    assert list(t.split) == ["train", "test", hash_split("c")]
    assert np.isnan(t.outcome[2, 1]) and t.outcome[1, 0] == 0.5
    np.testing.assert_allclose(t.output_tokens[:, 0], [100, 300, 200])   # c/big: big's mean
    np.testing.assert_allclose(t.output_tokens[:, 1], [50, 50, 50])      # small's mean
    np.testing.assert_allclose(t.input_tokens, [10, 7, 1])               # b given, others ceil(chars/4)
    np.testing.assert_allclose(t.prices, [[10, 30], [0.2, 0.2]])


def test_hash_split_is_about_one_in_five() -> None:
    share = np.mean([hash_split(f"id-{i}") == "test" for i in range(5000)])
    assert 0.17 < share < 0.23


@pytest.mark.parametrize("outcomes,where,what", [
    ("prompt_id,model,outcome\na,big,1\na,big,0\n", "outcomes.csv:3", "duplicate"),
    ("prompt_id,model,outcome\na,big,1.5\n", "outcomes.csv:2", "[0, 1]"),
    ("prompt_id,model,outcome\na,big,yes\n", "outcomes.csv:2", "number"),
    ("prompt_id,model,outcome\nzz,big,1\n", "outcomes.csv:2", "not in prompts.jsonl"),
    ("prompt_id,model,outcome\na,huge,1\n", "outcomes.csv:2", "prices.csv"),
    ("prompt_id,model,outcome,input_tokens,output_tokens\na,big,1,,-3\n", "outcomes.csv:2", "output_tokens"),
    ("prompt,model,outcome\na,big,1\n", "outcomes.csv:1", "header"),
])
def test_bad_outcome_rows_name_file_and_line(tmp_path: Path, outcomes: str, where: str, what: str) -> None:
    folder = _write(tmp_path / "d", [{"id": "a", "prompt": "p"}], outcomes, PRICES)
    with pytest.raises(ByodError) as e:
        load_byod(folder)
    assert where in str(e.value) and what in str(e.value)


def test_bad_prompt_and_price_lines(tmp_path: Path) -> None:
    folder = _write(tmp_path / "p", [{"id": "a", "prompt": "p"}], "prompt_id,model,outcome\na,big,1\n", PRICES)
    (folder / "prompts.jsonl").write_text('{"id": "a", "prompt": "p"}\n{"id": "b", "prompt": 3}\n')
    with pytest.raises(ByodError, match=r"prompts.jsonl:2: .*prompt"):
        load_byod(folder)
    (folder / "prompts.jsonl").write_text('{"id": "a", "prompt": "p"}\nnot json\n')
    with pytest.raises(ByodError, match=r"prompts.jsonl:2: not valid JSON"):
        load_byod(folder)
    (folder / "prompts.jsonl").write_text('{"id": "a", "prompt": "p", "split": "dev"}\n')
    with pytest.raises(ByodError, match=r"prompts.jsonl:1: .*split"):
        load_byod(folder)
    (folder / "prompts.jsonl").write_text('{"id": "a", "prompt": "p"}\n')
    (folder / "prices.csv").write_text("model,input_usd_per_mtok,output_usd_per_mtok\nbig,ten,30\n")
    with pytest.raises(ByodError, match=r"prices.csv:2: "):
        load_byod(folder)
