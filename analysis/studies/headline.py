"""A headline across horizons: per policy, plain sentences on the short, medium and long run.

From a :func:`analysis.studies.compare.comparison_table`, for each scenario other than the
baseline, one sentence such as "Mandated mergers: in the short run (year 3), more trusts in
special measures (+7.60 pp [+3.27, +11.94] pp); by year 5, ...; by year 10, no material
difference in the outcomes in units people use." Only material differences are named (the
table's verdict: the paired interval excludes zero and the difference is at least the outcome's
minimum important difference). The horizons are the table's months nearest 1-3 years, 5 years
and 10 years (:func:`horizons`).
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from analysis.studies.compare import UNIT_METRICS, format_interval, format_value, is_material

# pandas: imported by the functions that build or read tables, not with the module, so a run's
# workers are forked without it (tests/test_architecture.py)
if TYPE_CHECKING:
    import pandas as pd

SHORT = (12, 36)
"""The short run: the latest month of the table in this range (1-3 years)."""
MEDIUM = (48, 84)
"""The medium run: the month of the table nearest 60 in this range (about 5 years)."""
LONG_FROM = 96
"""The long run: the table's last month, when at least this (about 10 years)."""

PHRASES: dict[str, tuple[str, str]] = {
    "share_good_or_outstanding": (
        "more trusts rated good or outstanding",
        "fewer trusts rated good or outstanding",
    ),
    "share_inadequate": ("more trusts rated inadequate", "fewer trusts rated inadequate"),
    "share_special_measures": ("more trusts in special measures", "fewer trusts in special measures"),
    "sector_surplus_gbp_m": ("a better sector financial balance", "a worse sector financial balance"),
    "share_in_deficit": ("more trusts in deficit", "fewer trusts in deficit"),
    "rtt_18_weeks_pct": (
        "more patients waiting under 18 weeks (RTT)",
        "fewer patients waiting under 18 weeks (RTT)",
    ),
    "vacancy_pct": ("a higher staff vacancy rate", "a lower staff vacancy rate"),
}
"""How a sentence says that an outcome went up / down. ``sector_surplus_pct`` is said with the £m."""


@dataclass(frozen=True)
class Change:
    """One material difference at one horizon."""

    metric: str
    text: str  # e.g. 'more trusts in deficit (+4.10 pp [+1.20, +7.00] pp)'
    verdict: str  # better / worse / higher / lower


@dataclass(frozen=True)
class Horizon:
    """What a policy changes at one horizon."""

    month: int
    words: str  # 'in the short run (year 3)', 'by year 5', 'by year 10'
    changes: tuple[Change, ...]


def horizons(months: Sequence[int]) -> list[tuple[int, str]]:
    """The (month, words) of the short, medium and long run among ``months`` (each at most once)."""
    avail = sorted({int(m) for m in months if int(m) > 0})
    chosen: list[tuple[int, str]] = []
    short = [m for m in avail if SHORT[0] <= m <= SHORT[1]]
    if short:
        chosen.append((short[-1], f"in the short run ({_years(short[-1])})"))
    medium = [m for m in avail if MEDIUM[0] <= m <= MEDIUM[1]]
    if medium:
        m = min(medium, key=lambda x: abs(x - 60))
        chosen.append((m, f"by {_years(m)}"))
    if avail and avail[-1] >= LONG_FROM and avail[-1] not in {c[0] for c in chosen}:
        chosen.append((avail[-1], f"by {_years(avail[-1])}"))
    if not chosen and avail:  # a short experiment: speak of its last month
        chosen.append((avail[-1], f"by month {avail[-1]}"))
    return chosen


def _years(month: int) -> str:
    return f"year {month // 12}" if month % 12 == 0 else f"month {month}"


def policy_horizons(table: pd.DataFrame, scenario: str, metrics: Sequence[str] = UNIT_METRICS) -> list[Horizon]:
    """What ``scenario`` changes at each horizon: the material differences among ``metrics``."""
    out = []
    for month, words in horizons(table["month"].unique()):
        sub = table[(table["month"] == month) & (table["scenario"].astype(str) == scenario)]
        changes = []
        for metric in metrics:
            rows = sub[sub["outcome"] == metric]
            if rows.empty or metric not in PHRASES:
                continue
            r = rows.iloc[0]
            word = str(r.get("verdict", ""))
            if not is_material(word):
                continue
            up, down = PHRASES[metric]
            interval = format_interval(metric, r["diff_low"], r["diff_high"], diff=True).removesuffix(" pp")
            value = format_value(metric, r["diff"], diff=True)
            if metric == "sector_surplus_gbp_m":
                value += " a year"
            number = f"{value} {interval}".strip() + (_pct_too(sub) if metric == "sector_surplus_gbp_m" else "")
            changes.append(Change(metric, f"{up if r['diff'] > 0 else down} ({number})", word))
        out.append(Horizon(int(month), words, tuple(changes)))
    return out


def _pct_too(sub: pd.DataFrame) -> str:
    rows = sub[sub["outcome"] == "sector_surplus_pct"]
    if rows.empty:
        return ""
    return f"; {format_value('sector_surplus_pct', rows.iloc[0]['diff'], diff=True)} of turnover"


def headline(table: pd.DataFrame, metrics: Sequence[str] = UNIT_METRICS) -> list[tuple[str, list[Horizon]]]:
    """Per scenario other than the baseline (in table order): its horizons."""
    if table.empty:
        return []
    baseline = str(table["baseline"].iloc[0])
    scenarios = [str(s) for s in dict.fromkeys(table["scenario"].astype(str)) if str(s) != baseline]
    return [(s, policy_horizons(table, s, metrics)) for s in scenarios]


def sentence(scenario: str, spans: Sequence[Horizon]) -> str:
    """One plain sentence for a policy: 'Name: in the short run (year 3), ...; by year 10, ...'."""
    name = scenario.replace("_", " ")
    name = f"{name[:1].upper()}{name[1:]}"
    if spans and not any(h.changes for h in spans):
        when = _join([h.words for h in spans], "or")
        return f"{name}: no material difference in the outcomes in units people use {when}."
    parts = [f"{h.words}, {_join([c.text for c in h.changes]) if h.changes else NONE}" for h in spans]
    return f"{name}: {'; '.join(parts)}." if parts else f"{name}: no results."


NONE = "no material difference in the outcomes in units people use"


def _join(items: Sequence[str], word: str = "and") -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + f" {word} " + items[-1]


def format_headline(table: pd.DataFrame) -> str:
    """The headline as plain text, one paragraph per policy (for the terminal)."""
    found = headline(table)
    if not found:
        return ""
    baseline = str(table["baseline"].iloc[0])
    lines = [f"Headline (against {baseline}; only differences that pass the outcome's minimum important difference):"]
    for scen, spans in found:
        lines.append(textwrap.fill(sentence(scen, spans), width=110, initial_indent="  ", subsequent_indent="    "))
    return "\n".join(lines)
