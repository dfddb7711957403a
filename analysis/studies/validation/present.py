"""The validation table as plain text (the CLI) and as an HTML fragment (the report)."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

import numpy as np

from analysis.studies.validation.checks import _fmt
from analysis.studies.validation.run import ValidationResult

# pandas: imported by the functions that build or read tables, not with the module, so a run's
# workers are forked without it (tests/test_architecture.py)
if TYPE_CHECKING:
    import pandas as pd


# -- presentation ---------------------------------------------------------------------------------
def format_table(result: ValidationResult) -> str:
    """A plain-text table: check, evidence, model, band, result; checks that hold by construction apart."""
    lines = [f"Theory {result.theory}; {len(result.seeds)} replicates; {result.status()}", ""]
    head = f"{'check':<32}{'evidence':<34}{'model':>10}  {'band':<22}{'result'}"

    def rows(t: pd.DataFrame) -> list[str]:
        out = []
        for _, r in t.iterrows():
            ci = f" [{_fmt(r['ci_low'])}, {_fmt(r['ci_high'])}]" if np.isfinite(r["ci_low"]) else ""
            out.append(
                f"{r['check']:<32}{str(r['evidence'])[:33]:<34}{r['model']:>10}  {r['band']:<22}{r['result']}{ci}"
            )
        return out

    lines += ["Emergent checks (counted):", head, "-" * len(head), *rows(result.emergent)]
    if len(result.by_construction):
        lines += [
            "",
            "By construction (an input was set from the same evidence, or the value is a function of "
            "parameters alone; not counted):",
            head,
            "-" * len(head),
            *rows(result.by_construction),
        ]
    return "\n".join(lines)


def validation_html(result: ValidationResult, *, compare: ValidationResult | None = None) -> str:
    """An HTML fragment for the report's "How well does the theory match the evidence" section.

    With ``compare``, a second model column (e.g. the uncalibrated theory) is shown beside.
    """
    t = result.table
    e = html.escape
    cols = ["claim", "evidence (source)", "model", "pass band", "result"]
    if compare is not None:
        cols += [f"model: {compare.theory}", "result"]
    out = [
        '<div class="validation">',
        f"<p>{e(result.status())} for theory {e(result.theory)} over {len(result.seeds)} "
        "replicates with common random numbers. Checks marked <em>by construction</em> compare the evidence with "
        "an input that was set from it (or a function of parameters alone), so they are shown but not counted. "
        "Each check states which model quantity corresponds to the "
        "evidence; intervals are 95% across replicates.</p>",
        "<table><thead><tr>" + "".join(f"<th>{e(c)}</th>" for c in cols) + "</tr></thead><tbody>",
    ]
    other = compare.table.set_index("check") if compare is not None else None
    for _, r in t.iterrows():
        ci = f" <small>[{_fmt(r['ci_low'])}, {_fmt(r['ci_high'])}]</small>" if np.isfinite(r["ci_low"]) else ""
        basis = "" if r["basis"] == "emergent" else " <small>(by construction)</small>"
        cells = [
            f'<td title="{e(r["mapping"])}">{e(r["title"])}{basis}</td>',
            f"<td>{e(str(r['evidence']))} <small>({e(r['source'])})</small></td>",
            f"<td>{e(r['model'])}{ci} <small>{e(r['unit'])}</small></td>",
            f"<td>{e(r['band'])}</td>",
            f'<td class="{e(r["result"].replace(" ", "-"))}">{e(r["result"])}</td>',
        ]
        if other is not None:
            o = other.loc[r["check"]] if r["check"] in other.index else None
            cells += [
                f"<td>{e(o['model']) if o is not None else ''}</td>",
                f"<td>{e(o['result']) if o is not None else ''}</td>",
            ]
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</tbody></table>")
    out.append(
        "<h4>Not tested, and why</h4><ul>"
        + "".join(f"<li>{e(f)}: {e(w)}</li>" for f, w in result.not_tested.itertuples(index=False))
        + "</ul></div>"
    )
    return "\n".join(out)
