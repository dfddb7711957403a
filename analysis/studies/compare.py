"""Paired comparisons of scenarios: means, intervals and differences against the baseline.

Replicate r of every scenario runs on the same seed (common random numbers), so the
difference between a policy and the baseline is computed replicate by replicate and its
interval is a paired t interval over replicates, much narrower than comparing two
independent means. The first scenario of an experiment is the baseline.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

DEFAULT_HORIZONS = (12, 36, 60, 120)
DEFAULT_LEVEL = 0.95
MIN_REPLICATES = 10  # below this an interval is too unstable to rely on: warn


@dataclass(frozen=True)
class Outcome:
    """An outcome as the comparison table shows it."""

    metric: str
    label: str
    kind: str  # "index" (0-1), "share" (of trusts), "pct" (% points of turnover), "count"
    better: int  # +1 higher is better, -1 lower is better, 0 neither


OUTCOMES = (
    Outcome("mean_quality", "Quality", "index", +1),
    Outcome("mean_efficiency", "Efficiency (finances)", "index", +1),
    Outcome("mean_access", "Access", "index", +1),
    Outcome("share_good_or_outstanding", "Trusts rated good or outstanding", "share", +1),
    Outcome("share_in_deficit", "Trusts in deficit", "share", -1),
    Outcome("share_special_measures", "Trusts in special measures", "share", -1),
)
OUTCOME_METRICS = tuple(o.metric for o in OUTCOMES)
KNOWN = {o.metric: o for o in OUTCOMES} | {
    "mean_surplus_pct": Outcome("mean_surplus_pct", "Mean surplus, % of turnover", "pct", +1),
    "partnerships_active": Outcome("partnerships_active", "Active partnerships", "count", 0),
    "share_partnered": Outcome("share_partnered", "Trusts in a partnership", "share", 0),
}


def outcome_for(metric: str) -> Outcome:
    """The display description of any metric (known outcomes, or a plain default)."""
    if metric in KNOWN:
        return KNOWN[metric]
    kind = (
        "share" if metric.startswith("share_") else "count" if metric.startswith(("n_", "partnerships_")) else "index"
    )
    return Outcome(metric, metric.replace("_", " ").capitalize(), kind, 0)


# -- intervals -----------------------------------------------------------------------------------
def mean_interval(
    values: Sequence[float] | np.ndarray, level: float = DEFAULT_LEVEL
) -> tuple[float, float, float, int]:
    """Mean of ``values`` and its two-sided t interval: ``(mean, low, high, n)`` (NaN bounds when n < 2)."""
    x = np.asarray(values, dtype=float)
    x = x[~np.isnan(x)]
    n = len(x)
    if n == 0:
        return (np.nan, np.nan, np.nan, 0)
    mean = float(x.mean())
    if n < 2:
        return (mean, np.nan, np.nan, 1)
    from scipy.special import stdtrit  # the t quantile, as scipy.stats.t.ppf (whose import takes 0.5 s)

    half = float(stdtrit(n - 1, 0.5 + level / 2) * x.std(ddof=1) / np.sqrt(n))
    return (mean, mean - half, mean + half, n)


def paired_interval(
    policy: Sequence[float] | np.ndarray, baseline: Sequence[float] | np.ndarray, level: float = DEFAULT_LEVEL
) -> tuple[float, float, float, int]:
    """Mean paired difference ``policy - baseline`` and its t interval over pairs: ``(diff, low, high, n)``.

    Pairs where either value is missing (a failed run) are dropped.
    """
    a = np.asarray(policy, dtype=float)
    b = np.asarray(baseline, dtype=float)
    if a.shape != b.shape:
        raise ValueError(f"paired samples differ in length: {a.shape} vs {b.shape}")
    ok = ~(np.isnan(a) | np.isnan(b))
    return mean_interval(a[ok] - b[ok], level)


# -- the comparison table ----------------------------------------------------------------------
def comparison_table(
    series: pd.DataFrame,
    *,
    baseline: str | None = None,
    outcomes: Sequence[str] = OUTCOME_METRICS,
    horizons: Sequence[int] = DEFAULT_HORIZONS,
    level: float = DEFAULT_LEVEL,
    scenarios: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Per outcome, month and scenario: mean with interval, and the paired difference vs the baseline.

    Args:
        series: the tidy long time series (scenario, point, replicate, seed, step, date, metric, value).
        baseline: the reference scenario (default: the first scenario).
        outcomes: metrics to tabulate.
        horizons: months to tabulate (those beyond the data are left out).
        level: confidence level of the intervals.
        scenarios: scenario order (default: order of first appearance; categorical order if categorical).

    Returns:
        One row per (outcome, month, scenario) with ``n, mean, low, high`` and, for scenarios other
        than the baseline, ``n_pairs, diff, diff_low, diff_high``.
    """
    if scenarios is None:
        col = series["scenario"]
        scenarios = (
            list(col.cat.categories) if isinstance(col.dtype, pd.CategoricalDtype) else [str(x) for x in col.unique()]
        )
        present = {str(x) for x in col.unique()}
        scenarios = [s for s in scenarios if s in present]
    scenarios = [str(s) for s in scenarios]
    baseline = baseline or scenarios[0]
    sub = series[series["metric"].isin(list(outcomes)) & series["step"].isin(list(horizons))]
    sub = sub.assign(scenario=sub["scenario"].astype(str), metric=sub["metric"].astype(str))
    wide = sub.pivot_table(
        index=["metric", "step", "point", "replicate"],
        columns="scenario",
        values="value",
        aggfunc="first",
        observed=True,
    )
    dates = sub.drop_duplicates("step").set_index("step")["date"].astype(str).to_dict()
    rows = []
    for metric in outcomes:
        for h in horizons:
            if (metric, h) not in wide.index.droplevel([2, 3]):
                continue
            block = wide.loc[(metric, h)]
            base = block[baseline].to_numpy() if baseline in block else None
            for scen in scenarios:
                if scen not in block:
                    continue
                vals = block[scen].to_numpy()
                mean, lo, hi, n = mean_interval(vals, level)
                row: dict[str, Any] = {
                    "outcome": metric,
                    "label": outcome_for(metric).label,
                    "month": int(h),
                    "date": dates.get(h, ""),
                    "scenario": scen,
                    "baseline": baseline,
                    "n": n,
                    "mean": mean,
                    "low": lo,
                    "high": hi,
                    "n_pairs": np.nan,
                    "diff": np.nan,
                    "diff_low": np.nan,
                    "diff_high": np.nan,
                    "level": level,
                }
                if scen != baseline and base is not None:
                    d, dlo, dhi, npairs = paired_interval(vals, base, level)
                    row.update(n_pairs=npairs, diff=d, diff_low=dlo, diff_high=dhi)
                rows.append(row)
    table = pd.DataFrame(rows)
    if len(table):
        table["n_pairs"] = table["n_pairs"].astype("Int64")
    return table


def verdict(row: pd.Series) -> str:
    """'better' / 'worse' / 'higher' / 'lower' when the difference's interval excludes zero, else ''."""
    lo, hi = row["diff_low"], row["diff_high"]
    if pd.isna(lo) or pd.isna(hi) or lo <= 0 <= hi:
        return ""
    up = lo > 0
    better = outcome_for(row["outcome"]).better
    if better == 0:
        return "higher" if up else "lower"
    return "better" if (up == (better > 0)) else "worse"


# -- text table --------------------------------------------------------------------------------
def format_value(metric: str, value: float, *, diff: bool = False) -> str:
    """A value of ``metric`` as the comparison prints it (shares as %, differences in percentage points)."""
    return _value_text(outcome_for(metric).kind, value, diff=diff)


def format_interval(metric: str, low: float, high: float, *, diff: bool = False) -> str:
    """An interval of ``metric`` as the comparison prints it (``(identical)`` for a zero-width difference)."""
    return _interval_text(outcome_for(metric).kind, low, high, diff=diff)


def _value_text(kind: str, value: float, *, diff: bool = False) -> str:
    if pd.isna(value):
        return "-"
    if kind == "share":
        return f"{value * 100:+.2f} pp" if diff else f"{value:.1%}"
    if kind == "pct":
        return f"{value:+.2f}" if diff else f"{value:.2f}"
    if kind == "count":
        return f"{value:+.1f}" if diff else f"{value:.1f}"
    return f"{value:+.4f}" if diff else f"{value:.3f}"


def _interval_text(kind: str, low: float, high: float, *, diff: bool = False) -> str:
    if pd.isna(low) or pd.isna(high):
        return ""
    if diff and low == 0 and high == 0:
        return "(identical)"
    if kind == "share" and diff:
        return f"[{low * 100:+.2f}, {high * 100:+.2f}] pp"
    return f"[{_value_text(kind, low, diff=diff)}, {_value_text(kind, high, diff=diff)}]"


def format_comparison(table: pd.DataFrame, *, min_replicates: int = MIN_REPLICATES) -> str:
    """The comparison as an aligned text table, one block per outcome, with notes and warnings."""
    if table.empty:
        return "(no results to compare)"
    level = float(table["level"].iloc[0])
    pct = f"{level:.0%}"
    baseline = str(table["baseline"].iloc[0])
    n_min = int(table["n"].min())
    n_max = int(table["n"].max())
    has_diff = (table["scenario"] != baseline).any()
    width = max(len("scenario"), *(len(s) for s in table["scenario"]))
    lines = []
    reps = f"{n_min}" if n_min == n_max else f"{n_min}-{n_max}"
    lines.append(
        f"Mean and {pct} interval over {reps} replicates per scenario"
        + (f"; difference vs '{baseline}' paired by replicate (common random numbers)." if has_diff else ".")
    )
    for metric in dict.fromkeys(table["outcome"]):
        block = table[table["outcome"] == metric]
        out = outcome_for(metric)
        hint = {1: "; higher is better", -1: "; lower is better"}.get(out.better, "")
        unit = {"index": "index 0-1", "share": "share of trusts", "pct": "% of turnover", "count": "count"}[out.kind]
        cells = []
        for _, r in block.iterrows():
            is_base = r["scenario"] == baseline
            cells.append(
                [
                    str(r["month"]),
                    r["scenario"],
                    format_value(metric, r["mean"]),
                    format_interval(metric, r["low"], r["high"]),
                    "" if is_base else format_value(metric, r["diff"], diff=True),
                    "" if is_base else format_interval(metric, r["diff_low"], r["diff_high"], diff=True),
                    "" if is_base else verdict(r),
                    str(int(r["n"])) if is_base or pd.isna(r["n_pairs"]) else str(int(r["n_pairs"])),
                ]
            )
        head = [
            "month",
            "scenario",
            "mean",
            f"{pct} CI",
            f"vs {baseline}" if has_diff else "",
            f"{pct} CI" if has_diff else "",
            "",
            "n",
        ]
        align = [">", "<", ">", "<", ">", "<", "<", ">"]
        keep = list(range(8)) if has_diff else [0, 1, 2, 3, 7]
        head, align = [head[i] for i in keep], [align[i] for i in keep]
        cells = [[c[i] for i in keep] for c in cells]
        widths = [max(len(head[i]), *(len(c[i]) for c in cells)) for i in range(len(head))]
        widths[1] = max(widths[1], width)
        if has_diff:
            widths[6] = max(widths[6], 6)

        def fmt_row(c: list[str], align: list[str] = align, widths: list[int] = widths) -> str:
            return "  ".join(f"{v:{a}{w}}" for v, a, w in zip(c, align, widths, strict=True)).rstrip()

        lines.append("")
        lines.append(f"{out.label} ({unit}{hint})")
        lines.append("  " + fmt_row(head))
        lines.append("  " + "  ".join("-" * w for w in widths))
        last_month = None
        for c in cells:
            shown = c.copy()
            if c[0] == last_month:
                shown[0] = ""
            last_month = c[0]
            lines.append("  " + fmt_row(shown))
    lines.append("")
    lines.append(
        "n = replicates the interval rests on (pairs with the baseline for differences). "
        "'better'/'worse': the difference's interval excludes zero. "
        "'(identical)': the same value in every replicate (the policy had not acted yet)."
    )
    if n_min < min_replicates:
        lines.append(
            f"WARNING: some intervals rest on only {n_min} replicate(s); with fewer than "
            f"{min_replicates} they are unreliable. Rerun with --reps {max(min_replicates, 20)} or more."
        )
    return "\n".join(lines)


def format_intervals(table: pd.DataFrame, *, min_replicates: int = MIN_REPLICATES) -> str:
    """One scenario's outcomes as a compact table: rows outcomes, columns months, cells 'mean [interval]'."""
    if table.empty:
        return "(no results)"
    level = float(table["level"].iloc[0])
    months = sorted(table["month"].unique())
    rows = []
    for metric in dict.fromkeys(table["outcome"]):
        block = table[table["outcome"] == metric].set_index("month")
        cells = []
        for m in months:
            if m in block.index:
                r = block.loc[m]
                cells.append(
                    f"{format_value(metric, r['mean'])} {format_interval(metric, r['low'], r['high'])}".strip()
                )
            else:
                cells.append("")
        rows.append([outcome_for(metric).label, *cells])
    head = ["outcome", *(f"month {m}" for m in months)]
    widths = [max(len(head[i]), *(len(r[i]) for r in rows)) for i in range(len(head))]
    line = "  ".join(f"{h:<{w}}" if i == 0 else f"{h:>{w}}" for i, (h, w) in enumerate(zip(head, widths, strict=True)))
    out = [f"Mean and {level:.0%} interval over {int(table['n'].min())} replicate(s)", line, "-" * len(line)]
    for r in rows:
        out.append(
            "  ".join(f"{v:<{w}}" if i == 0 else f"{v:>{w}}" for i, (v, w) in enumerate(zip(r, widths, strict=True)))
        )
    n_min = int(table["n"].min())
    if n_min < min_replicates:
        out.append(
            f"WARNING: the intervals rest on only {n_min} replicate(s); with fewer than {min_replicates} "
            f"they are unreliable. Rerun with --reps {max(min_replicates, 20)} or more."
        )
    return "\n".join(out)


# -- reporting (saves files) ---------------------------------------------------------------------
TABLE_NAME = "comparison"


def save_comparison(table: pd.DataFrame, out: str | Path, name: str = TABLE_NAME) -> list[Path]:
    """Save the comparison table as ``name``.csv and ``name``.parquet in ``out``; return the paths."""
    out = Path(out)
    paths = [out / f"{name}.csv", out / f"{name}.parquet"]
    table.to_csv(paths[0], index=False)
    table.to_parquet(paths[1], index=False)
    return paths
