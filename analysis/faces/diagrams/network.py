"""The partnership network of one run, and one run's outcomes month by month."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from analysis.faces.diagrams.common import INDEX_OUTCOMES, QUALITY_CMAP, SHARE_OUTCOMES, label, type_colour, use_agg

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

    from sim import PartnershipModel
    from sim.theory import Theory


def network_layout(ics: np.ndarray) -> np.ndarray:
    """Provider positions: ICSs on a grid, each ICS's providers on a small circle around its centre."""
    ics = np.asarray(ics)
    n_ics = int(ics.max()) + 1 if len(ics) else 0
    cols = max(1, math.ceil(math.sqrt(n_ics * 1.1)))
    pos = np.zeros((len(ics), 2))
    for k in range(n_ics):
        members = np.flatnonzero(ics == k)
        cx, cy = k % cols, -(k // cols)
        m = len(members)
        r = 0.0 if m == 1 else 0.1 + 0.022 * m
        angles = 2 * np.pi * np.arange(m) / max(m, 1) + np.pi / 2
        pos[members, 0] = cx + r * np.cos(angles)
        pos[members, 1] = cy + r * np.sin(angles)
    return pos


def network_figure(
    *,
    quality: np.ndarray,
    ics: np.ndarray,
    in_sm: np.ndarray,
    links: Sequence[tuple[int, int, str]],
    theory: Theory,
    title: str = "",
    band_good: float | None = None,
    width: float = 7.0,
) -> Figure:
    """Providers grouped by ICS, coloured by quality; partnerships as links coloured by type.

    Args:
        quality: quality level of each provider (index 0-1).
        ics: ICS index of each provider.
        in_sm: whether each provider is in special measures (drawn with a black ring).
        links: (provider, provider, type name) pairs; a partnership of several members is a
            star from its lead.
        theory: the theory (for the type colours).
        title: figure title.
        band_good: quality at which a trust counts as rated good (marked on the colour bar).
        width: figure width in inches.

    Returns:
        A matplotlib Figure.
    """
    import matplotlib.colors as mcolors
    from matplotlib.collections import LineCollection, PatchCollection
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.patches import Circle

    use_agg()
    pos = network_layout(ics)
    # fixed axes positions instead of a layout engine: this figure is redrawn at every Step
    fig = Figure(figsize=(width, width * 0.95))
    ax = fig.add_axes((0.01, 0.06, 0.86, 0.87))
    cax = fig.add_axes((0.90, 0.30, 0.025, 0.45))
    ax.set_aspect("equal")
    ax.axis("off")
    circles = []
    for k in range(int(ics.max()) + 1 if len(ics) else 0):
        members = pos[ics == k]
        if len(members):
            c = members.mean(axis=0)
            circles.append(Circle(c, float(np.hypot(*(members - c).T).max()) + 0.14))
    ax.add_collection(PatchCollection(circles, facecolor="#eef0f4", edgecolor="#c9ced8", linewidth=0.6, zorder=0))
    if links:
        segs = np.stack([pos[[i for i, _, _ in links]], pos[[j for _, j, _ in links]]], axis=1)
        colours = [type_colour(theory, t) for _, _, t in links]
        ax.add_collection(LineCollection(list(segs), colors=colours, linewidths=1.3, alpha=0.7, zorder=1))
    norm = mcolors.Normalize(0.3, 0.9)
    sc = ax.scatter(
        pos[:, 0],
        pos[:, 1],
        c=quality,
        cmap=QUALITY_CMAP,
        norm=norm,
        s=34,
        edgecolors=["black" if s else "#777" for s in in_sm],
        linewidths=[1.8 if s else 0.4 for s in in_sm],
        zorder=2,
    )
    ax.autoscale_view()
    cbar = fig.colorbar(sc, cax=cax)
    cbar.set_label("quality (index 0-1)")
    if band_good is not None:
        cbar.ax.axhline(band_good, color="black", linewidth=1.0)
        cbar.ax.text(1.6, band_good, "good", va="center", fontsize=7, transform=cbar.ax.get_yaxis_transform())
    present = sorted({t for _, _, t in links}, key=theory.type_names.index)
    handles = [Line2D([], [], color=type_colour(theory, t), linewidth=2.5, label=label(t)) for t in present]
    handles.append(
        Line2D(
            [],
            [],
            marker="o",
            linestyle="",
            markerfacecolor="white",
            markeredgecolor="black",
            markeredgewidth=1.8,
            label="in special measures",
        )
    )
    handles.append(
        Line2D(
            [],
            [],
            marker="o",
            linestyle="",
            markersize=12,
            markerfacecolor="#eef0f4",
            markeredgecolor="#c9ced8",
            label="an ICS (its trusts)",
        )
    )
    fig.legend(
        handles=handles,
        loc="lower center",
        bbox_to_anchor=(0.45, 0.0),
        ncol=min(4, len(handles)),
        fontsize=8,
        frameon=False,
    )
    if title:
        fig.suptitle(title, fontsize=11, y=0.98)
    return fig


def partnership_links(model: PartnershipModel) -> list[tuple[int, int, str]]:
    """(lead, member, type) links of a model's active partnerships (a star from each lead)."""
    ledger = model.ledger
    out: list[tuple[int, int, str]] = []
    for p in ledger.active_ids():
        members = [int(i) for i in ledger.members[p]]
        lead = int(ledger.lead[p]) if int(ledger.lead[p]) >= 0 else members[0]
        t = model.types.names[ledger.type[p]]
        out += [(lead, m, t) for m in members if m != lead]
    return out


# -- one run's outcomes --------------------------------------------------------------------
def outcome_panels(series: pd.DataFrame, theory: Theory, *, title: str = "", width: float = 7.0) -> Figure:
    """One run's outcomes month by month: shares of trusts, the indices, partnerships by type.

    Args:
        series: one row per month with the model's metric columns (``sim.run`` or the DataCollector).
        theory: the theory (for the partnership types).
        title: figure title.
        width: figure width in inches.

    Returns:
        A matplotlib Figure with three panels.
    """
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    use_agg()
    fig = Figure(figsize=(width, width * 1.05))  # no layout engine: redrawn at every Step
    axes = fig.subplots(
        3, 1, sharex=True, gridspec_kw={"left": 0.11, "right": 0.98, "top": 0.93, "bottom": 0.07, "hspace": 0.34}
    )
    months = np.arange(len(series))
    ax = axes[0]
    for col, name, colour in SHARE_OUTCOMES:
        if col in series:
            ax.plot(
                months,
                100 * series[col].to_numpy(dtype=float),
                label=name,
                color=colour,
                linewidth=1.8,
                marker="o" if len(series) < 3 else None,
            )
    ax.set_ylabel("% of trusts")
    ax.set_ylim(0, 100)
    ax.legend(fontsize=7.5, loc="lower right", bbox_to_anchor=(1.0, 0.98), ncol=3, frameon=False)
    ax.set_title("Trusts", fontsize=10, loc="left")
    ax = axes[1]
    for col, name, colour in INDEX_OUTCOMES:
        if col in series:
            ax.plot(
                months,
                series[col].to_numpy(dtype=float),
                label=name,
                color=colour,
                linewidth=1.8,
                marker="o" if len(series) < 3 else None,
            )
    ax.set_ylabel("index (0-1)")
    ax.legend(fontsize=7.5, loc="lower right", bbox_to_anchor=(1.0, 0.98), ncol=3, frameon=False)
    ax.set_title("Mean levels", fontsize=10, loc="left")
    ax = axes[2]
    bottom = np.zeros(len(series))
    for t in theory.type_names:
        col = f"n_{t}"
        if col in series and series[col].to_numpy(dtype=float).max(initial=0) > 0:
            vals = series[col].to_numpy(dtype=float)
            ax.fill_between(
                months, bottom, bottom + vals, color=type_colour(theory, t), alpha=0.8, label=label(t), linewidth=0
            )
            bottom = bottom + vals
    ax.set_ylabel("active")
    ax.set_xlabel("months from start")
    ax.set_title("Partnerships by type", fontsize=10, loc="left")
    if bottom.max(initial=0) > 0:
        ax.legend(fontsize=7.5, loc="upper left", ncol=3, frameon=False)
    else:
        ax.text(0.5, 0.5, "no partnerships yet", transform=ax.transAxes, ha="center", va="center", color="#777")
    for a in axes:
        a.grid(alpha=0.3)
        a.spines[["top", "right"]].set_visible(False)
    axes[2].xaxis.set_major_locator(MaxNLocator(integer=True))
    if len(series) <= 12:
        axes[2].set_xlim(0, 12)
    if title:
        fig.suptitle(title, fontsize=11)
    return fig
