"""The worker's ORT warm-up graph (worker/runtime/warm-model.ts) runs every operator the bundle's
graphs use, so an isolate compiles their kernels when it starts (worker/runtime/ort.ts warmOrt),
and the file is what model-assets/tools/make_warm_model.py writes."""
from __future__ import annotations

import base64
import importlib.util
import re
from pathlib import Path

import numpy as np
import onnx

from trainer.paths import BUNDLES_DIR, DEFAULT_FILE
from trainer.predict.export import neighbours_graph
from trainer.predict.neighbours import fit_index

ROOT = Path(__file__).resolve().parents[3]
TS = ROOT / "worker" / "runtime" / "warm-model.ts"


def warm_bytes() -> bytes:
    return base64.b64decode("".join(re.findall(r"'([A-Za-z0-9+/=]+)'", TS.read_text())))


def ops(model: onnx.ModelProto) -> set[tuple[str, str]]:
    return {(n.domain or "ai.onnx", n.op_type) for n in model.graph.node if n.op_type != "Constant"}


def test_the_file_is_what_the_generator_writes():
    spec = importlib.util.spec_from_file_location("make_warm_model", ROOT / "model-assets/tools/make_warm_model.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.build().SerializeToString() == warm_bytes()


def test_covers_every_operator_of_the_shipped_bundle_and_the_neighbour_graph():
    warm = ops(onnx.load_from_string(warm_bytes()))
    bundle = BUNDLES_DIR / DEFAULT_FILE.read_text().strip()
    needed: set[tuple[str, str]] = set()
    for f in sorted(bundle.glob("*.onnx")):
        needed |= ops(onnx.load(str(f)))
    rng = np.random.default_rng(0)
    needed |= ops(neighbours_graph(fit_index(rng.normal(size=(40, 8)), rng.random((40, 2)), centroids=8, dim=4)))
    assert needed - warm == set(), f"add these to make_warm_model.py: {sorted(needed - warm)}"
