"""A student recovered from a bundle's embedder.onnx embeds as that file does on onnxruntime, so a
clean clone can rebuild bundles without training the embedder again."""
import json

import numpy as np
import pytest

from trainer.embed import load_student
from trainer.embed.recover import recover_student, student_from_onnx
from trainer.export.parity import run_onnx
from trainer.paths import default_bundle

TEXTS = ["What is the derivative of x^2 + 3x?", "", "Explain the doctrine of promissory estoppel.",
         "def f(x): return x * 2", "Quelle est la capitale de la France ?", "a " * 900]


@pytest.fixture(scope="module")
def recovered(tmp_path_factory):
    return recover_student(default_bundle(), tmp_path_factory.mktemp("recovered"))


def test_writes_a_student_folder(recovered):
    for name in ["embedder.pt", "embedder.fp32.onnx", "embedder.onnx", "tokenizer.json", "student.json"]:
        assert (recovered / name).exists(), name
    manifest = json.loads((default_bundle() / "manifest.json").read_text())
    assert json.loads((recovered / "tokenizer.json").read_text()) == manifest["tokenizer"]
    assert json.loads((recovered / "student.json").read_text())["recovered_from"] == manifest["version"]


def test_embeds_as_the_bundle_does(recovered):
    student = load_student(recovered)
    ids = student.tokenizer.encode_batch(TEXTS)
    out = run_onnx({"served": default_bundle() / "embedder.onnx", "recovered": recovered / "embedder.onnx"},
                   {"ids": ids}, "embedding")
    served = out["served"]["node"]
    assert np.abs(student.embed(TEXTS) - served).max() < 1e-5
    assert np.abs(out["recovered"]["node"] - served).max() < 1e-5
    assert np.abs(out["recovered"]["web"] - out["served"]["web"]).max() < 1e-5


def test_rejects_a_file_that_is_not_an_int8_student():
    with pytest.raises(ValueError, match="table_q"):
        student_from_onnx(default_bundle() / "irt.onnx")


def test_build_recovers_into_an_empty_student_folder(tmp_path):
    from argparse import Namespace

    from trainer.build import Progress, get_embedder

    args = Namespace(dev_embedding=False, student_from_bundle=default_bundle(), retrain_embedder=False,
                     interim_student=False, smoke=False, seed=0)
    student, tag, block, spec, onnx_path = get_embedder(args, [], tmp_path / "embedder", Progress(1))
    assert onnx_path == tmp_path / "embedder" / "embedder.onnx" and len(tag) == 16
    assert block["space"] == student.space and block["dim"] == 512
    assert spec == json.loads((default_bundle() / "manifest.json").read_text())["tokenizer"]
