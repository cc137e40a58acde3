"""The finish every benchmark plot shares (the onboarding gain plot, the routers' frontiers, the
generalisation protocols' picture); matplotlib is imported only when a figure is drawn."""
from __future__ import annotations

from pathlib import Path
from typing import Any


def save_figure(fig: Any, ax: Any, path: Path) -> None:
    """The benchmark plots' common finish: grid, legend bottom right, tight layout, PNG written
    (folders made) and the figure closed.

    @example
        save_figure(fig, ax, Path("docs/benchmarks/mmlu-pro.png"))
    """
    import matplotlib.pyplot as plt

    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
