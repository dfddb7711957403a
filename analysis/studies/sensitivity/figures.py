"""Figures of a sensitivity analysis: each takes a table and returns a matplotlib Figure."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from analysis.studies.sensitivity.space import GROUPS

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

_GROUP_COLOURS = dict(
    zip(GROUPS, ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"), strict=True)
)


def _colour(group: str) -> str:
    return _GROUP_COLOURS.get(group, "#17becf")


def _figure(w: float, h: float) -> tuple[Figure, Axes]:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(w, h), layout="constrained")
    return fig, fig.add_subplot()


def plot_morris(table: pd.DataFrame, *, title: str = "", label_top: int = 10) -> Figure:
    """Morris μ*–σ plot of one metric and month (rows of a Morris indices table).

    Points are coloured by pathway group, with μ* confidence intervals; the σ/μ* = 0.1, 0.5
    and 1 lines separate near-linear effects from interactions and non-linearity.
    """
    fig, ax = _figure(7.5, 5.5)
    for group, sub in table.groupby("group", sort=False):
        ax.errorbar(
            sub["mu_star"],
            sub["sigma"],
            xerr=sub["mu_star_conf"],
            fmt="o",
            ms=5,
            lw=0.8,
            color=_colour(str(group)),
            label=str(group),
            alpha=0.85,
        )
    xmax = float(np.nanmax(np.r_[(table["mu_star"] + table["mu_star_conf"].fillna(0)).to_numpy(), 1e-12])) * 1.15
    ymax = float(np.nanmax(np.r_[table["sigma"].to_numpy(), 1e-12])) * 1.15
    top = table.sort_values("mu_star", ascending=False).head(label_top)
    for _, r in top[top["mu_star"] >= 0.05 * top["mu_star"].max()].iterrows():  # label the ones that stand out
        ax.annotate(
            str(r["parameter"]), (r["mu_star"], r["sigma"]), fontsize=7, xytext=(3, 3), textcoords="offset points"
        )
    xs = np.linspace(0, xmax, 10)
    for ratio, style in ((0.1, ":"), (0.5, "--"), (1.0, "-")):
        ax.plot(xs, ratio * xs, style, color="grey", lw=0.7)
        x_at = min(xmax, ymax / ratio) * 0.97
        ax.annotate(f"σ/μ* = {ratio:g}", (x_at, ratio * x_at), fontsize=7, color="grey", ha="right", va="bottom")
    ax.set_xlim(0, xmax)
    ax.set_ylim(0, ymax)
    ax.set_xlabel("μ* (mean |elementary effect| per unit of the parameter's range)")
    ax.set_ylabel("σ (spread of elementary effects)")
    ax.set_title(title or "Morris screening")
    ax.legend(fontsize=7, title="pathway", title_fontsize=7)
    return fig


def plot_sobol(table: pd.DataFrame, *, title: str = "", top: int = 20, first: str = "S1", total: str = "ST") -> Figure:
    """First-order and total-order indices with confidence intervals, grouped by pathway.

    ``table`` holds one metric and month (Sobol or eFAST rows); the ``top`` factors by total
    order are shown, ordered by group and then by total order.
    """
    t = table.sort_values(total, ascending=False).head(top).copy()
    order = {g: i for i, g in enumerate(GROUPS)}
    t["_g"] = t["group"].map(lambda g: order.get(g, len(order)))
    t = t.sort_values(["_g", total], ascending=[True, True])
    fig, ax = _figure(8, 0.32 * len(t) + 1.8)
    y = np.arange(len(t))
    colours = [_colour(g) for g in t["group"]]
    ax.barh(
        y + 0.2,
        t[total],
        height=0.4,
        color=colours,
        alpha=0.9,
        label=f"{total} (total order)",
        xerr=t.get(f"{total}_conf"),
        error_kw={"lw": 0.8},
    )
    ax.barh(
        y - 0.2,
        t[first],
        height=0.4,
        color=colours,
        alpha=0.45,
        hatch="//",
        label=f"{first} (first order)",
        xerr=t.get(f"{first}_conf"),
        error_kw={"lw": 0.8},
    )
    ax.set_yticks(y, [f"{p}  [{g}]" for p, g in zip(t["parameter"], t["group"], strict=True)], fontsize=7)
    ax.axvline(0, color="black", lw=0.6)
    ax.set_xlabel("share of output variance")
    ax.set_title(title or "Sobol indices")
    ax.legend(fontsize=7, loc="lower right")
    return fig


def plot_timeline(indices: pd.DataFrame, metric: str, *, index: str = "ST", top: int = 6, title: str = "") -> Figure:
    """How the ``index`` (total order by default) of the top factors evolves over the horizon.

    The top factors are those with the largest index at any month; bands show confidence
    intervals when the table has them.
    """
    t = indices[indices["metric"] == metric]
    best = t.groupby("parameter")[index].max().sort_values(ascending=False).head(top).index
    fig, ax = _figure(8, 4.5)
    for name in best:
        s = t[t["parameter"] == name].sort_values("month")
        colour = _colour(str(s["group"].iloc[0]))
        (line,) = ax.plot(s["month"], s[index], marker="o", ms=3, label=name)
        conf = f"{index}_conf"
        if conf in s:
            ax.fill_between(s["month"], s[index] - s[conf], s[index] + s[conf], color=line.get_color(), alpha=0.12)
        del colour
    if "noise_share" in t:
        ns = t.drop_duplicates("month").sort_values("month")
        ax.plot(ns["month"], ns["noise_share"], ":", color="grey", label="replicate noise share")
    ax.set_xlabel("month")
    ax.set_ylabel(index)
    ax.set_title(title or f"{index} of the top parameters over time: {metric}")
    ax.legend(fontsize=7)
    return fig


def plot_convergence(conv: pd.DataFrame, metric: str) -> Figure:
    """Spearman correlation of the indices between N/2 and N over months (1 = same ranking)."""
    t = conv[conv["metric"] == metric].sort_values("month")
    fig, ax = _figure(6, 3.5)
    ax.plot(t["month"], t["spearman"], marker="o")
    ax.set_ylim(-0.05, 1.05)
    ax.set_xlabel("month")
    ax.set_ylabel("rank correlation, N/2 vs N")
    ax.set_title(f"Convergence: {metric}")
    return fig
