"""Which models a dataset's pool holds (``build_evalset``)."""
from __future__ import annotations

import numpy as np
import pytest

from trainer.data import load_dataset
from trainer.scoring.evalset import build_evalset


def _sparse(answered_by: int) -> tuple:
    """arena-hard-v1 with each prompt's outcomes kept for ``answered_by`` of its models only, as in
    exported traffic (the model a prompt was routed to) or evals that graded each prompt on a few."""
    t = load_dataset("arena-hard-v1")
    rng = np.random.default_rng(0)
    y = t.outcome.copy()
    for i in range(len(y)):
        drop = rng.permutation(len(t.models))[answered_by:]
        y[i, drop] = np.nan
    return t, y


def test_a_sparse_folder_keeps_every_model_with_enough_outcomes_on_both_splits() -> None:
    import dataclasses

    t, y = _sparse(answered_by=5)            # each model on about a third of the prompts
    es = build_evalset(dataclasses.replace(t, outcome=y), min_recorded=10)
    assert es.models == t.models            # below half the test prompts, but 10 or more each
    with pytest.raises(ValueError, match="fewer than two models with outcomes on at least 30"):
        build_evalset(dataclasses.replace(t, outcome=_sparse(answered_by=1)[1]))


def test_a_model_no_train_prompt_graded_is_not_in_the_pool() -> None:
    import dataclasses

    t = load_dataset("arena-hard-v1")
    y = t.outcome.copy()
    y[t.split == "train", 0] = np.nan       # graded on the test prompts only
    es = build_evalset(dataclasses.replace(t, outcome=y))
    assert t.models[0] not in es.models and t.models[0] in es.excluded_models
    assert build_evalset(t).models == t.models   # the dense dataset keeps its whole pool
