"""HTML fragments of the report, shared with the dashboard: comparison tables, sentences, figures.

The numbers are formatted exactly as ``partnersim compare`` prints them
(:func:`analysis.studies.compare.format_value` and :func:`~analysis.studies.compare.format_interval`).
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from analysis.studies.compare import format_interval, format_value, outcome_for, verdict

if TYPE_CHECKING:
    from matplotlib.figure import Figure

HEADLINE = (
    "share_good_or_outstanding",
    "share_in_deficit",
    "share_special_measures",
    "mean_quality",
    "mean_efficiency",
    "mean_access",
)
UNITS = {"index": "index 0-1", "share": "share of trusts", "pct": "% of turnover", "count": "count"}


def _row(sub: pd.DataFrame, metric: str, scen: str) -> pd.Series | None:
    rows = sub[(sub["outcome"] == metric) & (sub["scenario"] == scen)]
    return None if rows.empty else rows.iloc[0]


def headline_sentences(table: pd.DataFrame, *, month: int, metrics: Sequence[str] = HEADLINE) -> list[str]:
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
                f"<li>{html.escape(outcome_for(metric).label)}: <b>{format_value(metric, row['mean'])}</b> vs "
                f"{format_value(metric, base['mean'])}; difference "
                f"<b>{format_value(metric, row['diff'], diff=True)}</b> "
                f"{format_interval(metric, row['diff_low'], row['diff_high'], diff=True)}, {tag}</li>"
            )
        if not items:
            continue
        counts = [f"{words.count(w)} {w}" for w in ("better", "worse")]
        unclear = sum(1 for w in words if w not in ("better", "worse"))
        lead = (
            f"<p><b>{html.escape(str(scen))}</b> vs {html.escape(baseline)} at month {month}: "
            f"{', '.join(counts)}, {unclear} with no clear difference (of {len(words)} outcomes; "
            f"{level} intervals of the paired difference).</p>"
        )
        out.append(lead + "<ul>" + "".join(items) + "</ul>")
    return out


def single_scenario_sentences(table: pd.DataFrame, *, month: int, metrics: Sequence[str] = HEADLINE) -> list[str]:
    """For an experiment with one scenario: its outcomes at ``month`` with intervals."""
    sub = table[table["month"] == month]
    items = []
    for metric in metrics:
        for scen in dict.fromkeys(sub["scenario"]):
            r = _row(sub, metric, scen)
            if r is not None:
                items.append(
                    f"<li>{html.escape(outcome_for(metric).label)}: <b>{format_value(metric, r['mean'])}</b> "
                    f"{format_interval(metric, r['low'], r['high'])}</li>"
                )
    return [f"<p>At month {month}:</p><ul>{''.join(items)}</ul>"] if items else []


def comparison_html_table(table: pd.DataFrame, *, month: int | None = None, metrics: Sequence[str] = HEADLINE) -> str:
    """The comparison as HTML tables, one per outcome (rows month × scenario), as ``partnersim compare`` prints it.

    Args:
        table: :func:`analysis.studies.compare.comparison_table` output.
        month: only this month (default: every month in the table).
        metrics: outcomes, in order.
    """
    sub = table if month is None else table[table["month"] == month]
    if sub.empty:
        return "<p>(no results at this month)</p>"
    baseline = str(sub["baseline"].iloc[0])
    level = f"{float(sub['level'].iloc[0]):.0%}"
    has_diff = bool((sub["scenario"] != baseline).any())
    blocks = []
    for metric in [m for m in metrics if m in set(sub["outcome"])] + [
        m for m in dict.fromkeys(sub["outcome"]) if m not in metrics
    ]:
        out = outcome_for(metric)
        hint = {1: "; higher is better", -1: "; lower is better"}.get(out.better, "")
        head = (
            f"<tr><th>month</th><th>scenario</th><th>mean</th><th>{level} interval</th>"
            + (f"<th>vs {html.escape(baseline)}</th><th>{level} interval</th><th></th>" if has_diff else "")
            + "<th>n</th></tr>"
        )
        rows = []
        for _, r in sub[sub["outcome"] == metric].iterrows():
            is_base = r["scenario"] == baseline
            word = "" if is_base else verdict(r)
            n = int(r["n"]) if is_base or pd.isna(r["n_pairs"]) else int(r["n_pairs"])
            diff_cells = ""
            if has_diff:
                diff_cells = (
                    f"<td>{'' if is_base else format_value(metric, r['diff'], diff=True)}</td>"
                    f"<td>{'' if is_base else format_interval(metric, r['diff_low'], r['diff_high'], diff=True)}"
                    f'</td><td class="{word}">{word}</td>'
                )
            rows.append(
                f"<tr><td>{int(r['month'])}</td><td>{html.escape(str(r['scenario']))}</td>"
                f"<td>{format_value(metric, r['mean'])}</td><td>{format_interval(metric, r['low'], r['high'])}</td>"
                f"{diff_cells}<td>{n}</td></tr>"
            )
        blocks.append(
            f'<table class="partnersim-table" data-outcome="{metric}"><caption>{html.escape(out.label)} '
            f"({UNITS[out.kind]}{hint})</caption>{head}{''.join(rows)}</table>"
        )
    return "".join(blocks)


def figure_html(fig: Figure, *, alt: str, name: str, dpi: int = 100) -> str:
    """A figure as an inline base64 PNG ``<img>`` (the figure is closed afterwards)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    return (
        f'<figure><img src="data:image/png;base64,{data}" alt="{html.escape(alt)}" data-figure="{name}">'
        f"<figcaption>{html.escape(alt)}</figcaption></figure>"
    )


def png_file_html(path: Path, *, alt: str, name: str) -> str:
    """A PNG file from disk as an inline ``<img>``."""
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return (
        f'<figure><img src="data:image/png;base64,{data}" alt="{html.escape(alt)}" data-figure="{name}">'
        f"<figcaption>{html.escape(alt)}</figcaption></figure>"
    )
