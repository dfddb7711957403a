"""A pathway attribution for people: a waterfall figure, a text table, an HTML fragment; and loading."""

from __future__ import annotations

import html
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from analysis.studies.compare import outcome_for
from analysis.studies.pathways.attribute import PathwayResult, within_noise
from analysis.studies.pathways.routes import ARROW

# pandas: imported by the functions that build or read tables, not with the module, so a run's
# workers are forked without it (tests/test_architecture.py)
if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure


def waterfall_figure(table: pd.DataFrame, policy: str, outcome: str, horizon: int, *, unit: str = "") -> Figure:
    """A waterfall of one policy's effect on one outcome at one horizon.

    Bars: each pathway's contribution (with its 95% interval), the interaction remainder,
    and the total effect.
    """
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    sel = table[(table["policy"] == policy) & (table["outcome"] == outcome) & (table["horizon"] == horizon)]
    parts = sel[sel["kind"] == "pathway"].copy()
    parts = parts.reindex(parts["contribution"].abs().sort_values(ascending=False).index)
    rem = sel[sel["kind"] == "remainder"].iloc[0]
    tot = sel[sel["kind"] == "total"].iloc[0]
    labels = [_wrap(p) for p in parts["pathway"]] + ["interaction remainder", "total effect"]
    values = [*parts["contribution"].tolist(), float(rem["contribution"])]
    fig = Figure(figsize=(8.5, 0.5 * len(labels) + 1.8))
    ax = fig.add_subplot(1, 1, 1)
    left = 0.0
    for i, v in enumerate(values):
        color = "#9e9e9e" if i == len(values) - 1 else ("#2e7d32" if v >= 0 else "#c62828")
        ax.barh(i, v, left=left, color=color, height=0.6)
        row = parts.iloc[i] if i < len(parts) else rem
        if np.isfinite(row["ci_low"]):
            ax.errorbar(
                left + v,
                i,
                xerr=[[v - row["ci_low"]], [row["ci_high"] - v]],
                fmt="none",
                ecolor="black",
                capsize=3,
                lw=0.8,
            )
        left += v
    t = float(tot["contribution"])
    ax.barh(len(values), t, left=0.0, color="#1565c0", height=0.6)
    if np.isfinite(tot["ci_low"]):
        ax.errorbar(
            t,
            len(values),
            xerr=[[t - tot["ci_low"]], [tot["ci_high"] - t]],
            fmt="none",
            ecolor="black",
            capsize=3,
            lw=0.8,
        )
    ax.axvline(0, color="black", lw=0.6)
    ax.set_yticks(range(len(labels)))
    ax.set_yticklabels(labels, fontsize=8)
    ax.invert_yaxis()
    adds = "contributions add up" if bool(tot["adds_up"]) else "contributions do NOT add up"
    if total_is_noise(tot):
        adds = "total effect within noise"
    ax.set_title(f"{policy}: {outcome_for(outcome).label} at month {horizon} — {adds}", fontsize=10)
    ax.set_xlabel(f"paired difference from baseline{(' (' + unit + ')') if unit else ''}")
    fig.tight_layout()
    return fig


def _wrap(text: str, width: int = 48) -> str:
    if len(text) <= width:
        return text
    parts = text.split(ARROW)
    lines, cur = [], ""
    for p in parts:
        piece = p if not cur else cur + ARROW + p
        if len(piece) > width and cur:
            lines.append(cur + ARROW.rstrip())
            cur = p
        else:
            cur = piece
    lines.append(cur)
    return "\n".join(lines)


def total_is_noise(total: pd.Series) -> bool:
    """Whether a total row's effect is within the replicates' noise (its ``within_noise``, or from its interval)."""
    flag = total.get("within_noise")
    if flag is not None and not (isinstance(flag, float) and np.isnan(flag)):
        return bool(flag) if not isinstance(flag, str) else flag == "True"
    finite = bool(np.isfinite(total["ci_low"]) and np.isfinite(total["ci_high"]))
    return within_noise(
        float(total["contribution"]), float(total["ci_low"]), float(total["ci_high"]), 2 if finite else 1
    )


def noise_sentence(total: pd.Series, *, digits: int = 4) -> str:
    """Why the shares of a total within noise are not shown."""
    lo, hi = total["ci_low"], total["ci_high"]
    if np.isfinite(lo) and np.isfinite(hi) and not lo <= 0 <= hi:
        return (
            f"Shares not shown: the total effect ({total['contribution']:+.2g}) is negligible, below the attribution's "
            "bound for an effect near zero, so pathways that offset each other would take shares of it of hundreds "
            "or thousands of per cent (the contributions, in the outcome's units, stay)."
        )
    if np.isfinite(lo) and np.isfinite(hi):
        return (
            f"Shares not shown: the total effect's 95% interval across replicates "
            f"[{total['ci_low']:+.{digits}f}, {total['ci_high']:+.{digits}f}] includes zero, so the effect is within "
            "the replicates' noise and shares of it would mean nothing (the contributions, in the outcome's units, "
            "stay)."
        )
    return (
        "Shares not shown: with one replicate the noise of the total effect cannot be judged, so shares of it could "
        "mean nothing (run two or more replicates, --reps)."
    )


def format_table(result: PathwayResult, *, digits: int = 4) -> str:
    """A plain-text table of the attribution (for the terminal)."""
    t = result.table
    lines = []
    for (policy, outcome, horizon), sel in t.groupby(["policy", "outcome", "horizon"], sort=False):
        tot = sel[sel["kind"] == "total"].iloc[0]
        lines.append(
            f"\n{policy} — {outcome_for(str(outcome)).label}, month {horizon}: total {tot['contribution']:+.{digits}f} "
            f"[{tot['ci_low']:+.{digits}f}, {tot['ci_high']:+.{digits}f}]; "
            f"{'adds up' if tot['adds_up'] else 'does NOT add up'}"
        )
        noisy = total_is_noise(tot)
        if noisy:
            lines.append("  " + noise_sentence(tot, digits=digits))
        for _, r in sel[sel["kind"] != "total"].iterrows():
            share = "" if noisy or not np.isfinite(r["share"]) else f"{100 * r['share']:6.0f}%"
            lines.append(
                f"  {r['pathway'][:70]:<70} {r['contribution']:+.{digits}f} "
                f"[{r['ci_low']:+.{digits}f}, {r['ci_high']:+.{digits}f}] {share}"
            )
    return "\n".join(lines)


def pathways_html(result: PathwayResult, *, digits: int = 4) -> str:
    """An HTML fragment (tables only, no scripts) for the report: one table per policy × outcome."""
    t = result.table
    out = [
        '<div class="pathways">',
        f"<p>Pathway attribution ({html.escape(result.level)} level) over {len(result.seeds)} paired "
        f"replicates; intervals are 95% t intervals across replicates. Contributions add up when the "
        f"interaction remainder is within {100 * result.tolerance:.0f}% of the total.</p>",
    ]
    for (policy, outcome), sel in t.groupby(["policy", "outcome"], sort=False):
        hs = sorted(sel["horizon"].unique())
        out.append(f"<h4>{html.escape(str(policy))}: {html.escape(outcome_for(str(outcome)).label)}</h4>")
        out.append(
            "<table><thead><tr><th>pathway</th>" + "".join(f"<th>month {h}</th>" for h in hs) + "</tr></thead><tbody>"
        )
        order = list(dict.fromkeys(sel["pathway"]))
        for p in order:
            cells = []
            for h in hs:
                r = sel[(sel["pathway"] == p) & (sel["horizon"] == h)]
                if not len(r):
                    cells.append("<td></td>")
                    continue
                r = r.iloc[0]
                ci = (
                    ""
                    if not np.isfinite(r["ci_low"])
                    else f" <small>[{r['ci_low']:+.{digits}f}, {r['ci_high']:+.{digits}f}]</small>"
                )
                flag = ""
                if r["kind"] == "total":
                    flag = " ✓" if r["adds_up"] else " ✗ (does not add up)"
                    if total_is_noise(r):
                        flag += " (within noise)"
                cells.append(f"<td>{r['contribution']:+.{digits}f}{ci}{flag}</td>")
            out.append(f"<tr><td>{html.escape(str(p))}</td>{''.join(cells)}</tr>")
        out.append("</tbody></table>")
        totals = sel[sel["kind"] == "total"]
        noisy = [int(r["horizon"]) for _, r in totals.iterrows() if total_is_noise(r)]
        if noisy:
            out.append(
                f"<p><small>Within noise at month {', '.join(map(str, noisy))}: the total effect's interval "
                "includes zero (or there is one replicate), so no pathway's share of it is given.</small></p>"
            )
    out.append("</div>")
    return "\n".join(out)


def load_pathways(folder: str | Path) -> PathwayResult:
    """A pathway attribution saved by ``partnersim pathways`` (pathways.csv, routes.csv)."""
    import pandas as pd

    folder = Path(folder)
    table = pd.read_csv(folder / "pathways.csv")
    table["adds_up"] = table["adds_up"].map(
        lambda v: v if isinstance(v, bool) else (str(v) == "True") if str(v) in ("True", "False") else None
    )
    table["routes"] = table["routes"].fillna("")
    routes = pd.read_csv(folder / "routes.csv") if (folder / "routes.csv").exists() else pd.DataFrame()
    return PathwayResult(table=table, routes=routes, seeds=[], level="saved", tolerance=0.1)
