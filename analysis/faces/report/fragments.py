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

from analysis.studies.compare import (
    OUTCOME_METRICS,
    format_interval,
    format_value,
    is_material,
    outcome_caption,
    outcome_for,
    verdict,
)
from analysis.studies.headline import headline, sentence

if TYPE_CHECKING:
    from matplotlib.figure import Figure

HEADLINE = (
    "share_good_or_outstanding",
    "share_inadequate",
    "share_special_measures",
    "sector_surplus_gbp_m",
    "share_in_deficit",
    "rtt_18_weeks_pct",
    "vacancy_pct",
    "mean_quality",
    "mean_efficiency",
    "mean_access",
)
"""The outcomes the figures show: units people use first, the model's indices second."""


def verdict_of(row: pd.Series) -> str:
    """The row's verdict (the table's own column when it has one, else computed)."""
    word = row.get("verdict")
    return str(word) if isinstance(word, str) else verdict(row)


def verdict_html(word: str) -> str:
    """A verdict as a coloured span ('better' green, 'worse' red, 'no material difference' grey)."""
    cls = word if word in ("better", "worse") else "unclear"
    return f'<span class="{cls}">{html.escape(word)}</span>' if word else ""


def horizon_html(table: pd.DataFrame) -> str:
    """The headline across horizons (short run, about 5 years, 10 years) as one paragraph per policy."""
    found = headline(table)
    if not found:
        return ""
    items = []
    for scen, spans in found:
        text = html.escape(sentence(scen, spans))
        for span in spans:
            for change in span.changes:
                text = text.replace(
                    html.escape(change.text), f'<span class="{change.verdict}">{html.escape(change.text)}</span>', 1
                )
        items.append(f'<li data-policy="{html.escape(scen)}">{text}</li>')
    return f'<ul class="horizons">{"".join(items)}</ul>'


def _row(sub: pd.DataFrame, metric: str, scen: str) -> pd.Series | None:
    rows = sub[(sub["outcome"] == metric) & (sub["scenario"] == scen)]
    return None if rows.empty else rows.iloc[0]


def headline_sentences(table: pd.DataFrame, *, month: int, metrics: Sequence[str] = OUTCOME_METRICS) -> list[str]:
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
            word = verdict_of(row)
            words.append(word)
            tag = verdict_html(word)
            items.append(
                f"<li>{html.escape(outcome_for(metric).label)}: <b>{format_value(metric, row['mean'])}</b> vs "
                f"{format_value(metric, base['mean'])}; difference "
                f"<b>{format_value(metric, row['diff'], diff=True)}</b> "
                f"{format_interval(metric, row['diff_low'], row['diff_high'], diff=True)}, {tag}</li>"
            )
        if not items:
            continue
        counts = [f"{words.count(w)} {w}" for w in ("better", "worse")]
        unclear = sum(1 for w in words if not is_material(w))
        lead = (
            f"<p><b>{html.escape(str(scen))}</b> vs {html.escape(baseline)} at month {month}: "
            f"{', '.join(counts)}, {unclear} with no material difference (of {len(words)} outcomes; "
            f"{level} intervals of the paired difference).</p>"
        )
        out.append(lead + "<ul>" + "".join(items) + "</ul>")
    return out


def single_scenario_sentences(
    table: pd.DataFrame, *, month: int, metrics: Sequence[str] = OUTCOME_METRICS
) -> list[str]:
    """For an experiment with one scenario: its outcomes at ``month`` with intervals."""
    sub = table[table["month"] == month]
    items = []
    for metric in metrics:
        for scen in dict.fromkeys(sub["scenario"]):
            r = _row(sub, metric, scen)
            if r is not None:
                items.append(
                    f"<li>{html.escape(outcome_for(metric).label)} ({html.escape(outcome_for(metric).units)}): "
                    f"<b>{format_value(metric, r['mean'])}</b> "
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
        block = sub[sub["outcome"] == metric]
        mid = block["mid"].dropna().iloc[0] if "mid" in block and block["mid"].notna().any() else None
        head = (
            f"<tr><th>month</th><th>scenario</th><th>mean</th><th>{level} interval</th>"
            + (f"<th>vs {html.escape(baseline)}</th><th>{level} interval</th><th>verdict</th>" if has_diff else "")
            + "<th>n</th></tr>"
        )
        rows = []
        for _, r in block.iterrows():
            is_base = r["scenario"] == baseline
            word = "" if is_base else verdict_of(r)
            n = int(r["n"]) if is_base or pd.isna(r["n_pairs"]) else int(r["n_pairs"])
            diff_cells = ""
            if has_diff:
                diff_cells = (
                    f"<td>{'' if is_base else format_value(metric, r['diff'], diff=True)}</td>"
                    f"<td>{'' if is_base else format_interval(metric, r['diff_low'], r['diff_high'], diff=True)}"
                    f"</td><td>{verdict_html(word)}</td>"
                )
            rows.append(
                f"<tr><td>{int(r['month'])}</td><td>{html.escape(str(r['scenario']))}</td>"
                f"<td>{format_value(metric, r['mean'])}</td><td>{format_interval(metric, r['low'], r['high'])}</td>"
                f"{diff_cells}<td>{n}</td></tr>"
            )
        blocks.append(
            f'<div class="table-box"><table class="partnersim-table" data-outcome="{metric}"><caption>'
            f"{html.escape(outcome_caption(metric, mid))}</caption>{head}{''.join(rows)}</table></div>"
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
