"""Self-contained HTML report of an experiment, for policymakers (``partnersim report``).

Work in progress: the comparison helpers shared with the dashboard come first.
"""

from __future__ import annotations

import html
from typing import Any

import pandas as pd

from analysis.compare import _ci, _fmt, outcome_for, verdict

HEADLINE = ("share_good_or_outstanding", "share_in_deficit", "share_special_measures",
            "mean_quality", "mean_efficiency", "mean_access")


def fmt_value(metric: str, value: float, *, diff: bool = False) -> str:
    """A value as ``partnersim compare`` prints it (shares as %, differences in percentage points)."""
    return _fmt(outcome_for(metric).kind, value, diff=diff)


def fmt_interval(metric: str, low: float, high: float, *, diff: bool = False) -> str:
    """An interval as ``partnersim compare`` prints it."""
    return _ci(outcome_for(metric).kind, low, high, diff=diff)


def headline_sentences(table: pd.DataFrame, *, month: int, metrics: tuple[str, ...] = HEADLINE) -> list[str]:
    """Per policy, an HTML paragraph and list: how it compares with the baseline at ``month``.

    The numbers are formatted exactly as ``partnersim compare`` prints them.
    """
    sub = table[table["month"] == month]
    if sub.empty:
        return []
    baseline = str(sub["baseline"].iloc[0])
    level = f"{float(sub['level'].iloc[0]):.0%}"
    out = []
    for scen in dict.fromkeys(sub["scenario"]):
        if scen == baseline:
            continue
        items, words = [], []
        for metric in metrics:
            row = _row(sub, metric, scen)
            base = _row(sub, metric, baseline)
            if row is None or base is None:
                continue
            word = verdict(row)
            words.append(word)
            tag = f'<span class="{word}">{word}</span>' if word else '<span class="unclear">no clear difference</span>'
            items.append(
                f"<li>{html.escape(outcome_for(metric).label)}: <b>{fmt_value(metric, row['mean'])}</b> vs "
                f"{fmt_value(metric, base['mean'])}; difference <b>{fmt_value(metric, row['diff'], diff=True)}</b> "
                f"{fmt_interval(metric, row['diff_low'], row['diff_high'], diff=True)}, {tag}</li>")
        if not items:
            continue
        counts = [f"{words.count(w)} {label}" for w, label in (("better", "better"), ("worse", "worse"))]
        unclear = sum(1 for w in words if w not in ("better", "worse"))
        lead = (f"<p><b>{html.escape(str(scen))}</b> vs {html.escape(baseline)} at month {month}: "
                f"{', '.join(counts)}, {unclear} with no clear difference (of {len(words)} outcomes; "
                f"{level} intervals of the paired difference).</p>")
        out.append(lead + "<ul>" + "".join(items) + "</ul>")
    return out


def _row(sub: pd.DataFrame, metric: str, scen: str) -> Any:
    rows = sub[(sub["outcome"] == metric) & (sub["scenario"] == scen)]
    return None if rows.empty else rows.iloc[0]


def comparison_html_table(table: pd.DataFrame, *, month: int, metrics: tuple[str, ...] = HEADLINE) -> str:
    """The comparison at ``month`` as an HTML table: per outcome and scenario, mean, interval, difference."""
    sub = table[table["month"] == month]
    if sub.empty:
        return "<p>(no results at this month)</p>"
    baseline = str(sub["baseline"].iloc[0])
    level = f"{float(sub['level'].iloc[0]):.0%}"
    head = (f"<tr><th>outcome (month {month})</th><th>scenario</th><th>mean</th><th>{level} interval</th>"
            f"<th>vs {html.escape(baseline)}</th><th>{level} interval</th><th></th><th>n</th></tr>")
    rows = []
    for metric in metrics:
        for scen in dict.fromkeys(sub["scenario"]):
            r = _row(sub, metric, scen)
            if r is None:
                continue
            is_base = scen == baseline
            word = "" if is_base else verdict(r)
            n = int(r["n"]) if is_base or pd.isna(r["n_pairs"]) else int(r["n_pairs"])
            rows.append(
                f"<tr><td>{html.escape(outcome_for(metric).label)}</td><td>{html.escape(str(scen))}</td>"
                f"<td>{fmt_value(metric, r['mean'])}</td><td>{fmt_interval(metric, r['low'], r['high'])}</td>"
                f"<td>{'' if is_base else fmt_value(metric, r['diff'], diff=True)}</td>"
                f"<td>{'' if is_base else fmt_interval(metric, r['diff_low'], r['diff_high'], diff=True)}</td>"
                f'<td class="{word}">{word}</td><td>{n}</td></tr>')
    return f'<table class="partnersim-table">{head}{"".join(rows)}</table>'
