"""Bring your own data: a folder of eval logs -> :class:`OutcomeTable` (format in model-assets/README.md).

Folder layout::

    prompts.jsonl   {"id": "...", "prompt": "...", "split": "train" | "test", "category": "..."}
                    (split and category optional)
    outcomes.csv    prompt_id,model,outcome[,input_tokens,output_tokens]       (optional columns may be empty)
    prices.csv      model,input_usd_per_mtok,output_usd_per_mtok                (extra columns ignored)

Every malformed row raises :class:`ByodError` naming the file and line. :func:`write_byod` writes
any :class:`OutcomeTable` in this layout (the generalisation protocols turn each shared dataset into
a customer's folder with it); reading it back gives the same table.
"""
from __future__ import annotations

import csv
import hashlib
import json
import math
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

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


@dataclass
class PromptFile:
    """The parsed lines of a ``prompts.jsonl``, in file order."""

    ids: list[str]
    texts: list[str]
    splits: list[str]
    references: list[str | None]
    categories: list[str | None]


def read_prompt_file(path: Path) -> PromptFile:
    """Every field of a bring-your-own-data ``prompts.jsonl``: ``id`` and ``prompt`` (required),
    ``split`` (defaults to :func:`hash_split`), ``reference`` (a reference answer, used by quiz
    banks) and ``category`` (a label the per-category baseline of ``npm run eval`` groups by).
    Every bad line raises :class:`ByodError` naming file and line.

    @example
        pf = read_prompt_file(Path("my-evals/prompts.jsonl"))
        pf.ids[0], pf.splits[0], pf.categories[0]
    """
    out, seen = PromptFile([], [], [], [], []), set()
    with open(path, encoding="utf-8-sig") as f:
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
            ref, category = obj.get("reference"), obj.get("category")
            if ref is not None and not isinstance(ref, str):
                raise ByodError(f"{path}:{line_no}: \"reference\" must be a string")
            if category is not None and (not isinstance(category, str) or not category):
                raise ByodError(f"{path}:{line_no}: \"category\" must be a non-empty string")
            split = obj.get("split")
            if split is None:
                split = hash_split(pid)
            elif split not in ("train", "test"):
                raise ByodError(f"{path}:{line_no}: \"split\" must be \"train\" or \"test\", got {split!r}")
            seen.add(pid)
            out.ids.append(pid)
            out.texts.append(text)
            out.splits.append(split)
            out.references.append(ref)
            out.categories.append(category)
    if not out.ids:
        raise ByodError(f"{path}: no prompts")
    return out


def read_prompts(path: Path) -> tuple[list[str], list[str], list[str], list[str | None]]:
    """(ids, prompts, splits, references) of a bring-your-own-data ``prompts.jsonl``
    (:func:`read_prompt_file` without the categories).

    @example
        ids, prompts, splits, refs = read_prompts(Path("my-evals/prompts.jsonl"))
    """
    pf = read_prompt_file(path)
    return pf.ids, pf.texts, pf.splits, pf.references


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


def _check_utf8(path: Path) -> None:
    """``ByodError`` naming the line of the first byte that is not UTF-8 (a spreadsheet's export in
    a legacy code page, e.g. cp1252's 0xe9 for an accented letter)."""
    data = path.read_bytes()
    try:
        data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data[:err.start].count(b"\n") + 1
        raise ByodError(f"{path}:{line}: not UTF-8 text (byte 0x{data[err.start]:02x}); "
                        "save the file as UTF-8") from None


def load_byod(folder: Path) -> OutcomeTable:
    """Read a bring-your-own-data folder into an outcome table (dataset name = folder name).

    Models come in the order ``outcomes.csv`` first names them; prompts in file order, less those
    no model has a graded outcome on.

    @example
        t = load_byod(Path("my-evals"))   # prompts.jsonl, outcomes.csv, prices.csv
    """
    folder = Path(folder)
    for f in ("prompts.jsonl", "outcomes.csv", "prices.csv"):
        if not (folder / f).is_file():
            raise ByodError(f"{folder / f}: missing (need prompts.jsonl, outcomes.csv, prices.csv)")
        _check_utf8(folder / f)
    pf = read_prompt_file(folder / "prompts.jsonl")
    ids, texts = pf.ids, pf.texts
    row_of = {pid: i for i, pid in enumerate(ids)}
    try:
        prices = read_prices(folder / "prices.csv")
    except ValueError as e:
        raise ByodError(str(e)) from None

    path = folder / "outcomes.csv"
    records: list[tuple[int, str, float, float, float]] = []
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        need = ["prompt_id", "model", "outcome"]
        if reader.fieldnames is None or any(c not in reader.fieldnames for c in need):
            raise ByodError(f"{path}:1: header must start with prompt_id,model,outcome; got {reader.fieldnames}")
        seen: set[tuple[str, str]] = set()
        end = 1
        for r in reader:
            # the physical line the row starts on (a quoted field may hold newlines)
            line, end = end + 1, reader.line_num
            if None in r:
                raise ByodError(f"{path}:{line}: more fields than the header has")
            if any(r[c] is None for c in need):
                raise ByodError(f"{path}:{line}: fewer fields than the header has")
            pid, model = r["prompt_id"], r["model"]
            if pid not in row_of:
                raise ByodError(f"{path}:{line}: prompt_id {pid!r} is not in prompts.jsonl")
            if not model:
                raise ByodError(f"{path}:{line}: empty model")
            if model not in prices:
                raise ByodError(f"{path}:{line}: model {model!r} has no row in prices.csv")
            tin = _optional_number(r.get("input_tokens"), path, line, "input_tokens")
            tout = _optional_number(r.get("output_tokens"), path, line, "output_tokens")
            if r["outcome"].strip() == "":
                # an answer that was never graded: no outcome, but its length still prices the model
                if math.isnan(tout):
                    raise ByodError(f"{path}:{line}: outcome is empty and so is output_tokens (an ungraded "
                                    "answer row must give its output_tokens)")
                y = math.nan
            else:
                try:
                    y = float(r["outcome"])
                except ValueError:
                    raise ByodError(f"{path}:{line}: outcome must be a number in [0, 1], "
                                    f"got {r['outcome']!r}") from None
                if not 0.0 <= y <= 1.0:
                    raise ByodError(f"{path}:{line}: outcome must be in [0, 1], got {y}")
            if (pid, model) in seen:
                raise ByodError(f"{path}:{line}: duplicate outcome for ({pid!r}, {model!r})")
            seen.add((pid, model))
            records.append((row_of[pid], model, y, tin, tout))
    if not records:
        raise ByodError(f"{path}: no outcome rows")
    models = list(dict.fromkeys(m for _, m, *_ in records))
    graded = {m for _, m, y, *_ in records if not math.isnan(y)}
    ungraded = [m for m in models if m not in graded]
    if ungraded:
        raise ByodError(f"{path}: model {ungraded[0]!r} has no graded outcome (every row's outcome is empty)")
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
    labelled = [c for c in pf.categories if c is not None]
    table = OutcomeTable(
        dataset=folder.name, prompt_ids=ids, prompts=texts, models=models, outcome=outcome,
        output_tokens=fill_output_tokens(out_tokens, np.full(len(models), DEFAULT_OUTPUT_TOKENS)),
        input_tokens=in_tokens,
        prices=np.array([prices[m] for m in models], dtype=np.float32),
        split=np.array(pf.splits, dtype="<U5"),
        # the per-category baseline needs a label on every prompt: unlabelled ones form a group of their own
        category=[c if c is not None else UNLABELLED for c in pf.categories] if labelled else None,
    )
    # A prompt no model has a graded outcome on teaches nothing, and in a test split it would score
    # every router on the models' mean outcomes alone (no router can do better there than the hull).
    graded_rows = ~np.isnan(outcome).all(axis=1)
    return table if graded_rows.all() else table.subset(rows=graded_rows)


#: Category of a prompt without one, in a folder where some prompts have one.
UNLABELLED = "(none)"


def _num(x: float) -> str:
    """Shortest text that reads back to the same float32 (the table's dtype)."""
    return repr(float(x))


def write_byod(table: OutcomeTable, folder: Path, models: Sequence[str] | None = None) -> Path:
    """Write ``table`` (restricted to ``models``, default all) as a bring-your-own-data folder that
    :func:`load_byod` reads back to the same prompts, splits, categories, outcomes, token counts and
    prices, models in the same order. An unrecorded outcome is written as an empty one with its
    output tokens (they still price the model on that prompt). The folder is written beside its
    final place and renamed, so a reader never sees half of it.

    @example
        write_byod(load_dataset("arena-hard-v1"), Path("/tmp/work/arena-hard-v1"))
    """
    folder = Path(folder)
    t = table if models is None else table.subset(models=list(models))
    missing_all = [m for j, m in enumerate(t.models) if np.isnan(t.outcome[:, j]).all()]
    if missing_all:
        raise ValueError(f"{t.dataset}: no recorded outcome for {missing_all}")
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.partial-", dir=folder.parent))
    mask = os.umask(0)
    os.umask(mask)
    os.chmod(tmp, 0o777 & ~mask)   # mkdtemp makes it private; the folder is read like any other
    try:
        with open(tmp / "prompts.jsonl", "w", encoding="utf-8") as f:
            for i, pid in enumerate(t.prompt_ids):
                obj = {"id": pid, "prompt": t.prompts[i], "split": str(t.split[i])}
                if t.category is not None:
                    obj["category"] = t.category[i]
                f.write(json.dumps(obj, ensure_ascii=False) + "\n")
        with open(tmp / "outcomes.csv", "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(["prompt_id", "model", "outcome", "input_tokens", "output_tokens"])
            for j, m in enumerate(t.models):   # model by model: load_byod keeps first-named order
                for i in range(len(t.prompt_ids)):
                    y = t.outcome[i, j]
                    w.writerow([t.prompt_ids[i], m, "" if np.isnan(y) else _num(y), _num(t.input_tokens[i]),
                                _num(t.output_tokens[i, j])])
        with open(tmp / "prices.csv", "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(["model", "input_usd_per_mtok", "output_usd_per_mtok"])
            for m, (pin, pout) in zip(t.models, t.prices):
                w.writerow([m, _num(pin), _num(pout)])
        if folder.exists():
            shutil.rmtree(folder)
        tmp.rename(folder)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    return folder
