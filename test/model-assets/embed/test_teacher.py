"""The Node teacher (USE-Lite) fills a content-addressed cache that Python reads back."""
import numpy as np

from trainer.embed.teacher import TEACHER_DIM, read_cache, teacher_embeddings, text_key


def test_teacher_embeds_caches_and_reuses(tmp_path):
    texts = ["How do I bake sourdough bread at home?", "Give me a recipe for baking bread.",
             "Compute the integral of x^2 from 0 to 3.", "", "How do I bake sourdough bread at home?"]
    vecs = teacher_embeddings(texts, cache_dir=tmp_path)
    assert vecs.shape == (len(texts), TEACHER_DIM) and np.isfinite(vecs).all()
    assert np.allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-2)
    assert np.array_equal(vecs[0], vecs[4])
    # A real sentence encoder: the two bread prompts are closer than bread and calculus.
    assert vecs[0] @ vecs[1] > vecs[0] @ vecs[2] + 0.1
    cache = read_cache(tmp_path)
    assert len(cache) == 4 and text_key("") in cache
    # Everything is cached now: reading again must not need the teacher.
    again = teacher_embeddings(texts, cache_dir=tmp_path, run_missing=False)
    assert np.array_equal(again, vecs)


def test_torn_last_line_is_ignored(tmp_path):
    teacher_embeddings(["one text"], cache_dir=tmp_path)
    with (tmp_path / "vectors.jsonl").open("a") as f:
        f.write('{"key": "abc", "v": "AAAA')  # a crash mid-write
    assert list(read_cache(tmp_path)) == [text_key("one text")]
