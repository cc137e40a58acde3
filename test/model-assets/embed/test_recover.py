"""A student recovered from a bundle's embedder.onnx embeds as that file does on onnxruntime, so a
clean clone can rebuild bundles without training the embedder again."""
import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

from trainer.embed import load_student
from trainer.embed.recover import recover_student, student_from_onnx
from trainer.paths import PROJECT_ROOT

HERE = Path(__file__).resolve().parent
BUNDLES = PROJECT_ROOT / "model-assets" / "bundles"
TEXTS = ["What is the derivative of x^2 + 3x?", "", "Explain the doctrine of promissory estoppel.",
         "def f(x): return x * 2", "Quelle est la capitale de la France ?", "a " * 900]


def _default_bundle() -> Path:
    return BUNDLES / (BUNDLES / "DEFAULT").read_text().strip()


def _onnx_embed(model: Path, ids: np.ndarray, tmp: Path) -> np.ndarray:
    src, dst = tmp / "ids.json", tmp / "emb.json"
    src.write_text(json.dumps({"ids": ids.tolist()}))
    subprocess.run(["node", str(HERE / "run_onnx.mjs"), str(model), str(src), str(dst)], check=True, cwd=PROJECT_ROOT)
    return np.array(json.loads(dst.read_text())["embedding"], dtype=np.float32)


@pytest.fixture(scope="module")
def recovered(tmp_path_factory):
    return recover_student(_default_bundle(), tmp_path_factory.mktemp("recovered"))


def test_writes_a_student_folder(recovered):
    for name in ["embedder.pt", "embedder.fp32.onnx", "embedder.onnx", "tokenizer.json", "student.json"]:
        assert (recovered / name).exists(), name
    manifest = json.loads((_default_bundle() / "manifest.json").read_text())
    assert json.loads((recovered / "tokenizer.json").read_text()) == manifest["tokenizer"]
    assert json.loads((recovered / "student.json").read_text())["recovered_from"] == manifest["version"]


def test_embeds_as_the_bundle_does(recovered, tmp_path):
    student = load_student(recovered)
    ids = student.tokenizer.encode_batch(TEXTS)
    served = _onnx_embed(_default_bundle() / "embedder.onnx", ids, tmp_path)
    ours = student.embed(TEXTS)
    assert np.abs(ours - served).max() < 1e-5
    again = _onnx_embed(recovered / "embedder.onnx", ids, tmp_path)
    assert np.abs(again - served).max() < 1e-5


def test_rejects_a_file_that_is_not_an_int8_student():
    with pytest.raises(ValueError, match="table_q"):
        student_from_onnx(_default_bundle() / "irt.onnx")


def test_build_recovers_into_an_empty_student_folder(tmp_path):
    from argparse import Namespace

    from trainer.build import Progress, get_embedder

    args = Namespace(dev_embedding=False, student_from_bundle=_default_bundle(), retrain_embedder=False,
                     interim_student=False, smoke=False, seed=0)
    student, tag, block, spec, onnx_path = get_embedder(args, [], tmp_path / "embedder", Progress(1))
    assert onnx_path == tmp_path / "embedder" / "embedder.onnx" and len(tag) == 16
    assert block["space"] == student.space and block["dim"] == 512
    assert spec == json.loads((_default_bundle() / "manifest.json").read_text())["tokenizer"]
