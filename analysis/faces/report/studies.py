"""The report's sections from the other studies, when their output folders are found or given.

Sensitivity, scenario discovery, pathway attribution, CMOC tables and validation, and the
causal web (shaded by sensitivity when there is one).
"""

from __future__ import annotations

import html
import json
from pathlib import Path

import pandas as pd

from analysis.faces.diagrams import causal_web_figure
from analysis.faces.report.data import ReportData, shown_path
from analysis.faces.report.fragments import figure_html, png_file_html
from analysis.faces.report.sections import TOP_ASSUMPTIONS
from analysis.studies.compare import outcome_for
from analysis.studies.pathways import load_pathways, pathways_html
from analysis.studies.realist import cmoc_html, cmoc_tables, load_cmoc
from analysis.studies.sensitivity import RANK_INDEX
from analysis.studies.validation import load_validation, validation_html


def section_cmoc(data: ReportData) -> str:
    """Realist context-mechanism-outcome tables from the partnership logs (when there are partnerships)."""
    logs = data.exp.partnerships
    if data.extras.cmoc is None and (data.theory is None or not len(logs)):
        return ""
    try:
        if data.extras.cmoc is not None:  # saved by `partnersim cmoc` (paired against the baseline)
            tables = load_cmoc(data.extras.cmoc)
        else:
            assert data.theory is not None
            tables = cmoc_tables(logs, data.theory, by_scenario=len(data.exp.scenarios) > 1)
        body = cmoc_html(tables)
    except Exception as exc:  # noqa: BLE001 - an optional section: say why it is missing, keep the report
        return (
            f'<section id="cmoc"><h2>What works, for whom, in what circumstances</h2><p class="caveat">The '
            f"context-mechanism-outcome tables could not be computed ({html.escape(type(exc).__name__)}: "
            f"{html.escape(str(exc))}).</p></section>"
        )
    return (
        '<section id="cmoc"><h2>What works, for whom, in what circumstances</h2>'
        "<p>Realist context-mechanism-outcome (CMOC) tables from the logs of every partnership formed: how trust, "
        "confidence, faith and collaborative behaviour developed, and how members' outcomes changed, by the "
        f"circumstances the partnership started in. Flagged rows are demi-regularities.</p>{body}</section>"
    )


def section_pathways(data: ReportData) -> str:
    """Pathway attribution saved by ``partnersim pathways``, when present."""
    if data.extras.pathways is None:
        return ""
    return (
        '<section id="pathways"><h2>Which pathways carry the effect</h2><p>Each policy\'s effect split by the '
        "routes of the causal web it travels (blocking one pathway at a time under common random numbers). "
        f"Folder: <code>{html.escape(shown_path(data.extras.pathways))}</code>.</p>"
        f"{pathways_html(load_pathways(data.extras.pathways))}</section>"
    )


def section_validation(data: ReportData) -> str:
    """The validation table saved by ``partnersim validate-theory``, when present."""
    if data.extras.validation is None:
        return ""
    return (
        '<section id="validation"><h2>How the model compares with the evidence</h2>'
        f"<p>Folder: <code>{html.escape(shown_path(data.extras.validation))}</code>.</p>"
        f"{validation_html(load_validation(data.extras.validation))}</section>"
    )


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


def section_web(data: ReportData) -> str:
    """The causal web diagram."""
    if data.theory is None:
        return (
            '<section id="web"><h2>The causal web</h2><p>The theory files of this experiment could not be read, '
            "so the diagram is left out.</p></section>"
        )
    st = sensitivity_index(data.extras.sensitivity)
    fig = causal_web_figure(data.theory, sensitivity=st or None)
    text = (
        "How the theory says partnering works: partnership types act on structural domains, which change how "
        "people work together, which drives quality, finances and access. Each arrow carries a number; the table "
        "beside the web names the arrow in words and gives its effect weight."
    )
    if st:
        text += (
            f" Shading: the total-order sensitivity index (ST) of {html.escape(_st_what(data.extras.sensitivity))} "
            "from the sensitivity analysis: how much of that outcome's uncertainty each assumption accounts "
            "for, alone and together with others."
        )
    return (
        f'<section id="web"><h2>The causal web</h2><p>{text}</p>'
        + figure_html(
            fig,
            alt="The causal web: domains by tier, arrows labelled by effect weight"
            + (", shaded by total-order index" if st else ""),
            name="causal-web",
            dpi=90,
        )
        + "</section>"
    )


def section_sensitivity(data: ReportData) -> str:
    """Sensitivity results, when the experiment folder holds them."""
    folder = data.extras.sensitivity
    if folder is None:
        return ""
    ind = pd.read_parquet(folder / "indices.parquet")
    info = json.loads((folder / "manifest.json").read_text()) if (folder / "manifest.json").is_file() else {}
    method = str(info.get("method") or (ind["method"].iloc[0] if "method" in ind else "?"))
    key = RANK_INDEX.get(method, "ST")
    parts = [
        f"<p>Method: <b>{html.escape(method)}</b>, {info.get('points', '?')} design points, "
        f"{info.get('reps', '?')} replicate(s) each; parameters ranked by <b>{key}</b>. Folder: "
        f"<code>{html.escape(str(folder))}</code>.</p>"
    ]
    for (metric, month), sub in ind.groupby(["metric", "month"], sort=True):
        top = sub.sort_values("rank").head(TOP_ASSUMPTIONS)
        conf = f"{key}_conf" if f"{key}_conf" in top else None
        rows = "".join(
            f"<tr><td>{int(r['rank'])}</td><td>{html.escape(str(r.get('label', r['parameter'])))}<br>"
            f"<code>{html.escape(str(r['parameter']))}</code></td><td>{r[key]:.3f}"
            f"{' ± ' + format(r[conf], '.3f') if conf else ''}</td><td>{html.escape(str(r.get('group', '')))}</td></tr>"
            for _, r in top.iterrows()
        )
        parts.append(
            f'<table class="partnersim-table"><caption>{html.escape(outcome_for(str(metric)).label)} at month '
            f"{int(month)}</caption><tr><th>rank</th><th>assumption</th><th>{key}</th><th>pathway</th></tr>"
            f"{rows}</table>"
        )
    for w in info.get("warnings", [])[:6]:
        parts.append(f'<p class="caveat">{html.escape(str(w))}</p>')
    figs = sorted((folder / "figures").glob("*.png")) if (folder / "figures").is_dir() else []
    parts.append(
        '<div class="grid">'
        + "".join(
            png_file_html(p, alt=f"Sensitivity: {p.stem.replace('_', ' ')}", name=f"sensitivity-{p.stem}")
            for p in figs[:6]
        )
        + "</div>"
    )
    return (
        f'<section id="sensitivity"><h2>Which assumptions matter (sensitivity analysis)</h2>{"".join(parts)}</section>'
    )


def section_discovery(data: ReportData) -> str:
    """Scenario discovery results, when present."""
    folder = data.extras.discovery
    if folder is None:
        return ""
    info = json.loads((folder / "discovery.json").read_text())
    parts = [
        f"<p>Criterion: the policy fails when <b>{html.escape(str(info.get('criterion_words', '?')))}</b>. "
        f"It failed at {info.get('failures', '?')} of {info.get('points', '?')} sampled sets of assumptions.</p>"
    ]
    if info.get("result_words"):  # fails everywhere or never: a finding, with no box to describe
        parts.append(f"<p><b>{html.escape(str(info['result_words']))}</b></p>")
    share, resamples = info.get("comparable_box_share"), info.get("resamples")
    if share is not None and resamples:
        parts.append(
            f"<p>Stability: a comparable PRIM box was found in {float(share):.0%} of {int(resamples)} bootstrap "
            "resamples of the points (a box found rarely may be an accident of this sample).</p>"
        )
    for name, title in (("prim_box", "PRIM box"), ("cart_boxes", "CART leaves that predict failure")):
        path = folder / f"{name}.parquet"
        if not path.is_file():
            continue
        boxes = pd.read_parquet(path)
        restricted = boxes[boxes["restrict_low"] | boxes["restrict_high"]] if len(boxes) else boxes
        rows = "".join(
            f"<tr><td>{int(r['box'])}</td><td>{html.escape(str(r['label']))}<br><code>{html.escape(str(r['parameter']))}"
            f"</code></td><td>{r['min']:.3g} to {r['max']:.3g}</td><td>{r['coverage']:.0%}</td><td>{r['density']:.0%}"
            "</td></tr>"
            for _, r in restricted.iterrows()
        )
        parts.append(
            f'<table class="partnersim-table"><caption>{title}</caption><tr><th>box</th><th>assumption</th>'
            f"<th>range in the box</th><th>coverage</th><th>density</th></tr>{rows}</table>"
        )
    parts.append(
        "<p class='note'>Coverage: share of all failures inside the box. Density: share of the runs in the "
        "box that fail.</p>"
    )
    figs = sorted((folder / "figures").glob("*.png")) if (folder / "figures").is_dir() else []
    parts.append(
        '<div class="grid">'
        + "".join(
            png_file_html(p, alt=f"Discovery: {p.stem.replace('_', ' ')}", name=f"discovery-{p.stem}") for p in figs[:4]
        )
        + "</div>"
    )
    return f'<section id="discovery"><h2>When does the policy fail? (scenario discovery)</h2>{"".join(parts)}</section>'
