"""Bring-your-own-data reader: good folders load, bad rows are named by file and line."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from trainer.data import COLD_START_MODELS, DATASETS, ByodError, load_byod, load_dataset
from trainer.data.byod import UNLABELLED, hash_split, write_byod


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
    ("prompt_id,model\na,big\n", "outcomes.csv:1", "header"),                                  # missing column
    ("prompt_id,model,outcome\na,big,-0.1\n", "outcomes.csv:2", "[0, 1]"),
    ("prompt_id,model,outcome\na,big,nan\n", "outcomes.csv:2", "[0, 1]"),
    ("prompt_id,model,outcome\na,big\n", "outcomes.csv:2", "fewer fields"),
    ("prompt_id,model,outcome\na,big,1,7\n", "outcomes.csv:2", "more fields"),
    ("prompt_id,model,outcome\na,,1\n", "outcomes.csv:2", "empty model"),
    ("prompt_id,model,outcome,input_tokens\na,big,1,-1\n", "outcomes.csv:2", "input_tokens"),
    ("prompt_id,model,outcome,input_tokens,output_tokens\na,big,1,,inf\n", "outcomes.csv:2", "output_tokens"),
    ("prompt_id,model,outcome,input_tokens,output_tokens\na,big,1,,lots\n", "outcomes.csv:2", "output_tokens"),
    ("prompt_id,model,outcome,input_tokens,output_tokens\na,big,,,\n", "outcomes.csv:2", "output_tokens"),
    ("prompt_id,model,outcome,input_tokens,output_tokens\na,big,1,,\na,small,,,40\n", "outcomes.csv", "no graded"),
    ("prompt_id,model,outcome\n", "outcomes.csv", "no outcome rows"),
    # a quoted field may span lines: the error names the physical line its row starts on
    ('prompt_id,model,outcome,note\na,big,1,"two\nlines"\nzz,big,1,x\n', "outcomes.csv:4", "not in prompts.jsonl"),
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


@pytest.mark.parametrize("lines,where,what", [
    ('{"id": "a", "prompt": "p"}\n{"id": "a", "prompt": "q"}\n', "prompts.jsonl:2", "duplicate id"),
    ('{"id": "", "prompt": "p"}\n', "prompts.jsonl:1", "id"),
    ('["a", "p"]\n', "prompts.jsonl:1", "JSON object"),
    ('{"id": "a", "prompt": "p", "category": 3}\n', "prompts.jsonl:1", "category"),
    ('{"id": "a", "prompt": "p", "reference": 1}\n', "prompts.jsonl:1", "reference"),
    ("\n\n", "prompts.jsonl", "no prompts"),
])
def test_bad_prompt_lines_name_file_and_line(tmp_path: Path, lines: str, where: str, what: str) -> None:
    folder = _write(tmp_path / "p", [], "prompt_id,model,outcome\na,big,1\n", PRICES)
    (folder / "prompts.jsonl").write_text(lines)
    with pytest.raises(ByodError) as e:
        load_byod(folder)
    assert where in str(e.value) and what in str(e.value)


@pytest.mark.parametrize("prices,where,what", [
    ("model,input_usd_per_mtok,output_usd_per_mtok\nbig,1,2\nsmall,1,x\n", "prices.csv:3", "numbers"),
    ("model,input_usd_per_mtok,output_usd_per_mtok\nbig,1,2\nsmall,-1,2\n", "prices.csv:3", ">= 0"),
    ("model,input_usd_per_mtok,output_usd_per_mtok\nbig,1,2\nbig,1,3\n", "prices.csv:3", "duplicate"),
    ("model,input_usd_per_mtok\nbig,1\n", "prices.csv:1", "header"),
    ("model,input_usd_per_mtok,output_usd_per_mtok\nbig,1,2\n,1,2\n", "prices.csv:3", "empty model"),
])
def test_bad_price_lines_name_file_and_line(tmp_path: Path, prices: str, where: str, what: str) -> None:
    folder = _write(tmp_path / "p", [{"id": "a", "prompt": "p"}], "prompt_id,model,outcome\na,big,1\n", prices)
    with pytest.raises(ByodError) as e:
        load_byod(folder)
    assert where in str(e.value) and what in str(e.value)


def test_missing_file_is_named(tmp_path: Path) -> None:
    folder = _write(tmp_path / "p", [{"id": "a", "prompt": "p"}], "prompt_id,model,outcome\na,big,1\n", PRICES)
    (folder / "prices.csv").unlink()
    with pytest.raises(ByodError, match=r"prices.csv: missing"):
        load_byod(folder)


def test_categories_ungraded_rows_model_order_and_a_byte_order_mark(tmp_path: Path) -> None:
    prompts = [{"id": "a", "prompt": "p", "split": "train", "category": "math"}, {"id": "b", "prompt": "q"}]
    outcomes = ("\ufeffprompt_id,model,outcome,input_tokens,output_tokens\n"
                "a,small,1,,10\nb,small,0,,20\na,big,,,500\nb,big,1,,30\n")
    t = load_byod(_write(tmp_path / "m", prompts, outcomes, "\ufeff" + PRICES))
    assert t.models == ["small", "big"]                       # the order outcomes.csv first names them
    assert t.category == ["math", UNLABELLED]
    assert np.isnan(t.outcome[0, 1]) and t.output_tokens[0, 1] == 500   # ungraded, but its length prices "big"


@pytest.mark.parametrize("name", [n for n in DATASETS if n not in ("mmlu-pro", "routellm-mmlu")])
def test_a_shared_dataset_round_trips_through_a_byod_folder(tmp_path: Path, name: str) -> None:
    """What the generalisation protocols rely on: a dataset written as a customer's folder reads
    back to the same table, so scoring the folder is scoring the dataset (mmlu-pro's pool:
    test/model-assets/eval/test_protocol.py; the two large sets cost seconds and add no case)."""
    t = load_dataset(name)
    models = [m for m in t.models if m not in COLD_START_MODELS]
    ref = t.subset(models=models)
    back = load_byod(write_byod(t, tmp_path / name, models))
    assert back.dataset == name and back.models == ref.models and back.prompt_ids == ref.prompt_ids
    assert back.prompts == ref.prompts and back.category == ref.category and (back.split == ref.split).all()
    for field in ("outcome", "output_tokens", "input_tokens", "prices"):
        assert np.array_equal(getattr(back, field), getattr(ref, field), equal_nan=True), field
    assert not list(tmp_path.glob(".*partial*"))   # the staging folder was renamed, not left behind


def test_a_prompt_no_model_was_graded_on_is_left_out(tmp_path: Path) -> None:
    """Its test-split quality would be every model's mean, where no router can beat the hull."""
    prompts = [{"id": "a", "prompt": "p"}, {"id": "b", "prompt": "q"}, {"id": "c", "prompt": "r"}]
    outcomes = "prompt_id,model,outcome,input_tokens,output_tokens\na,small,1,,10\na,big,0,,20\nc,big,,,30\n"
    t = load_byod(_write(tmp_path / "m", prompts, outcomes, PRICES))
    assert t.prompt_ids == ["a"] and t.prompts == ["p"] and t.outcome.shape == (1, 2) and len(t.split) == 1


def test_a_file_in_a_legacy_code_page_is_named_with_its_line(tmp_path: Path) -> None:
    folder = _write(tmp_path / "m", [{"id": "a", "prompt": "p"}], "prompt_id,model,outcome\na,big,1\n", PRICES)
    (folder / "prices.csv").write_bytes(PRICES.replace("small", "caf\u00e9").encode("cp1252"))
    with pytest.raises(ByodError, match=r"prices.csv:3: not UTF-8 text \(byte 0xe9\)"):
        load_byod(folder)
