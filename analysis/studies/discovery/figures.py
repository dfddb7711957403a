"""Figures of scenario discovery: each takes data and returns a matplotlib Figure."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import pandas as pd

from analysis.studies.discovery.boxes import Box

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def plot_tradeoff(trajectory: pd.DataFrame, *, chosen: int | None = None, title: str = "") -> Figure:
    """PRIM's coverage/density trade-off.

    One point per box on the trajectory, coloured by the number of restricted parameters; the
    chosen box is circled.
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.5, 5), layout="constrained")
    ax = fig.add_subplot()
    sc = ax.scatter(trajectory["coverage"], trajectory["density"], c=trajectory["res_dim"], cmap="viridis", s=22)
    fig.colorbar(sc, ax=ax, label="restricted parameters")
    if chosen is not None:
        r = trajectory[trajectory["box"] == chosen].iloc[0]
        ax.scatter([r["coverage"]], [r["density"]], s=160, facecolors="none", edgecolors="red", lw=1.5)
        ax.annotate(
            f"box {chosen}",
            (r["coverage"], r["density"]),
            xytext=(6, -12),
            textcoords="offset points",
            color="red",
            fontsize=8,
        )
    ax.set_xlabel("coverage (share of failures in the box)")
    ax.set_ylabel("density (share of runs in the box that fail)")
    ax.set_xlim(0, 1.02)
    ax.set_ylim(0, 1.02)
    ax.set_title(title or "PRIM: coverage vs density")
    return fig


def plot_box(box: Box, bounds: Mapping[str, tuple[float, float]], *, title: str = "") -> Figure:
    """The box's limits on each restricted parameter, drawn within the parameter's full range."""
    from matplotlib.figure import Figure

    n = max(box.res_dim, 1)
    fig = Figure(figsize=(7, 0.55 * n + 1.6), layout="constrained")
    ax = fig.add_subplot()
    for i, (name, row) in enumerate(box.limits.iterrows()):
        lo, hi = bounds.get(str(name), (row["min"], row["max"]))
        span = (hi - lo) or 1.0
        a, b = (row["min"] - lo) / span, (row["max"] - lo) / span
        ax.plot([0, 1], [i, i], color="lightgrey", lw=6, solid_capstyle="butt")
        ax.plot([a, b], [i, i], color="#d62728", lw=6, solid_capstyle="butt")
        ax.annotate(f"{row['min']:.3g}", (a, i), xytext=(0, 7), textcoords="offset points", ha="center", fontsize=7)
        ax.annotate(f"{row['max']:.3g}", (b, i), xytext=(0, 7), textcoords="offset points", ha="center", fontsize=7)
    ax.set_yticks(range(box.res_dim), [str(n) for n in box.limits.index], fontsize=8)
    ax.set_xlim(-0.05, 1.05)
    ax.set_ylim(-0.7, n - 0.3)
    ax.set_xlabel("position within the parameter's declared range (0 = low, 1 = high)")
    ax.set_title(
        title
        or f"{box.source.upper()} box {box.index}: density {box.density:.0%}, "
        f"coverage {box.coverage:.0%}, mass {box.mass:.0%}"
    )
    return fig
