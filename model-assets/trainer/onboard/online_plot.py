"""The online replay as a picture: the share of the full identity's gain a newcomer's routing keeps
as feedback comes in, per model, in pools of four and in the whole pool (``npm run eval --
--online --plot PNG``, or ``--replot JSON --plot PNG`` for an archived run)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from ..figures import save_figure
from .plot import Y_RANGE, _clip


def plot_online(res: dict[str, Any], path: Path) -> None:
    """Share against feedback events (0 = the quiz identity) with updates (solid) and without
    (dashed, the control), one colour per model; one panel per kind of pool in the results.

    @example
        plot_online(json.loads(Path("docs/benchmarks/onboarding-runs/online.json").read_text()),
                    Path("docs/benchmarks/onboarding-online.png"))
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    online, control = res["online"], res["control"]
    if not online:
        raise ValueError("no models in the results: nothing to plot")
    meta = res.get("meta", {})
    ns = ["0"] + [str(n) for n in meta.get("events", [])]
    groups = [g for g in ("pool4", "whole") if any(g in b for b in online.values())]
    fig, axes = plt.subplots(1, len(groups), figsize=(6.5 * len(groups), 5.0), dpi=110, squeeze=False)
    xs = list(range(len(ns)))
    for ax, grp in zip(axes[0], groups):
        for i, (model, block) in enumerate(online.items()):
            if grp not in block:
                continue
            for src, style, label in ((block, "-", model), (control.get(model, {}), "--", None)):
                pts = [(x, src[grp][n]) for x, n in zip(xs, ns) if grp in src and src[grp].get(n) is not None]
                if not pts:
                    continue
                ys, clipped = zip(*(_clip(v) for _, v in pts))
                px = [x for x, _ in pts]
                ax.plot(px, ys, style, color=f"C{i}", marker="o" if style == "-" else None, ms=4, label=label)
                for x, y, c in zip(px, ys, clipped):
                    if c:
                        ax.plot([x], [y], marker="v" if y < 0 else "^", color=f"C{i}", ms=8, ls="none")
        ax.axhline(0.95, color="tab:red", lw=1, ls=":", label="95%")
        ax.axhline(0.80, color="tab:orange", lw=1, ls=":", label="80%")
        ax.axhline(0.0, color="0.4", lw=0.8)
        ax.set_xticks(xs, ns)
        ax.set_ylim(Y_RANGE[0] - 0.05, Y_RANGE[1] + 0.05)
        ax.set_xlabel("feedback events (requests served, any model)")
        ax.set_ylabel("share of the full identity's gain over the hull")
        title = "pools of four (median over pools)" if grp == "pool4" else "the whole pool"
        ax.set_title(f"{title}: online (solid) vs no updates (dashed)", fontsize=10)
        ax.legend(fontsize=7, loc="lower right")
        ax.grid(alpha=0.3)
    fig.suptitle(f"Online identity updates, bundle {meta.get('bundle', '?')}, temperature "
                 f"{meta.get('temperature', '?')}, seeds {meta.get('seeds', '?')}", fontsize=10)
    save_figure(fig, axes[0][-1], path)
