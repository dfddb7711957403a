"""The whole report: the sections in order, navigation, styles, provenance; written atomically."""

from __future__ import annotations

import datetime as dt
import html
import sys
from collections.abc import Mapping
from importlib.metadata import version
from pathlib import Path

from analysis.faces.report.data import ReportData, load_report_data, shown_path
from analysis.faces.report.sections import (
    section_assumptions,
    section_differences,
    section_partnerships,
    section_summary,
    section_trajectories,
)
from analysis.faces.report.studies import (
    section_cmoc,
    section_discovery,
    section_pathways,
    section_sensitivity,
    section_validation,
    section_web,
)
from analysis.store import atomic_text, check_output_file


def section_provenance(data: ReportData) -> str:
    """Versions, commit, seeds, dates."""
    m = data.exp.manifest
    versions = m.get("versions") or {}
    git = m.get("git") or {}
    seeds = m.get("seeds") or []
    shown = ", ".join(str(s) for s in seeds[:5]) + (f" … ({len(seeds)} in all)" if len(seeds) > 5 else "")
    commands = [" ".join(map(str, s.get("command") or [])) for s in m.get("sessions") or []]
    rows = [
        (
            "experiment",
            f"<code>{html.escape(shown_path(data.path))}</code> ({html.escape(str(m.get('id', '')))}, "
            f"status {html.escape(str(m.get('status', '?')))})",
        ),
        ("ran", f"{html.escape(str(m.get('created', '?')))} to {html.escape(str(m.get('finished', '?')))}"),
        ("command", "<br>".join(f"<code>{html.escape(c)}</code>" for c in commands) or "?"),
        (
            "git commit",
            html.escape(str(git.get("commit", "?"))) + (" (uncommitted changes)" if git.get("dirty") else ""),
        ),
        ("seeds", f"master seed {m.get('master_seed', '?')}; replicate seeds {html.escape(shown)}"),
        (
            "runs",
            f"{data.counts['ok']} finished, {data.counts['failed']} failed, {data.counts['missing']} not run, "
            f"of {data.counts['planned']} planned",
        ),
        ("versions", html.escape(", ".join(f"{k} {v}" for k, v in versions.items()))),
        (
            "report",
            f"written {dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M UTC')} by partnersim "
            f"{html.escape(_version())} (Python {sys.version.split()[0]})",
        ),
    ]
    body = "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows)
    return f'<footer id="provenance"><h2>Provenance</h2><table class="provenance">{body}</table></footer>'


def _version() -> str:
    try:
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
.table-box { max-width: 100%; overflow-x: auto; }
.horizons li { margin: 0 0 8px; } #headline { background: #f6f8fa; border: 1px solid #d0d7de; border-radius: 6px;
  padding: 2px 16px 4px; }
.cmoc, .pathways, .validation { max-width: 100%; overflow-x: auto; }
.cmoc table, .pathways table, .validation table { border-collapse: collapse; font-size: .8rem; margin: 6px 0 16px; }
.cmoc table { table-layout: fixed; width: 100%; }
.cmoc th, .cmoc td, .pathways th, .pathways td, .validation th, .validation td { padding: 3px 8px;
  border-bottom: 1px solid #e5e7eb; text-align: right; vertical-align: top; }
.cmoc th, .cmoc td { padding: 3px 4px; overflow-wrap: break-word; } .cmoc td small { display: block; }
.cmoc th { font-size: .72rem; } .cmoc th:last-child, .cmoc td:last-child { width: 11%; text-align: left; }
.validation td:nth-child(-n+2) { text-align: left; }
.pathways td:first-child { text-align: left; }
.cmoc tr.flagged { background: #fff8c5; } small { color: #57606a; }
"""


def render(data: ReportData) -> str:
    """The whole report as one HTML string."""
    scen = [str(s) for s in data.exp.scenarios]
    title = f"{', '.join(scen[1:])} vs {scen[0]}" if len(scen) > 1 else scen[0]
    sections = [
        section_summary(data),
        section_assumptions(data),
        section_trajectories(data),
        section_differences(data),
        section_partnerships(data),
        section_cmoc(data),
        section_pathways(data),
        section_web(data),
        section_sensitivity(data),
        section_discovery(data),
        section_validation(data),
    ]
    links = [
        ("summary", "Summary"),
        ("assumptions", "Assumptions"),
        ("trajectories", "Outcomes over time"),
        ("differences", "Differences" if len(scen) > 1 else "By month"),
        ("partnerships", "Partnerships"),
    ]
    if len(data.exp.partnerships) or data.extras.cmoc is not None:
        links.append(("cmoc", "What works for whom"))
    if data.extras.pathways is not None:
        links.append(("pathways", "Pathways"))
    links.append(("web", "Causal web"))
    for what, words in (("sensitivity", "Sensitivity"), ("discovery", "Discovery"), ("validation", "Evidence")):
        if getattr(data.extras, what) is not None:
            links.append((what, words))
    links.append(("provenance", "Provenance"))
    nav = "<nav>" + "".join(f'<a href="#{a}">{t}</a>' for a, t in links) + "</nav>"
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        "<meta http-equiv='Content-Security-Policy' content=\"default-src 'none'; img-src data:; "
        "style-src 'unsafe-inline'\">"
        f"<meta name='viewport' content='width=device-width, initial-scale=1'><title>partnersim: "
        f"{html.escape(title)}</title><style>{CSS}</style></head><body>"
        f"<h1>NHS provider partnerships: {html.escape(title)}</h1>"
        f"<p class='subtitle'>partnersim simulation report · {len(scen)} scenario(s) · experiment "
        f"{html.escape(str(data.exp.manifest.get('id', data.path.name)))}</p>{nav}"
        + "".join(sections)
        + section_provenance(data)
        + "</body></html>\n"
    )


def write_report(
    experiment: str | Path,
    output: str | Path | None = None,
    *,
    month: int | None = None,
    extras: Mapping[str, str | Path | None] | None = None,
) -> Path:
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
    out = check_output_file(output if output is not None else data.path / "report.html", force=True)
    return atomic_text(out, render(data))
