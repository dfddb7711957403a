"""Diagrams of the theory and of the partnership network (matplotlib; take data, return a Figure).

Shared by the dashboard and the HTML report:

- :func:`causal_web_figure`: the domains of the theory by tier (structural → relational →
  outcome) with the causal web's arrows labelled by their weight; optionally shaded by a
  sensitivity index (total-order Sobol index of each edge weight and domain parameter).
- :func:`network_figure`: providers as dots grouped by ICS and coloured by quality, trusts
  in special measures ringed, partnerships drawn as links coloured by type.
- :func:`outcome_panels`: the month-by-month outcomes of one run in the units people use.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

    from sim import PartnershipModel
    from sim.theory import Theory

TIER_TITLES = {
    "structural": "Structural\n(what partnering changes)",
    "relational": "Relational\n(how people work)",
    "outcome": "Outcomes\n(what patients and boards see)",
}
TIER_COLOURS = {"structural": "#dbe9f6", "relational": "#e5f2e0", "outcome": "#fbe6d4"}
QUALITY_CMAP = "RdYlGn"
TYPE_COLOURS = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
    "#393b79",
    "#637939",
)
SHARE_OUTCOMES = (
    ("share_good_or_outstanding", "rated good or outstanding", "#2ca02c"),
    ("share_in_deficit", "in deficit", "#d62728"),
    ("share_special_measures", "in special measures", "#7f3c8d"),
)
INDEX_OUTCOMES = (
    ("mean_quality", "quality", "#1f77b4"),
    ("mean_efficiency", "efficiency", "#ff7f0e"),
    ("mean_access", "access", "#17becf"),
)


def _agg() -> None:
    """Draw without a display (matplotlib is imported on first use: it costs a third of a second)."""
    import matplotlib

    if matplotlib.get_backend().lower() != "agg":
        matplotlib.use("Agg")


def label(name: str) -> str:
    """A domain or type name for people: ``it_systems`` → ``IT systems``."""
    special = {
        "it_systems": "IT systems",
        "care_model": "Care model",
        "user_engagement": "User engagement",
        "contractual_jv": "Contractual JV",
        "corporate_jv": "Corporate JV",
        "vertical_ico": "Vertical ICO",
    }
    return special.get(name, name.replace("_", " ").capitalize())


def type_colour(theory: Theory, type_name: str) -> str:
    """The colour of a partnership type (fixed by its position in the typology)."""
    return TYPE_COLOURS[theory.type_names.index(type_name) % len(TYPE_COLOURS)]


# -- the causal web ---------------------------------------------------------------------
def web_positions(theory: Theory) -> dict[str, tuple[float, float]]:
    """Node positions: one column per tier, domains spread evenly down each column."""
    pos: dict[str, tuple[float, float]] = {}
    tiers = ["structural", "relational", "outcome"]
    for col, tier in enumerate(tiers):
        names = [d.name for d in theory.domains if d.tier == tier]
        for row, name in enumerate(names):
            y = 1.0 - (row + 0.5) / max(len(names), 1)
            pos[name] = (0.12 + 0.38 * col, y)
    return pos


def node_sensitivity(theory: Theory, index: Mapping[str, float]) -> dict[str, float]:
    """Per domain, the largest index among its own parameters (``domain.<d>.*``)."""
    out: dict[str, float] = {}
    for d in theory.domain_names:
        vals = [v for k, v in index.items() if k.startswith(f"domain.{d}.") and np.isfinite(v)]
        if vals:
            out[d] = float(max(vals))
    return out


def causal_web_figure(
    theory: Theory,
    *,
    values: Mapping[str, float] | None = None,
    sensitivity: Mapping[str, float] | None = None,
    title: str | None = None,
    highlight: Sequence[str] = (),
    width: float = 10.0,
) -> Figure:
    """The theory's causal web: domains by tier, arrows labelled by weight.

    Args:
        theory: the theory (its values are the weights shown unless ``values`` overrides them).
        values: edited parameter values to show instead (e.g. from the dashboard's sliders).
        sensitivity: total-order index per parameter name (``edge.<a>-><b>.weight``,
            ``domain.<d>.rate``…); when given, arrows and boxes are shaded by it.
        title: figure title.
        highlight: edge names (``a->b``) drawn in a highlight colour (edited ones).
        width: figure width in inches.

    Returns:
        A matplotlib Figure.
    """
    import matplotlib
    import matplotlib.colors as mcolors
    from matplotlib.figure import Figure
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    _agg()
    vals = dict(theory.values)
    vals.update(values or {})
    pos = web_positions(theory)
    fig = Figure(figsize=(width, width * 0.62), layout="constrained")
    ax = fig.add_subplot()
    ax.set_xlim(-0.05, 1.05)
    ax.set_ylim(-0.08, 1.12)
    ax.axis("off")
    cmap = matplotlib.colormaps["Purples"]
    smax = max([v for v in (sensitivity or {}).values() if np.isfinite(v)] + [1e-9])
    norm = mcolors.Normalize(0.0, max(smax, 0.05))
    for col, tier in enumerate(("structural", "relational", "outcome")):
        ax.text(
            0.12 + 0.38 * col,
            1.09,
            TIER_TITLES[tier],
            ha="center",
            va="top",
            fontsize=10,
            fontweight="bold",
            color="#333",
        )
    node_s = node_sensitivity(theory, sensitivity) if sensitivity else {}
    box_w, box_h = 0.17, 0.075
    for d in theory.domains:
        x, y = pos[d.name]
        face = cmap(norm(node_s[d.name]) * 0.85) if d.name in node_s else TIER_COLOURS[d.tier]
        ax.add_patch(
            FancyBboxPatch(
                (x - box_w / 2, y - box_h / 2),
                box_w,
                box_h,
                boxstyle="round,pad=0.01,rounding_size=0.02",
                facecolor=face,
                edgecolor="#555",
                linewidth=1.0,
                zorder=3,
            )
        )
        txt_colour = "white" if d.name in node_s and norm(node_s[d.name]) > 0.6 else "#111"
        ax.text(x, y, label(d.name), ha="center", va="center", fontsize=10, zorder=4, color=txt_colour)
    placed: list[tuple[float, float]] = []
    for e in theory.edges:
        w = float(vals[f"edge.{e.name}.weight"])
        (x0, y0), (x1, y1) = pos[e.source], pos[e.target]
        forward, backwards = x1 > x0 + 1e-6, x1 < x0 - 1e-6
        same_col = not forward and not backwards
        if same_col:
            rad = 0.35
        elif abs(x1 - x0) > 0.5:  # skips the middle tier: bow around its boxes
            rad = -0.22 if (y0 + y1) / 2 > 0.5 else 0.22
        else:
            rad = 0.25 if backwards else 0.0
        start = (
            x0 + (box_w / 2 if forward else -box_w / 2 if backwards else 0.0),
            y0 + (0 if not same_col else (-box_h / 2 if y1 < y0 else box_h / 2)),
        )
        end = (
            x1 + (-box_w / 2 if forward else box_w / 2 if backwards else 0.0),
            y1 + (0 if not same_col else (box_h / 2 if y1 < y0 else -box_h / 2)),
        )
        s = (sensitivity or {}).get(f"edge.{e.name}.weight")
        colour: Any
        if e.name in highlight:
            colour = "#e6550d"
        elif s is not None and np.isfinite(s):
            colour = cmap(0.3 + 0.7 * norm(s))
        else:
            colour = "#4a6fa5"
        arrow = FancyArrowPatch(
            start,
            end,
            connectionstyle=f"arc3,rad={rad}",
            arrowstyle="-|>",
            mutation_scale=12,
            linewidth=0.6 + 4.0 * w,
            color=colour,
            alpha=0.85,
            zorder=2,
            linestyle="--" if e.direct else "-",
        )
        ax.add_patch(arrow)
        mx, my = _label_spot(start, end, rad, placed)
        placed.append((mx, my))
        text = f"{w:.2f}" if s is None or not np.isfinite(s) else f"{w:.2f} · ST {s:.2f}"
        ax.text(
            mx,
            my,
            text,
            fontsize=8,
            ha="center",
            va="center",
            zorder=5,
            color="#e6550d" if e.name in highlight else "#222",
            fontweight="bold" if e.name in highlight else "normal",
            bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": "none", "alpha": 0.85},
        )
    notes = "Arrow width and label: effect weight. Dashed: direct path (skips a tier)."
    if highlight:
        notes += " Orange: edited this session."
    if sensitivity:
        notes += (
            "\nShading: total-order sensitivity index ST (darker = the outcome's uncertainty\n"
            "depends more on this assumption); ST shown on each label."
        )
        cax = ax.inset_axes((0.70, -0.055, 0.26, 0.022))
        sm = matplotlib.cm.ScalarMappable(norm=norm, cmap=cmap)
        cb = fig.colorbar(sm, cax=cax, orientation="horizontal")
        cb.set_label("total-order index (ST)", fontsize=8)
        cb.ax.tick_params(labelsize=7)
        ax.text(0.0, -0.06, notes, ha="left", va="center", fontsize=8.5, color="#444")
    else:
        ax.text(0.5, -0.06, notes, ha="center", va="center", fontsize=8.5, color="#444")
    if title:
        ax.set_title(title, fontsize=12)
    return fig


# matplotlib bends ``arc3`` arrows in display space; x data units are this much wider than y
# units on the causal web's axes (figure 1 : 0.62, x range 1.1, y range 1.2, titles on top).
_WEB_XY = (0.95 / 1.1) / (0.62 * 0.86 / 1.2)


def _arc_point(a: tuple[float, float], b: tuple[float, float], rad: float, t: float) -> tuple[float, float]:
    """Point at parameter ``t`` of matplotlib's ``arc3`` connection from ``a`` to ``b`` (a quadratic Bézier)."""
    (x1, y1), (x2, y2) = a, b
    cx = (x1 + x2) / 2 + rad * (y2 - y1) / _WEB_XY
    cy = (y1 + y2) / 2 - rad * (x2 - x1) * _WEB_XY
    u = 1.0 - t
    return u * u * x1 + 2 * u * t * cx + t * t * x2, u * u * y1 + 2 * u * t * cy + t * t * y2


def _label_spot(
    a: tuple[float, float], b: tuple[float, float], rad: float, placed: Sequence[tuple[float, float]]
) -> tuple[float, float]:
    """Where along an arrow to put its label: the middle unless another label is already near it."""
    best, best_gap = _arc_point(a, b, rad, 0.5), -1.0
    for t in (0.5, 0.38, 0.62, 0.28, 0.72, 0.2, 0.8):
        x, y = _arc_point(a, b, rad, t)
        gap = min((max(abs(x - px) / 0.06, abs(y - py) / 0.035) for px, py in placed), default=9.0)
        if gap >= 1.0:
            return x, y
        if gap > best_gap:
            best, best_gap = (x, y), gap
    return best


# -- the partnership network ------------------------------------------------------------
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

    _agg()
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

    _agg()
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
