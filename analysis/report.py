"""Self-contained HTML report of an experiment, for policymakers (``partnersim report``).

One file, figures as inline PNG (base64) and styles inline, no request leaves the page. It
reads top-down:

1. **Summary**: what was compared (each scenario in words), what the results say at the
   headline month with numbers and intervals, and the caveats (failed runs, few replicates).
2. **Assumptions**: the theory file, the effect sizes that matter most (from a sensitivity
   analysis in the experiment folder when there is one, otherwise the widest declared ranges)
   with their sources, and the scenarios' own overrides and shocks.
3. **Outcomes over time**: one figure per outcome with median and 50%/90% bands.
4. **Differences from the baseline**: every month, mean and interval per scenario and the
   paired difference, formatted exactly as ``partnersim compare`` prints them, and the
   difference trajectories.
5. **Partnerships**: formed, dissolved and completed per replicate, by type, over time; and the
   realist context-mechanism-outcome tables of :mod:`analysis.realist` (what works for whom).
6. **The causal web** as a diagram (shaded by total-order index when sensitivity exists).
7. **Sensitivity**, **scenario discovery**, **pathway attribution**, saved **CMOC tables** and
   the **validation** table when the folder holds them (or they are given).
8. **Provenance**: versions, commit, seeds, dates.

The numbers come from :mod:`analysis.compare` and the figures from :mod:`analysis.plots` and
:mod:`analysis.diagrams`, the same code as the CLI and the dashboard.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import io
import json
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from analysis.cli import UserError
from analysis.compare import _ci, _fmt, outcome_for, verdict

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from analysis.store import Experiment
    from sim.theory import Theory

HEADLINE = ("share_good_or_outstanding", "share_in_deficit", "share_special_measures",
            "mean_quality", "mean_efficiency", "mean_access")
HEADLINE_MONTH = 60
TOP_ASSUMPTIONS = 8
MIN_REPLICATES = 10
UNITS = {"index": "index 0-1", "share": "share of trusts", "pct": "% of turnover", "count": "count"}


# -- formatting shared with the dashboard ----------------------------------------------------
def fmt_value(metric: str, value: float, *, diff: bool = False) -> str:
    """A value as ``partnersim compare`` prints it (shares as %, differences in percentage points)."""
    return _fmt(outcome_for(metric).kind, value, diff=diff)


def fmt_interval(metric: str, low: float, high: float, *, diff: bool = False) -> str:
    """An interval as ``partnersim compare`` prints it."""
    return _ci(outcome_for(metric).kind, low, high, diff=diff)


def _row(sub: pd.DataFrame, metric: str, scen: str) -> Any:
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
                f"<li>{html.escape(outcome_for(metric).label)}: <b>{fmt_value(metric, row['mean'])}</b> vs "
                f"{fmt_value(metric, base['mean'])}; difference <b>{fmt_value(metric, row['diff'], diff=True)}</b> "
                f"{fmt_interval(metric, row['diff_low'], row['diff_high'], diff=True)}, {tag}</li>")
        if not items:
            continue
        counts = [f"{words.count(w)} {w}" for w in ("better", "worse")]
        unclear = sum(1 for w in words if w not in ("better", "worse"))
        lead = (f"<p><b>{html.escape(str(scen))}</b> vs {html.escape(baseline)} at month {month}: "
                f"{', '.join(counts)}, {unclear} with no clear difference (of {len(words)} outcomes; "
                f"{level} intervals of the paired difference).</p>")
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
                items.append(f"<li>{html.escape(outcome_for(metric).label)}: <b>{fmt_value(metric, r['mean'])}</b> "
                             f"{fmt_interval(metric, r['low'], r['high'])}</li>")
    return [f"<p>At month {month}:</p><ul>{''.join(items)}</ul>"] if items else []


def comparison_html_table(table: pd.DataFrame, *, month: int | None = None,
                          metrics: Sequence[str] = HEADLINE) -> str:
    """The comparison as HTML tables, one per outcome (rows month × scenario), as ``partnersim compare`` prints it.

    Args:
        table: :func:`analysis.compare.comparison_table` output.
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
    for metric in [m for m in metrics if m in set(sub["outcome"])] + \
            [m for m in dict.fromkeys(sub["outcome"]) if m not in metrics]:
        out = outcome_for(metric)
        hint = {1: "; higher is better", -1: "; lower is better"}.get(out.better, "")
        head = (f"<tr><th>month</th><th>scenario</th><th>mean</th><th>{level} interval</th>"
                + (f"<th>vs {html.escape(baseline)}</th><th>{level} interval</th><th></th>" if has_diff else "")
                + "<th>n</th></tr>")
        rows = []
        for _, r in sub[sub["outcome"] == metric].iterrows():
            is_base = r["scenario"] == baseline
            word = "" if is_base else verdict(r)
            n = int(r["n"]) if is_base or pd.isna(r["n_pairs"]) else int(r["n_pairs"])
            diff_cells = ""
            if has_diff:
                diff_cells = (f"<td>{'' if is_base else fmt_value(metric, r['diff'], diff=True)}</td>"
                              f"<td>{'' if is_base else fmt_interval(metric, r['diff_low'], r['diff_high'], diff=True)}"
                              f'</td><td class="{word}">{word}</td>')
            rows.append(f"<tr><td>{int(r['month'])}</td><td>{html.escape(str(r['scenario']))}</td>"
                        f"<td>{fmt_value(metric, r['mean'])}</td><td>{fmt_interval(metric, r['low'], r['high'])}</td>"
                        f"{diff_cells}<td>{n}</td></tr>")
        blocks.append(f'<table class="partnersim-table" data-outcome="{metric}"><caption>{html.escape(out.label)} '
                      f"({UNITS[out.kind]}{hint})</caption>{head}{''.join(rows)}</table>")
    return "".join(blocks)


# -- reading an experiment folder --------------------------------------------------------
@dataclass
class Extras:
    """Outputs of the other analyses found for the report (each a folder, or None)."""

    sensitivity: Path | None = None
    discovery: Path | None = None
    pathways: Path | None = None
    cmoc: Path | None = None
    validation: Path | None = None


# The file that marks each analysis's output folder, and the command that writes it.
MARKERS = {"sensitivity": ("indices.parquet", "sensitivity"), "discovery": ("discovery.json", "discover"),
           "pathways": ("pathways.csv", "pathways"), "cmoc": ("cmoc_configurations.csv", "cmoc"),
           "validation": ("validation.csv", "validate-theory")}


@dataclass
class ReportData:
    """Everything the report shows, read from the experiment folder."""

    path: Path
    exp: Experiment
    table: pd.DataFrame
    month: int
    start: str
    theory: Theory | None
    counts: dict[str, int]
    extras: Extras = field(default_factory=Extras)
    notes: list[str] = field(default_factory=list)


def load_report_data(path: str | Path, *, month: int | None = None,
                     extras: Mapping[str, str | Path | None] | None = None) -> ReportData:
    """Read and check an experiment folder; raise :class:`UserError` with a clear message when it can't be used.

    Args:
        path: the experiment folder.
        month: the month the summary speaks about (default: 60 if run that long, else the last).
        extras: output folders of other analyses to include (``sensitivity``, ``discovery``,
            ``pathways``, ``cmoc``, ``validation``); any not given is looked for inside the
            experiment folder (one or two levels down).
    """
    from analysis.store import StoreError, load_experiment

    folder = Path(path)
    if not folder.exists():
        raise UserError(f"no such experiment folder: {folder} (run `partnersim compare SCENARIO… --out {folder}` "
                        "to create one)")
    if not folder.is_dir():
        raise UserError(f"{folder} is a file, not an experiment folder")
    manifest_path = folder / "manifest.json"
    if not manifest_path.is_file():
        what = "is empty" if not any(folder.iterdir()) else "has no manifest.json"
        raise UserError(f"{folder} {what}: it is not an experiment folder. Point the report at a folder written by "
                        "`partnersim run` or `partnersim compare` (they print its path at the end).")
    try:
        manifest = json.loads(manifest_path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UserError(f"{manifest_path} is not valid JSON ({exc}); the experiment folder is damaged") from None
    if not str(manifest.get("format", "")).startswith("partnersim-experiment/") or "scenarios" not in manifest:
        raise UserError(f"{manifest_path} is not the manifest of a partnersim experiment (format "
                        f"{manifest.get('format')!r}); point the report at a folder from `partnersim compare`")
    try:
        exp = load_experiment(folder)
    except StoreError:
        raise
    except Exception as exc:  # noqa: BLE001 - damaged Parquet parts and the like: tell the user, no traceback
        raise UserError(f"could not read the experiment in {folder}: {type(exc).__name__}: {exc}. "
                        "If it was interrupted, resume it with `partnersim compare … --resume --out "
                        f"{folder}`") from None
    runs = exp.runs
    ok = runs[runs["status"] == "ok"] if len(runs) else runs
    planned = int(manifest.get("counts", {}).get("total", 0) or
                  len(manifest["scenarios"]) * int(manifest.get("replicates", 0)) *
                  int(manifest.get("design", {}).get("n_points", 1) or 1))
    counts = {"planned": planned, "ok": len(ok), "failed": int((runs["status"] != "ok").sum()) if len(runs) else 0}
    counts["missing"] = max(planned - counts["ok"] - counts["failed"], 0)
    if counts["ok"] == 0 or exp.series.empty:
        detail = (f"all {counts['failed']} stored runs failed" if counts["failed"] else
                  "no run finished before it was interrupted")
        raise UserError(f"{folder} holds no finished runs ({detail}); nothing to report. Resume it with "
                        f"`partnersim compare … --resume --out {folder}` or run the experiment again.")
    notes = _caveats(exp, counts)
    table = _comparison(folder, exp)
    months = sorted(int(m) for m in table["month"].unique())
    if month is not None and month not in months:
        raise UserError(f"--month {month} is not in the results; choose one of {', '.join(map(str, months))}")
    chosen = month if month is not None else (HEADLINE_MONTH if HEADLINE_MONTH in months else months[-1])
    start = str(exp.series["date"].iloc[0]) if "date" in exp.series and len(exp.series) else ""
    given = dict(extras or {})
    found = Extras(**{what: _find(folder, given.get(what), what) for what in MARKERS})
    return ReportData(folder, exp, table, chosen, start, _theory(manifest), counts, found, notes)


def _caveats(exp: Experiment, counts: Mapping[str, int]) -> list[str]:
    notes = []
    if counts["failed"]:
        failed = exp.failed
        first = str(failed["error"].dropna().iloc[0]).strip().splitlines() if failed["error"].notna().any() else []
        reason = f" The first error: {html.escape(first[-1])}" if first else ""
        notes.append(f"{counts['failed']} of {counts['planned']} runs failed and are left out; the results use the "
                     f"other {counts['ok']}. Where a run failed, its paired replicate is dropped from the "
                     f"differences.{reason}")
    if counts["missing"]:
        notes.append(f"The experiment is incomplete: {counts['missing']} of {counts['planned']} planned runs were "
                     "never stored (it was interrupted). Resume it with <code>--resume</code> for the full set.")
    reps = exp.series.groupby("scenario", observed=True)["replicate"].nunique()
    if len(reps) and int(reps.min()) < MIN_REPLICATES:
        notes.append(f"Some results rest on only {int(reps.min())} replicate(s); with fewer than {MIN_REPLICATES} "
                     "the intervals are unreliable. Rerun with more replicates (<code>--reps 20</code> or more).")
    points = exp.series["point"].nunique() if "point" in exp.series else 1
    if points > 1:
        notes.append(f"This experiment is a sweep over {points} design points; the figures and intervals pool them.")
    return notes


def _comparison(folder: Path, exp: Experiment) -> pd.DataFrame:
    """The comparison table ``partnersim compare`` saved (same months and numbers), or one computed the same way."""
    from analysis.compare import DEFAULT_HORIZONS, comparison_table

    saved = next((p for p in (folder / "comparison.parquet", folder / "summary.parquet") if p.is_file()), None)
    if saved is not None:
        table = pd.read_parquet(saved)
        if len(table) and set(table["scenario"]) <= set(exp.series["scenario"].astype(str)):
            return table
    last = int(exp.series["step"].max())
    horizons = [h for h in DEFAULT_HORIZONS if h <= last] or [last]
    return comparison_table(exp.series, horizons=horizons, scenarios=exp.scenarios)


def _find(folder: Path, given: str | Path | None, what: str) -> Path | None:
    """An analysis's output folder: the one given, else the first found inside the experiment folder."""
    marker, command = MARKERS[what]
    if given is not None:
        p = Path(given)
        if not (p / marker).is_file():
            raise UserError(f"--{what} {p}: no {marker} there; give the folder `partnersim {command}` wrote "
                            "(its --out)")
        return p
    hits = sorted(folder.glob(f"*/{marker}")) + sorted(folder.glob(f"*/*/{marker}"))
    return hits[0].parent if hits else None


def _theory(manifest: Mapping[str, Any]) -> Theory | None:
    """The theory of the first scenario, from its files (or the copy in the manifest), with its values in force."""
    from sim.theory import load_theory

    theories = manifest.get("theories") or {}
    if not theories:
        return None
    rec = next(iter(theories.values()))
    try:
        path = Path(rec.get("path", ""))
        files = rec.get("files") or {}
        if not path.is_file() or _sha(path) != (files.get(str(path)) or {}).get("sha256", _sha(path)):
            path = _restore_files(files, path.name)
        theory = load_theory(path)
        values = {k: float(v) for k, v in (rec.get("values") or {}).items()
                  if k in theory.params and float(v) != theory.v(k)}
        return theory.with_values(values, origin="the experiment's manifest") if values else theory
    except Exception:  # noqa: BLE001 - the report still works without the diagram
        return None


def _sha(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def _restore_files(files: Mapping[str, Mapping[str, str]], theory_name: str) -> Path:
    """Write the theory and typology files stored in the manifest to a temporary folder."""
    tmp = Path(tempfile.mkdtemp(prefix="partnersim-report-theory-"))
    for name, rec in files.items():
        (tmp / Path(name).name).write_text(rec["content"])
    return tmp / theory_name


# -- figures ---------------------------------------------------------------------------------
def figure_html(fig: Figure, *, alt: str, name: str, dpi: int = 100) -> str:
    """A figure as an inline base64 PNG ``<img>`` (the figure is closed afterwards)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    return (f'<figure><img src="data:image/png;base64,{data}" alt="{html.escape(alt)}" data-figure="{name}">'
            f"<figcaption>{html.escape(alt)}</figcaption></figure>")


def png_file_html(path: Path, *, alt: str, name: str) -> str:
    """A PNG file from disk as an inline ``<img>``."""
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return (f'<figure><img src="data:image/png;base64,{data}" alt="{html.escape(alt)}" data-figure="{name}">'
            f"<figcaption>{html.escape(alt)}</figcaption></figure>")


# -- sections --------------------------------------------------------------------------------
def section_summary(d: ReportData) -> str:
    """What was compared and what the results say."""
    manifest = d.exp.manifest
    scen = manifest["scenarios"]
    reps = int(d.exp.series.groupby("scenario", observed=True)["replicate"].nunique().max())
    months = int(d.exp.series["step"].max())
    pops = list((manifest.get("populations") or {}).values())
    resolved = scen[0].get("resolved") or {}
    if pops:
        base = pops[0]
        if resolved.get("n_providers"):
            pop = f"{resolved['n_providers']} trusts ({base.get('name')}, resized from {base.get('n_providers')})"
        else:
            pop = f"{base.get('n_providers')} trusts in {base.get('n_ics')} ICSs ({base.get('name')})"
    else:
        pop = "the default population"
    items = "".join(f"<li><b>{html.escape(s['name'])}</b>{' (the baseline)' if i == 0 and len(scen) > 1 else ''}: "
                    f"{html.escape(s.get('description', ''))}</li>" for i, s in enumerate(scen))
    what = (f"<p>{'Compared' if len(scen) > 1 else 'Ran'} {len(scen)} scenario{'s' if len(scen) > 1 else ''} "
            f"on {pop}, {months} months from {html.escape(d.start or '?')}, {reps} replicate(s) each. Replicate r of "
            "every scenario uses the same random seed (common random numbers), so the differences between scenarios "
            "are paired: they come from the policy, not from chance.</p>")
    if len(scen) > 1:
        found = headline_sentences(d.table, month=d.month)
        says = f"<h3>What the results say (month {d.month})</h3>" + "".join(found)
        says += ("<p class='note'>'better' or 'worse': the interval of the paired difference excludes zero. "
                 "Shares are of all trusts; pp = percentage points; the indices run from 0 to 1.</p>")
    else:
        says = f"<h3>What the results say (month {d.month})</h3>" + "".join(
            single_scenario_sentences(d.table, month=d.month))
    notes = "".join(f'<p class="caveat">{n}</p>' for n in d.notes)
    return (f'<section id="summary"><h2>Summary</h2><h3>What was compared</h3><ul>{items}</ul>{what}{notes}'
            f"{says}</section>")


def important_parameters(d: ReportData, k: int = TOP_ASSUMPTIONS) -> tuple[list[str], str]:
    """The effect sizes that matter most and how they were chosen."""
    th = d.theory
    if d.extras.sensitivity is not None:
        ind = pd.read_parquet(d.extras.sensitivity / "indices.parquet")
        metric = "mean_quality" if "mean_quality" in set(ind["metric"]) else str(ind["metric"].iloc[0])
        month = int(ind[ind["metric"] == metric]["month"].max())
        top = ind[(ind["metric"] == metric) & (ind["month"] == month)].sort_values("rank").head(k)
        method = str(ind["method"].iloc[0]) if "method" in ind else "sensitivity"
        what = f"{outcome_for(metric).label.lower()} at month {month}"
        return [str(p) for p in top["parameter"]], (f"the {len(top)} most influential for {what} in the {method} "
                                                    "sensitivity analysis")
    if th is None:
        return [], ""
    edges = [th.params[f"edge.{e.name}.weight"] for e in th.edges]
    edges.sort(key=lambda p: (p.high - p.low), reverse=True)
    return [p.name for p in edges[:k]], (f"the {min(k, len(edges))} arrows of the causal web with the widest declared "
                                         "ranges (no sensitivity analysis in this experiment)")


def section_assumptions(d: ReportData) -> str:
    """The theory file, key effect sizes with sources, the scenarios' overrides."""
    from analysis.sensitivity import describe_param

    th = d.theory
    manifest = d.exp.manifest
    theories = manifest.get("theories") or {}
    rec: dict[str, Any] = next(iter(theories.values()), {}) if theories else {}
    sha = str((rec.get("file_hashes") or {}).get("theory", ""))
    parts = [f"<p>Theory: <code>{html.escape(str(rec.get('path', '?')))}</code> "
             f"({html.escape(str(rec.get('name', '')))}; sha256 {sha[:12]}"
             f"){'; the scenarios use ' + str(len(theories)) + ' different theories' if len(theories) > 1 else ''}. "
             "Every effect size has a default, a declared range and a source in that file.</p>"]
    names, how = important_parameters(d)
    if names and th is not None:
        rows = []
        for name in names:
            if name not in th.params:
                continue
            p = th.params[name]
            src = p.source.strip() or "assumption"
            rows.append(f"<tr><td>{html.escape(describe_param(name))}<br><code>{html.escape(name)}</code></td>"
                        f"<td>{th.v(name):.3g}</td><td>[{p.low:.3g}, {p.high:.3g}]</td>"
                        f"<td class='source'>{html.escape(src)}</td></tr>")
        parts.append(f"<p>The effect sizes that matter most: {html.escape(how)}.</p>"
                     '<table class="partnersim-table assumptions"><tr><th>assumption</th><th>value used</th>'
                     f"<th>declared range</th><th>source</th></tr>{''.join(rows)}</table>")
    overrides = []
    for s in manifest["scenarios"]:
        res = s.get("resolved") or {}
        unc = (res.get("uncertainties") or {}) if isinstance(res, dict) else {}
        for key, val in (unc.get("effect_overrides") or {}).items():
            overrides.append(f"<li>{html.escape(s['name'])}: {html.escape(describe_param(key))} "
                             f"(<code>{html.escape(key)}</code>) = {val}</li>")
        for shock in ("workforce_shock", "financial_squeeze"):
            size = (unc.get(shock) or {}).get("size", 0)
            if size:
                overrides.append(f"<li>{html.escape(s['name'])}: {shock.replace('_', ' ')} of size {size}</li>")
    if overrides:
        parts.append(f"<p>Assumptions set by the scenarios themselves:</p><ul>{''.join(overrides)}</ul>")
    return f'<section id="assumptions"><h2>Assumptions behind the results</h2>{"".join(parts)}</section>'


def _wrap_legend(fig: Figure, *, ncols: int) -> None:
    """Redraw a figure-level legend in ``ncols`` columns (scenario names are long; a small figure clips them)."""
    if not fig.legends:
        return
    old = fig.legends[0]
    handles = [h for h in old.legend_handles if h is not None]
    labels = [t.get_text() for t in old.get_texts()]
    if len(labels) <= ncols:
        return
    old.remove()
    fig.legend(handles, labels, loc="outside lower center", ncols=ncols, fontsize=8)


def section_trajectories(d: ReportData) -> str:
    """One figure per outcome: median and bands per scenario."""
    from analysis import plots

    figs = []
    for metric in HEADLINE:
        if metric not in set(d.exp.series["metric"].astype(str)):
            continue
        out = outcome_for(metric)
        fig = plots.trajectories(d.exp.series, [metric], labels={metric: out.label}, start=d.start)
        fig.suptitle("")  # the panel title names the outcome; the caption explains the bands
        fig.set_size_inches(5.6, 3.9 + 0.18 * max(0, len(d.exp.scenarios) - 2))
        _wrap_legend(fig, ncols=2)
        figs.append(figure_html(fig, alt=f"{out.label} ({UNITS[out.kind]}) over time: median, 50% and 90% bands "
                                         "across replicates", name=f"trajectory-{metric}", dpi=90))
    return (f'<section id="trajectories"><h2>Outcomes over time</h2><p>Each line is the median over replicates; the '
            f'darker band holds the middle 50% of replicates, the lighter band 90%.</p><div class="grid">'
            f'{"".join(figs)}</div></section>')


def section_differences(d: ReportData) -> str:
    """The comparison table at every month and the difference trajectories."""
    from analysis import plots

    scen = [str(s) for s in d.exp.scenarios]
    parts = [comparison_html_table(d.table)]
    if len(scen) > 1:
        metrics = [m for m in HEADLINE if m in set(d.exp.series["metric"].astype(str))]
        fig = plots.difference_trajectories(d.exp.series, scen[0], metrics,
                                            labels={m: outcome_for(m).label for m in metrics}, start=d.start)
        parts.append(figure_html(fig, alt=f"Paired differences from {scen[0]} over time: mean, 95% interval and the "
                                          "5-95% range of replicate differences", name="differences", dpi=85))
        title, intro = "Differences from the baseline", (
            f"Mean and interval per scenario, and the difference from <b>{html.escape(scen[0])}</b> paired by "
            "replicate. n = the replicates (or pairs) an interval rests on.")
    else:
        title, intro = "Outcomes by month", "Mean and interval over replicates."
    return f'<section id="differences"><h2>{title}</h2><p>{intro}</p>{"".join(parts)}</section>'


def partnership_counts(logs: pd.DataFrame, scenarios: Sequence[str]) -> pd.DataFrame:
    """Per scenario: partnerships formed, dissolved and completed per replicate (mean), and formed by type."""
    rows = []
    for scen in scenarios:
        sub = logs[logs["scenario"].astype(str) == scen] if len(logs) else logs
        reps = max(int(sub["replicate"].nunique()) if len(sub) else 0, 1)
        row: dict[str, Any] = {"scenario": scen, "formed": len(sub) / reps}
        if len(sub):
            reason = sub["end_reason"].astype(str)
            row["dissolved"] = float((reason == "inertia").sum()) / reps
            row["completed"] = float((reason == "recovered").sum()) / reps
            row["mandated"] = float(sub["mandated"].astype(bool).sum()) / reps
            for t, n in sub["type"].astype(str).value_counts().items():
                row[f"type:{t}"] = n / reps
        rows.append(row)
    return pd.DataFrame(rows).fillna(0.0)


def section_partnerships(d: ReportData) -> str:
    """Partnerships formed, dissolved and by type; over time."""
    from analysis import plots
    from analysis.diagrams import label

    logs = d.exp.partnerships
    scen = [str(s) for s in d.exp.scenarios]
    counts = partnership_counts(logs, scen)
    types = [c for c in counts.columns if c.startswith("type:")]
    head = ("<tr><th>scenario</th><th>formed</th><th>of which mandated</th><th>dissolved (inertia)</th>"
            "<th>ended on recovery</th>" + "".join(f"<th>{html.escape(label(c[5:]))} formed</th>" for c in types)
            + "</tr>")
    rows = "".join(
        f"<tr><td>{html.escape(r['scenario'])}</td><td>{r['formed']:.1f}</td><td>{r.get('mandated', 0):.1f}</td>"
        f"<td>{r.get('dissolved', 0):.1f}</td><td>{r.get('completed', 0):.1f}</td>"
        + "".join(f"<td>{r[c]:.1f}</td>" for c in types) + "</tr>" for _, r in counts.iterrows())
    fig = plots.partnerships_over_time(d.exp.series, start=d.start)
    return ('<section id="partnerships"><h2>Partnerships formed, dissolved and by type</h2>'
            "<p>Per replicate over the whole run (mean over replicates): partnerships formed, how many were imposed "
            "by policy, how many dissolved under collaborative inertia and how many mandated supports ended "
            "because the supported trust recovered; then the partnerships formed by type.</p>"
            f'<table class="partnersim-table">{head}{rows}</table>'
            + figure_html(fig, alt="Active partnerships by type and by phase over time (mean over replicates)",
                          name="partnerships", dpi=85) + "</section>")


def section_cmoc(d: ReportData) -> str:
    """Realist context-mechanism-outcome tables from the partnership logs (when there are partnerships)."""
    logs = d.exp.partnerships
    if d.extras.cmoc is None and (d.theory is None or not len(logs)):
        return ""
    try:
        from analysis.realist import cmoc_html, cmoc_tables, load_cmoc

        if d.extras.cmoc is not None:  # saved by `partnersim cmoc` (paired against the baseline)
            tables = load_cmoc(d.extras.cmoc)
        else:
            assert d.theory is not None
            tables = cmoc_tables(logs, d.theory, by_scenario=len(d.exp.scenarios) > 1)
        body = cmoc_html(tables)
    except Exception as exc:  # noqa: BLE001 - an optional section: say why it is missing, keep the report
        return (f'<section id="cmoc"><h2>What works, for whom, in what circumstances</h2><p class="caveat">The '
                f"context-mechanism-outcome tables could not be computed ({html.escape(type(exc).__name__)}: "
                f"{html.escape(str(exc))}).</p></section>")
    return ('<section id="cmoc"><h2>What works, for whom, in what circumstances</h2>'
            "<p>Realist context-mechanism-outcome (CMOC) tables from the logs of every partnership formed: how trust, "
            "confidence, faith and collaborative behaviour developed, and how members' outcomes changed, by the "
            f"circumstances the partnership started in. Flagged rows are demi-regularities.</p>{body}</section>")


def section_pathways(d: ReportData) -> str:
    """Pathway attribution saved by ``partnersim pathways``, when present."""
    if d.extras.pathways is None:
        return ""
    from analysis.pathways import load_pathways, pathways_html

    return ('<section id="pathways"><h2>Which pathways carry the effect</h2><p>Each policy\'s effect split by the '
            "routes of the causal web it travels (blocking one pathway at a time under common random numbers). "
            f"Folder: <code>{html.escape(str(d.extras.pathways))}</code>.</p>"
            f"{pathways_html(load_pathways(d.extras.pathways))}</section>")


def section_validation(d: ReportData) -> str:
    """The validation table saved by ``partnersim validate-theory``, when present."""
    if d.extras.validation is None:
        return ""
    from analysis.validation import load_validation, validation_html

    return ('<section id="validation"><h2>How the model compares with the evidence</h2>'
            f"<p>Folder: <code>{html.escape(str(d.extras.validation))}</code>.</p>"
            f"{validation_html(load_validation(d.extras.validation))}</section>")


def sensitivity_index(folder: Path | None) -> dict[str, float]:
    """Total-order index per parameter (mean_quality at its last month when present) for shading the web."""
    if folder is None:
        return {}
    ind = pd.read_parquet(folder / "indices.parquet")
    if "ST" not in ind:
        return {}
    metric = "mean_quality" if "mean_quality" in set(ind["metric"]) else str(ind["metric"].iloc[0])
    sub = ind[ind["metric"] == metric]
    sub = sub[sub["month"] == sub["month"].max()]
    return {str(r["parameter"]): float(r["ST"]) for _, r in sub.iterrows()}


def _st_what(folder: Path | None) -> str:
    """Which output and month the web's shading refers to."""
    if folder is None:
        return ""
    ind = pd.read_parquet(folder / "indices.parquet", columns=["metric", "month"])
    metric = "mean_quality" if "mean_quality" in set(ind["metric"]) else str(ind["metric"].iloc[0])
    month = int(ind[ind["metric"] == metric]["month"].max())
    return f"{outcome_for(metric).label.lower()} at month {month}"


def section_web(d: ReportData) -> str:
    """The causal web diagram."""
    from analysis.diagrams import causal_web_figure

    if d.theory is None:
        return ('<section id="web"><h2>The causal web</h2><p>The theory files of this experiment could not be read, '
                "so the diagram is left out.</p></section>")
    st = sensitivity_index(d.extras.sensitivity)
    fig = causal_web_figure(d.theory, sensitivity=st or None)
    text = ("How the theory says partnering works: partnership types act on structural domains, which change how "
            "people work together, which drives quality, finances and access. Arrow labels are effect weights.")
    if st:
        text += (f" Shading: the total-order sensitivity index (ST) of {html.escape(_st_what(d.extras.sensitivity))} "
                 "from the sensitivity analysis: how much of that outcome's uncertainty each assumption accounts "
                 "for, alone and together with others.")
    return (f'<section id="web"><h2>The causal web</h2><p>{text}</p>'
            + figure_html(fig, alt="The causal web: domains by tier, arrows labelled by effect weight"
                          + (", shaded by total-order index" if st else ""), name="causal-web", dpi=90)
            + "</section>")


def section_sensitivity(d: ReportData) -> str:
    """Sensitivity results, when the experiment folder holds them."""
    folder = d.extras.sensitivity
    if folder is None:
        return ""
    ind = pd.read_parquet(folder / "indices.parquet")
    info = json.loads((folder / "manifest.json").read_text()) if (folder / "manifest.json").is_file() else {}
    method = str(info.get("method") or (ind["method"].iloc[0] if "method" in ind else "?"))
    from analysis.sensitivity import RANK_INDEX

    key = RANK_INDEX.get(method, "ST")
    parts = [f"<p>Method: <b>{html.escape(method)}</b>, {info.get('points', '?')} design points, "
             f"{info.get('reps', '?')} replicate(s) each; parameters ranked by <b>{key}</b>. Folder: "
             f"<code>{html.escape(str(folder))}</code>.</p>"]
    for (metric, month), sub in ind.groupby(["metric", "month"], sort=True):
        top = sub.sort_values("rank").head(TOP_ASSUMPTIONS)
        conf = f"{key}_conf" if f"{key}_conf" in top else None
        rows = "".join(
            f"<tr><td>{int(r['rank'])}</td><td>{html.escape(str(r.get('label', r['parameter'])))}<br>"
            f"<code>{html.escape(str(r['parameter']))}</code></td><td>{r[key]:.3f}"
            f"{' ± ' + format(r[conf], '.3f') if conf else ''}</td><td>{html.escape(str(r.get('group', '')))}</td></tr>"
            for _, r in top.iterrows())
        parts.append(f'<table class="partnersim-table"><caption>{html.escape(outcome_for(str(metric)).label)} at month '
                     f"{int(month)}</caption><tr><th>rank</th><th>assumption</th><th>{key}</th><th>pathway</th></tr>"
                     f"{rows}</table>")
    for w in info.get("warnings", [])[:6]:
        parts.append(f'<p class="caveat">{html.escape(str(w))}</p>')
    figs = sorted((folder / "figures").glob("*.png")) if (folder / "figures").is_dir() else []
    parts.append('<div class="grid">' + "".join(png_file_html(p, alt=f"Sensitivity: {p.stem.replace('_', ' ')}",
                                                              name=f"sensitivity-{p.stem}") for p in figs[:6])
                 + "</div>")
    return ('<section id="sensitivity"><h2>Which assumptions matter (sensitivity analysis)</h2>'
            f'{"".join(parts)}</section>')


def section_discovery(d: ReportData) -> str:
    """Scenario discovery results, when present."""
    folder = d.extras.discovery
    if folder is None:
        return ""
    info = json.loads((folder / "discovery.json").read_text())
    parts = [f"<p>Criterion: the policy fails when <b>{html.escape(str(info.get('criterion_words', '?')))}</b>. "
             f"It failed at {info.get('failures', '?')} of {info.get('points', '?')} sampled sets of assumptions.</p>"]
    for name, title in (("prim_box", "PRIM box"), ("cart_boxes", "CART leaves that predict failure")):
        path = folder / f"{name}.parquet"
        if not path.is_file():
            continue
        boxes = pd.read_parquet(path)
        restricted = boxes[boxes["restrict_low"] | boxes["restrict_high"]] if len(boxes) else boxes
        rows = "".join(
            f"<tr><td>{int(r['box'])}</td><td>{html.escape(str(r['label']))}<br><code>{html.escape(str(r['parameter']))}"
            f"</code></td><td>{r['min']:.3g} to {r['max']:.3g}</td><td>{r['coverage']:.0%}</td><td>{r['density']:.0%}"
            "</td></tr>" for _, r in restricted.iterrows())
        parts.append(f'<table class="partnersim-table"><caption>{title}</caption><tr><th>box</th><th>assumption</th>'
                     f"<th>range in the box</th><th>coverage</th><th>density</th></tr>{rows}</table>")
    parts.append("<p class='note'>Coverage: share of all failures inside the box. Density: share of the runs in the "
                 "box that fail.</p>")
    figs = sorted((folder / "figures").glob("*.png")) if (folder / "figures").is_dir() else []
    parts.append('<div class="grid">' + "".join(png_file_html(p, alt=f"Discovery: {p.stem.replace('_', ' ')}",
                                                              name=f"discovery-{p.stem}") for p in figs[:4]) + "</div>")
    return ('<section id="discovery"><h2>When does the policy fail? (scenario discovery)</h2>'
            f'{"".join(parts)}</section>')


def section_provenance(d: ReportData) -> str:
    """Versions, commit, seeds, dates."""
    m = d.exp.manifest
    versions = m.get("versions") or {}
    git = m.get("git") or {}
    seeds = m.get("seeds") or []
    shown = ", ".join(str(s) for s in seeds[:5]) + (f" … ({len(seeds)} in all)" if len(seeds) > 5 else "")
    commands = [" ".join(map(str, s.get("command") or [])) for s in m.get("sessions") or []]
    rows = [("experiment", f"<code>{html.escape(str(d.path))}</code> ({html.escape(str(m.get('id', '')))}, "
                           f"status {html.escape(str(m.get('status', '?')))})"),
            ("ran", f"{html.escape(str(m.get('created', '?')))} to {html.escape(str(m.get('finished', '?')))}"),
            ("command", "<br>".join(f"<code>{html.escape(c)}</code>" for c in commands) or "?"),
            ("git commit", html.escape(str(git.get("commit", "?"))) + (" (uncommitted changes)" if git.get("dirty")
                                                                       else "")),
            ("seeds", f"master seed {m.get('master_seed', '?')}; replicate seeds {html.escape(shown)}"),
            ("runs", f"{d.counts['ok']} finished, {d.counts['failed']} failed, {d.counts['missing']} not run, "
                     f"of {d.counts['planned']} planned"),
            ("versions", html.escape(", ".join(f"{k} {v}" for k, v in versions.items()))),
            ("report", f"written {dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M UTC')} by partnersim "
                       f"{html.escape(_version())} (Python {sys.version.split()[0]})")]
    body = "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows)
    return f'<footer id="provenance"><h2>Provenance</h2><table class="provenance">{body}</table></footer>'


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("partnersim")
    except Exception:  # noqa: BLE001
        return "?"


CSS = """
body { font-family: -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color: #1f2328;
  max-width: 1120px; margin: 0 auto; padding: 24px 28px 60px; line-height: 1.5; background: #fff; }
h1 { font-size: 1.8rem; margin: 0 0 4px; } h2 { border-bottom: 2px solid #d0d7de; padding-bottom: 4px;
  margin-top: 40px; } h3 { margin: 20px 0 6px; }
.subtitle { color: #57606a; margin: 0 0 20px; }
nav { background: #f6f8fa; border: 1px solid #d0d7de; border-radius: 6px; padding: 8px 14px; font-size: .92rem; }
nav a { margin-right: 14px; color: #0969da; text-decoration: none; }
.better { color: #1a7f37; font-weight: 600; } .worse { color: #b42318; font-weight: 600; } .unclear { color: #57606a; }
.note { color: #57606a; font-size: .92rem; }
.caveat { background: #fff8c5; border-left: 4px solid #d4a72c; padding: 8px 12px; }
table.partnersim-table { border-collapse: collapse; font-size: .9rem; margin: 10px 0 22px; }
table.partnersim-table caption { text-align: left; font-weight: 600; padding: 4px 0; }
table.partnersim-table th, table.partnersim-table td { padding: 4px 10px; border-bottom: 1px solid #e5e7eb;
  text-align: right; vertical-align: top; }
table.partnersim-table th:nth-child(-n+2), table.partnersim-table td:nth-child(-n+2) { text-align: left; }
table.assumptions td.source { text-align: left; max-width: 460px; color: #424a53; }
table.provenance { font-size: .85rem; border-collapse: collapse; } table.provenance th { text-align: left;
  padding: 3px 12px 3px 0; vertical-align: top; color: #57606a; } table.provenance td { padding: 3px 0; }
figure { margin: 10px 0 18px; } figure img { max-width: 100%; height: auto; border: 1px solid #eaeef2; }
figcaption { font-size: .85rem; color: #57606a; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(460px, 1fr)); gap: 8px 18px; }
code { font-size: .85em; background: #f6f8fa; padding: 1px 4px; border-radius: 4px; }
footer { margin-top: 40px; }
.cmoc, .pathways, .validation { overflow-x: auto; }
.cmoc table, .pathways table, .validation table { border-collapse: collapse; font-size: .8rem; margin: 6px 0 16px; }
.cmoc th, .cmoc td, .pathways th, .pathways td, .validation th, .validation td { padding: 3px 8px;
  border-bottom: 1px solid #e5e7eb; text-align: right; vertical-align: top; }
.cmoc td { white-space: nowrap; } .validation td:nth-child(-n+2) { text-align: left; }
.pathways td:first-child { text-align: left; }
.cmoc tr.flagged { background: #fff8c5; } small { color: #57606a; }
"""


def render(d: ReportData) -> str:
    """The whole report as one HTML string."""
    scen = [str(s) for s in d.exp.scenarios]
    title = f"{', '.join(scen[1:])} vs {scen[0]}" if len(scen) > 1 else scen[0]
    sections = [section_summary(d), section_assumptions(d), section_trajectories(d), section_differences(d),
                section_partnerships(d), section_cmoc(d), section_pathways(d), section_web(d),
                section_sensitivity(d), section_discovery(d), section_validation(d)]
    links = [("summary", "Summary"), ("assumptions", "Assumptions"), ("trajectories", "Outcomes over time"),
             ("differences", "Differences" if len(scen) > 1 else "By month"), ("partnerships", "Partnerships")]
    if len(d.exp.partnerships) or d.extras.cmoc is not None:
        links.append(("cmoc", "What works for whom"))
    if d.extras.pathways is not None:
        links.append(("pathways", "Pathways"))
    links.append(("web", "Causal web"))
    for what, words in (("sensitivity", "Sensitivity"), ("discovery", "Discovery"), ("validation", "Evidence")):
        if getattr(d.extras, what) is not None:
            links.append((what, words))
    links.append(("provenance", "Provenance"))
    nav = "<nav>" + "".join(f'<a href="#{a}">{t}</a>' for a, t in links) + "</nav>"
    return ("<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
            "<meta http-equiv='Content-Security-Policy' content=\"default-src 'none'; img-src data:; "
            "style-src 'unsafe-inline'\">"
            f"<meta name='viewport' content='width=device-width, initial-scale=1'><title>partnersim: "
            f"{html.escape(title)}</title><style>{CSS}</style></head><body>"
            f"<h1>NHS provider partnerships: {html.escape(title)}</h1>"
            f"<p class='subtitle'>partnersim simulation report · {len(scen)} scenario(s) · experiment "
            f"{html.escape(str(d.exp.manifest.get('id', d.path.name)))}</p>{nav}"
            + "".join(sections) + section_provenance(d) + "</body></html>\n")


def write_report(experiment: str | Path, output: str | Path | None = None, *, month: int | None = None,
                 extras: Mapping[str, str | Path | None] | None = None) -> Path:
    """Read an experiment folder and write its HTML report; return the file's path.

    Args:
        experiment: the experiment folder.
        output: the HTML file (default: ``report.html`` in the experiment folder).
        month: the month the summary speaks about.
        extras: output folders of other analyses (see :func:`load_report_data`).
    """
    import matplotlib

    matplotlib.use("Agg")
    data = load_report_data(experiment, month=month, extras=extras)
    out = Path(output) if output is not None else data.path / "report.html"
    if not out.parent.is_dir():
        raise UserError(f"cannot write {out}: the folder {out.parent} does not exist")
    text = render(data)
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(out)
    return out


def command(args: Any) -> int:
    """``partnersim report``: write the report and say where it is."""
    extras = {what: getattr(args, what, None) for what in MARKERS}
    out = write_report(args.experiment, args.output, month=args.month, extras=extras)
    size = out.stat().st_size / 1e6
    print(f"report written to {out} ({size:.1f} MB, self-contained: open it in any browser, no network needed)")
    return 0
