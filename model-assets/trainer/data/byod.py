"""Bring your own data: a folder of eval logs -> :class:`OutcomeTable` (format in model-assets/README.md).

Folder layout::

    prompts.jsonl   {"id": "...", "prompt": "...", "split": "train" | "test"}   (split optional)
    outcomes.csv    prompt_id,model,outcome[,input_tokens,output_tokens]       (optional columns may be empty)
    prices.csv      model,input_usd_per_mtok,output_usd_per_mtok                (extra columns ignored)

Every malformed row raises :class:`ByodError` naming the file and line.
"""
from __future__ import annotations

import csv
import hashlib
import json
import math
from pathlib import Path

import numpy as np

from .aliases import DEFAULT_OUTPUT_TOKENS, read_prices
from .table import OutcomeTable, chars_to_tokens, fill_output_tokens


class ByodError(ValueError):
    """A bring-your-own-data file is malformed; the message names file and line."""


def hash_split(prompt_id: str) -> str:
    """Deterministic 80/20 split by id: ``test`` when sha256(id) mod 5 == 0.

    @example
        hash_split("q-17")  # "train" or "test", the same on every machine
    """
    return "test" if int(hashlib.sha256(prompt_id.encode()).hexdigest()[:12], 16) % 5 == 0 else "train"


def read_prompts(path: Path) -> tuple[list[str], list[str], list[str], list[str | None]]:
    """(ids, prompts, splits, references) of a bring-your-own-data ``prompts.jsonl``.

    ``split`` defaults to :func:`hash_split`; ``reference`` (a reference answer, used by quiz banks)
    is optional. Every bad line raises :class:`ByodError` naming file and line.

    @example
        ids, prompts, splits, refs = read_prompts(Path("my-evals/prompts.jsonl"))
    """
    ids, texts, splits, refs, seen = [], [], [], [], set()
    with open(path, encoding="utf-8") as f:
        for line_no, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                raise ByodError(f"{path}:{line_no}: not valid JSON ({e.msg})") from None
            if not isinstance(obj, dict):
                raise ByodError(f"{path}:{line_no}: each line must be a JSON object")
            pid, text = obj.get("id"), obj.get("prompt")
            if isinstance(pid, int) and not isinstance(pid, bool):
                pid = str(pid)
            if not isinstance(pid, str) or not pid:
                raise ByodError(f"{path}:{line_no}: \"id\" must be a non-empty string")
            if not isinstance(text, str):
                raise ByodError(f"{path}:{line_no}: \"prompt\" must be a string")
            if pid in seen:
                raise ByodError(f"{path}:{line_no}: duplicate id {pid!r}")
            ref = obj.get("reference")
            if ref is not None and not isinstance(ref, str):
                raise ByodError(f"{path}:{line_no}: \"reference\" must be a string")
            split = obj.get("split")
            if split is None:
                split = hash_split(pid)
            elif split not in ("train", "test"):
                raise ByodError(f"{path}:{line_no}: \"split\" must be \"train\" or \"test\", got {split!r}")
            seen.add(pid)
            ids.append(pid)
            texts.append(text)
            splits.append(split)
            refs.append(ref)
    if not ids:
        raise ByodError(f"{path}: no prompts")
    return ids, texts, splits, refs


def _optional_number(value: str | None, path: Path, line: int, column: str) -> float:
    if value is None or value.strip() == "":
        return math.nan
    try:
        x = float(value)
    except ValueError:
        raise ByodError(f"{path}:{line}: {column} must be a number or empty, got {value!r}") from None
    if not math.isfinite(x) or x < 0:
        raise ByodError(f"{path}:{line}: {column} must be finite and >= 0, got {value!r}")
    return x


def load_byod(folder: Path) -> OutcomeTable:
    """Read a bring-your-own-data folder into an outcome table (dataset name = folder name).

    @example
        t = load_byod(Path("my-evals"))   # prompts.jsonl, outcomes.csv, prices.csv
    """
    folder = Path(folder)
    for f in ("prompts.jsonl", "outcomes.csv", "prices.csv"):
        if not (folder / f).is_file():
            raise ByodError(f"{folder / f}: missing (need prompts.jsonl, outcomes.csv, prices.csv)")
    ids, texts, splits, _ = read_prompts(folder / "prompts.jsonl")
    row_of = {pid: i for i, pid in enumerate(ids)}
    try:
        prices = read_prices(folder / "prices.csv")
    except ValueError as e:
        raise ByodError(str(e)) from None

    path = folder / "outcomes.csv"
    records: list[tuple[int, str, float, float, float]] = []
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        need = ["prompt_id", "model", "outcome"]
        if reader.fieldnames is None or any(c not in reader.fieldnames for c in need):
            raise ByodError(f"{path}:1: header must start with prompt_id,model,outcome; got {reader.fieldnames}")
        seen: set[tuple[str, str]] = set()
        for line, r in enumerate(reader, start=2):
            if None in r:
                raise ByodError(f"{path}:{line}: more fields than the header has")
            pid, model = r["prompt_id"], r["model"]
            if pid not in row_of:
                raise ByodError(f"{path}:{line}: prompt_id {pid!r} is not in prompts.jsonl")
            if not model:
                raise ByodError(f"{path}:{line}: empty model")
            if model not in prices:
                raise ByodError(f"{path}:{line}: model {model!r} has no row in prices.csv")
            try:
                y = float(r["outcome"])
            except (TypeError, ValueError):
                raise ByodError(f"{path}:{line}: outcome must be a number in [0, 1], got {r['outcome']!r}") from None
            if not 0.0 <= y <= 1.0:
                raise ByodError(f"{path}:{line}: outcome must be in [0, 1], got {y}")
            if (pid, model) in seen:
                raise ByodError(f"{path}:{line}: duplicate outcome for ({pid!r}, {model!r})")
            seen.add((pid, model))
            records.append((row_of[pid], model, y,
                            _optional_number(r.get("input_tokens"), path, line, "input_tokens"),
                            _optional_number(r.get("output_tokens"), path, line, "output_tokens")))
    if not records:
        raise ByodError(f"{path}: no outcome rows")
    models = sorted({m for _, m, *_ in records})
    col = {m: j for j, m in enumerate(models)}
    outcome = np.full((len(ids), len(models)), np.nan, dtype=np.float32)
    out_tokens = np.full((len(ids), len(models)), np.nan, dtype=np.float32)
    in_tokens = chars_to_tokens(np.array([len(t) for t in texts]))
    given_in = np.full(len(ids), np.nan)
    for i, m, y, tin, tout in records:
        outcome[i, col[m]] = y
        out_tokens[i, col[m]] = tout
        if not math.isnan(tin):
            given_in[i] = tin if math.isnan(given_in[i]) else max(given_in[i], tin)
    in_tokens = np.where(np.isnan(given_in), in_tokens, given_in).astype(np.float32)
    return OutcomeTable(
        dataset=folder.name, prompt_ids=ids, prompts=texts, models=models, outcome=outcome,
        output_tokens=fill_output_tokens(out_tokens, np.full(len(models), DEFAULT_OUTPUT_TOKENS)),
        input_tokens=in_tokens,
        prices=np.array([prices[m] for m in models], dtype=np.float32),
        split=np.array(splits, dtype="<U5"), category=None,
    )
