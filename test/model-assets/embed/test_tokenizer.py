"""The Python tokenizer follows its spec (the parity test pins the TypeScript twin to it)."""
from trainer.embed.tokenizer import DEFAULT_SPEC, Tokenizer, fnv1a32, normalize, words


def test_fnv1a32_reference_values():
    # Published FNV-1a 32 test vectors.
    assert fnv1a32(b"", 2166136261) == 0x811C9DC5
    assert fnv1a32(b"a", 2166136261) == 0xE40C292C
    assert fnv1a32(b"foobar", 2166136261) == 0xBF9CF968


def test_words_split_by_category():
    assert words("Hello, wörld! x+=1 😀") == ["hello", ",", "wörld", "!", "x", "+", "=", "1", "😀"]
    assert words("a\u200bb\tc\u00a0d") == ["a", "b", "c", "d"]  # Cf, Cc and Zs only separate
    assert words("ＡＢＣ ﬁ") == ["abc", "fi"]  # NFKC before lower-casing
    assert words("e\u0301t\u00e9") == ["\u00e9t\u00e9"]  # NFKC composes e + U+0301
    assert words("\u0915\u093f\u0924\u093e\u092c") == ["\u0915\u093f\u0924\u093e\u092c"]  # Mc marks stay in words


def test_empty_and_whitespace_are_all_padding():
    tok = Tokenizer()
    for text in ["", "   ", "\n\t\u200b", "\ud800"]:
        row = tok.encode(text)
        assert row.shape == (DEFAULT_SPEC["max_tokens"],) and not row.any()


def test_ids_in_range_and_ordered_words_first():
    tok = Tokenizer()
    ids = tok.ids("The cat sat")
    assert all(1 <= i < DEFAULT_SPEC["buckets"] for i in ids)
    # 3 words, 2 bigrams, then character n-grams of the 3 words.
    assert ids[:3] == [tok._id("w:the"), tok._id("w:cat"), tok._id("w:sat")]
    assert ids[3:5] == [tok._id("b:the cat"), tok._id("b:cat sat")]
    assert ids[5] == tok._id("c:<th")


def test_long_inputs_are_cut_head_and_tail():
    spec = DEFAULT_SPEC
    long = "a" * spec["max_code_points"] + "b" * spec["max_code_points"]
    cut = normalize(long)
    assert len(cut) == spec["max_code_points"] + 1
    assert cut.startswith("a" * spec["head_code_points"] + " ") and cut.endswith("b")
    many = " ".join(f"w{i}" for i in range(2000))
    ws = words(many)
    assert len(ws) == spec["max_words"]
    assert ws[spec["head_words"] - 1] == f"w{spec['head_words'] - 1}" and ws[-1] == "w1999"
    assert len(Tokenizer().ids(many)) == spec["max_tokens"]


def test_golden_is_current():
    """The workerd tokenizer test compares against this file; it must follow the Python tokenizer."""
    import json
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import golden

    assert json.loads(golden.GOLDEN.read_text()) == json.loads(json.dumps(golden.build(), ensure_ascii=True))
