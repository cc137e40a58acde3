"""Two protocol runs side by side (trainer/eval/protocol_report.py comparison_rows)."""
from trainer.eval.protocol_report import comparison_rows


def block(policy: float, saves: float, apgr: float | None = None) -> dict:
    routers = {"policy": {"aiq": policy, "ctm": None}, "knn": {"aiq": 0.70, "ctm": None}}
    if apgr is not None:
        routers["policy_pair"] = {"aiq": policy, "apgr": apgr}
        routers["sw_ranking"] = {"aiq": 0.7, "apgr": 0.55}
    return {"hull_aiq": 0.70, "pool": ["a", "b"], "routers": routers, "savings_vs": {"hull": saves},
            "knn_saves_vs_hull": 0.05}


def test_one_row_per_dataset_in_both_with_the_change():
    before = {"meta": {"protocol": "leave-one-out"}, "datasets": {"x": block(0.71, 0.02), "gone": block(0.7, 0.0)}}
    after = {"meta": {"protocol": "leave-one-out"},
             "datasets": {"x": block(0.69, 0.04, apgr=0.6), "new": block(0.8, 0.1)}}
    rows = comparison_rows(before, after)
    assert len(rows) == 3                                     # header, rule, x (only x is in both runs)
    cells = [c.strip() for c in rows[2].split("|")[1:-1]]
    assert cells[:5] == ["x", "0.7000", "0.7100", "0.6900", "-0.0200"]
    assert cells[-2:] == ["met", "missed: 0.6900 < hull 0.7000"]
    assert "0.600 (0.550)" in rows[2]
