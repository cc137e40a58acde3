"""The generalisation protocols: a dataset scored as a customer's folder scores as the dataset
itself; the byod protocol end to end on a small dataset (a real smoke build, served scoring,
tables, JSON, a rerun from the work folder); the leave-one-out identities; the build commands."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from trainer.data import COLD_START_MODELS, load_dataset
from trainer.data.byod import load_byod, write_byod
from trainer.eval import protocol as P
from trainer.eval.__main__ import evaluate, main, subsample
from trainer.eval.protocol_report import byod_target, loo_target
from trainer.eval.served import ServedPrompts, pool_identities, quiz_identity, route_pool
from trainer.scoring.evalset import build_evalset

SMOKE_RECIPE = "--smoke --pretrain-steps 5"


def _native_and_folder(name: str, tmp: Path, max_test: int | None, max_train: int | None):
    exclude = COLD_START_MODELS if name == "mmlu-pro" else ()
    native = build_evalset(load_dataset(name), exclude=exclude)
    folder = P.export_folder(name, tmp)
    mine = build_evalset(load_byod(folder))
    return subsample(native, max_test, max_train), subsample(mine, max_test, max_train)


def _same_block(a: dict, b: dict) -> None:
    for key in set(a) | set(b):
        if key in ("seconds", "served", "excluded_models"):
            continue
        assert a.get(key) == b.get(key), key


@pytest.mark.parametrize("name", ["mmlu-pro", "arena-hard-v1", "routellm-mt-bench"])
def test_a_dataset_scored_as_a_customer_folder_scores_as_the_dataset(name: str, tmp_path: Path) -> None:
    """What keeps the protocols from drifting from `npm run eval`: the folder gives the same pool,
    prompts, per-category labels, qualities, realised and expected costs, which is all any router
    is trained and scored on; on the small sets the whole results block is compared too."""
    native, mine = _native_and_folder(name, tmp_path, None, None)
    assert mine.dataset == native.dataset and mine.models == native.models
    # the folder never holds mmlu-pro's cold-start models: the pool is the same, only the note differs
    assert sorted(native.excluded_models) == sorted(COLD_START_MODELS if name == "mmlu-pro" else [])
    assert not mine.excluded_models
    for split in ("train", "test"):
        x, y = getattr(native, split), getattr(mine, split)
        assert x.table.prompts == y.table.prompts and x.table.category == y.table.category
        assert np.array_equal(x.table.input_tokens, y.table.input_tokens)
        for field in ("quality", "cost", "expected_cost"):
            assert np.array_equal(getattr(x, field), getattr(y, field)), (split, field)
    if name != "mmlu-pro":
        _same_block(evaluate(native, None, "served", mf_epochs=1), evaluate(mine, None, "served", mf_epochs=1))


def test_byod_protocol_end_to_end_and_rerun_from_the_work_folder(tmp_path: Path) -> None:
    work, docs, out = tmp_path / "work", tmp_path / "docs", tmp_path / "byod.json"
    argv = ["--protocol", "byod", "--datasets", "routellm-mt-bench", "--build-args", SMOKE_RECIPE, "--work", str(work),
            "--out", str(docs), "--json", str(out), "--mf-epochs", "1"]
    assert main(argv) == 0
    res = json.loads(out.read_text())
    block = res["datasets"]["routellm-mt-bench"]
    assert block["n_test"] == 16 and block["n_train"] == 64   # the dataset's fixed split, as a folder
    assert {"policy", "irt_greedy", "irt_lambda", "knn", "knn_tfidf", "sw_ranking", "routellm_mf",
            "category"} <= set(block["routers"])
    assert block["routers"]["hull"]["aiq"] == block["hull_aiq"] and block["savings_vs"]["hull"] is not None
    lo, hi = block["bootstrap"]["policy_minus_hull_aiq"]
    assert lo <= block["routers"]["policy"]["aiq"] - block["hull_aiq"] + 1e-4 and lo <= hi
    assert block["bootstrap"]["pair"]["policy_pair_minus_sw_ranking_apgr"] is not None
    info = res["meta"]["bundles"]["routellm-mt-bench"]
    assert info["cached"] is False and "--byod" in info["command"] and info["command"].endswith(SMOKE_RECIPE)
    bundle = next((work / "bundles").glob("*/gen-byod-routellm-mt-bench"))
    manifest = json.loads((bundle / "manifest.json").read_text())
    assert list(manifest["training_data"]["datasets"]) == ["routellm-mt-bench"]   # trained on that folder alone
    assert manifest["training_data"]["datasets"]["routellm-mt-bench"]["train"] == 64
    page = (docs / "generalisation-byod.md").read_text()
    assert "| routellm-mt-bench | 2 |" in page and (docs / "generalisation-byod.png").stat().st_size > 5_000
    archived = json.loads((docs / "generalisation-byod.json").read_text())
    assert "points" not in archived["datasets"]["routellm-mt-bench"]["routers"]["policy"]
    # A rerun finds the bundle in the work folder instead of building it again.
    logs: list[str] = []
    again = P.bundle_for("byod", "routellm-mt-bench", work / "byod" / "routellm-mt-bench",
                         P.Recipe(SMOKE_RECIPE.split()), work, P.default_embedder_bundle(), logs.append)
    assert again["cached"] is True and Path(again["path"]) == bundle and "from the work folder" in logs[0]


def test_a_bundle_is_reused_only_for_the_same_recipe_sources_and_data(tmp_path: Path) -> None:
    embedder = P.default_embedder_bundle()
    folder = P.export_folder("routellm-mt-bench", tmp_path)
    key, parts = P.bundle_key("byod", "routellm-mt-bench", folder, P.Recipe(), embedder)
    assert P.bundle_key("byod", "routellm-mt-bench", folder, P.Recipe(), embedder)[0] == key
    assert P.bundle_key("byod", "routellm-mt-bench", folder, P.Recipe(["--seed", "1"]), embedder)[0] != key
    assert P.bundle_key("leave-one-out", "routellm-mt-bench", folder, P.Recipe(), embedder)[0] != key
    (folder / "prices.csv").write_text((folder / "prices.csv").read_text().replace("10.0", "11.0"))
    assert P.bundle_key("byod", "routellm-mt-bench", folder, P.Recipe(), embedder)[0] != key
    assert parts["sources"] == P.source_digest()


def test_build_sources_are_what_the_build_imports() -> None:
    names = {str(p.relative_to(P.TRAINER)) for p in P.build_sources()}
    assert {"build.py", "irt/train.py", "policy/train.py", "export/quantize.py", "data/byod.py",
            "embed/recover.py", "scoring/evalset.py"} <= names
    assert not names & {"eval/protocol.py", "eval/served.py", "eval/report.py", "eval/__main__.py"}


def test_build_commands_reuse_the_embedder_and_end_with_the_recipe(tmp_path: Path) -> None:
    from trainer.build import reused_student_dir

    embedder = P.default_embedder_bundle()
    recipe = P.Recipe(["--seed", "2"])
    byod = P.build_command("byod", "alpaca-eval", tmp_path / "f", tmp_path / "b" / "gen-byod-alpaca-eval", recipe,
                           embedder)
    loo = P.build_command("leave-one-out", "alpaca-eval", tmp_path / "f", tmp_path / "b" / "gen-loo-alpaca-eval",
                          recipe, embedder)
    assert byod[1:3] == ["-m", "trainer.build"] and byod[3:5] == ["--byod", str(tmp_path / "f")]
    assert loo[3:5] == ["--exclude-dataset", "alpaca-eval"]
    for cmd in (byod, loo):
        assert cmd[-2:] == ["--seed", "2"]
        assert cmd[cmd.index("--student-dir") + 1] == str(reused_student_dir(embedder))


def _pool_case(tmp_path: Path):
    t = load_dataset("arena-hard-v1")
    es = build_evalset(load_byod(write_byod(t.subset(models=t.models[:4]), tmp_path / "arena")))
    rng = np.random.default_rng(0)
    d = 4
    a, c = rng.normal(size=(es.train.size, d)), rng.normal(size=es.train.size)
    known = es.models[1]
    manifest = {"identity_dim": d, "irt": {"prior": {"mean": [0.0] * d, "cov": np.eye(d).tolist()}},
                "models": [{"name": known, "aliases": [], "identity": [9.0] * d}]}
    return es, manifest, ServedPrompts(np.zeros((es.train.size, 2)), np.zeros((es.test.size, 2)), a, c), known


def test_leave_one_out_refits_every_identity_even_a_known_one(tmp_path: Path) -> None:
    es, manifest, prompts, known = _pool_case(tmp_path)
    served = pool_identities(es, manifest, prompts, "manifest")
    j = es.models.index(known)
    assert served.vectors[j] is None and known not in served.meta["identities_fitted_on_train"]
    refit = pool_identities(es, manifest, prompts, "refit")
    assert refit.meta["identities_fitted_on_train"] == es.models and refit.vectors[j] != [9.0] * 4
    assert all(f is None for f in refit.cov_factors)            # routed at the identity, as the eval routes fits


def test_quiz_identities_come_from_the_quiz_items_with_their_spread(tmp_path: Path) -> None:
    from trainer.onboard import laplace_posterior, select_quiz

    es, manifest, prompts, _ = _pool_case(tmp_path)
    quiz = pool_identities(es, manifest, prompts, "quiz", quiz_items=7)
    assert quiz.meta["quiz"]["items"] == 7 and all(f is not None and len(f) == 4 for f in quiz.cov_factors)
    j = 0
    y = es.train.table.outcome[:, j].astype(np.float64)
    y[:5] = np.nan                                              # items a model has no outcome for are skipped
    theta, cov = quiz_identity(prompts.a, prompts.c, y, manifest, 7)
    rows = select_quiz(prompts.a, prompts.c, np.zeros(4), np.eye(4), 7, exclude=np.arange(5),
                       criterion="i-optimal").rows
    assert not set(rows.tolist()) & set(range(5))
    want = laplace_posterior(prompts.a[rows], prompts.c[rows], y[rows], np.zeros(4), np.eye(4))
    np.testing.assert_allclose(theta, want.mean)
    np.testing.assert_allclose(cov, want.cov)


def test_a_quizzed_pool_shares_representative_items_and_its_own_prior(tmp_path: Path) -> None:
    from trainer.onboard import laplace_posterior
    from trainer.onboard.design import representative_quiz
    from trainer.onboard.prior import Prior, pool_prior

    es, manifest, prompts, _ = _pool_case(tmp_path)
    quiz = pool_identities(es, manifest, prompts, "quiz", quiz_items=7, quiz_prior="pool")
    assert quiz.meta["quiz"]["design"] == "representative"
    assert quiz.meta["quiz"]["prior"] == "EM over the quiz outcomes of 4 pool models, from bundle irt.prior"
    y = es.train.table.outcome.astype(np.float64)
    rows = representative_quiz(prompts.a, 7).rows
    quizzes = [(rows[~np.isnan(y[rows, j])], y[rows[~np.isnan(y[rows, j])], j]) for j in range(len(es.models))]
    prior = pool_prior(prompts.a, prompts.c, quizzes, Prior(np.zeros(4), np.eye(4)))
    assert np.linalg.norm(prior.mean) > 1e-3                    # the pool moved it off the bundle's prior
    for j, (r, yj) in enumerate(quizzes):
        want = laplace_posterior(prompts.a[r], prompts.c[r], yj, prior.mean, prior.cov)
        np.testing.assert_allclose(quiz.vectors[j], want.mean, rtol=1e-6, atol=1e-9)
    old = pool_identities(es, manifest, prompts, "quiz", quiz_items=7, quiz_prior="bundle", quiz_design="i-optimal")
    j = 0
    np.testing.assert_allclose(old.vectors[j], quiz_identity(prompts.a, prompts.c, y[:, j], manifest, 7)[0])
    with pytest.raises(ValueError, match="quiz design"):
        pool_identities(es, manifest, prompts, "quiz", quiz_items=7, quiz_design="best")


def test_a_priced_quiz_prior_shifts_each_model_by_its_log_price(tmp_path: Path) -> None:
    from trainer.eval.served import quiz_identities
    from trainer.onboard import laplace_posterior
    from trainer.onboard.design import representative_quiz
    from trainer.onboard.prior import Prior, priced_pool_prior

    es, manifest, prompts, _ = _pool_case(tmp_path)
    y = es.train.table.outcome.astype(np.float64)
    log_price = np.log(es.train.expected_cost.mean(axis=0))
    quiz = quiz_identities(prompts.a, prompts.c, y, manifest, 7, log_price=log_price)   # the protocol's prior
    assert "log price" in quiz.prior_source and quiz.design == "representative"
    ids = pool_identities(es, manifest, prompts, "quiz", quiz_items=7)
    np.testing.assert_allclose(ids.vectors, [m for m, _ in quiz.posteriors])
    rows = representative_quiz(prompts.a, 7).rows
    quizzes = [(rows[~np.isnan(y[rows, j])], y[rows[~np.isnan(y[rows, j])], j]) for j in range(len(es.models))]
    pp = priced_pool_prior(prompts.a, prompts.c, quizzes, log_price, Prior(np.zeros(4), np.eye(4)))
    for j, (r, yj) in enumerate(quizzes):
        prior = pp.at(log_price[j])
        want = laplace_posterior(prompts.a[r], prompts.c[r], yj, prior.mean, prior.cov)
        np.testing.assert_allclose(quiz.posteriors[j][0], want.mean, rtol=1e-6, atol=1e-9)
    with pytest.raises(ValueError, match="log price"):
        quiz_identities(prompts.a, prompts.c, y, manifest, 7)


def test_a_quizzed_pair_keeps_the_bundle_prior_and_the_i_optimal_quiz(tmp_path: Path) -> None:
    from trainer.eval.served import quiz_identities

    es, manifest, prompts, _ = _pool_case(tmp_path)
    y = es.train.table.outcome[:, :2].astype(np.float64)
    pair = quiz_identities(prompts.a, prompts.c, y, manifest, 7)
    assert pair.design == "i-optimal" and pair.prior_source == "bundle irt.prior"
    for j in range(2):
        np.testing.assert_allclose(pair.posteriors[j][0], quiz_identity(prompts.a, prompts.c, y[:, j], manifest, 7)[0])


def test_a_quiz_identity_is_routed_below_its_mean_through_the_served_core(bundle: Path, tmp_path: Path) -> None:
    from trainer.eval.served import PoolIdentities, embed_and_probe
    from trainer.scoring.greedy import W_GRID

    es = subsample(build_evalset(load_dataset("routellm-gsm8k")), 20, 100)
    manifest = json.loads((bundle / "manifest.json").read_text())
    prompts = embed_and_probe(es, bundle, probe=True)
    quiz = pool_identities(es, manifest, prompts, "quiz", quiz_items=10)
    at_mean = PoolIdentities(quiz.vectors, [None] * len(es.models))
    spread, _ = route_pool(es, bundle, quiz, W_GRID[:3])
    mean, _ = route_pool(es, bundle, at_mean, W_GRID[:3])
    assert (spread.p_success < mean.p_success).all()           # one posterior std below, as the worker routes it


def test_a_pair_is_also_routed_where_its_share_of_strong_calls_jumps(bundle: Path) -> None:
    from trainer.eval.routers import binary_pairs, served_routers
    from trainer.eval.served import PAIR_STEP, PoolIdentities, embed_and_probe
    from trainer.scoring.greedy import W_GRID

    es = subsample(build_evalset(load_dataset("routellm-gsm8k")), 20, 100)
    manifest = json.loads((bundle / "manifest.json").read_text())
    ids = pool_identities(es, manifest, embed_and_probe(es, bundle, probe=True), "quiz", quiz_items=10)
    served, _ = route_pool(es, bundle, PoolIdentities(ids.vectors, [None] * 2), W_GRID)
    _, s, w = binary_pairs(es)[0]
    fine, coarse = served.pair_strong[(s, w)], served.choices == s
    assert served.refined_choices is not None and len(fine) == len(W_GRID) + len(served.refined_choices)
    jump = lambda m: float(np.abs(np.diff(m.mean(axis=1))).max())  # noqa: E731
    assert jump(coarse) > PAIR_STEP                              # this bundle switches in steps of W_GRID
    assert jump(fine) < jump(coarse)
    assert all(any(np.array_equal(row, r) for r in fine) for row in coarse)   # the grid's own rows stay
    assert all(any(np.array_equal(row == s, r) for r in fine) for row in served.refined_choices)
    policy = {r.name: r for r in served_routers(es, served)}["policy"]
    assert len(policy.points) == len(fine)                       # the pool is the pair: same settings


def test_targets_in_words() -> None:
    def block(policy: float, knn: float, models: int = 3, saves: float = 0.1, knn_saves: float = 0.05) -> dict:
        return {"pool": [f"m{i}" for i in range(models)], "hull_aiq": 0.8,
                "routers": {"hull": {"aiq": 0.8}, "policy": {"aiq": policy}, "knn": {"aiq": knn},
                            "oracle": {"aiq": 0.99}, "random_mix": {"aiq": 0.7}},
                "savings_vs": {"hull": saves}, "knn_saves_vs_hull": knn_saves}

    assert byod_target("x", block(0.81, 0.8115)) == "met"                       # within the 0.002 slack
    assert byod_target("x", block(0.81, 0.813)).startswith("missed: knn AIQ 0.8130")
    assert "kNN +20.0%" in byod_target("x", block(0.81, 0.80, knn_saves=0.2))
    assert byod_target("x", block(0.81, 0.9, models=2)) == "- (2 models)"
    assert loo_target(block(0.8, 0.9)) == "met" and loo_target(block(0.79, 0.7)).startswith("missed")


def test_protocol_flags_are_checked(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["--protocol", "byod", "--max-test", "5"], ["--protocol", "byod", "--datasets", "nope"],
                 ["--protocol", "leave-one-out", "--quiz-items", "0"]):
        with pytest.raises(SystemExit):
            main(argv)
    assert "--max-test" in capsys.readouterr().err


def test_a_failed_build_is_reported_and_the_run_goes_on(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def failing(*_a: object, **_k: object) -> dict:
        raise RuntimeError("routerarena: build failed (exit 1); build.log:\nFAIL: top-choice agreement 0.9")

    monkeypatch.setattr(P, "bundle_for", failing)
    res = P.run_protocol("byod", ["routerarena"], P.Recipe(), tmp_path, progress=lambda s: None)
    assert res["meta"]["failed"] == {"routerarena": "routerarena: build failed (exit 1); build.log:"}
    assert res["datasets"] == {}
