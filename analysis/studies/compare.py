"""Paired comparisons of scenarios: means, intervals and differences against the baseline.

Replicate r of every scenario runs on the same seed (common random numbers), so the
difference between a policy and the baseline is computed replicate by replicate and its
interval is a paired t interval over replicates, much narrower than comparing two
independent means. The first scenario of an experiment is the baseline.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from analysis.studies.units import Units, load_units, minimum_difference

# pandas: imported by the functions that build or read tables, not with the module, so a run's
# workers are forked without it (tests/test_architecture.py)
if TYPE_CHECKING:
    import pandas as pd

DEFAULT_HORIZONS = (12, 36, 60, 120)
DEFAULT_LEVEL = 0.95
MIN_REPLICATES = 10  # below this an interval is too unstable to rely on: warn

KINDS = {
    "share": "share of trusts",
    "percent": "%",
    "pct": "% of turnover",
    "gbp_m": "£m a year",
    "index": "index 0-1",
    "count": "count",
}
"""What a value of each kind of outcome is, as tables say it."""
RANGES: dict[str, tuple[float, float]] = {
    "share": (0.0, 1.0),
    "percent": (0.0, 100.0),
    "index": (0.0, 1.0),
    "count": (0.0, np.inf),
    "pct": (-np.inf, np.inf),
    "gbp_m": (-np.inf, np.inf),
}
"""What a value of each kind can be: intervals are clipped to it (a share's interval never goes below 0)."""
VERDICTS = ("better", "worse", "higher", "lower", "no material difference")


@dataclass(frozen=True)
class Outcome:
    """An outcome as the comparison table shows it."""

    metric: str
    label: str
    kind: str  # a key of KINDS
    better: int  # +1 higher is better, -1 lower is better, 0 neither
    unit: str = ""  # what a value is, when more specific than its kind's words

    @property
    def units(self) -> str:
        """What a value is, e.g. 'share of trusts' or '% of patients waiting'."""
        return self.unit or KINDS[self.kind]

    @property
    def is_index(self) -> bool:
        """True for the model's 0-1 indices (shown after the outcomes in units people use)."""
        return self.kind == "index"


OUTCOMES = (
    Outcome("share_good_or_outstanding", "Trusts rated good or outstanding (CQC)", "share", +1),
    Outcome("share_inadequate", "Trusts rated inadequate (CQC)", "share", -1),
    Outcome("share_special_measures", "Trusts in special measures", "share", -1),
    Outcome("sector_surplus_gbp_m", "Sector surplus (+) or deficit (-)", "gbp_m", +1),
    Outcome("sector_surplus_pct", "Sector surplus (+) or deficit (-) over turnover", "pct", +1),
    Outcome("share_in_deficit", "Trusts in deficit", "share", -1),
    Outcome("rtt_18_weeks_pct", "Patients waiting under 18 weeks (RTT)", "percent", +1, "% of patients waiting"),
    Outcome("vacancy_pct", "Staff vacancy rate", "percent", -1, "% of posts"),
    Outcome("mean_quality", "Quality index", "index", +1),
    Outcome("mean_efficiency", "Efficiency (finances) index", "index", +1),
    Outcome("mean_access", "Access index", "index", +1),
    Outcome("mean_workforce", "Workforce index", "index", +1),
)
"""The outcomes the comparison shows: units people use first, the model's indices second."""
OUTCOME_METRICS = tuple(o.metric for o in OUTCOMES)
UNIT_METRICS = tuple(o.metric for o in OUTCOMES if not o.is_index)
"""The outcomes in units people use (the headline speaks of these)."""
KNOWN = {o.metric: o for o in OUTCOMES} | {
    "share_outstanding": Outcome("share_outstanding", "Trusts rated outstanding (CQC)", "share", +1),
    "share_good": Outcome("share_good", "Trusts rated good (CQC)", "share", 0),
    "share_requires_improvement": Outcome(
        "share_requires_improvement", "Trusts rated requires improvement (CQC)", "share", 0
    ),
    "mean_surplus_pct": Outcome("mean_surplus_pct", "Mean trust surplus (+) or deficit (-)", "pct", +1),
    "partnerships_active": Outcome("partnerships_active", "Active partnerships", "count", 0),
    "share_partnered": Outcome("share_partnered", "Trusts in a partnership", "share", 0),
    "ics_quality_sd": Outcome("ics_quality_sd", "Inequality between ICSs (s.d. of ICS mean quality)", "index", -1),
}


def outcome_for(metric: str) -> Outcome:
    """The display description of any metric (known outcomes, or a plain default)."""
    if metric in KNOWN:
        return KNOWN[metric]
    kind = (
        "share" if metric.startswith("share_") else "count" if metric.startswith(("n_", "partnerships_")) else "index"
    )
    words = metric.removeprefix("mean_").replace("_", " ")
    label = f"{words.capitalize()} index" if metric.startswith("mean_") and kind == "index" else words.capitalize()
    return Outcome(metric, label, kind, 0)


def outcome_title(metric: str) -> str:
    """A figure's title for ``metric``: its label, plus its unit where the axis alone does not say it (£m, %)."""
    out = outcome_for(metric)
    return f"{out.label} ({out.units})" if out.kind in ("gbp_m", "pct", "percent") else out.label


def outcome_name(metric: str) -> str:
    """A metric's name for people (``mean_quality`` -> 'Quality index'): every printout uses this."""
    return outcome_for(metric).label


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


def load_quantiles() -> None:
    """Import the t quantile that :func:`mean_interval` uses (``scipy.special``) now, not on first use.

    Its first import takes 0.1-0.2 s (scipy parses the docstrings of its special functions); a
    command that runs an experiment calls this while its workers run the batches in flight, so
    the report that follows does not wait for it.
    """
    import scipy.special  # noqa: F401 - imported for its side effect: loaded, ready for mean_interval


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
def _missing(value: object) -> bool:
    """Whether one value is missing, as ``pandas.isna`` says (pandas is imported with the first table)."""
    import pandas as pd

    return bool(pd.isna(value))


def comparison_table(
    series: pd.DataFrame,
    *,
    baseline: str | None = None,
    outcomes: Sequence[str] = OUTCOME_METRICS,
    horizons: Sequence[int] = DEFAULT_HORIZONS,
    level: float = DEFAULT_LEVEL,
    scenarios: Sequence[str] | None = None,
    units: Units | None = None,
) -> pd.DataFrame:
    """Per outcome, month and scenario: mean with interval, and the paired difference vs the baseline.

    Args:
        series: the tidy long time series (scenario, point, replicate, seed, step, date, metric, value).
        baseline: the reference scenario (default: the first scenario).
        outcomes: metrics to tabulate.
        horizons: months to tabulate (those beyond the data are left out).
        level: confidence level of the intervals.
        scenarios: scenario order (default: order of first appearance; categorical order if categorical).
        units: the minimum important differences (default: ``scenarios/theory/units.toml``).

    Returns:
        One row per (outcome, month, scenario) with ``n, mean, low, high`` (the interval clipped to
        what the outcome can be) and, for scenarios other than the baseline, ``n_pairs, diff,
        diff_low, diff_high``, the outcome's minimum important difference ``mid`` (NaN when none is
        declared) and the ``verdict`` (:func:`verdict`).
    """
    import pandas as pd  # with the first table, not with this module (a run's workers never need it)

    units = units or load_units()
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
    blocks = _blocks(wide)
    columns = {str(c): j for j, c in enumerate(wide.columns)}
    rows = []
    for metric in outcomes:
        for h in horizons:
            block = blocks.get((metric, int(h)))
            if block is None:
                continue
            base = block[:, columns[baseline]] if baseline in columns else None
            for scen in scenarios:
                if scen not in columns:
                    continue
                vals = block[:, columns[scen]]
                mean, lo, hi, n = mean_interval(vals, level)
                lo, hi = clip_interval(metric, lo, hi)
                mid = minimum_difference(metric, units)
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
                    "mid": np.nan if mid is None else mid,
                    "verdict": "",
                    "level": level,
                }
                if scen != baseline and base is not None:
                    d, dlo, dhi, npairs = paired_interval(vals, base, level)
                    dlo, dhi = clip_interval(metric, dlo, dhi, diff=True)
                    row.update(n_pairs=npairs, diff=d, diff_low=dlo, diff_high=dhi)
                    row["verdict"] = verdict(row)
                rows.append(row)
    table = pd.DataFrame(rows)
    if len(table):
        table["n_pairs"] = table["n_pairs"].astype("Int64")
    return table


def _blocks(wide: pd.DataFrame) -> dict[tuple[str, int], np.ndarray]:
    """The rows of each (metric, month) of ``wide`` (indexed by metric, step, point, replicate), as arrays.

    The pivot's index is sorted, so each (metric, month) is one run of rows, in the order of its
    design points and replicates: the same arrays as ``wide.loc[(metric, month)]`` gives, taken in
    one pass (looking each block up by label took most of :func:`comparison_table`'s time).
    """
    if wide.empty:
        return {}
    values = wide.to_numpy(dtype=float)
    metrics = wide.index.get_level_values(0).astype(str).to_numpy()
    steps = wide.index.get_level_values(1).to_numpy()
    starts = np.flatnonzero(np.r_[True, (metrics[1:] != metrics[:-1]) | (steps[1:] != steps[:-1])])
    ends = np.r_[starts[1:], len(values)]
    return {(str(metrics[a]), int(steps[a])): values[a:b] for a, b in zip(starts, ends, strict=True)}


def clip_interval(metric: str, low: float, high: float, *, diff: bool = False) -> tuple[float, float]:
    """An interval clipped to what ``metric`` can be (a difference: to plus or minus the outcome's span)."""
    lo_bound, hi_bound = RANGES[outcome_for(metric).kind]
    if diff:
        span = hi_bound - lo_bound
        lo_bound, hi_bound = -span, span
    if _missing(low) or _missing(high):
        return low, high
    return float(np.clip(low, lo_bound, hi_bound)), float(np.clip(high, lo_bound, hi_bound))


def verdict(row: Mapping[str, Any] | pd.Series, mid: float | None = None) -> str:
    """What a paired difference means, given the outcome's minimum important difference (MID).

    * 'better' / 'worse' (or 'higher' / 'lower' for an outcome that is neither good nor bad): the
      paired interval excludes zero AND the difference is at least the MID;
    * 'no material difference': anything else (the interval includes zero, or the difference is
      smaller than the MID);
    * '' for the baseline itself (no difference).

    ``mid`` defaults to the row's ``mid`` column, else the declared one (0 when none is declared),
    in the outcome's stored unit (shares as fractions).
    """
    d, lo, hi = row["diff"], row["diff_low"], row["diff_high"]
    if _missing(d):
        return ""
    if mid is None:
        given = row.get("mid") if hasattr(row, "get") else None
        mid = float(given) if given is not None and not _missing(given) else minimum_difference(str(row["outcome"]))
    mid = 0.0 if mid is None or _missing(mid) else float(mid)
    excludes_zero = not (_missing(lo) or _missing(hi)) and (lo > 0 or hi < 0)
    if not (excludes_zero and abs(d) >= mid):
        return "no material difference"
    better = outcome_for(str(row["outcome"])).better
    if better == 0:
        return "higher" if d > 0 else "lower"
    return "better" if (d > 0) == (better > 0) else "worse"


def is_material(word: str) -> bool:
    """True for the verdicts that report a difference that matters."""
    return word in ("better", "worse", "higher", "lower")


# -- text table --------------------------------------------------------------------------------
def format_value(metric: str, value: float, *, diff: bool = False) -> str:
    """A value of ``metric`` as the comparison prints it (shares as %, differences in percentage points)."""
    return _value_text(outcome_for(metric).kind, value, diff=diff)


def format_interval(metric: str, low: float, high: float, *, diff: bool = False) -> str:
    """An interval of ``metric`` as the comparison prints it (``(identical)`` for a zero-width difference)."""
    return _interval_text(outcome_for(metric).kind, low, high, diff=diff)


def _num(value: float, spec: str) -> str:
    """``format(value, spec)`` without a minus sign on a value that rounds to zero (no '-0.000')."""
    text = format(value, spec)
    if text.startswith("-") and not any(c in "123456789" for c in text):
        text = ("+" if spec.startswith("+") else "") + text[1:]
    return text


def _money(value: float, *, diff: bool) -> str:
    """Signed £m with thousands separators, the sign before the pound sign ('-£760m', '+£1,200m', '£0m')."""
    sign = "-" if value < 0 and round(abs(value)) > 0 else ("+" if diff or round(value) > 0 else "")
    return f"{sign}£{abs(value):,.0f}m"


def _value_text(kind: str, value: float, *, diff: bool = False) -> str:
    if _missing(value):
        return "-"
    if kind == "share":
        return f"{_num(value * 100, '+.2f')} pp" if diff else _num(value, ".1%")
    if kind == "percent":
        return f"{_num(value, '+.2f')} pp" if diff else f"{_num(value, '.1f')}%"
    if kind == "pct":
        return f"{_num(value, '+.2f')} pp" if diff else f"{_num(value, '.2f')}%"
    if kind == "gbp_m":
        return _money(value, diff=diff)
    if kind == "count":
        return _num(value, "+.1f") if diff else _num(value, ".1f")
    return _num(value, "+.4f") if diff else _num(value, ".3f")


def _interval_text(kind: str, low: float, high: float, *, diff: bool = False) -> str:
    if _missing(low) or _missing(high):
        return ""
    if diff and low == 0 and high == 0:
        return "(identical)"
    if diff and kind in ("share", "percent", "pct"):
        scale = 100.0 if kind == "share" else 1.0
        return f"[{_num(low * scale, '+.2f')}, {_num(high * scale, '+.2f')}] pp"
    return f"[{_value_text(kind, low, diff=diff)}, {_value_text(kind, high, diff=diff)}]"


def mid_text(metric: str, mid: float | None) -> str:
    """The minimum important difference in the outcome's display unit ('1 pp', '£100m', '0.01')."""
    if mid is None or _missing(mid) or mid == 0:
        return ""
    kind = outcome_for(metric).kind
    if kind == "share":
        return f"{mid * 100:g} pp"
    if kind in ("percent", "pct"):
        return f"{mid:g} pp"
    if kind == "gbp_m":
        return f"£{mid:,.0f}m"
    return f"{mid:g}"


def outcome_caption(metric: str, mid: float | None = None) -> str:
    """'Trusts in deficit (share of trusts; lower is better; differences matter from 1 pp)'."""
    out = outcome_for(metric)
    hint = {1: "; higher is better", -1: "; lower is better"}.get(out.better, "")
    threshold = mid_text(metric, mid if mid is not None else minimum_difference(metric))
    matters = f"; a difference matters from {threshold}" if threshold else ""
    return f"{out.label} ({out.units}{hint}{matters})"


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
        mid = block["mid"].dropna().iloc[0] if "mid" in block and block["mid"].notna().any() else None
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
                    "" if is_base else str(r["verdict"]) if "verdict" in r else verdict(r),
                    str(int(r["n"])) if is_base or _missing(r["n_pairs"]) else str(int(r["n_pairs"])),
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

        def fmt_row(c: list[str], align: list[str] = align, widths: list[int] = widths) -> str:
            return "  ".join(f"{v:{a}{w}}" for v, a, w in zip(c, align, widths, strict=True)).rstrip()

        lines.append("")
        lines.append(outcome_caption(metric, mid))
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
        "'better'/'worse': the paired interval excludes zero and the difference is at least the "
        "outcome's minimum important difference (scenarios/theory/units.toml); otherwise 'no material "
        "difference' (an interval that includes zero yet reaches beyond that difference may also mean "
        "too few replicates to tell). '(identical)': the same value in every replicate (the policy had "
        "not acted yet). "
        "Outcomes in units people use come first, the model's 0-1 indices after them."
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
    cell = {  # (outcome, month) -> its row's mean and interval, read once (not a lookup per cell)
        (metric, month): (mean, low, high)
        for metric, month, mean, low, high in zip(
            table["outcome"], table["month"], table["mean"], table["low"], table["high"], strict=True
        )
    }
    rows = []
    for metric in dict.fromkeys(table["outcome"]):
        cells = []
        for m in months:
            if (metric, m) in cell:
                mean, low, high = cell[(metric, m)]
                cells.append(f"{format_value(metric, mean)} {format_interval(metric, low, high)}".strip())
            else:
                cells.append("")
        out_ = outcome_for(metric)
        rows.append([f"{out_.label} ({out_.units})", *cells])
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
