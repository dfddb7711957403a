"""The theory's causal web: domains by tier, arrows numbered on the web and listed in a table beside it.

Two dozen arrows fan out of four structural domains into three relational ones, so labels
written on the arrows pile up where the arrows cross. Each arrow therefore carries only a
small number, placed along it where no other number or box is (:func:`marker_spots`), and
the table beside the web gives each number's arrow in words ("Governance → Culture"), its
weight and, when known, its sensitivity index.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from analysis.faces.diagrams.common import TIER_COLOURS, TIER_TITLES, label, use_agg

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from sim.theory import Theory

TIERS = ("structural", "relational", "outcome")
BOX_W, BOX_H = 0.2, 0.09
"""A domain's box on the web, in data units (x from -0.05 to 1.05, y from -0.08 to 1.12)."""
MARKER = (0.032, 0.045)
"""Half the room (x, y, in data units) one arrow's number needs: numbers closer than this overlap."""
SPOTS = (0.5, 0.42, 0.58, 0.34, 0.66, 0.27, 0.73, 0.21, 0.79, 0.46, 0.54, 0.38, 0.62, 0.3, 0.7)
"""Where along an arrow (0 = its start, 1 = its end) its number may go, in order of preference."""


def web_positions(theory: Theory) -> dict[str, tuple[float, float]]:
    """Node positions: one column per tier, domains spread evenly down each column."""
    pos: dict[str, tuple[float, float]] = {}
    for col, tier in enumerate(TIERS):
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


def node_text(name: str) -> str:
    """A domain's readable name, on two lines when long ("User engagement" over two lines)."""
    text = label(name)
    return text.replace(" ", "\n", 1) if len(text) > 12 else text


def edge_geometry(
    theory: Theory, pos: Mapping[str, tuple[float, float]]
) -> list[tuple[tuple[float, float], tuple[float, float], float]]:
    """Per edge of the theory: where its arrow starts and ends (box sides) and its bend (``arc3`` rad)."""
    out = []
    for e in theory.edges:
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
            x0 + (BOX_W / 2 if forward else -BOX_W / 2 if backwards else 0.0),
            y0 + (0 if not same_col else (-BOX_H / 2 if y1 < y0 else BOX_H / 2)),
        )
        end = (
            x1 + (-BOX_W / 2 if forward else BOX_W / 2 if backwards else 0.0),
            y1 + (0 if not same_col else (BOX_H / 2 if y1 < y0 else -BOX_H / 2)),
        )
        out.append((start, end, rad))
    return out


def arc_point(ax: Axes, a: tuple[float, float], b: tuple[float, float], rad: float, t: float) -> tuple[float, float]:
    """Point at ``t`` of matplotlib's ``arc3`` connection from ``a`` to ``b`` on ``ax`` (bent in display space)."""
    to_px, to_data = ax.transData, ax.transData.inverted()
    (x1, y1), (x2, y2) = to_px.transform(a), to_px.transform(b)
    cx, cy = (x1 + x2) / 2 + rad * (y2 - y1), (y1 + y2) / 2 - rad * (x2 - x1)
    u = 1.0 - t
    px = u * u * x1 + 2 * u * t * cx + t * t * x2
    py = u * u * y1 + 2 * u * t * cy + t * t * y2
    x, y = to_data.transform((px, py))
    return float(x), float(y)


def marker_spots(
    ax: Axes,
    arrows: Sequence[tuple[tuple[float, float], tuple[float, float], float]],
    boxes: Sequence[tuple[float, float]],
) -> list[tuple[float, float]]:
    """Where each arrow's number goes: along the arrow, clear of the numbers placed before and of the boxes.

    Each number takes the first of :data:`SPOTS` at least :data:`MARKER` away from every number
    already placed and outside every box; if none is, the spot with the most room.
    """
    placed: list[tuple[float, float]] = []
    for a, b, rad in arrows:
        best, best_gap = arc_point(ax, a, b, rad, 0.5), -1.0
        for t in SPOTS:
            x, y = arc_point(ax, a, b, rad, t)
            if any(abs(x - bx) < BOX_W / 2 + 0.01 and abs(y - by) < BOX_H / 2 + 0.015 for bx, by in boxes):
                continue
            gap = min(
                (max(abs(x - px) / (2 * MARKER[0]), abs(y - py) / (2 * MARKER[1])) for px, py in placed), default=9.0
            )
            if gap >= 1.0:
                best = (x, y)
                break
            if gap > best_gap:
                best, best_gap = (x, y), gap
        placed.append(best)
    return placed


def causal_web_figure(
    theory: Theory,
    *,
    values: Mapping[str, float] | None = None,
    sensitivity: Mapping[str, float] | None = None,
    title: str | None = None,
    highlight: Sequence[str] = (),
    width: float = 10.0,
) -> Figure:
    """The theory's causal web: domains by tier, arrows numbered and listed with their weights in a table.

    Args:
        theory: the theory (its values are the weights shown unless ``values`` overrides them).
        values: edited parameter values to show instead (e.g. from the dashboard's sliders).
        sensitivity: total-order index per parameter name (``edge.<a>-><b>.weight``,
            ``domain.<d>.rate``…); when given, arrows and boxes are shaded by it.
        title: figure title.
        highlight: edge names (``a->b``) drawn in a highlight colour (edited ones).
        width: figure width in inches.

    Returns:
        A matplotlib Figure: the web on the left, the table of arrows on the right.
    """
    import matplotlib
    import matplotlib.colors as mcolors
    from matplotlib.figure import Figure
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    use_agg()
    vals = dict(theory.values)
    vals.update(values or {})
    pos = web_positions(theory)
    fig = Figure(figsize=(width, width * 0.62))
    ax = fig.add_axes((0.0, 0.08, 0.66, 0.84 if title else 0.9))
    ax.set_xlim(-0.05, 1.05)
    ax.set_ylim(-0.08, 1.12)
    ax.axis("off")
    cmap = matplotlib.colormaps["Purples"]
    smax = max([v for v in (sensitivity or {}).values() if np.isfinite(v)] + [1e-9])
    norm = mcolors.Normalize(0.0, max(smax, 0.05))
    for col, tier in enumerate(TIERS):
        ax.text(0.12 + 0.38 * col, 1.1, TIER_TITLES[tier], ha="center", va="top", fontsize=9, fontweight="bold")
    node_s = node_sensitivity(theory, sensitivity) if sensitivity else {}
    for d in theory.domains:
        x, y = pos[d.name]
        face = cmap(norm(node_s[d.name]) * 0.85) if d.name in node_s else TIER_COLOURS[d.tier]
        ax.add_patch(
            FancyBboxPatch(
                (x - BOX_W / 2, y - BOX_H / 2),
                BOX_W,
                BOX_H,
                boxstyle="round,pad=0.01,rounding_size=0.02",
                facecolor=face,
                edgecolor="#555",
                linewidth=1.0,
                zorder=3,
            )
        )
        dark = d.name in node_s and norm(node_s[d.name]) > 0.6
        ax.text(
            x, y, node_text(d.name), ha="center", va="center", fontsize=9, zorder=4, color="white" if dark else "#111"
        )
    arrows = edge_geometry(theory, pos)
    colours: list[Any] = []
    for e, (start, end, rad) in zip(theory.edges, arrows, strict=True):
        w = float(vals[f"edge.{e.name}.weight"])
        s = (sensitivity or {}).get(f"edge.{e.name}.weight")
        colour: Any = "#4a6fa5"
        if e.name in highlight:
            colour = "#e6550d"
        elif s is not None and np.isfinite(s):
            colour = cmap(0.3 + 0.7 * norm(s))
        colours.append(colour)
        ax.add_patch(
            FancyArrowPatch(
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
        )
    for i, ((mx, my), colour, e) in enumerate(
        zip(marker_spots(ax, arrows, list(pos.values())), colours, theory.edges, strict=True)
    ):
        hot = e.name in highlight
        ax.text(
            mx,
            my,
            str(i + 1),
            fontsize=7,
            ha="center",
            va="center",
            zorder=5,
            gid="edge-number",
            color="#e6550d" if hot else "#222",
            fontweight="bold" if hot else "normal",
            bbox={"boxstyle": "circle,pad=0.2", "facecolor": "white", "edgecolor": colour, "linewidth": 0.8},
        )
    _edge_table(fig, theory, vals, sensitivity, highlight)
    notes = "Arrow width: effect weight; the numbers refer to the table.\nDashed: a direct path (skips a tier)."
    if highlight:
        notes += " Orange: edited this session."
    if sensitivity:
        notes += "\nShading: total-order sensitivity index ST\n(darker = more of the outcome's uncertainty)."
        cax = fig.add_axes((0.45, 0.03, 0.19, 0.016))
        cb = fig.colorbar(matplotlib.cm.ScalarMappable(norm=norm, cmap=cmap), cax=cax, orientation="horizontal")
        cb.set_label("total-order index (ST)", fontsize=7)
        cb.ax.tick_params(labelsize=6)
    fig.text(0.01, 0.01, notes, ha="left", va="bottom", fontsize=7.5, color="#444")
    if title:
        fig.suptitle(title, fontsize=12)
    return fig


def _edge_table(
    fig: Figure,
    theory: Theory,
    vals: Mapping[str, float],
    sensitivity: Mapping[str, float] | None,
    highlight: Sequence[str],
) -> None:
    """The table beside the web: each arrow's number, its domains in words, its weight (and ST)."""
    tab = fig.add_axes((0.69, 0.02, 0.3, 0.86))
    tab.axis("off")
    shown_st = bool(sensitivity)
    step = min(0.04, 0.95 / (len(theory.edges) + 1))
    y = 0.98
    tab.text(0.0, y, "#", fontsize=8, fontweight="bold", va="top")
    tab.text(0.08, y, "arrow", fontsize=8, fontweight="bold", va="top")
    tab.text(0.84 if shown_st else 1.0, y, "weight", fontsize=8, fontweight="bold", va="top", ha="right")
    if shown_st:
        tab.text(1.0, y, "ST", fontsize=8, fontweight="bold", va="top", ha="right")
    for i, e in enumerate(theory.edges):
        y -= step
        colour = "#e6550d" if e.name in highlight else "#222"
        w = float(vals[f"edge.{e.name}.weight"])
        cells = [(0.0, str(i + 1), "left"), (0.08, f"{label(e.source)} → {label(e.target)}", "left")]
        cells.append((0.84 if shown_st else 1.0, f"{w:.2f}", "right"))
        s = (sensitivity or {}).get(f"edge.{e.name}.weight")
        if shown_st:
            cells.append((1.0, f"{s:.2f}" if s is not None and np.isfinite(s) else "–", "right"))
        for x, text, ha in cells:
            tab.text(x, y, text, fontsize=7.5, va="top", ha=ha, color=colour, gid="edge-table")
