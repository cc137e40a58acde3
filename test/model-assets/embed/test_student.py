"""The student embedder trains (smoke mode, a few hundred prompts), beats the trivial baseline on
held-out prompts, and its ONNX files follow the bundle contract and match the Python maths."""
import json
import subprocess
from pathlib import Path

import numpy as np
import onnx
import pytest

from trainer.embed import DEFAULT_SPEC, load_student, teacher_embeddings, train_student
from trainer.embed.corpus import split_corpus
from trainer.paths import PROJECT_ROOT

HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("embedder")
    info = train_student(out, smoke=True, seed=0)
    return out, info


def _run_onnx(model: Path, ids: np.ndarray, tmp: Path) -> np.ndarray:
    src, dst = tmp / "ids.json", tmp / "emb.json"
    src.write_text(json.dumps({"ids": ids.tolist()}))
    subprocess.run(["node", str(HERE / "run_onnx.mjs"), str(model), str(src), str(dst)], check=True, cwd=PROJECT_ROOT)
    return np.array(json.loads(dst.read_text())["embedding"], dtype=np.float32)


def test_files_and_size(built):
    out, info = built
    for name in ["embedder.pt", "embedder.fp32.onnx", "embedder.onnx", "tokenizer.json", "student.json"]:
        assert (out / name).exists(), name
    assert info.bytes_int8 == (out / "embedder.onnx").stat().st_size <= 8_000_000
    assert info.bytes_int8 < info.bytes_fp32 / 3
    assert json.loads((out / "tokenizer.json").read_text()) == DEFAULT_SPEC


def test_beats_mean_vector_baseline_on_heldout(built):
    _, info = built
    train, held, _ = split_corpus(smoke=True)
    t_train, t_held = teacher_embeddings(train), teacher_embeddings(held)
    mean = t_train.mean(0)
    base = (t_held @ mean / np.linalg.norm(t_held, axis=1) / np.linalg.norm(mean)).mean()
    assert info.heldout_cosine["all"] > base + 0.02, (info.heldout_cosine, base)
    assert abs(info.heldout_cosine_int8["all"] - info.heldout_cosine["all"]) < 0.01


def test_embed_is_normalised_and_defines_empty(built):
    out, _ = built
    s = load_student(out)
    texts = ["What is 2+2?", "", "   \n\t", "x" * 100000, "😀" * 30000, "def f(x): return x"]
    e = s.embed(texts)
    assert e.shape == (len(texts), s.dim) and e.dtype == np.float32
    assert np.isfinite(e).all()
    assert np.allclose(np.linalg.norm(e, axis=1), 1.0, atol=1e-5)
    assert np.array_equal(e[1], e[2])  # empty and whitespace-only: the same fixed vector
    assert not np.allclose(e[0], e[1])
    assert s.space == "router-local-v1" and s.tokenizer_spec == DEFAULT_SPEC


def test_onnx_contract_and_parity_with_python(built, tmp_path):
    out, _ = built
    s = load_student(out)
    for name in ["embedder.onnx", "embedder.fp32.onnx"]:
        m = onnx.load(str(out / name))
        assert {o.domain: o.version for o in m.opset_import}.get("", 0) == 17
        (inp,), (outp,) = m.graph.input, m.graph.output
        assert inp.name == "ids" and inp.type.tensor_type.elem_type == onnx.TensorProto.INT64
        assert outp.name == "embedding" and outp.type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    texts = ["Explain quicksort in Python.", "", "Le théorème de Pythagore ?", "word " * 2000]
    ids = s.tokenizer.encode_batch(texts)
    got = _run_onnx(out / "embedder.onnx", ids, tmp_path)
    want = s.embed(texts)
    np.testing.assert_allclose(got, want, atol=2e-5)
    # Fewer columns (the worker may send exactly max_tokens; any width works) give the same result
    # when only padding is dropped.
    short = _run_onnx(out / "embedder.onnx", ids[:1, :64], tmp_path)
    if not ids[0, 64:].any():
        np.testing.assert_allclose(short[0], want[0], atol=2e-5)
    fp32 = _run_onnx(out / "embedder.fp32.onnx", ids, tmp_path)
    assert (fp32 * got).sum(1).min() > 0.999  # int8 table keeps the direction


def test_bundle_copy_with_fused_gelu_passes_the_build_parity_check(built, tmp_path):
    # build.py writes the student's embedder.onnx into the bundle with its GELU fused and checks the
    # written file against the Python student (embedder_parity); a different student must fail it.
    from trainer.build import Progress, embedder_parity
    from trainer.export.fuse import fuse_gelu_file

    out, _ = built
    s = load_student(out)
    fused = tmp_path / "embedder.onnx"
    assert fuse_gelu_file(out / "embedder.onnx", fused) == 1
    assert not any(n.op_type == "Erf" for n in onnx.load(str(fused)).graph.node)
    texts = ["What is 2+2?", "", "Explain TCP vs UDP.", "def f(x): return x * 2"]
    p = Progress(total=1)
    assert embedder_parity(fused, s.tokenizer_spec, texts, s.embed(texts), p) < 1e-4
    with pytest.raises(SystemExit):
        embedder_parity(fused, s.tokenizer_spec, texts, s.embed(texts[::-1]), p)
