"""The TypeScript tokenizer (worker/embedding/tokenizer.ts, run under Node with tsx) gives exactly
the Python tokenizer's ids on thousands of real prompts and answers plus synthetic Unicode, emoji,
code, whitespace and very long inputs."""
import json
import random
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest

from trainer.embed.corpus import answer_items, dedupe, prompt_items
from trainer.embed.tokenizer import DEFAULT_SPEC, Tokenizer
from trainer.paths import PROJECT_ROOT

HERE = Path(__file__).resolve().parent


def _assigned_code_points() -> list[int]:
    """Code points Python's Unicode table knows (newer characters may be classed differently by a
    newer JavaScript engine; see the tokenizer's docs)."""
    return [c for c in range(0x20, 0x30000) if unicodedata.category(chr(c)) not in ("Cn", "Cs")]


def synthetic_texts(seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    cps = _assigned_code_points()
    out = [
        "", " ", "\n\t\r ", "\u200b\u200d\ufeff", "\u00a0\u2028\u2029\u3000",
        "İstanbul ΣΟΦΟΣ ΟΔΟΣ straße ǅungla Ǆ ﬃ ℌ ① ²³ Å",
        "👩‍👩‍👧‍👦 👍🏽 🇫🇷 ❤️ 🫠 ⚡️ a\ufe0fb",
        "def f(x):\n    return x**2 + 1  # ok\n\nconsole.log(`${a}`); if (a!==b) {x->y;} <div class=\"c\">&amp;</div>",
        "数学の問題を解いてください。中文字符和日本語、한국어 텍스트",
        "مرحبا بالعالم — שלום עולם — नमस्ते दुनिया — สวัสดีชาวโลก",
        "lone \ud800 high, lone \udfff low, pair \U0001F600 ok",
        "x" * 50000,
        "😀" * 20000,
        "word " * 5000,
        ("ab😀cd " * 3000) + "TAIL",
        "a" * 16383 + "😀" + "b" * 10,
        "\U0001d400\U0001d401 \U0001d7d8 mathematical alphanumerics",
        "12,345.67 -8e10 0x1F 3/4 ½ ⅞ ٣٤٥ ४५",
    ]
    for _ in range(400):
        n = rng.randint(1, 80)
        out.append("".join(chr(rng.choice(cps)) for _ in range(n)))
    for _ in range(100):  # mostly ASCII words with a sprinkle of anything
        parts = []
        for _ in range(rng.randint(1, 60)):
            if rng.random() < 0.15:
                parts.append(chr(rng.choice(cps)))
            else:
                alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJ0123456789"
                parts.append("".join(rng.choice(alphabet) for _ in range(rng.randint(1, 12))))
            parts.append(rng.choice([" ", " ", "\n", ", ", ". ", "-", "_", "'"]))
        out.append("".join(parts))
    return out


def real_texts() -> list[str]:
    prompts = [t for _, t, _ in dedupe(prompt_items())]
    answers = [t for _, t, _ in dedupe(answer_items())]
    return prompts[::7] + answers[::12]


def _ts_ids(texts: list[str], tmp_path: Path) -> list[list[int]]:
    src, dst = tmp_path / "in.json", tmp_path / "out.jsonl"
    src.write_text(json.dumps({"spec": DEFAULT_SPEC, "texts": texts}))
    subprocess.run(["npx", "--no-install", "tsx", str(HERE / "tokenize_ts.ts"), str(src), str(dst)],
                   check=True, cwd=PROJECT_ROOT, stderr=sys.stderr)
    return [json.loads(line) for line in dst.read_text().splitlines()]


def test_typescript_tokenizer_matches_python(tmp_path):
    texts = real_texts() + synthetic_texts()
    assert len(texts) > 5000
    tok = Tokenizer()
    py = [tok.ids(t) for t in texts]
    ts = _ts_ids(texts, tmp_path)
    assert len(ts) == len(texts)
    bad = [i for i in range(len(texts)) if ts[i] != py[i]]
    if bad:
        i = bad[0]
        pytest.fail(f"{len(bad)} of {len(texts)} texts differ; first: {texts[i][:120]!r}: "
                    f"py {py[i][:12]} ts {ts[i][:12]}")
    # The suite covers the interesting regimes: empty, capped at max_tokens, and in between.
    lengths = [len(p) for p in py]
    assert lengths.count(0) >= 4 and lengths.count(DEFAULT_SPEC["max_tokens"]) >= 100
