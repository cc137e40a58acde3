"""Adapters: each dataset under ``shared/data`` -> one :class:`OutcomeTable`.

Outcome scales: 0/1 correctness (mmlu-pro, routellm mmlu/gsm8k); AlpacaEval preference over the
gpt4_1106_preview baseline in [0, 1]; arena-hard and MT-Bench GPT-4 grades 1-10 -> (g - 1) / 9
(MT-Bench: mean over the turns graded); RouterArena's ``score`` clipped to [0, 1].
Splits follow the data README; RouterArena has none there, so it uses line number % 5 == 0 like the
others. Output lengths come from the data where it has them (characters / 4, or RouterArena's real
token counts); RouteLLM-MMLU borrows each model's mean from RouteLLM-GSM8K and MT-Bench from
arena-hard (same models, similar task), documented in model-assets/README.md.
"""
from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Callable

import numpy as np

from ..paths import DATA_ROOT
from .aliases import DEFAULT_OUTPUT_TOKENS, canonical, price_matrix, read_prices
from .cache import cached_table
from .table import OutcomeTable, chars_to_tokens, fill_output_tokens

DATASETS: list[str] = [
    "mmlu-pro", "alpaca-eval", "arena-hard-v1", "routellm-mmlu", "routellm-gsm8k",
    "routellm-mt-bench", "routerarena",
]

LETTERS = "ABCDEFGHIJKLMNOP"


def mmlu_pro_prompt(question: str, options: list[str]) -> str:
    """The prompt text of an MMLU-Pro item per the cost model: question, then "A. option" lines.

    @example
        mmlu_pro_prompt("2+2?", ["3", "4"])  # "2+2?\\nA. 3\\nB. 4"
    """
    return "\n".join([question, *(f"{LETTERS[i]}. {o}" for i, o in enumerate(options))])


def _split_by_row(n: int) -> np.ndarray:
    return np.where(np.arange(n) % 5 == 0, "test", "train").astype("<U5")


def _finish(name: str, ids: list[str], prompts: list[str], models: list[str], outcome: np.ndarray,
            out_tokens: np.ndarray, split: np.ndarray, category: list[str] | None, data_root: Path,
            fallback_tokens: np.ndarray | None = None) -> OutcomeTable:
    prices = price_matrix(models, read_prices(data_root / "prices.csv"), str(data_root / "prices.csv"))
    if fallback_tokens is None:
        fallback_tokens = np.full(len(models), DEFAULT_OUTPUT_TOKENS, dtype=np.float32)
    return OutcomeTable(
        dataset=name, prompt_ids=ids, prompts=prompts, models=models,
        outcome=outcome.astype(np.float32),
        output_tokens=fill_output_tokens(out_tokens, fallback_tokens),
        input_tokens=chars_to_tokens(np.array([len(p) for p in prompts])),
        prices=prices, split=split.astype("<U5"), category=category,
    )


def _read_matrix(path: Path, skip: int) -> tuple[list[str], list[list[str]], np.ndarray]:
    """A wide CSV: returns (column names after ``skip``, leading columns per row, float matrix; blank = NaN)."""
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader)
        lead, vals = [], []
        for row in reader:
            lead.append(row[:skip])
            vals.append([float(v) if v != "" else np.nan for v in row[skip:]])
    return header[skip:], lead, np.array(vals, dtype=np.float64)


def load_mmlu_pro(data_root: Path) -> OutcomeTable:
    """MMLU-Pro: 12,032 questions x 32 models, 0/1 correctness, output chars per model.

    @example
        t = load_mmlu_pro(DATA_ROOT)
    """
    d = data_root / "mmlu-pro"
    models, lead, correct = _read_matrix(d / "mmlu_pro_correctness.csv", skip=3)
    qids = [int(r[0]) for r in lead]
    categories = [r[1] for r in lead]
    len_models, len_lead, chars = _read_matrix(d / "mmlu_pro_output_chars.csv", skip=1)
    len_row = {int(r[0]): i for i, r in enumerate(len_lead)}
    len_col = [len_models.index(m) for m in models]
    chars = chars[[len_row[q] for q in qids]][:, len_col]
    questions = {}
    with open(d / "mmlu_pro_questions.jsonl", encoding="utf-8") as f:
        for line in f:
            q = json.loads(line)
            questions[int(q["question_id"])] = mmlu_pro_prompt(q["question"], q["options"])
    split = np.where(np.array(qids) % 5 == 0, "test", "train")
    return _finish("mmlu-pro", [str(q) for q in qids], [questions[q] for q in qids],
                   [canonical(m) for m in models], correct, chars_to_tokens(chars), split, categories,
                   data_root)


def load_alpaca_eval(data_root: Path) -> OutcomeTable:
    """AlpacaEval 2.0: 805 instructions x 56 models, preference over the baseline in [0, 1].

    @example
        t = load_alpaca_eval(DATA_ROOT)
    """
    d = data_root / "alpaca-eval"
    models, lead, pref = _read_matrix(d / "ae2_preference_matrix.csv", skip=2)
    idx = [int(r[0]) for r in lead]
    prompts = {int(p["idx"]): p["instruction"] for p in json.loads((d / "prompts.json").read_text("utf-8"))}
    len_models, len_lead, chars = _read_matrix(d / "output_char_lengths.csv", skip=1)
    len_row = {int(r[0]): i for i, r in enumerate(len_lead)}
    tokens = np.full(pref.shape, np.nan)
    for j, m in enumerate(models):
        if m in len_models:
            tokens[:, j] = chars_to_tokens(chars[[len_row[i] for i in idx], len_models.index(m)])
    split = np.where(np.array(idx) % 5 == 0, "test", "train")
    return _finish("alpaca-eval", [str(i) for i in idx], [prompts[i] for i in idx],
                   [canonical(m) for m in models], np.clip(pref, 0, 1), tokens, split,
                   [r[1] for r in lead], data_root)


def _answer_chars(path: Path) -> dict[str, int]:
    out = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            a = json.loads(line)
            out[a["question_id"]] = sum(len(t) for c in a["choices"] for t in c["turns"])
    return out


def load_arena_hard(data_root: Path) -> OutcomeTable:
    """Pre-release Arena-Hard: 300 prompts x 15 models, GPT-4 grade 1-10 -> (g - 1) / 9.

    @example
        t = load_arena_hard(DATA_ROOT)
    """
    d = data_root / "arena-hard-v1"
    questions = [json.loads(line) for line in open(d / "question.jsonl", encoding="utf-8")]
    qids = [q["question_id"] for q in questions]
    row = {q: i for i, q in enumerate(qids)}
    grades: dict[str, np.ndarray] = {}
    for path in sorted((d / "model_judgment").glob("*.jsonl")):
        for line in open(path, encoding="utf-8"):
            j = json.loads(line)
            m = canonical(j["model"])
            col = grades.setdefault(m, np.full(len(qids), np.nan))
            if j.get("score") is not None and j["question_id"] in row:
                col[row[j["question_id"]]] = (float(j["score"]) - 1.0) / 9.0
    models = sorted(grades)
    answers = {canonical(p.stem): p for p in (d / "model_answer").glob("*.jsonl")}
    tokens = np.full((len(qids), len(models)), np.nan)
    for k, m in enumerate(models):
        if m in answers:
            chars = _answer_chars(answers[m])
            tokens[:, k] = [np.ceil(chars[q] / 4) if q in chars else np.nan for q in qids]
    outcome = np.stack([grades[m] for m in models], axis=1)
    return _finish("arena-hard-v1", qids, [q["turns"][0] for q in questions], models,
                   np.clip(outcome, 0, 1), tokens, _split_by_row(len(qids)), None, data_root)


def load_routellm_mmlu(data_root: Path) -> OutcomeTable:
    """RouteLLM MMLU: 14,042 prompts x 2 models (57 subject files), 0/1 correctness.

    Output lengths are not in the data: each model's mean from RouteLLM-GSM8K is used.

    @example
        t = load_routellm_mmlu(DATA_ROOT)
    """
    ids, prompts, rows, split, cats = [], [], [], [], []
    models: list[str] = []
    for path in sorted((data_root / "routellm/evals/mmlu/responses").glob("mmlu_*.csv")):
        subject = path.stem[len("mmlu_"):]
        with open(path, newline="", encoding="utf-8") as f:
            reader = csv.reader(f)
            header = next(reader)
            models = [canonical(m) for m in header[1:]]
            for i, r in enumerate(reader):
                ids.append(f"{subject}:{i}")
                prompts.append(r[0])
                rows.append([1.0 if v == "True" else 0.0 if v == "False" else np.nan for v in r[1:]])
                split.append("test" if i % 5 == 0 else "train")
                cats.append(subject)
    gsm = load_unscoped("routellm-gsm8k", data_root)
    fallback = np.array([gsm.output_tokens[:, gsm.models.index(m)].mean() for m in models], dtype=np.float32)
    return _finish("routellm-mmlu", ids, prompts, models, np.array(rows), np.full((len(ids), len(models)), np.nan),
                   np.array(split), cats, data_root, fallback)


def load_routellm_gsm8k(data_root: Path) -> OutcomeTable:
    """RouteLLM GSM8K: 1,319 prompts x 2 models, 0/1 correctness, responses give output lengths.

    @example
        t = load_routellm_gsm8k(DATA_ROOT)
    """
    path = data_root / "routellm/evals/gsm8k/gsm8k_responses.csv"
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader)
        raw_models = [h for h in header[1:] if not h.endswith("_response")]
        col = {h: i for i, h in enumerate(header)}
        prompts, rows, tokens = [], [], []
        for r in reader:
            prompts.append(r[0])
            rows.append([1.0 if r[col[m]] == "True" else 0.0 if r[col[m]] == "False" else np.nan for m in raw_models])
            tokens.append([np.ceil(len(r[col[m + "_response"]]) / 4) for m in raw_models])
    n = len(prompts)
    return _finish("routellm-gsm8k", [str(i) for i in range(n)], prompts, [canonical(m) for m in raw_models],
                   np.array(rows), np.array(tokens, dtype=np.float64), _split_by_row(n), None, data_root)


def load_routellm_mt_bench(data_root: Path) -> OutcomeTable:
    """RouteLLM MT-Bench: 80 questions x 2 models, mean GPT-4 grade over turns -> (g - 1) / 9.

    The prompt is the first turn (cost model); output lengths are each model's arena-hard mean.

    @example
        t = load_routellm_mt_bench(DATA_ROOT)
    """
    d = data_root / "routellm/evals/mt_bench"
    questions = [json.loads(line) for line in open(d / "question.jsonl", encoding="utf-8")]
    qids = [str(q["question_id"]) for q in questions]
    row = {q: i for i, q in enumerate(qids)}
    sums: dict[str, np.ndarray] = {}
    counts: dict[str, np.ndarray] = {}
    for line in open(d / "judgements.jsonl", encoding="utf-8"):
        j = json.loads(line)
        m, q = canonical(j["model"]), str(j["question_id"])
        if q not in row or j.get("score") is None or float(j["score"]) < 1:
            continue
        sums.setdefault(m, np.zeros(len(qids)))[row[q]] += (float(j["score"]) - 1.0) / 9.0
        counts.setdefault(m, np.zeros(len(qids)))[row[q]] += 1
    models = sorted(sums)
    with np.errstate(invalid="ignore"):
        outcome = np.stack([np.where(counts[m] > 0, sums[m] / counts[m], np.nan) for m in models], axis=1)
    arena = load_unscoped("arena-hard-v1", data_root)
    fallback = np.array([arena.output_tokens[:, arena.models.index(m)].mean() if m in arena.models
                         else DEFAULT_OUTPUT_TOKENS for m in models], dtype=np.float32)
    return _finish("routellm-mt-bench", qids, [q["turns"][0] for q in questions], models, outcome,
                   np.full(outcome.shape, np.nan), _split_by_row(len(qids)),
                   [q["category"] for q in questions], data_root, fallback)


def load_routerarena(data_root: Path) -> OutcomeTable:
    """RouterArena: 809 prompts x 2 models, ``score`` in [0, 1], real output token counts.

    @example
        t = load_routerarena(DATA_ROOT)
    """
    d = data_root / "routerarena/cached_results"
    per_model: dict[str, dict[str, tuple[float, float]]] = {}
    order: list[str] = []
    prompts: dict[str, str] = {}
    cats: dict[str, str] = {}
    for path in sorted(d.glob("*.jsonl")):
        m = canonical(path.stem)
        rec = per_model.setdefault(m, {})
        for line in open(path, encoding="utf-8"):
            r = json.loads(line)
            g = r["global_index"]
            if g not in prompts:
                order.append(g)
                prompts[g] = r["question"]
                cats[g] = g.rsplit("_", 1)[0]
            ev = r.get("evaluation_result") or {}
            score = ev.get("score")
            usage = r.get("token_usage") or {}
            rec[g] = (np.nan if score is None else float(score), float(usage.get("output_tokens", np.nan)))
    models = sorted(per_model)
    outcome = np.array([[per_model[m].get(g, (np.nan, np.nan))[0] for m in models] for g in order])
    tokens = np.array([[per_model[m].get(g, (np.nan, np.nan))[1] for m in models] for g in order])
    return _finish("routerarena", order, [prompts[g] for g in order], models, np.clip(outcome, 0, 1),
                   tokens, _split_by_row(len(order)), [cats[g] for g in order], data_root)


LOADERS: dict[str, Callable[[Path], OutcomeTable]] = {
    "mmlu-pro": load_mmlu_pro,
    "alpaca-eval": load_alpaca_eval,
    "arena-hard-v1": load_arena_hard,
    "routellm-mmlu": load_routellm_mmlu,
    "routellm-gsm8k": load_routellm_gsm8k,
    "routellm-mt-bench": load_routellm_mt_bench,
    "routerarena": load_routerarena,
}

SOURCE_DIRS: dict[str, str] = {
    "mmlu-pro": "mmlu-pro", "alpaca-eval": "alpaca-eval", "arena-hard-v1": "arena-hard-v1",
    "routellm-mmlu": "routellm", "routellm-gsm8k": "routellm", "routellm-mt-bench": "routellm",
    "routerarena": "routerarena",
}


def load_unscoped(name: str, data_root: Path = DATA_ROOT) -> OutcomeTable:
    """One dataset's outcome table with canonical model names (cached under
    ``model-assets/.cache/tables``); ``trainer.data.load_dataset`` scopes its names. The adapters
    that borrow another dataset's output lengths read it through here, cached too.

    @example
        gsm = load_unscoped("routellm-gsm8k")
        gsm.models  # ["Mixtral-8x7B-Instruct-v0.1", "gpt-4-1106-preview"] (canonical names)
    """
    if name not in LOADERS:
        raise ValueError(f"unknown dataset {name!r}; known: {', '.join(DATASETS)}")
    data_root = Path(data_root)
    sources = [data_root / SOURCE_DIRS[name], data_root / "prices.csv"]
    return cached_table(name, sources, lambda: LOADERS[name](data_root))
