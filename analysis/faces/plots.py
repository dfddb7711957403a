"""Figures of experiments. Each function takes data and returns a matplotlib Figure (no files).

All take the tidy long time series of an experiment (columns scenario, point, replicate,
step, metric, value; as :func:`analysis.store.load_experiment` returns it).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

PHASES = ("approval", "transition", "operating")
BANDS = ((0.05, 0.95, 0.15), (0.25, 0.75, 0.30))  # (low, high, alpha): 90% and 50% bands


def _scenarios(series: pd.DataFrame) -> list[str]:
    col = series["scenario"]
    present = {str(s) for s in col.unique()}
    names = list(col.cat.categories) if isinstance(col.dtype, pd.CategoricalDtype) else [str(x) for x in col.unique()]
    return [str(s) for s in names if str(s) in present]


def _wide(series: pd.DataFrame, metric: str) -> pd.DataFrame:
    """One metric as a table: rows (scenario, point, replicate), columns step."""
    sub = series[series["metric"] == metric]
    sub = sub.assign(scenario=sub["scenario"].astype(str))
    return sub.pivot_table(
        index=["scenario", "point", "replicate"], columns="step", values="value", aggfunc="first", observed=True
    )


def _grid(n: int, ncols: int = 3, size: tuple[float, float] = (4.6, 3.2)) -> tuple[Figure, list]:
    from matplotlib.figure import Figure  # imported on first use: a third of a second

    ncols = min(ncols, max(n, 1))
    nrows = math.ceil(max(n, 1) / ncols)
    fig = Figure(figsize=(size[0] * ncols, size[1] * nrows + 0.6), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel().tolist()
    for ax in axes[n:]:
        ax.set_visible(False)
    return fig, axes[:n]


def _xlabel(start: str) -> str:
    return f"months from {start}" if start else "month"


def trajectories(
    series: pd.DataFrame, metrics: Sequence[str], *, labels: Mapping[str, str] | None = None, start: str = ""
) -> Figure:
    """Outcome trajectories: median per scenario with 50% and 90% bands across replicates.

    Args:
        series: tidy long time series.
        metrics: one panel per metric.
        labels: panel titles by metric.
        start: the start month (``YYYY-MM``), for the axis label.
    """
    labels = labels or {}
    fig, axes = _grid(len(metrics))
    names = _scenarios(series)
    colours = _colours(len(names))
    for ax, metric in zip(axes, metrics, strict=True):
        wide = _wide(series, metric)
        for name, colour in zip(names, colours, strict=True):
            if name not in wide.index.get_level_values(0):
                continue
            block = wide.loc[name]
            steps = block.columns.to_numpy()
            for lo, hi, alpha in BANDS:
                ax.fill_between(
                    steps,
                    block.quantile(lo).to_numpy(),
                    block.quantile(hi).to_numpy(),
                    color=colour,
                    alpha=alpha,
                    linewidth=0,
                )
            ax.plot(steps, block.median().to_numpy(), color=colour, label=name, linewidth=1.6)
        _axis(ax, metric, labels, start)
    _legend(fig, axes)
    n = series.groupby(["scenario", "point", "replicate"], observed=True).ngroups // max(len(names), 1)
    fig.suptitle(f"Outcomes over time: median, 50% and 90% bands over {n} replicates", fontsize=11)
    return fig


def difference_trajectories(
    series: pd.DataFrame,
    baseline: str,
    metrics: Sequence[str],
    *,
    labels: Mapping[str, str] | None = None,
    level: float = 0.95,
    start: str = "",
) -> Figure:
    """Paired differences from the baseline over time, per scenario.

    The line is the mean difference (replicate r of the scenario minus replicate r of the
    baseline: common random numbers), the dark ribbon its t interval at ``level``, the light
    band the 5-95% range of the replicate-level differences.
    """
    from scipy import stats  # a second to import: only when differences are drawn

    labels = labels or {}
    fig, axes = _grid(len(metrics))
    names = [n for n in _scenarios(series) if n != baseline]
    colours = _colours(len(names) + 1)[1:]
    for ax, metric in zip(axes, metrics, strict=True):
        wide = _wide(series, metric)
        if baseline not in wide.index.get_level_values(0):
            continue
        base = wide.loc[baseline]
        for name, colour in zip(names, colours, strict=True):
            if name not in wide.index.get_level_values(0):
                continue
            diff = (wide.loc[name] - base).dropna(how="all")
            steps = diff.columns.to_numpy()
            n = diff.notna().sum().to_numpy()
            mean = diff.mean().to_numpy()
            sd = diff.std(ddof=1).to_numpy()
            with np.errstate(invalid="ignore", divide="ignore"):
                half = stats.t.ppf(0.5 + level / 2, np.maximum(n - 1, 1)) * sd / np.sqrt(n)
            ax.fill_between(
                steps,
                diff.quantile(0.05).to_numpy(),
                diff.quantile(0.95).to_numpy(),
                color=colour,
                alpha=0.12,
                linewidth=0,
            )
            ax.fill_between(steps, mean - half, mean + half, color=colour, alpha=0.35, linewidth=0)
            ax.plot(steps, mean, color=colour, label=name, linewidth=1.6)
        ax.axhline(0, color="black", linewidth=0.8)
        _axis(ax, metric, labels, start, diff=True)
    _legend(fig, axes)
    fig.suptitle(
        f"Difference from '{baseline}' (paired by replicate): mean, {level:.0%} interval and "
        f"5-95% range of replicate differences",
        fontsize=11,
    )
    return fig


def partnerships_over_time(series: pd.DataFrame, *, start: str = "") -> Figure:
    """Active partnerships by type (top row) and by phase (bottom row), mean over replicates, per scenario."""
    present = {str(m) for m in series["metric"].unique()}
    type_metrics = sorted(m for m in present if m.startswith("n_"))
    phase_metrics = [f"partnerships_{p}" for p in PHASES if f"partnerships_{p}" in present]
    sub = series[series["metric"].isin(type_metrics + phase_metrics)]
    sub = sub.assign(scenario=sub["scenario"].astype(str), metric=sub["metric"].astype(str))
    means = sub.groupby(["scenario", "metric", "step"], observed=True)["value"].mean().unstack("step")
    names = _scenarios(series)
    used = [
        m for m in type_metrics if m in means.index.get_level_values(1) and means.xs(m, level=1).to_numpy().max() > 0
    ]
    ncols = max(len(names), 1)
    from matplotlib.figure import Figure  # imported on first use: a third of a second

    fig = Figure(figsize=(3.8 * ncols, 6.2), layout="constrained")
    axes = fig.subplots(2, ncols, squeeze=False, sharey="row", sharex=True)
    type_colours = dict(zip(used, _colours(len(used), "tab20"), strict=True))
    phase_colours = dict(zip(phase_metrics, _colours(len(phase_metrics), "Set2"), strict=True))
    for j, name in enumerate(names):
        for row, (wanted, colours) in enumerate(((used, type_colours), (phase_metrics, phase_colours))):
            ax = axes[row][j]
            shown = [m for m in wanted if (name, m) in means.index]
            if shown:
                block = means.loc[[(name, m) for m in shown]]
                steps = block.columns.to_numpy()
                ax.stackplot(
                    steps,
                    block.to_numpy(),
                    colors=[colours[m] for m in shown],
                    labels=[_short(m) for m in shown],
                    alpha=0.85,
                )
            ax.grid(alpha=0.3)
            if row == 0:
                ax.set_title(name, fontsize=10)
            else:
                ax.set_xlabel(_xlabel(start), fontsize=8)
            if j == 0:
                ax.set_ylabel("active partnerships by type" if row == 0 else "partnerships by phase", fontsize=9)
    for row in range(2):
        handles, labs = [], []
        for ax in axes[row]:
            h, lab = ax.get_legend_handles_labels()
            for hh, ll in zip(h, lab, strict=True):
                if ll not in labs:
                    handles.append(hh)
                    labs.append(ll)
        if handles:
            axes[row][-1].legend(handles, labs, fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0))
    fig.suptitle("Partnerships over time (mean over replicates)", fontsize=11)
    return fig


def _axis(ax: Axes, metric: str, labels: Mapping[str, str], start: str, *, diff: bool = False) -> None:
    """Title, x label, grid, and percent ticks for shares (percentage points for differences)."""
    from matplotlib.ticker import PercentFormatter

    title = labels.get(metric, metric)
    if metric.startswith("share_"):
        ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=None, symbol=" pp" if diff else "%"))
    ax.set_title(title, fontsize=10)
    ax.set_xlabel(_xlabel(start), fontsize=8)
    ax.grid(alpha=0.3)


def _short(metric: str) -> str:
    return metric.removeprefix("n_").removeprefix("partnerships_").replace("_", " ")


def _colours(n: int, cmap: str = "tab10") -> list[tuple[float, float, float, float]]:
    from matplotlib import colormaps

    cm = colormaps[cmap]
    size = getattr(cm, "N", 10)
    return [cm(i % size) for i in range(n)]


def _legend(fig: Figure, axes: list) -> None:
    for ax in axes:
        handles, labs = ax.get_legend_handles_labels()
        if handles:
            fig.legend(handles, labs, loc="outside lower center", ncols=min(len(labs), 5), fontsize=8)
            return
