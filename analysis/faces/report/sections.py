"""The report's sections on the experiment itself: summary, assumptions, outcomes, differences, partnerships."""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

from analysis.faces import plots
from analysis.faces.diagrams import label
from analysis.faces.report.data import ReportData, shown_path
from analysis.faces.report.fragments import (
    HEADLINE,
    comparison_html_table,
    figure_html,
    headline_sentences,
    horizon_html,
    single_scenario_sentences,
)
from analysis.studies.compare import outcome_for, outcome_title
from analysis.studies.sensitivity import describe_param
from analysis.studies.validation import load_validation

if TYPE_CHECKING:
    from matplotlib.figure import Figure

TOP_ASSUMPTIONS = 8


def section_summary(data: ReportData) -> str:
    """What was compared and what the results say."""
    manifest = data.exp.manifest
    scen = manifest["scenarios"]
    reps = int(data.exp.series.groupby("scenario", observed=True)["replicate"].nunique().max())
    months = int(data.exp.series["step"].max())
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
    items = "".join(
        f"<li><b>{html.escape(s['name'])}</b>{' (the baseline)' if i == 0 and len(scen) > 1 else ''}: "
        f"{html.escape(s.get('description', ''))}</li>"
        for i, s in enumerate(scen)
    )
    what = (
        f"<p>{'Compared' if len(scen) > 1 else 'Ran'} {len(scen)} scenario{'s' if len(scen) > 1 else ''} "
        f"on {pop}, {months} months from {html.escape(data.start or '?')}, {reps} replicate(s) each. Replicate r of "
        "every scenario uses the same random seed (common random numbers), so the differences between scenarios "
        "are paired: they come from the policy, not from chance.</p>"
    )
    if len(scen) > 1:
        found = headline_sentences(data.table, month=data.month)
        across = horizon_html(data.table)
        says = (
            '<div id="headline"><h3>Headline: the short, medium and long run</h3>'
            f"{across or '<p>(no months to speak of)</p>'}"
            "<p class='note'>Only differences that matter are named: the paired interval excludes zero and the "
            "difference is at least the outcome's minimum important difference (declared with its source in "
            "<code>scenarios/theory/units.toml</code>). CQC bands count trusts against the theory's quality lines; "
            "£m are the sector's surplus (+) or deficit (-) a year; pp = percentage points.</p></div>"
        )
        says += f"<h3>What the results say (month {data.month})</h3>" + "".join(found)
        says += (
            "<p class='note'>'better' or 'worse': the interval of the paired difference excludes zero and the "
            "difference is at least the minimum important difference; otherwise 'no material difference'. "
            "Shares are of all trusts; pp = percentage points; the indices run from 0 to 1.</p>"
        )
    else:
        says = f"<h3>What the results say (month {data.month})</h3>" + "".join(
            single_scenario_sentences(data.table, month=data.month)
        )
    notes = "".join(f'<p class="caveat">{n}</p>' for n in data.notes)
    evidence = evidence_sentence(data)
    return (
        f'<section id="summary"><h2>Summary</h2>{evidence}{notes}{says}<h3>What was compared</h3><ul>{items}</ul>'
        f"{what}</section>"
    )


def evidence_sentence(data: ReportData) -> str:
    """How many evidence checks the theory in force passes (from the saved validation), near the top."""
    if data.extras.validation is None:
        return (
            '<p class="evidence">The theory in force has not been checked against the evidence for this report '
            "(run <code>partnersim validate-theory</code>).</p>"
        )
    result = load_validation(data.extras.validation)
    cls = "evidence" if not result.failing else "evidence caveat"
    return (
        f'<p class="{cls}"><b>How far to trust these results:</b> {html.escape(result.status())} for the theory '
        f"{html.escape(result.theory)}. "
        '<a href="#validation">The checks, the evidence and the model\'s values</a> are at the end.</p>'
    )


def important_parameters(data: ReportData, k: int = TOP_ASSUMPTIONS) -> tuple[list[str], str]:
    """The effect sizes that matter most and how they were chosen."""
    th = data.theory
    if data.extras.sensitivity is not None:
        ind = pd.read_parquet(data.extras.sensitivity / "indices.parquet")
        metric = "mean_quality" if "mean_quality" in set(ind["metric"]) else str(ind["metric"].iloc[0])
        month = int(ind[ind["metric"] == metric]["month"].max())
        top = ind[(ind["metric"] == metric) & (ind["month"] == month)].sort_values("rank").head(k)
        method = str(ind["method"].iloc[0]) if "method" in ind else "sensitivity"
        what = f"{outcome_for(metric).label.lower()} at month {month}"
        return [str(p) for p in top["parameter"]], (
            f"the {len(top)} most influential for {what} in the {method} sensitivity analysis"
        )
    if th is None:
        return [], ""
    edges = [th.params[f"edge.{e.name}.weight"] for e in th.edges]
    edges.sort(key=lambda p: p.high - p.low, reverse=True)
    return [p.name for p in edges[:k]], (
        f"the {min(k, len(edges))} arrows of the causal web with the widest declared "
        "ranges (no sensitivity analysis in this experiment)"
    )


def section_assumptions(data: ReportData) -> str:
    """The theory file, key effect sizes with sources, the scenarios' overrides."""
    th = data.theory
    manifest = data.exp.manifest
    theories = manifest.get("theories") or {}
    rec: dict[str, Any] = next(iter(theories.values()), {}) if theories else {}
    sha = str((rec.get("file_hashes") or {}).get("theory", ""))
    parts = [
        f"<p>Theory: <code>{html.escape(shown_path(rec.get('path', '?')))}</code> "
        f"({html.escape(str(rec.get('name', '')))}; sha256 {sha[:12]}"
        f"){'; the scenarios use ' + str(len(theories)) + ' different theories' if len(theories) > 1 else ''}. "
        "Every effect size has a default, a declared range and a source in that file.</p>"
    ]
    names, how = important_parameters(data)
    if names and th is not None:
        rows = []
        for name in names:
            if name not in th.params:
                continue
            p = th.params[name]
            src = p.source.strip() or "assumption"
            rows.append(
                f"<tr><td>{html.escape(describe_param(name))}<br><code>{html.escape(name)}</code></td>"
                f"<td>{th.v(name):.3g}</td><td>[{p.low:.3g}, {p.high:.3g}]</td>"
                f"<td class='source'>{html.escape(src)}</td></tr>"
            )
        parts.append(
            f"<p>The effect sizes that matter most: {html.escape(how)}.</p>"
            '<table class="partnersim-table assumptions"><tr><th>assumption</th><th>value used</th>'
            f"<th>declared range</th><th>source</th></tr>{''.join(rows)}</table>"
        )
    overrides = []
    for s in manifest["scenarios"]:
        res = s.get("resolved") or {}
        unc = (res.get("uncertainties") or {}) if isinstance(res, dict) else {}
        for key, val in (unc.get("effect_overrides") or {}).items():
            overrides.append(
                f"<li>{html.escape(s['name'])}: {html.escape(describe_param(key))} "
                f"(<code>{html.escape(key)}</code>) = {val}</li>"
            )
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


def section_trajectories(data: ReportData) -> str:
    """One figure per outcome: median and bands per scenario."""
    figs = []
    for metric in HEADLINE:
        if metric not in set(data.exp.series["metric"].astype(str)):
            continue
        out = outcome_for(metric)
        fig = plots.trajectories(data.exp.series, [metric], labels={metric: outcome_title(metric)}, start=data.start)
        fig.suptitle("")  # the panel title names the outcome; the caption explains the bands
        fig.set_size_inches(5.6, 3.9 + 0.18 * max(0, len(data.exp.scenarios) - 2))
        _wrap_legend(fig, ncols=2)
        figs.append(
            figure_html(
                fig,
                alt=f"{out.label} ({out.units}) over time: median, 50% and 90% bands across replicates",
                name=f"trajectory-{metric}",
                dpi=90,
            )
        )
    return (
        f'<section id="trajectories"><h2>Outcomes over time</h2><p>Each line is the median over replicates; the '
        f'darker band holds the middle 50% of replicates, the lighter band 90%.</p><div class="grid">'
        f"{''.join(figs)}</div></section>"
    )


def section_differences(data: ReportData) -> str:
    """The comparison table at every month and the difference trajectories."""
    scen = [str(s) for s in data.exp.scenarios]
    parts = [comparison_html_table(data.table)]
    if len(scen) > 1:
        metrics = [m for m in HEADLINE if m in set(data.exp.series["metric"].astype(str))]
        fig = plots.difference_trajectories(
            data.exp.series, scen[0], metrics, labels={m: outcome_title(m) for m in metrics}, start=data.start
        )
        parts.append(
            figure_html(
                fig,
                alt=f"Paired differences from {scen[0]} over time: mean, 95% interval and the "
                "5-95% range of replicate differences",
                name="differences",
                dpi=85,
            )
        )
        title, intro = (
            "Differences from the baseline",
            (
                f"Mean and interval per scenario, and the difference from <b>{html.escape(scen[0])}</b> paired by "
                "replicate. n = the replicates (or pairs) an interval rests on."
            ),
        )
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


def section_partnerships(data: ReportData) -> str:
    """Partnerships formed, dissolved and by type; over time."""
    logs = data.exp.partnerships
    scen = [str(s) for s in data.exp.scenarios]
    counts = partnership_counts(logs, scen)
    types = [c for c in counts.columns if c.startswith("type:")]
    head = (
        "<tr><th>scenario</th><th>formed</th><th>of which mandated</th><th>dissolved (inertia)</th>"
        "<th>ended on recovery</th>" + "".join(f"<th>{html.escape(label(c[5:]))} formed</th>" for c in types) + "</tr>"
    )
    rows = "".join(
        f"<tr><td>{html.escape(r['scenario'])}</td><td>{r['formed']:.1f}</td><td>{r.get('mandated', 0):.1f}</td>"
        f"<td>{r.get('dissolved', 0):.1f}</td><td>{r.get('completed', 0):.1f}</td>"
        + "".join(f"<td>{r[c]:.1f}</td>" for c in types)
        + "</tr>"
        for _, r in counts.iterrows()
    )
    fig = plots.partnerships_over_time(data.exp.series, start=data.start)
    return (
        '<section id="partnerships"><h2>Partnerships formed, dissolved and by type</h2>'
        "<p>Per replicate over the whole run (mean over replicates): partnerships formed, how many were imposed "
        "by policy, how many dissolved under collaborative inertia and how many mandated supports ended "
        "because the supported trust recovered; then the partnerships formed by type.</p>"
        f'<table class="partnersim-table">{head}{rows}</table>'
        + figure_html(
            fig,
            alt="Active partnerships by type and by phase over time (mean over replicates)",
            name="partnerships",
            dpi=85,
        )
        + "</section>"
    )
