"""The online replay end to end on the generated test bundle (real int8 graphs served by the Node
decision core through online-routes.ts) and a few mmlu-pro prompts: the traffic and held-out
prompts are disjoint, the control never moves, updates follow the newcomer's outcomes, and the
scores are the harness's own metrics."""
from __future__ import annotations

import doctest
import json
from pathlib import Path

import numpy as np
import pytest

from trainer.onboard import replay
from trainer.onboard.replay import checkpoints_of, configs_for, share, targets


def test_doctests() -> None:
    assert doctest.testmod(replay).failed == 0


def test_rounds_end_at_every_checkpoint() -> None:
    rounds = list(checkpoints_of([50, 200, 1000], 25))
    assert rounds[0] == (0, 25) and rounds[-1] == (975, 1000) and len(rounds) == 40
    ends = [e for _, e in rounds]
    assert {50, 200, 1000} <= set(ends)
    assert all(e - s <= 25 for s, e in rounds)
    assert [e for _, e in checkpoints_of([7, 30], 10)] == [7, 10, 20, 30]


def test_targets_read_the_issue_thresholds() -> None:
    def block(p4: float, whole: float, drop: float) -> dict:
        return {"pool4": {"0": 0.5, "200": p4}, "pool4_aiq_vs_quiz": {"0": 0.0, "200": drop},
                "whole": {"0": 1.0, "200": whole}, "whole_aiq": {"0": 0.8, "200": 0.8 + drop}}
    online = {"a": block(0.96, 1.0, 0.001), "b": block(0.97, 1.0, -0.001), "c": block(0.81, 0.99, 0.0)}
    control = {m: block(0.5, 1.0, 0.0) for m in online}
    t = targets(online, control, [50, 200, 1000])
    assert t["pool4"]["median_at_least_95"] and t["pool4"]["every_model_at_least_80"]
    assert t["pool4"]["median"] == 0.96 and t["pool4"]["control_median"] == 0.5
    assert t["never_below_quiz_by_more_than_0.002"] and t["largest_aiq_drop_vs_quiz"] == pytest.approx(0.001)
    online["c"] = block(0.79, 0.99, -0.0021)
    t = targets(online, control, [50, 200, 1000])
    assert not t["pool4"]["every_model_at_least_80"] and not t["never_below_quiz_by_more_than_0.002"]


def test_replay_on_a_few_prompts(bundle: Path, tmp_path: Path) -> None:
    from trainer.data import COLD_START_MODELS, load_dataset
    from trainer.onboard.evaluate import subset_table
    from trainer.scoring import metrics as M
    from trainer.scoring.evalset import build_evalset

    out, details = tmp_path / "online.json", tmp_path / "details.json"
    model = "mathstral-7B"
    rc = replay.main(["--bundle", str(bundle), "--models", model, "--events", "4,12", "--batch", "4",
                      "--seeds", "3", "--max-train", "150", "--max-test", "40", "--pool-draws", "2",
                      "--w-points", "3", "--temperature", "2", "--sweep", "0", "--no-cache",
                      "--json", str(out), "--details", str(details), "--plot", str(tmp_path / "online.png")])
    assert rc == 0 and (tmp_path / "online.png").stat().st_size > 0
    res = json.loads(details.read_text())
    # --json is exactly the issue's shape: online -> model -> pool4 / whole -> checkpoint -> share
    assert json.loads(out.read_text()) == {"online": {model: {"pool4": res["online"][model]["pool4"],
                                                              "whole": res["online"][model]["whole"]}}}
    assert set(res["online"][model]["pool4"]) == {"0", "4", "12"}
    assert set(res["online"]) == {model} and set(res["sweep"]) == {"T=0"}
    for cfg in (res["online"], res["control"], res["sweep"]["T=0"]):
        block = cfg[model]
        assert set(block["pool4"]) == set(block["whole_aiq"]) == {"0", "4", "12"}
    seed = res["seeds"]["3"]
    assert seed["replay_prompts"] == 12 and seed["held_out_prompts"] == 28
    # the control (no updates) routes the quiz identity at every checkpoint
    for pool, v in seed["aiq"]["control"][model].items():
        assert len(set(v["aiq"].values())) == 1, pool
    # every config starts from the same quiz identity, so checkpoint 0 agrees
    for pool, v in seed["aiq"]["online"][model].items():
        assert v["aiq"]["0"] == seed["aiq"]["control"][model][pool]["aiq"]["0"]
        assert v["aiq"]["0"] == seed["aiq"]["T=0"][model][pool]["aiq"]["0"]
    diag = seed["diagnostics"]
    fed = diag["online"][model]["whole"]
    assert fed["0"]["newcomer_outcomes"] == 0
    assert fed["4"]["newcomer_outcomes"] <= fed["12"]["newcomer_outcomes"] <= 12
    # the newcomer's outcomes move its identity only where updates are on: the ability std shrinks
    # by exactly what was fed back, and never without it
    for cfg in ("online", "T=0"):
        d = diag[cfg][model]["whole"]
        if d["12"]["newcomer_outcomes"] > 0:
            assert d["12"]["ability_std"] < d["0"]["ability_std"]
        else:
            assert d["12"]["ability_std"] == d["0"]["ability_std"]
    assert diag["control"][model]["whole"]["12"]["ability_std"] == diag["control"][model]["whole"]["0"]["ability_std"]
    # the top-choice config never explores; the same traffic, the same requests
    assert diag["T=0"][model]["whole"]["12"]["explored"] == 0.0
    assert diag["T=0"][model]["whole"]["12"]["quality_vs_top"] == 0.0
    # whole-pool hull and the full identity's share are the harness's metrics on the held-out rows
    table = subset_table(load_dataset("mmlu-pro"), 150, 40)
    es = build_evalset(table, exclude=[m for m in COLD_START_MODELS if m != model])
    order = np.random.default_rng(3).permutation(es.test.size)
    held = np.sort(order[12:])
    sp = M.single_pool(es.models, es.test.cost[held], es.test.quality[held])
    whole = seed["aiq"]["online"][model]["whole"]
    assert whole["hull"] == pytest.approx(M.hull_aiq(sp), abs=1e-6)
    got = res["online"][model]["whole"]["12"]
    want = share(whole["aiq"]["12"], whole["hull"], whole["full"])
    assert got == (None if want is None else pytest.approx(want, abs=1e-4))
    assert res["meta"]["events"] == [4, 12] and res["meta"]["configs"]["control"]["update"] is False

    # An independent path: the quiz and full identities routed by the onboarding benchmark's own
    # tool (onboard-routes.ts) on the held-out prompts, scored with the harness's metrics, give
    # the AIQs the replay reports for checkpoint 0 and the full identity, pool by pool.
    from trainer.onboard.evaluate import cov_factor, route_variants

    setup = replay._setup(bundle, [model], 150, 40, None, 4, 2, True)
    job = setup["jobs"][0]
    test_rows = setup["test_rows"]
    ws = np.linspace(0.0, 1.0, 3)
    variants, names = [], []
    for pool, cols in job["pools"].items():
        for key in ("quiz", "full"):
            mean, cov = job[key]
            cands = [{**job["cands"][c], "identity": mean.tolist(), "cov_factor": cov_factor(cov)} if c == job["j"]
                     else job["cands"][c] for c in cols]
            variants.append({"name": f"{pool}/{key}", "candidates": cands})
            names.append((pool, key, cols))
    emb = setup["served"].emb[test_rows][held]
    choices, _ = route_variants(bundle, emb, setup["table"].input_tokens[test_rows][held],
                                ws, variants)
    for v, (pool, key, cols) in enumerate(names):
        cost, quality = es.test.cost[np.ix_(held, cols)], es.test.quality[np.ix_(held, cols)]
        sp = M.single_pool([es.models[c] for c in cols], cost, quality)
        aiq = M.aiq([M.choice_point(ch, cost, quality) for ch in choices[v]], sp)
        got = seed["aiq"]["control"][model][pool]
        assert (got["aiq"]["0"] if key == "quiz" else got["full"]) == pytest.approx(aiq, abs=1e-6), (pool, key)


def test_cli_rejects_bad_settings(bundle: Path) -> None:
    bad = (["--temperature", "20"], ["--batch", "65"], ["--events", "0,5"], ["--max-test", "30", "--events", "30"])
    for argv in bad:
        with pytest.raises(SystemExit):
            replay.main(["--bundle", str(bundle), "--models", "mathstral-7B", "--max-train", "50", "--no-cache", *argv])


def test_configs_share_traffic_and_differ_only_where_named() -> None:
    cfgs = {c.name: c for c in configs_for(1.0, [0.0, 1.0, 2.0], "decay+gate+explore-mean", 1.0,
                                           variants=["plain", "every-outcome"])}
    assert list(cfgs) == ["control", "online", "T=0", "T=2", "plain", "every-outcome"]
    # the control sees the pool's traffic (same exploration rule) but never learns, so no decay
    assert not cfgs["control"].update and cfgs["control"].temperature == 1.0
    assert cfgs["control"].gate and cfgs["control"].explore_penalty == 0.0 and not cfgs["control"].decay
    assert cfgs["online"].decay and cfgs["online"].gate and cfgs["T=2"].decay and cfgs["T=0"].temperature == 0.0
    assert not (cfgs["plain"].decay or cfgs["plain"].gate) and cfgs["plain"].explore_penalty is None
    assert cfgs["every-outcome"].every_outcome and not cfgs["online"].every_outcome
    with pytest.raises(ValueError, match="unknown lever"):
        configs_for(1.0, [], "fast", 1.0)


def test_routing_servers_side_by_side_change_no_number(bundle: Path, tmp_path: Path) -> None:
    """--jobs splits every round's and every measurement's routing over several Node servers; every
    number is the same as with one, and the top-level numbers are the medians over the seeds."""
    base = ["--bundle", str(bundle), "--models", "mathstral-7B", "--events", "6", "--batch", "3", "--seeds", "3,4,5",
            "--max-train", "150", "--max-test", "30", "--pools", "whole", "--w-points", "3", "--no-cache"]
    got = {}
    for jobs in ("1", "3"):
        out = tmp_path / f"jobs{jobs}.json"
        assert replay.main([*base, "--jobs", jobs, "--details", str(out)]) == 0
        got[jobs] = json.loads(out.read_text())
    assert got["1"]["seeds"].keys() == got["3"]["seeds"].keys() == {"3", "4", "5"}
    for seed in ("3", "4", "5"):
        one, three = got["1"]["seeds"][seed], got["3"]["seeds"][seed]
        assert one["aiq"] == three["aiq"] and one["online"] == three["online"], seed
    shares = [got["3"]["seeds"][s]["online"]["mathstral-7B"]["whole_aiq"]["6"] for s in ("3", "4", "5")]
    assert got["3"]["online"]["mathstral-7B"]["whole_aiq"]["6"] == pytest.approx(float(np.median(shares)), abs=1e-5)
