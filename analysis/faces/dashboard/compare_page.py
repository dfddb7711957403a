"""*Compare policies*: replicated runs of a baseline and policies in the background, with intervals.

The runs go through the project's runner (:mod:`analysis.faces.dashboard.jobs`) in a
background thread with a progress bar, and are kept under ``results/dashboard/compare/``;
then the headline across horizons (short run, year 5, year 10), and at a month the user picks the
sentences, the comparison table (outcomes in units people use first, with verdicts) and the figures.
"""

from __future__ import annotations

import html

import solara
import solara.lab

from analysis.faces.dashboard import jobs
from analysis.faces.dashboard.model import scenario_library
from analysis.faces.dashboard.state import (
    compare_baseline,
    compare_horizon,
    compare_policies,
    compare_progress,
    compare_replicates,
    library_version,
    theory_edits,
)
from analysis.faces.dashboard.widgets import FigureImage, PageFrame, note
from analysis.faces.report import comparison_html_table, headline_sentences, horizon_html
from analysis.studies.compare import MIN_REPLICATES

FIGURE_LABELS = {
    "trajectories": "Outcomes over time (median, 50% and 90% bands)",
    "differences": "Paired differences from the baseline",
    "partnerships": "Partnerships by type and phase",
}


@solara.lab.task(prefer_threaded=True)
def comparison_task(request: jobs.CompareRequest) -> jobs.CompareOutcome:
    """Run a comparison in a background thread, reporting progress."""

    def progress(done: int, total: int) -> None:
        compare_progress.set((done, total))
        comparison_task.progress = 100.0 * done / max(total, 1)

    return jobs.run_comparison(request, progress=progress)


def current_request() -> jobs.CompareRequest:
    """The comparison the controls describe (with the session's theory edits)."""
    policies = tuple(p for p in compare_policies.value if p != compare_baseline.value)
    return jobs.CompareRequest(
        compare_baseline.value,
        policies,
        int(compare_replicates.value),
        int(compare_horizon.value),
        tuple(sorted(theory_edits.value.items())),
    )


def start_comparison() -> None:
    """Start (or restart) the comparison in the background."""
    compare_progress.set((0, 0))
    comparison_task(current_request())


@solara.component
def CompareControls() -> None:
    """Baseline, policies, replicates, horizon and the run button."""
    library_version.get()  # a scenario saved on the Watch page joins the lists
    names = list(scenario_library())
    with solara.Card("Compare policies"):
        solara.Select(label="Baseline", value=compare_baseline.value, values=names, on_value=compare_baseline.set)
        solara.SelectMultiple(
            label="Policies to compare with it",
            values=compare_policies.value,
            all_values=[n for n in names if n != compare_baseline.value],
            on_value=compare_policies.set,
        )
        with solara.v.Html(tag="div", attributes={"data-param": "replicates"}):
            solara.SliderInt(
                label=f"Replicates per scenario: {compare_replicates.value}",
                value=compare_replicates.value,
                min=2,
                max=50,
                on_value=compare_replicates.set,
            )
        with solara.v.Html(tag="div", attributes={"data-param": "horizon"}):
            solara.SliderInt(
                label=f"Horizon: {compare_horizon.value} months",
                value=compare_horizon.value,
                min=12,
                max=120,
                step=12,
                on_value=compare_horizon.set,
            )
        runs = len(current_request().names) * compare_replicates.value
        solara.Button(
            f"Run the comparison ({runs} runs)",
            color="primary",
            on_click=start_comparison,
            disabled=comparison_task.pending or not current_request().policies,
        )
        if theory_edits.value:
            note(f"Uses the theory with {len(theory_edits.value)} value(s) edited on the Theory page.")


@solara.component
def CompareResults() -> None:
    """Progress while running; the summary, table and figures when done."""
    if comparison_task.pending:
        done, total = compare_progress.value
        solara.ProgressLinear(comparison_task.progress or True)
        text = (
            f"Running: {done} of {total} runs done…"
            if total and done < total
            else "Summarising: intervals and figures…"
            if total
            else "Preparing the runs…"
        )
        solara.HTML(
            tag="p", unsafe_innerHTML=f'<span data-testid="progress">{text}</span>', classes=["partnersim-note"]
        )
        return
    if comparison_task.error:
        solara.Error(f"The comparison failed: {comparison_task.exception}")
        return
    if not comparison_task.finished or comparison_task.value is None:
        note(
            "Choose a baseline and the policies to compare, then press <b>Run the comparison</b>. Replicate r "
            "of every scenario uses the same seed (common random numbers), so differences are paired and "
            "their intervals narrow."
        )
        return
    ComparisonSummary(comparison_task.value)


@solara.component
def ComparisonSummary(result: jobs.CompareOutcome) -> None:
    """Headline sentences and the table at a chosen month, then the figures and where it is stored."""
    req = result.request
    month = solara.use_reactive(max(result.horizons))
    shown = month.value if month.value in result.horizons else max(result.horizons)
    edited = f" under the edited theory ({len(req.edits)} values changed)" if req.edits else ""
    failed = f" {result.failed} run(s) failed and were left out." if result.failed else ""
    solara.HTML(tag="h3", unsafe_innerHTML=html.escape(f"{', '.join(req.policies)} vs {req.baseline}{edited}"))
    few = (
        f" With fewer than {MIN_REPLICATES} replicates the intervals are unreliable: use more for decisions."
        if req.replicates < MIN_REPLICATES
        else ""
    )
    note(f"{req.replicates} replicates per scenario, {req.horizon} months; 95% intervals.{failed}{few}")
    if len(result.horizons) > 1:
        with solara.Row(style={"align-items": "center", "gap": "12px"}):
            solara.HTML(tag="span", unsafe_innerHTML="Results at month", classes=["partnersim-note"])
            solara.ToggleButtonsSingle(value=shown, values=list(result.horizons), on_value=month.set)
            note("(from the start: effects differ in the short, medium and long run)")
    across = horizon_html(result.table)
    if across:
        solara.HTML(tag="h4", unsafe_innerHTML="Headline: the short, medium and long run")
        solara.HTML(tag="div", unsafe_innerHTML=across, classes=["partnersim-horizons"])
        note(
            "Only differences that matter are named: the paired interval excludes zero and the difference is at "
            "least the outcome's minimum important difference (scenarios/theory/units.toml)."
        )
    sentences = headline_sentences(result.table, month=shown)
    solara.HTML(tag="div", unsafe_innerHTML="".join(sentences), classes=["partnersim-summary"])
    solara.HTML(tag="div", unsafe_innerHTML=comparison_html_table(result.table, month=shown))
    for key, png in result.figures.items():
        solara.HTML(tag="h4", unsafe_innerHTML=FIGURE_LABELS.get(key, key))
        FigureImage(png, FIGURE_LABELS.get(key, key), f"compare-{key}")
    folder = html.escape(str(result.folder))
    note(
        f'Kept in <code data-testid="compare-folder">{folder}</code>; <code>partnersim report {folder}</code> '
        "turns it into a self-contained HTML report."
    )


@solara.component
def CompareMain() -> None:
    """The page's main part."""
    solara.HTML(tag="h2", unsafe_innerHTML="Compare policies")
    CompareResults()


@solara.component
def ComparePage(inline: bool = False) -> None:
    """Replicated runs of a baseline and policies, with intervals."""
    PageFrame(CompareControls(), CompareMain(), inline)
