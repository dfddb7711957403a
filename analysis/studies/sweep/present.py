"""A sweep's tables as text: per lever value, per policy, and robustness across futures."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from analysis.studies.compare import format_interval, format_value, outcome_for

MAX_ROWS = 20
"""Policies printed per table (the CSV files hold every one)."""


def _cell(metric: str, row: pd.Series, *, level: bool = True) -> str:
    diff = format_value(metric, row["diff"], diff=True)
    ci = format_interval(metric, row["diff_low"], row["diff_high"], diff=True)
    mean = format_value(metric, row["mean"]) if level else ""
    return " ".join(x for x in (mean, diff, ci) if x and x != "-") or "-"


def _align(rows: list[list[str]], head: list[str], left: int = 1) -> list[str]:
    widths = [max(len(head[i]), *(len(r[i]) for r in rows)) if rows else len(head[i]) for i in range(len(head))]

    def line(cells: list[str]) -> str:
        return "  ".join(
            f"{c:<{w}}" if i < left else f"{c:>{w}}" for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )

    return ["  " + line(head), "  " + "  ".join("-" * w for w in widths), *("  " + line(r) for r in rows)]


def _show(value: object) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)) or value is pd.NA:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def format_levers(table: pd.DataFrame, months: Sequence[int], outcomes: Sequence[str]) -> str:
    """Per lever: each value's mean and paired difference from the baseline (with interval), month by month."""
    if table.empty:
        return ""
    out = []
    level = f"{float(table['level'].iloc[0]):.0%}"
    for lever in dict.fromkeys(table["lever"]):
        block = table[table["lever"] == lever]
        shown = [m for m in outcomes if m in set(block["outcome"])]
        rows = []
        for value in dict.fromkeys(block["value"]):
            for k, month in enumerate(m for m in months if m in set(block["month"])):
                part = block[(block["value"] == value) & (block["month"] == month)].set_index("outcome")
                rows.append([_show(value) if k == 0 else "", str(month), *(_cell(m, part.loc[m]) for m in shown)])
        out.append(
            f"{lever}: mean, then difference from the baseline with {level} interval (over the policies "
            "with this value, every future and replicate; paired by replicate)"
        )
        out += _align(rows, ["value", "month", *(outcome_for(m).label for m in shown)], left=1)
        out.append("")
    return "\n".join(out).rstrip()


def format_points(table: pd.DataFrame, levers: Sequence[str], month: int, outcomes: Sequence[str]) -> str:
    """Per policy: lever values and the paired difference from the baseline, at ``month`` (first rows)."""
    block = table[(table["month"] == month) & table["point"].notna()]
    policies = list(dict.fromkeys(block["policy"]))
    shown = [m for m in outcomes if m in set(block["outcome"])]
    rows = []
    for policy in policies[:MAX_ROWS]:
        part = block[block["policy"] == policy].set_index("outcome")
        first = part.iloc[0]
        rows.append(
            [policy, *(_show(first[lv]) for lv in levers), *(_cell(m, part.loc[m], level=False) for m in shown)]
        )
    level = f"{float(table['level'].iloc[0]):.0%}" if len(table) else "95%"
    out = [f"Each policy at month {month}: difference from the baseline with {level} interval (paired by replicate)"]
    out += _align(rows, ["policy", *levers, *(outcome_for(m).label for m in shown)], left=1 + len(levers))
    if len(policies) > MAX_ROWS:
        out.append(f"  … and {len(policies) - MAX_ROWS} more policies (sweep.csv has every one)")
    return "\n".join(out)


def _amount(metric: str, value: float) -> str:
    return format_value(metric, value, diff=True).lstrip("+")


def format_robustness(
    regret: pd.DataFrame, satisficing: pd.DataFrame, levers: Sequence[str], month: int, n_futures: int
) -> str:
    """Max/mean regret per outcome and the satisficing share per criterion, per policy (first rows)."""
    out = []
    futures = f"{n_futures} future{'s' if n_futures != 1 else ''}"
    if not regret.empty:
        block = regret[regret["month"] == month]
        outcomes = list(dict.fromkeys(block["outcome"]))
        policies = list(dict.fromkeys(block["policy"]))
        rows = []
        for policy in policies[: MAX_ROWS + 1]:
            part = block[block["policy"] == policy].set_index("outcome")
            first = part.iloc[0]
            cells = [
                f"{_amount(m, part.loc[m, 'max_regret'])} / {_amount(m, part.loc[m, 'mean_regret'])}" for m in outcomes
            ]
            rows.append([policy, *(_show(first[lv]) for lv in levers), *cells])
        out.append(
            f"Regret across {futures} at month {month}: shortfall against the best policy in the same future "
            "(max / mean over futures; 0 = best everywhere; the baseline counts as a policy)"
        )
        out += _align(rows, ["policy", *levers, *(outcome_for(m).label for m in outcomes)], left=1 + len(levers))
        if len(policies) > MAX_ROWS + 1:
            out.append(f"  … and {len(policies) - MAX_ROWS - 1} more (robustness.csv has every one)")
        best = []
        for m in outcomes:
            part = block[block["outcome"] == m]
            top = part.loc[part["max_regret"].idxmin()]
            setting = ", ".join(f"{lv} = {_show(top[lv])}" for lv in levers if not pd.isna(top[lv]))
            best.append(f"{outcome_for(m).label}: {top['policy']}" + (f" ({setting})" if setting else ""))
        out.append("  least max regret: " + "; ".join(best))
    if not satisficing.empty:
        criteria = list(dict.fromkeys(satisficing["criterion"]))
        policies = list(dict.fromkeys(satisficing["policy"]))
        rows = []
        for policy in policies[: MAX_ROWS + 1]:
            part = satisficing[satisficing["policy"] == policy].set_index("criterion")
            first = part.iloc[0]
            rows.append(
                [policy, *(_show(first[lv]) for lv in levers), *(f"{part.loc[c, 'share']:.0%}" for c in criteria)]
            )
        out.append("")
        out.append(f"Satisficing: share of the {futures} in which the policy meets each criterion (replicate means)")
        out += _align(rows, ["policy", *levers, *criteria], left=1 + len(levers))
        if len(policies) > MAX_ROWS + 1:
            out.append(f"  … and {len(policies) - MAX_ROWS - 1} more (satisficing.csv has every one)")
        meanings = dict(zip(satisficing["criterion"], satisficing["meaning"], strict=False))
        out += [f"  {c}: {meanings[c]}" for c in criteria]
    return "\n".join(out)
