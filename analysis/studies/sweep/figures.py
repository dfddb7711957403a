"""Figures of a sweep: each outcome against each lever, with intervals. Each returns a Figure (no files)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure


def outcome_against_lever(
    table: pd.DataFrame,
    lever: str,
    *,
    outcomes: Sequence[str],
    months: Sequence[int],
    labels: Mapping[str, str] | None = None,
    group: str | None = None,
    baseline: pd.DataFrame | None = None,
    difference: bool = False,
    connect: bool = True,
) -> Figure:
    """One panel per outcome (rows) and month (columns): the outcome against ``lever``, with intervals.

    Args:
        table: rows with the column ``lever`` (its value), ``outcome``, ``month`` and ``mean, low, high``
            (or ``diff, diff_low, diff_high`` with ``difference``); a column ``group`` draws one line
            per value of another lever.
        lever: the lever on the x axis (numbers are placed by value, other values in their order).
        outcomes: the outcomes, one row of panels each.
        months: the months, one column of panels each.
        labels: display names of the outcomes.
        group: a second lever: one line per value.
        baseline: the baseline's rows (``outcome, month, mean, low, high``), drawn as a dashed line and
            band (levels only; a difference is drawn against zero).
        difference: draw the paired difference from the baseline instead of the level.
        connect: join the points (discrete values); False draws points only (a Latin hypercube's
            continuous values).

    Returns:
        The figure.
    """
    from matplotlib.figure import Figure  # imported on first use

    labels = labels or {}
    y, lo, hi = ("diff", "diff_low", "diff_high") if difference else ("mean", "low", "high")
    rows, cols = max(len(outcomes), 1), max(len(months), 1)
    fig = Figure(figsize=(max(3.6 * cols + 0.8, 8.0), 2.6 * rows + 0.8), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False)
    xs, ticks = _positions(table[lever])
    connect = connect and ticks is None  # categories (types, true/false) are not joined by lines
    groups: list[object] = list(dict.fromkeys(table[group])) if group else [None]
    colours = _colours(len(groups))
    span = (max(xs.values()) - min(xs.values())) if xs else 0.0
    step = 0.08 if ticks is not None else 0.012 * (span or 1.0)  # categories sit 1 apart: dodge visibly
    dodge = {g: (k - (len(groups) - 1) / 2) * step for k, g in enumerate(groups)}
    for i, metric in enumerate(outcomes):
        for j, month in enumerate(months):
            ax = axes[i][j]
            panel = table[(table["outcome"] == metric) & (table["month"] == month)]
            for g, colour in zip(groups, colours, strict=True):
                part = panel if g is None else panel[panel[group] == g]
                part = part.assign(_x=part[lever].map(xs)).sort_values("_x")
                x = part["_x"].to_numpy(dtype=float) + dodge[g]
                mid = part[y].to_numpy(dtype=float)
                err = np.vstack([mid - part[lo].to_numpy(dtype=float), part[hi].to_numpy(dtype=float) - mid])
                label = None if g is None else f"{group} = {_text(g)}"
                ax.errorbar(
                    x,
                    mid,
                    yerr=np.nan_to_num(err),
                    fmt="o-" if connect else "o",
                    ms=4,
                    lw=1.4,
                    capsize=3,
                    color=colour,
                    label=label,
                )
            _reference(ax, baseline, metric, month, difference)
            if ticks is not None:
                ax.set_xticks(range(len(ticks)), ticks, rotation=20 if max(len(t) for t in ticks) > 8 else 0)
                ax.set_xlim(-0.5, len(ticks) - 0.5)
            if i == 0:
                ax.set_title(f"month {month}", fontsize=10)
            if j == 0:
                name = labels.get(metric, metric)
                ax.set_ylabel(f"{name}\nvs baseline" if difference else name, fontsize=9)
            if i == rows - 1:
                ax.set_xlabel(lever)
            ax.grid(alpha=0.3)
    if group:
        axes[0][-1].legend(fontsize=8, loc="best")
    what = "difference from the baseline (paired by replicate)" if difference else "mean"
    fig.suptitle(f"{lever}: {what}, {_level(table)} intervals", fontsize=11)
    return fig


def _positions(values: pd.Series) -> tuple[dict[object, float], list[str] | None]:
    """X positions: numbers by value; other values (types, true/false) at 0, 1, … with tick labels."""
    unique = list(dict.fromkeys(values.tolist()))
    if all(isinstance(v, int | float | np.number) and not isinstance(v, bool | np.bool_) for v in unique):
        return {v: float(v) for v in unique}, None
    return {v: float(i) for i, v in enumerate(unique)}, [str(v) for v in unique]


def _reference(ax: Axes, baseline: pd.DataFrame | None, metric: str, month: int, difference: bool) -> None:
    """The baseline as a dashed line with its band (levels), or the zero line (differences)."""
    if difference:
        ax.axhline(0.0, color="0.35", lw=1, ls="--")
        return
    if baseline is None:
        return
    row = baseline[(baseline["outcome"] == metric) & (baseline["month"] == month)]
    if row.empty:
        return
    r = row.iloc[0]
    ax.axhline(r["mean"], color="0.35", lw=1, ls="--", label="baseline")
    if not (math.isnan(r["low"]) or math.isnan(r["high"])):
        ax.axhspan(r["low"], r["high"], color="0.5", alpha=0.15, lw=0)


def _text(value: object) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _colours(n: int) -> list[str]:
    palette = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf"]
    return [palette[i % len(palette)] for i in range(n)]


def _level(table: pd.DataFrame) -> str:
    return f"{float(table['level'].iloc[0]):.0%}" if "level" in table and len(table) else "95%"
