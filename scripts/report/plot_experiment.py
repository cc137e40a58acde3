"""Draws an experiment report: cost per request against mean feedback, one point per arm with its
95% intervals on both axes. Reads {"title": str, "points": [{"name", "control", "x", "x_ci",
"y", "y_ci"}]} as JSON on stdin (x: USD per request, y: mean feedback score; a missing value is
null and the arm is listed in the caption instead); writes the PNG named by argv[1].

Example: node scripts/report.mjs --experiment exp_1 --png report.png  (which runs this script)
"""
import json
import sys
import textwrap

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def draw(data, out):
    """Writes the plot of `data` (the stdin JSON above) to the PNG file `out`."""
    fig, ax = plt.subplots(figsize=(7, 5), dpi=120)
    missing = []
    for p in data["points"]:
        if p.get("x") is None or p.get("y") is None:
            missing.append(p["name"])
            continue
        xerr = yerr = None
        if p.get("x_ci"):
            xerr = [[p["x"] - p["x_ci"][0]], [p["x_ci"][1] - p["x"]]]
        if p.get("y_ci"):
            yerr = [[p["y"] - p["y_ci"][0]], [p["y_ci"][1] - p["y"]]]
        marker = "s" if p.get("control") else "o"
        label = f"{p['name']} (control)" if p.get("control") else p["name"]
        ax.errorbar(p["x"], p["y"], xerr=xerr, yerr=yerr, fmt=marker, capsize=4, label=label)
        ax.annotate(p["name"], (p["x"], p["y"]), textcoords="offset points", xytext=(6, 6))
    ax.set_xlabel("mean actual cost per request (USD), 95% t interval")
    ax.set_ylabel("mean feedback score, 95% t interval")
    title = "\n".join(textwrap.wrap(data.get("title", "experiment"), 70))
    if missing:
        title += "\nno cost or feedback yet: " + ", ".join(missing)
    ax.set_title(title, fontsize=10)
    ax.grid(True, alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend()
    fig.tight_layout()
    fig.savefig(out)


if __name__ == "__main__":
    draw(json.load(sys.stdin), sys.argv[1])
