"""The tokenizer golden file the workerd test reads (test/worker/embedding/tokenizer-golden.json):
synthetic texts only (no dataset text), with the Python tokenizer's ids. ``test_golden_is_current``
fails when the Python tokenizer and the committed file disagree; regenerate with
``/usr/bin/python3 test/model-assets/embed/golden.py``."""
from __future__ import annotations

import json
import random
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
GOLDEN = ROOT / "test" / "worker" / "embedding" / "tokenizer-golden.json"


def cases() -> list:
    """Texts as strings, or ``{"repeat": s, "times": n}`` for very long ones (expanded on both sides)."""
    from test_tokenizer_parity import synthetic_texts  # same synthetic families as the parity test

    rng = random.Random(1)
    short = [t for t in synthetic_texts(seed=1) if len(t) < 2000]
    picked = short[:18] + rng.sample(short[18:], 60)
    return picked + [
        {"repeat": "x", "times": 50000},
        {"repeat": "😀", "times": 20000},
        {"repeat": "word ", "times": 5000},
        {"repeat": "ab😀cd ", "times": 3000},
        {"repeat": "Ünïcödé ", "times": 2500},
    ]


def expand(case) -> str:
    return case if isinstance(case, str) else case["repeat"] * case["times"]


def build() -> dict:
    sys.path.insert(0, str(ROOT / "model-assets"))
    from trainer.embed.tokenizer import DEFAULT_SPEC, Tokenizer

    tok = Tokenizer()
    cs = cases()

    # Texts travel as code point lists: JSON with lone-surrogate escapes trips Vite's JSON loader.
    def encode(c) -> dict:
        if isinstance(c, str):
            return {"cps": [ord(ch) for ch in c], "times": 1}
        return {"cps": [ord(ch) for ch in c["repeat"]], "times": c["times"]}

    return {"spec": DEFAULT_SPEC, "cases": [{**encode(c), "ids": tok.ids(expand(c))} for c in cs]}


if __name__ == "__main__":
    sys.path.insert(0, str(HERE))
    GOLDEN.write_text(json.dumps(build(), ensure_ascii=True) + "\n")
    print(f"wrote {GOLDEN}")
