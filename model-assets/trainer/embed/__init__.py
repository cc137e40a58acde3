"""Prompt embeddings for the router: the local student embedder, its teacher, Workers AI.

API the bundle build uses::

    from trainer.embed import teacher_embeddings, train_student, load_student

    vecs = teacher_embeddings(texts)        # np.ndarray [N, 512], USE-Lite, cached by sha256(text)
    info = train_student(out_dir)           # writes embedder.pt, embedder.fp32.onnx,
                                            # embedder.onnx (int8), tokenizer.json, student.json
    student = load_student(out_dir)
    student.embed(texts)                    # np.ndarray [N, student.dim], float32, L2-normalised,
                                            # the same int8 maths as embedder.onnx
    student.tokenizer_spec                  # -> manifest["tokenizer"]
    student.space, student.dim, student.empty  # -> manifest["embedding"]

    from trainer.embed import workers_ai_embeddings
    workers_ai_embeddings(texts, account_id, token)   # [N, 768] in @cf/baai/bge-base-en-v1.5 space

Modules: ``tokenizer`` (spec + Python twin of ``worker/embedding/tokenizer.ts``), ``corpus``
(texts from ``DATA_ROOT``), ``teacher`` (cache + Node runner), ``model`` (student nets),
``distill`` (training), ``export`` (ONNX), ``student`` (loaded student), ``workers_ai`` (REST).
"""
from __future__ import annotations

from .distill import StudentInfo, train_student
from .student import EMPTY, SPACE, Student, load_student
from .teacher import teacher_embeddings
from .tokenizer import DEFAULT_SPEC, Tokenizer
from .workers_ai import WorkersAIError, workers_ai_embeddings

__all__ = [
    "DEFAULT_SPEC", "EMPTY", "SPACE", "Student", "StudentInfo", "Tokenizer", "load_student",
    "teacher_embeddings", "train_student", "WorkersAIError", "workers_ai_embeddings",
]
