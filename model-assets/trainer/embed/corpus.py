"""Texts the embedder learns from, read from ``DATA_ROOT`` at run time (nothing is copied).

Two kinds: *prompts* (what the router embeds; every dataset's prompt text as
``shared/data/README.md`` defines it) and *answers* (model outputs; more words and styles for the
student's table, used as extra distillation texts as far as the teacher budget allows).
Each function returns ``(source, text, is_test)`` items in a fixed order, so a seed picks the same subset
on every machine.
"""
from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import Iterator

from ..paths import DATA_ROOT

Item = tuple[str, str, bool]

_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def mmlu_pro_prompt(row: dict) -> str:
    """The prompt text of one mmlu-pro item: question, then one ``"A. option"`` line per option.

    >>> mmlu_pro_prompt({"question": "2+2?", "options": ["3", "4"]})
    '2+2?\\nA. 3\\nB. 4'
    """
    lines = [row["question"]]
    lines += [f"{_LETTERS[i]}. {opt}" for i, opt in enumerate(row["options"])]
    return "\n".join(lines)


def _jsonl(path: Path) -> Iterator[dict]:
    with path.open(encoding="utf-8") as f:
        for line in f:
            if line.strip():
                yield json.loads(line)


def _csv_rows(path: Path) -> Iterator[dict]:
    csv.field_size_limit(sys.maxsize)
    with path.open(encoding="utf-8", newline="") as f:
        yield from csv.DictReader(f)


def mmlu_pro_items(root: Path = DATA_ROOT) -> list[dict]:
    """Raw mmlu-pro rows (question_id, category, question, options, ...)."""
    return list(_jsonl(root / "mmlu-pro" / "mmlu_pro_questions.jsonl"))


def prompt_items(root: Path = DATA_ROOT) -> list[Item]:
    """Every prompt of every dataset as ``(source, text, is_test)``: mmlu-pro first (the routing
    benchmark), then the small sets, then RouteLLM's MMLU. ``is_test`` follows the fixed splits of
    ``shared/data/README.md`` (RouterArena, which has none there, uses row % 5 == 0 like RouteLLM).
    Duplicates are kept (see ``dedupe``)."""
    out: list[Item] = [("mmlu-pro", mmlu_pro_prompt(r), r["question_id"] % 5 == 0) for r in mmlu_pro_items(root)]
    out += [("alpaca-eval", r["instruction"], r["idx"] % 5 == 0)
            for r in json.loads((root / "alpaca-eval" / "prompts.json").read_text("utf-8"))]
    out += [("arena-hard", _first_turn(r), i % 5 == 0)
            for i, r in enumerate(_jsonl(root / "arena-hard-v1" / "question.jsonl"))]
    out += [("mt-bench", r["turns"][0], i % 5 == 0)
            for i, r in enumerate(_jsonl(root / "routellm" / "evals" / "mt_bench" / "question.jsonl"))]
    out += [("gsm8k", r["question"], i % 5 == 0)
            for i, r in enumerate(_jsonl(root / "routellm" / "evals" / "gsm8k" / "test.jsonl"))]
    first = sorted((root / "routerarena" / "cached_results").glob("*.jsonl"))[0]
    out += [("routerarena", r["question"], i % 5 == 0) for i, r in enumerate(_jsonl(first))]
    for f in sorted((root / "routellm" / "evals" / "mmlu" / "responses").glob("*.csv")):
        out += [("routellm-mmlu", r["prompt"], i % 5 == 0) for i, r in enumerate(_csv_rows(f))]
    return out


def prompt_texts(root: Path = DATA_ROOT) -> list[tuple[str, str]]:
    """``(source, text)`` of every prompt, both splits (what the teacher cache is filled with)."""
    return [(s, t) for s, t, _ in prompt_items(root)]


def _first_turn(row: dict) -> str:
    turn = row["turns"][0]
    return turn if isinstance(turn, str) else turn["content"]


def answer_items(root: Path = DATA_ROOT) -> list[Item]:
    """Model answers as ``(source, text, is_test)``; ``is_test`` = the answer's prompt is a test
    prompt. Arena-hard (17 models), RouterArena (2), GSM8K responses (2)."""
    out: list[Item] = []
    test_ids = {r["question_id"] for i, r in enumerate(_jsonl(root / "arena-hard-v1" / "question.jsonl")) if i % 5 == 0}
    for f in sorted((root / "arena-hard-v1" / "model_answer").glob("*.jsonl")):
        for r in _jsonl(f):
            for choice in r.get("choices", []):
                for turn in choice.get("turns", []):
                    text = turn if isinstance(turn, str) else turn.get("content", "")
                    if text:
                        out.append(("arena-hard-answer", text, r["question_id"] in test_ids))
    for f in sorted((root / "routerarena" / "cached_results").glob("*.jsonl")):
        out += [("routerarena-answer", r["generated_answer"], i % 5 == 0)
                for i, r in enumerate(_jsonl(f)) if r.get("generated_answer")]
    gsm = root / "routellm" / "evals" / "gsm8k" / "gsm8k_responses.csv"
    for i, r in enumerate(_csv_rows(gsm)):
        for k, v in r.items():
            if k.endswith("_response") and v:
                out.append(("gsm8k-answer", v, i % 5 == 0))
    return out


def dedupe(items: list) -> list:
    """First occurrence of each text (the second field), order kept; a text that is a test prompt
    anywhere stays marked test (``(source, text, is_test)`` items)."""
    first: dict[str, int] = {}
    out: list = []
    for item in items:
        text = item[1]
        if text in first:
            if len(item) > 2 and item[2] and not out[first[text]][2]:
                out[first[text]] = (*out[first[text]][:2], True)
            continue
        first[text] = len(out)
        out.append(tuple(item))
    return out


def train_answers() -> list[str]:
    """Every distinct model answer to a train-split prompt."""
    return [t for _, t, test in dedupe(answer_items()) if not test]


def split_corpus(smoke: bool) -> tuple[list[str], list[str], list[str]]:
    """(train texts, held-out texts, held-out sources).

    Full: every prompt and every answer to a train prompt. Train = train splits; held out = test
    splits of all datasets.
    """
    prompts = dedupe(prompt_items())
    if smoke:
        small = [p for p in prompts if p[0] in ("alpaca-eval", "mt-bench", "arena-hard")]
        small = [p for p in small if len(p[1]) < 400]
        train = [t for _, t, test in small if not test][:160]
        held = [(s, t) for s, t, test in small if test][:40]
        return train + [""], [t for _, t in held], [s for s, _ in held]
    train = [t for _, t, test in prompts if not test] + train_answers()
    held = [(s, t) for s, t, test in prompts if test]
    return train + [""], [t for _, t in held], [s for s, _ in held]


def teacher_corpus() -> list[str]:
    """Every text the full build needs a teacher vector for, the routing benchmark first."""
    train, held, _ = split_corpus(smoke=False)
    return train + held
