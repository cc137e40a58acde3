"""The onboarding benchmark as a picture: how much of the full identity's gain a quiz keeps, per
model, as the quiz grows (``npm run eval -- --onboarding --plot PNG``, or ``--replot JSON --plot
PNG`` for an archived run)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from ..figures import save_figure

#: Gain fractions are clipped to this range on the plot (10-item quizzes can lose several times the
#: gain in pools of four); a clipped point is drawn as a triangle on the edge.
Y_RANGE = (-1.0, 1.25)


def _clip(v: float) -> tuple[float, bool]:
    lo, hi = Y_RANGE
    return min(max(v, lo), hi), not lo <= v <= hi


def plot_gain(res: dict[str, Any], path: Path) -> None:
    """Gain fraction of the designed quiz (solid) and of the random quizzes' mean (dashed) against
    the number of quiz items (log axis), one colour per model, with the 95% target marked.

    @example
        plot_gain(json.loads(Path("docs/benchmarks/onboarding-runs/tenant-budgets.json").read_text()),
                  Path("docs/benchmarks/onboarding-budgets.png"))
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    models = res["onboarding"]
    if not models:
        raise ValueError("no models in the results: nothing to plot")
    meta = res.get("meta", {})
    fig, ax = plt.subplots(figsize=(8, 5.5), dpi=110)
    for i, (name, block) in enumerate(models.items()):
        color = f"C{i}"
        budgets = sorted(block["quiz"], key=int)
        for key, style, label in (("gain_fraction", "-", name), ("random_gain_fraction", "--", None)):
            pts = [(int(n), block["quiz"][n][key]) for n in budgets if block["quiz"][n].get(key) is not None]
            if not pts:
                continue
            xs = [x for x, _ in pts]
            ys, clipped = zip(*(_clip(v) for _, v in pts))
            ax.plot(xs, ys, style, color=color, marker="o" if style == "-" else None, ms=4, label=label)
            for x, y, c in zip(xs, ys, clipped):
                if c:
                    ax.plot([x], [y], marker="v" if y < 0 else "^", color=color, ms=8, ls="none")
    ax.axhline(0.95, color="tab:red", lw=1, ls=":", label="target: 95% of the gain")
    ax.axhline(0.0, color="0.4", lw=0.8)
    ax.set_xscale("log")
    ticks = sorted({int(n) for block in models.values() for n in block["quiz"]})
    ax.set_xticks(ticks, [str(t) for t in ticks])
    ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
    ax.set_ylim(Y_RANGE[0] - 0.05, Y_RANGE[1] + 0.05)
    ax.set_xlabel("quiz items (log scale)")
    ax.set_ylabel("gain fraction: (AIQ - hull) / (full identity's AIQ - hull)")
    pools = (f"pools of {meta['pool_size']} ({meta.get('pool_draws')} draws)" if meta.get("pool_size")
             else "the whole pool")
    ax.set_title(f"Onboarding on mmlu-pro, {pools}: quiz (solid) vs random (dashed)", fontsize=10)
    save_figure(fig, ax, path)
