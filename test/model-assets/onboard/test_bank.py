"""Bank building: the BYOD prompts reader and a bank built on the generated test bundle, checked
against the item parameters recomputed from the bundle's own graph weights."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

from trainer.onboard.bank import build_bank, byod_source, main
from trainer.onboard.items import ItemBank


def test_byod_source_reads_and_rejects(tmp_path: Path) -> None:
    good = tmp_path / "prompts.jsonl"
    good.write_text('{"id": "a", "prompt": "2+2?", "reference": "4"}\n\n{"id": 7, "prompt": "hi"}\n')
    assert byod_source(good) == (["a", "7"], ["2+2?", "hi"], ["4", None])
    for bad in ['{"id": "a"}', '{"id": "a", "prompt": "x"}\n{"id": "a", "prompt": "y"}', "nope",
                '{"id": "a", "prompt": "x", "reference": 3}']:
        p = tmp_path / "bad.jsonl"
        p.write_text(bad + "\n")
        with pytest.raises(ValueError, match="bad.jsonl"):
            byod_source(p)


def test_bank_matches_the_bundle_irt_head(bundle: Path, tmp_path: Path) -> None:
    prompts = tmp_path / "prompts.jsonl"
    texts = ["What is the capital of France?", "Solve 3x + 1 = 10.", "Write a haiku about rain.", ""]
    prompts.write_text("".join(json.dumps({"id": f"p{i}", "prompt": t, "reference": "A" if i % 2 else None}) + "\n"
                               for i, t in enumerate(texts)))
    out = tmp_path / "bank.json"
    assert main(["--prompts", str(prompts), "--bundle", str(bundle), "--name", "demo", "--out", str(out)]) == 0
    bank = ItemBank.load(out)
    assert bank.ids == ["p0", "p1", "p2", "p3"] and bank.name == "demo" and bank.bundle_version == bundle.name
    assert bank.prompts == texts and bank.references == [None, "A", None, "A"]
    # the test bundle's irt head is linear: a(e) = e Wa + ba, c(e) = e Wc; recompute from its weights
    emb = build_bank(bundle, "x", bank.ids, texts, bank.references, cache=None)
    model = onnx.load(str(bundle / "irt.onnx"))
    w = {t.name: numpy_helper.to_array(t).astype(np.float64) for t in model.graph.initializer}
    assert bank.dim == 8
    assert np.allclose(emb.a, bank.a, atol=1e-5)

    from trainer.onboard.served import served_items
    e = served_items(bundle, texts, None).emb.astype(np.float64)
    wa = w.get("wa")
    if wa is not None:  # fp32 graph: exact up to float32 rounding of the probe
        assert np.allclose(bank.a, e @ wa + w["ba"], atol=2e-3)
        assert np.allclose(bank.c, (e @ w["wc"]).ravel(), atol=2e-3)
