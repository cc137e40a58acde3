"""Draws a pool's savings over time as a PNG: the answer of GET /admin/pools/{pool}/savings as JSON
on stdin, the PNG's path as the one argument (scripts/report/pool.mjs runs it).

Top: cost per bucket, routed (actual) against the baseline model's cost for the same requests.
Middle: cumulative savings. Bottom: mean predicted quality of the routed models and of the
baseline, where the requests recorded both (gaps where none did).
"""

import json
import math
import sys
from datetime import datetime, timedelta

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def _time(iso):
    return datetime.fromisoformat(iso.replace("Z", "+00:00"))


def _nan(value):
    return float("nan") if value is None else value


def plot(report, out):
    series = report["series"]
    if not series:
        raise SystemExit("no requests in the window: nothing to draw")
    bucket = timedelta(days=1) if report["bucket"] == "day" else timedelta(hours=1)
    # each bucket drawn at its middle, so a bar covers its own day or hour
    starts = [_time(p["start"]) for p in series]
    times = [t + bucket / 2 for t in starts]
    width = 0.8 * bucket.total_seconds() / 86400
    baseline = report["baseline"]["name"]
    fig, (cost, cum, quality) = plt.subplots(3, 1, figsize=(9, 8), sharex=True)
    fig.suptitle(
        f"pool {report['pool']}: routed vs always {baseline}\n"
        f"{report['since'][:16]} to {report['until'][:16]} UTC, per {report['bucket']}"
    )
    baseline_cost = [p["baseline_cost_usd"] for p in series]
    cost.bar(times, baseline_cost, width, color="#c9c9c9", label=f"always {baseline}")
    actual = [p["cost_usd"] for p in series]
    cost.bar(times, actual, width * 0.6, color="#2b7bba", label="routed (actual)")
    cost.set_ylabel("cost (USD)")
    cost.legend(loc="upper left")
    cum.plot(times, [p["cumulative_savings_usd"] for p in series], marker="o", color="#2a9d5c")
    cum.axhline(0, color="black", linewidth=0.5)
    cum.set_ylabel("saved, cumulative (USD)")
    quality.plot(times, [_nan(p["predicted_quality"]) for p in series], marker="o", label="routed")
    baseline_quality = [_nan(p["baseline_predicted_quality"]) for p in series]
    quality.plot(times, baseline_quality, marker="s", label=f"always {baseline}")
    quality.set_ylabel("predicted quality")
    quality.set_ylim(0, 1)
    quality.legend(loc="lower left")
    # at most ten labels, each under its bucket, naming the bucket's start
    step = max(1, math.ceil(len(series) / 10))
    label = "%Y-%m-%d" if report["bucket"] == "day" else "%m-%d %H:00"
    quality.set_xticks(times[::step], [t.strftime(label) for t in starts[::step]])
    fig.autofmt_xdate()
    fig.tight_layout()
    fig.savefig(out, dpi=100)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit("usage: plot_savings.py OUT.png < savings.json")
    plot(json.load(sys.stdin), sys.argv[1])
