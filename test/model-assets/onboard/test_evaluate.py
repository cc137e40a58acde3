"""The onboarding benchmark end to end on the generated test bundle (random weights, real int8
graphs served by the Node decision core) and a small mmlu-pro subset: shape of the results and
that its numbers are the harness's own metrics."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from trainer.onboard import evaluate


def test_prior_of_checks_dimensions() -> None:
    with pytest.raises(ValueError):
        evaluate.prior_of({"irt": {}}, 2)
    with pytest.raises(ValueError):
        evaluate.prior_of({"irt": {"prior": {"mean": [0], "cov": [[1]]}}}, 2)


def test_benchmark_on_a_small_subset(bundle: Path, tmp_path: Path) -> None:
    from trainer.data import load_dataset
    from trainer.scoring import metrics as M
    from trainer.scoring.evalset import build_evalset

    out = tmp_path / "onboarding.json"
    rc = evaluate.main(["--bundle", str(bundle), "--models", "mathstral-7B", "--budgets", "5,10",
                        "--random-seeds", "2", "--w-points", "3", "--max-train", "200", "--max-test", "60",
                        "--no-cache", "--bootstrap", "30", "--json", str(out)])
    assert rc == 0
    res = json.loads(out.read_text())
    block = res["onboarding"]["mathstral-7B"]
    assert set(block["quiz"]) == {"5", "10"}
    for n in ("5", "10"):
        q = block["quiz"][n]
        assert 0.0 <= q["aiq"] <= 1.0 and 0.0 <= q["random_aiq"] <= 1.0
        assert 0.0 <= q["share"] <= 1.0 and 0.0 <= q["random_share"] <= 1.0
        assert q["random_below_quiz"] in (0.0, 0.5, 1.0)   # 2 random quizzes
        assert q["test_logloss"] > 0 and q["identity_distance"] >= 0
        assert q["alt"]["d-optimal"]["criterion_gain"] > 0
        assert set(q["alt"]) == {"adaptive-i-optimal", "d-optimal", "adaptive-d-optimal"}
        assert q["criterion_gain"] > 0  # the reported quiz is the static I-optimal one
        bs = q["bootstrap"]
        for lo, hi in (bs["gain_fraction_interval"], bs["quiz_minus_random_aiq_interval"]):
            assert lo <= hi
        assert 0 <= bs["share_at_least_95"] <= 1 and 0 <= bs["quiz_beats_random_share"] <= 1
    # more quiz items, more expected information
    gain = {n: block["quiz"][n]["alt"]["d-optimal"]["criterion_gain"] for n in ("5", "10")}
    assert gain["10"] > gain["5"]
    assert res["meta"]["selection"].startswith("greedy i-optimal")
    assert set(res["summary"]) == {"5", "10"} and res["summary"]["5"]["models"] == 1
    # hull_aiq is the harness's single-model hull with the model in the pool
    table = evaluate.subset_table(load_dataset("mmlu-pro"), 200, 60)
    from trainer.data import COLD_START_MODELS
    es = build_evalset(table, exclude=[m for m in COLD_START_MODELS if m != "mathstral-7B"])
    assert "mathstral-7B" in es.models
    assert block["hull_aiq"] == pytest.approx(M.hull_aiq(es.pool()), abs=1e-4)
    assert res["meta"]["test_prompts"] == 60 and res["meta"]["train_items"] == 200
    assert np.isfinite(block["full_aiq"]) and block["n_train_outcomes"] <= 200


def test_quiz_beats_random_compares_unrounded_gain_fractions() -> None:
    # the AIQs tie at 4 digits; the gain fractions (computed before rounding) do not
    q = {"aiq": 0.8159, "random_aiq": 0.8159, "gain_fraction": 0.9409, "random_gain_fraction": 0.9241,
         "test_logloss": 0.63, "random_test_logloss": 0.66, "identity_distance": 1.0, "random_identity_distance": 2.0}
    assert evaluate.summarise({"m": {"quiz": {"20": q}}}, [20], "aiq")["20"]["quiz_beats_random"] == 1
    worse = {**q, "gain_fraction": 0.90}
    assert evaluate.summarise({"m": {"quiz": {"20": worse}}}, [20], "aiq")["20"]["quiz_beats_random"] == 0
    assert evaluate.summarise({"m": {"quiz": {"20": {**q, "random_below_quiz": 1.0}}},
                               "n": {"quiz": {"20": {**q, "random_below_quiz": 0.9}}}},
                              [20], "aiq")["20"]["quiz_beats_every_random"] == 1
    no_gain = {**q, "gain_fraction": None, "random_gain_fraction": None, "aiq": 0.81, "random_aiq": 0.80}
    assert evaluate.summarise({"m": {"quiz": {"20": no_gain}}}, [20], "aiq")["20"]["quiz_beats_random"] == 1


def test_greedy_only_mode_skips_the_policy(bundle: Path, tmp_path: Path) -> None:
    out = tmp_path / "g.json"
    assert evaluate.main(["--bundle", str(bundle), "--models", "Phi-3-mini-4k-instruct", "--budgets", "4",
                          "--random-seeds", "2", "--w-points", "3", "--max-train", "120", "--max-test", "40",
                          "--criteria", "i-optimal", "--greedy-only", "--json", str(out)]) == 0
    q = json.loads(out.read_text())["onboarding"]["Phi-3-mini-4k-instruct"]["quiz"]["4"]
    assert q["aiq"] is None and q["random_aiq"] is None and 0 <= q["greedy_aiq"] <= 1 and q["alt"] == {}
    assert "bootstrap" not in q   # intervals are for the routed policy only


def test_onboarded_identities_are_routed_with_their_covariance(bundle: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The policy pass gets each onboarded identity's covariance factor (and only the onboarded
    model's) and the penalty, IRT-greedy uses the pessimistic rule at that penalty; ``penalty=0``
    turns both off."""
    sent: list[list[dict]] = []
    sent_penalty: list[float] = []
    greedy_covs: list[bool] = []
    greedy_penalty: list[float] = []

    def fake_routes(bundle_, emb, tokens, ws, variants, penalty):
        sent.append(variants)
        sent_penalty.append(penalty)
        return np.zeros((len(variants), len(ws), emb.shape[0]), np.int64), {}

    real_routed_p = evaluate.routed_p

    def spy(a, c, mean, cov, penalty):
        greedy_covs.append(cov is not None)
        greedy_penalty.append(penalty)
        return real_routed_p(a, c, mean, cov, penalty)

    monkeypatch.setattr(evaluate, "route_variants", fake_routes)
    monkeypatch.setattr(evaluate, "routed_p", spy)
    model = "Phi-3-mini-4k-instruct"
    for penalty in (1.0, 2.5, 0.0):
        uncertainty = penalty > 0
        sent.clear()
        sent_penalty.clear()
        greedy_covs.clear()
        greedy_penalty.clear()
        evaluate.run(evaluate.OnboardingConfig(bundle, [model], [4], 1, np.array([0.0, 1.0]), 120, 40, None,
                                               criteria=("i-optimal",), n_boot=0, penalty=penalty))
        assert sent_penalty == [penalty] and set(greedy_penalty) == {penalty}
        d = json.loads((bundle / "manifest.json").read_text())["identity_dim"]
        for v in sent[0]:
            factors = {c["name"]: c.get("cov_factor") for c in v["candidates"]}
            assert all(f is None for name, f in factors.items() if name != model)
            if uncertainty:
                f = np.array(factors[model])
                assert f.shape == (d, d) and np.all(np.isfinite(f)) and np.abs(f).max() > 0
            else:
                assert factors[model] is None
        assert greedy_covs and all(greedy_covs) == uncertainty and any(greedy_covs) == uncertainty


def test_route_on_mean_flag_reaches_the_run(bundle: Path, tmp_path: Path) -> None:
    args = ["--bundle", str(bundle), "--models", "Phi-3-mini-4k-instruct", "--budgets", "4", "--random-seeds", "1",
            "--w-points", "3", "--max-train", "120", "--max-test", "40", "--criteria", "i-optimal", "--greedy-only"]
    for extra, word, penalty in (([], "1 posterior std below", 1.0), (["--route-on-mean"], "posterior mean", 0.0),
                                 (["--uncertainty-penalty", "2"], "2 posterior std below", 2.0)):
        out = tmp_path / "u.json"
        assert evaluate.main(args + extra + ["--json", str(out)]) == 0
        meta = json.loads(out.read_text())["meta"]
        assert word in meta["uncertainty"] and meta["uncertainty_penalty"] == penalty
    with pytest.raises(SystemExit):   # a pool accepts [0, 5]; so does the benchmark
        evaluate.main(args + ["--uncertainty-penalty", "6"])


def test_a_pool_stores_no_penalty_the_contract_refuses() -> None:
    from trainer.paths import PROJECT_ROOT

    sql = (PROJECT_ROOT / "migrations" / "0005_pool_uncertainty_penalty.sql").read_text()
    assert f"uncertainty_penalty <= {evaluate.MAX_UNCERTAINTY_PENALTY:g})" in sql


def test_routed_p_is_the_logit_a_posterior_std_below_the_mean() -> None:
    rng = np.random.default_rng(3)
    a, c, mean = rng.normal(size=(5, 4)), rng.normal(size=5), rng.normal(size=4)
    root = rng.normal(size=(4, 4))
    cov = root @ root.T + 0.1 * np.eye(4)
    factor = np.array(evaluate.cov_factor(cov))
    assert np.allclose(factor.T @ factor, cov)          # sum_i v_i v_i^T, as D1 stores it
    logit = lambda p: np.log(p / (1 - p))   # noqa: E731
    std = np.sqrt(((a @ factor.T) ** 2).sum(axis=1))    # what the worker reads off the IRT
    assert np.allclose(logit(evaluate.routed_p(a, c, mean, cov)), a @ mean - c - evaluate.UNCERTAINTY_PENALTY * std)
    assert np.allclose(evaluate.routed_p(a, c, mean, None), 1 / (1 + np.exp(-(a @ mean - c))))


def test_bootstrap_entry_counts_only_resamples_where_the_full_identity_gains() -> None:
    hull = np.full(4, 0.80)
    aiq = {"full": np.array([0.81, 0.8001, 0.82, 0.79]),   # 2nd: gain under MIN_GAIN; 4th: below the hull
           "quiz": np.array([0.8096, 0.90, 0.81, 0.95]), "r1": np.full(4,
                                                                       0.805), "r2": np.array([0.80, 0.80, 0.82, 0.80])}
    b = evaluate._boot_entry((hull, aiq), "quiz", ["r1", "r2"])["bootstrap"]
    assert b["resamples_with_gain"] == 2
    assert b["share_at_least_95"] == 0.5                 # 0.96 and 0.5: the huge "shares" of 2 and 4 are not counted
    lo, hi = b["gain_fraction_interval"]   # percentiles of the two counted shares, 0.5 and 0.96
    assert 0.5 <= lo < 0.6 and 0.9 < hi <= 0.96
    assert b["quiz_beats_random_share"] == 0.75          # the third resample: quiz 0.81 vs random mean 0.8125
    swapped = evaluate._boot_entry((hull, {**aiq, "quiz": aiq["r2"], "r2": aiq["quiz"]}), "quiz",
                                   ["r1", "r2"])["bootstrap"]
    assert swapped["quiz_beats_random_share"] < b["quiz_beats_random_share"]
    none = evaluate._boot_entry((hull, {**aiq, "full": hull + 1e-4}), "quiz", ["r1"])["bootstrap"]
    assert none["resamples_with_gain"] == 0 and none["share_at_least_95"] is None
    assert none["gain_fraction_interval"] is None


def test_the_served_routes_read_the_penalty(bundle: Path) -> None:
    """onboard-routes.ts routes a candidate with a covariance factor at the request's penalty: at 0
    exactly as if it had none, at 5 (a large factor) differently."""
    manifest = json.loads((bundle / "manifest.json").read_text())
    d, dim = int(manifest["identity_dim"]), int(manifest["embedding"]["dim"])
    rng = np.random.default_rng(7)
    emb = rng.normal(size=(40, dim)).astype(np.float32)
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    cands = [{"name": m["name"], "identity": m["identity"], "input_usd_per_mtok": 1.0 + i,
              "output_usd_per_mtok": 2.0 + i, "expected_output_tokens": 100.0}
             for i, m in enumerate(manifest["models"])]
    doubt = {**cands[0], "cov_factor": [[3.0 * x for x in row] for row in np.eye(d)]}
    variants = [{"name": "plain", "candidates": cands}, {"name": "doubted", "candidates": [doubt] + cands[1:]}]
    ws, tokens = np.linspace(0.0, 1.0, 5), np.full(40, 50.0)
    at_mean, _ = evaluate.route_variants(bundle, emb, tokens, ws, variants, 0.0)
    doubted, _ = evaluate.route_variants(bundle, emb, tokens, ws, variants, 5.0)
    assert np.array_equal(at_mean[0], at_mean[1])      # penalty 0: the factor changes nothing
    assert np.array_equal(doubted[0], at_mean[0])      # no factor, no penalty
    assert (doubted[1] != doubted[0]).any() and (doubted[1] == 0).sum() < (doubted[0] == 0).sum()


def test_tenant_pools_route_the_model_in_draws_of_the_asked_size(bundle: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """--pool-size K: every identity is routed in the same pool_draws pools of K models, each holding
    the onboarded model; the whole-pool default sends one pool of every model."""
    sent: list[list[dict]] = []

    def fake_routes(bundle_, emb, tokens, ws, variants, penalty):
        sent.append(variants)
        return np.zeros((len(variants), len(ws), emb.shape[0]), np.int64), {}

    monkeypatch.setattr(evaluate, "route_variants", fake_routes)
    model = "mathstral-7B"
    res = evaluate.run(evaluate.OnboardingConfig(bundle, [model], [4], 2, np.array([0.0, 1.0]), 120, 40, None,
                                                 criteria=("i-optimal",), n_boot=0, pool_size=3, pool_draws=4))
    keys = evaluate._quiz_keys([4], ["i-optimal"], 2)
    assert len(sent[0]) == 4 * len(keys)
    pools = [tuple(c["name"] for c in v["candidates"]) for v in sent[0]]
    assert all(len(p) == 3 and model in p for p in pools)
    from trainer.data import COLD_START_MODELS, load_dataset
    from trainer.scoring.evalset import build_evalset
    es = build_evalset(evaluate.subset_table(load_dataset("mmlu-pro"), 120, 40),
                       exclude=[m for m in COLD_START_MODELS if m != model])
    draws = evaluate.pool_draws_for(model, len(es.models), es.models.index(model), 3, 4)
    assert len({tuple(c) for c in draws}) == 4                       # distinct pools
    # candidates in the pool's model order: choice k is column draws[d][k] (prices checked too)
    for d, cols in enumerate(draws):
        v = sent[0][d * len(keys)]
        assert [c["name"] for c in v["candidates"]] == [es.models[c] for c in cols]
        assert [c["input_usd_per_mtok"] for c in v["candidates"]] == [float(es.test.table.prices[c, 0]) for c in cols]
    # one pool per draw
    assert len(set(pools)) > 1 and all(pools[i] == pools[i - i % len(keys)] for i in range(len(pools)))
    assert res["meta"]["pool_size"] == 3 and res["meta"]["pool_draws"] == 4 and "tenant_pools" in res["meta"]["pools"]
    # every choice is candidate 0 (fake routes): the share is the fraction of draws whose first model is the
    # onboarded one
    first = [p[0] == model for p in pools[::len(keys)]]
    assert res["onboarding"][model]["full_share"] == pytest.approx(np.mean(first), abs=1e-4)
    sent.clear()
    whole = evaluate.run(evaluate.OnboardingConfig(bundle, [model], [4], 2, np.array([0.0, 1.0]), 120, 40, None,
                                                   criteria=("i-optimal",), n_boot=0))
    assert len(sent[0]) == len(keys) and whole["meta"]["pool_size"] is None
    assert len(sent[0][0]["candidates"]) > 3


def test_tenant_pool_hull_is_the_mean_of_the_harness_hulls(bundle: Path, tmp_path: Path) -> None:
    from trainer.data import COLD_START_MODELS, load_dataset
    from trainer.scoring import metrics as M
    from trainer.scoring.evalset import build_evalset

    out = tmp_path / "tenant.json"
    model = "Phi-3-mini-4k-instruct"
    assert evaluate.main(["--bundle", str(bundle), "--models", model, "--budgets", "4", "--random-seeds", "1",
                          "--w-points", "3", "--max-train", "150", "--max-test", "50", "--criteria", "i-optimal",
                          "--pool-size", "4", "--pool-draws", "3", "--bootstrap", "10", "--json", str(out)]) == 0
    block = json.loads(out.read_text())["onboarding"][model]
    es = build_evalset(evaluate.subset_table(load_dataset("mmlu-pro"), 150, 50),
                       exclude=[m for m in COLD_START_MODELS if m != model])
    draws = evaluate.pool_draws_for(model, len(es.models), es.models.index(model), 4, 3)
    want = np.mean([M.hull_aiq(M.single_pool([es.models[c] for c in cols], es.test.cost[:, cols],
                                             es.test.quality[:, cols]))
                    for cols in draws])
    assert block["hull_aiq"] == pytest.approx(want, abs=1e-4)
    assert block["hull_aiq"] != pytest.approx(M.hull_aiq(es.pool()), abs=1e-4)
    assert 0 <= block["quiz"]["4"]["share"] <= 1 and 0 <= block["quiz"]["4"]["aiq"] <= 1
    with pytest.raises(SystemExit):
        evaluate.main(["--bundle", str(bundle), "--pool-size", "1", "--greedy-only"])
    with pytest.raises(SystemExit):   # draws without a size: refused, not ignored
        evaluate.main(["--bundle", str(bundle), "--pool-draws", "3", "--greedy-only"])
    with pytest.raises(SystemExit):   # a "tenant pool" as large as the pool is the whole pool
        evaluate.main(["--bundle", str(bundle), "--models", model, "--pool-size", "99", "--greedy-only",
                       "--max-train", "150", "--max-test", "50"])


def test_quizzes_start_from_the_bank_prior_unless_asked_otherwise(bundle: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """The "prior" identity is what a 0-item quiz stores: the bank prior's mean (the mean of the
    mmlu-pro pool's identities) by default, the bundle's irt.prior with prior="population"."""
    sent: list[list[dict]] = []
    monkeypatch.setattr(evaluate, "route_variants", lambda b, emb, t, ws, variants, p: (
        sent.append(variants) or np.zeros((len(variants), len(ws), emb.shape[0]), np.int64), {}))
    model = "Phi-3-mini-4k-instruct"

    def prior_identity(**kw: str) -> tuple[np.ndarray, np.ndarray, dict]:
        sent.clear()
        res = evaluate.run(evaluate.OnboardingConfig(bundle, [model], [4], 1, np.array([0.0, 1.0]), 120, 40, None,
                                                     criteria=("i-optimal",), n_boot=0, **kw))
        cands = sent[0][0]["candidates"]   # variant 0 is "prior"
        theta = np.array(next(c["identity"] for c in cands if c["name"] == model))
        others = np.array([c["identity"] for c in cands if c["name"] != model])
        return theta, others, res["meta"]["prior"]

    manifest = json.loads((bundle / "manifest.json").read_text())
    theta, _, meta = prior_identity(prior="population")
    assert np.allclose(theta, manifest["irt"]["prior"]["mean"]) and meta["kind"] == "population"
    theta, others, meta = prior_identity()
    assert meta["kind"] == "bank" and meta["models"] >= len(others)
    assert not np.allclose(theta, manifest["irt"]["prior"]["mean"])
    assert meta["models"] == len(others)   # the whole population is in this pool
    assert np.allclose(theta, others.mean(axis=0), atol=1e-6)


def test_condition_on_ability_is_gaussian_conditioning() -> None:
    """The conditioned posterior is the joint Gaussian's conditional: mean moved along cov @ abar,
    its abar-variance gone, every direction uncorrelated with abar untouched."""
    rng = np.random.default_rng(3)
    root = rng.normal(size=(4, 4))
    cov = root @ root.T + np.eye(4)
    mean, abar = rng.normal(size=4), rng.normal(size=4)
    m, s = evaluate.condition_on_ability(mean, cov, abar, 1.5)
    assert float(abar @ m) == pytest.approx(1.5, abs=1e-5)
    v = cov @ abar
    assert np.allclose(s, cov - np.outer(v, v) / float(abar @ v), atol=1e-5)   # Schur complement
    np.linalg.cholesky(s)   # still a covariance the worker can factor
    ortho = np.linalg.solve(cov, rng.normal(size=4))
    ortho -= abar * float(abar @ cov @ ortho) / float(abar @ cov @ abar)   # cov-orthogonal to abar
    assert float(ortho @ m) == pytest.approx(float(ortho @ mean), abs=1e-5)


def test_oracle_ability_tells_every_quiz_identity_the_full_ability(bundle: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """--oracle-ability is a diagnostic: every routed identity but the full one has the full
    identity's mean test-split logit, and the results say it was used."""
    sent: list[list[dict]] = []
    monkeypatch.setattr(evaluate, "route_variants", lambda b, emb, t, ws, variants, p: (
        sent.append(variants) or np.zeros((len(variants), len(ws), emb.shape[0]), np.int64), {}))
    model = "Phi-3-mini-4k-instruct"
    captured: dict[str, np.ndarray] = {}
    real = evaluate.served_items

    def spy(bundle_, prompts, cache):
        items = real(bundle_, prompts, cache)
        captured["a"] = items.a
        return items

    monkeypatch.setattr(evaluate, "served_items", spy)

    def abilities(oracle: bool) -> tuple[dict[str, float], dict]:
        sent.clear()
        res = evaluate.run(evaluate.OnboardingConfig(bundle, [model], [4], 2, np.array([0.0, 1.0]), 120, 40, None,
                                                     criteria=("i-optimal",), n_boot=0, oracle_ability=oracle))
        from trainer.data import load_dataset
        table = evaluate.subset_table(load_dataset("mmlu-pro"), 120, 40)
        abar = captured["a"][np.flatnonzero(table.split == "test")].mean(axis=0)
        out = {}
        for v in sent[0]:
            cand = next(c for c in v["candidates"] if c["name"] == model)
            key = v["name"].split("/", 1)[1]
            out[key] = float(abar @ np.array(cand["identity"]))
            if oracle and key != "full":   # the routed covariance knows the ability too
                factor = np.array(cand["cov_factor"])
                assert float(abar @ factor.T @ factor @ abar) < 1e-4
        return out, res

    plain, res = abilities(False)
    assert res["meta"]["oracle_ability"] is None
    # the reported ability error is the routed identity's mean logit minus the full one's
    block = res["onboarding"][model]
    assert block["quiz"]["4"]["ability_error"] == pytest.approx(plain["i-optimal-4"] - plain["full"], abs=1e-4)
    assert block["prior_ability_error"] == pytest.approx(plain["prior"] - plain["full"], abs=1e-4)
    assert block["quiz"]["4"]["random_ability_error_abs"] == pytest.approx(
        np.mean([abs(plain[f"random-4-{s}"] - plain["full"]) for s in range(2)]), abs=1e-4)
    assert 0 < block["quiz"]["4"]["ability_std"] < block["prior_ability_std"]   # 4 answers teach something
    told, res = abilities(True)
    assert "diagnostic" in res["meta"]["oracle_ability"]
    assert res["onboarding"][model]["quiz"]["4"]["ability_error"] == pytest.approx(0, abs=1e-4)
    assert res["onboarding"][model]["quiz"]["4"]["ability_std"] < 0.01
    assert set(told) == {"prior", "full", "i-optimal-4", "random-4-0", "random-4-1"}
    assert told["full"] == pytest.approx(plain["full"])
    for key, value in told.items():
        assert value == pytest.approx(plain["full"], abs=1e-4), key
    assert any(abs(plain[k] - plain["full"]) > 1e-3 for k in plain if k != "full")   # not already equal
