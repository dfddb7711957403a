"""The Solara app behind ``partnersim dashboard`` (``solara run analysis.faces.dashboard.app``).

Three pages (routes):

- **Watch a run**: Mesa's SolaraViz around :class:`~analysis.faces.dashboard.model.DashboardModel`;
  the scenario picker and the levers, shocks and key effect sizes as controls; step, play,
  reset; the partnership network and the outcomes month by month.
- **Compare policies**: a baseline and policies, replicates and horizon; the runs go through
  the project's runner in a background thread with a progress bar; then the comparison
  table, the bands and the paired differences (the same code as ``partnersim compare``).
- **Theory**: the causal web with its effect sizes editable for the session (within each
  weight's declared range) and a button to rerun the comparison under the edited theory.

Session state (scenario, theory edits, comparison settings) lives in Solara reactive
variables, which are per browser session.
"""

from __future__ import annotations

import base64
import html
import io
import os
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import solara
import solara.lab
from mesa.visualization import SolaraViz
from mesa.visualization.utils import update_counter

from analysis.faces.dashboard import jobs
from analysis.faces.dashboard.model import (
    DashboardModel,
    default_theory,
    initial_values,
    scenario_library,
    snapshot,
    theory_for,
    watch_controls,
)
from analysis.faces.diagrams import causal_web_figure, label, network_figure, outcome_panels, partnership_links
from analysis.faces.report import comparison_html_table, headline_sentences, sensitivity_index
from analysis.studies.compare import MIN_REPLICATES

if TYPE_CHECKING:
    from matplotlib.figure import Figure

WATCH_DEFAULT = "mandated_buddying"  # something happens from month 1 (the baseline forms no partnerships)

# -- session state ----------------------------------------------------------------------
scenario_name = solara.reactive(WATCH_DEFAULT)
theory_edits: solara.Reactive[dict[str, float]] = solara.reactive({})
compare_baseline = solara.reactive("baseline")
compare_policies: solara.Reactive[list[str]] = solara.reactive(["mandated_mergers", "mandated_buddying"])
compare_replicates = solara.reactive(jobs.DEFAULT_REPLICATES)
compare_horizon = solara.reactive(jobs.DEFAULT_HORIZON)
compare_progress: solara.Reactive[tuple[int, int]] = solara.reactive((0, 0))

CSS = """
.partnersim-note { color: #555; font-size: 0.9rem; margin: 0 0 8px 0; }
.partnersim-now { font-size: 1rem; margin: 4px 0 8px 0; }
.partnersim-now b { font-size: 1.15rem; }
.partnersim-figure img { max-width: 100%; height: auto; }
table.partnersim-table { border-collapse: collapse; font-size: 0.9rem; margin: 8px 0 16px 0; }
table.partnersim-table th, table.partnersim-table td { padding: 4px 10px; border-bottom: 1px solid #e0e0e0;
  text-align: right; }
table.partnersim-table th:nth-child(-n+2), table.partnersim-table td:nth-child(-n+2) { text-align: left; }
table.partnersim-table caption { text-align: left; font-weight: 600; padding: 4px 0; }
.better { color: #1a7f37; font-weight: 600; } .worse { color: #b42318; font-weight: 600; }
.unclear { color: #666; }
.partnersim-edge-label { font-size: 0.9rem; margin-top: 6px; } .partnersim-edge-label small { color: #777; }
.partnersim-edge .v-input { margin-top: 0; padding-top: 2px; } .partnersim-edge .v-messages { display: none; }
.partnersim-summary ul { margin: 0 0 12px 0; } .partnersim-summary p { margin: 8px 0 4px 0; }
/* SolaraViz lays components out on a draggable grid of fixed-height cells; let them flow instead */
.partnersim-watch .vue-grid-layout { display: flex; flex-wrap: wrap; gap: 12px; height: auto !important; }
.partnersim-watch .vue-grid-item { position: relative !important; transform: none !important;
  width: calc(50% - 6px) !important; min-width: 460px; flex: 1 1 460px; height: auto !important;
  touch-action: auto !important; }
.partnersim-watch .vue-grid-item > div { height: auto !important; }
.partnersim-watch .vue-resizable-handle { display: none; }
.partnersim-watch .v-tabs { display: none; }
/* sidebar sliders: the label on its own line above a full-width track, the value always shown */
.v-navigation-drawer .v-input__slider .v-input__slot { flex-wrap: wrap; }
.v-navigation-drawer .v-input__slider .v-input__slot > .v-label { flex: 1 0 100%; max-width: 100%;
  white-space: normal; height: auto; line-height: 1.3; margin: 10px 0 36px 0; }
.v-navigation-drawer .v-input__slider .v-slider { flex: 1 0 100%; }
.v-navigation-drawer .v-slider__thumb-label-container { display: block !important; }
.v-navigation-drawer .partnersim-edge .v-slider__thumb-label-container { display: none !important; }
"""


def figure_png(fig: Figure, dpi: int = 90) -> bytes:
    """A matplotlib figure as PNG bytes."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


@solara.component
def FigureImage(png: bytes, alt: str, test_id: str) -> None:
    """A PNG figure scaled to its container's width (an ``img`` the browser tests can find)."""
    src = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
    solara.HTML(
        tag="div",
        unsafe_innerHTML=f'<img src="{src}" alt="{alt}" data-testid="{test_id}" style="max-width:100%;height:auto">',
        classes=["partnersim-figure"],
    )


def note(text: str) -> None:
    """A short explanatory line under a heading."""
    solara.HTML(tag="p", unsafe_innerHTML=text, classes=["partnersim-note"])


# -- Watch a run ----------------------------------------------------------------------------
@solara.component
def NetworkView(model: DashboardModel) -> None:
    """The partnership network now."""
    update_counter.get()
    th = model.theory
    date = _date(model.start, model.month)
    fig = network_figure(
        quality=model.levels[:, model.quality_col],
        ics=model.pop.ics,
        in_sm=model.in_sm,
        links=partnership_links(model),
        theory=th,
        band_good=model.band_good,
        title=f"Partnerships in month {model.month} ({date}): trusts grouped by ICS",
    )
    FigureImage(figure_png(fig), "partnership network", "network")


@solara.component
def OutcomesView(model: DashboardModel) -> None:
    """The headline numbers now and the outcomes month by month."""
    update_counter.get()
    s = snapshot(model)
    solara.HTML(
        tag="div",
        classes=["partnersim-now"],
        unsafe_innerHTML=(
            f'<span data-testid="now">Month <b data-testid="month">{model.month}</b> '
            f"({_date(model.start, model.month)}): "
            f"<b>{s['share_good_or_outstanding']:.0%}</b> of trusts rated good or outstanding, "
            f"<b>{s['share_in_deficit']:.0%}</b> in deficit, <b>{s['share_special_measures']:.0%}</b> in special "
            f"measures; <b>{s['partnerships_active']:.0f}</b> partnerships active.</span>"
        ),
    )
    series = model.datacollector.get_model_vars_dataframe()
    fig = outcome_panels(series, model.theory, title=f"{model.scenario_name}: one run, month by month")
    FigureImage(figure_png(fig), "outcomes over time", "outcomes")


def _date(start: str, month: int) -> str:
    year, mon = (int(x) for x in start.split("-")[:2])
    k = year * 12 + mon - 1 + month
    return f"{k // 12:04d}-{k % 12 + 1:02d}"


@solara.component
def WatchPage() -> None:
    """One run, month by month."""
    solara.Style(CSS)
    lib = scenario_library()
    name = scenario_name.value if scenario_name.value in lib else next(iter(lib))
    scen = lib[name]
    edits = theory_edits.value
    params = solara.use_memo(lambda: watch_controls(scen, edits), [name, tuple(sorted(edits.items()))])
    model = solara.use_memo(lambda: DashboardModel(**initial_values(params)), [params])
    with solara.Sidebar():
        with solara.Card("Scenario"):
            solara.Select(label="Scenario", value=name, values=list(lib), on_value=scenario_name.set)
            note(scen.description)
            note(
                "Change the controls below, then press <b>Reset</b> to start a run with them; "
                "<b>Step</b> advances one month, ▶ plays."
            )
            if edits:
                note(f"{len(edits)} effect size(s) edited on the Theory page apply here.")
    with solara.Div(classes=["partnersim-watch"]):
        SolaraViz(
            model,
            components=[(NetworkView, 0), (OutcomesView, 0)],
            model_params=params,
            name="partnersim: watch a run",
            play_interval=150,
        ).key(f"viz-{name}-{sorted(edits.items())}")


# -- Compare policies -----------------------------------------------------------------------
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
    lib = scenario_library()
    names = list(lib)
    solara.Select(label="Baseline", value=compare_baseline.value, values=names, on_value=compare_baseline.set)
    solara.SelectMultiple(
        label="Policies to compare with it",
        values=compare_policies.value,
        all_values=[n for n in names if n != compare_baseline.value],
        on_value=compare_policies.set,
    )
    solara.SliderInt(
        label=f"Replicates per scenario: {compare_replicates.value}",
        value=compare_replicates.value,
        min=2,
        max=50,
        on_value=compare_replicates.set,
    )
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
        note(f"Uses the theory with {len(theory_edits.value)} effect size(s) edited on the Theory page.")


@solara.component
def CompareResults() -> None:
    """Progress while running; the table and figures when done."""
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
    result: jobs.CompareOutcome = comparison_task.value
    ComparisonSummary(result)


@solara.component
def ComparisonSummary(result: jobs.CompareOutcome) -> None:
    """Headline sentences, the table at the last month, and the figures."""
    req = result.request
    edited = f" under the edited theory ({len(req.edits)} effect sizes changed)" if req.edits else ""
    failed = f" {result.failed} run(s) failed and were left out." if result.failed else ""
    solara.HTML(tag="h3", unsafe_innerHTML=f"{', '.join(req.policies)} vs {req.baseline}{edited}")
    few = (
        f" With fewer than {MIN_REPLICATES} replicates the intervals are unreliable: use more for decisions."
        if req.replicates < MIN_REPLICATES
        else ""
    )
    note(f"{req.replicates} replicates per scenario, {req.horizon} months; 95% intervals.{failed}{few}")
    sentences = headline_sentences(result.table, month=max(result.horizons))
    solara.HTML(tag="div", unsafe_innerHTML="".join(sentences), classes=["partnersim-summary"])
    solara.HTML(tag="div", unsafe_innerHTML=comparison_html_table(result.table, month=max(result.horizons)))
    labels = {
        "trajectories": "Outcomes over time (median, 50% and 90% bands)",
        "differences": "Paired differences from the baseline",
        "partnerships": "Partnerships by type and phase",
    }
    for key, png in result.figures.items():
        solara.HTML(tag="h4", unsafe_innerHTML=labels.get(key, key))
        FigureImage(png, labels.get(key, key), f"compare-{key}")
    note(
        f"Stored in <code>{result.folder}</code>; <code>partnersim report {result.folder}</code> turns it into "
        "a self-contained HTML report."
    )


@solara.component
def ComparePage() -> None:
    """Replicated runs of a baseline and policies, with intervals."""
    solara.Style(CSS)
    with solara.Sidebar():
        with solara.Card("Compare policies"):
            CompareControls()
    solara.HTML(tag="h2", unsafe_innerHTML="Compare policies")
    CompareResults()


# -- Theory ---------------------------------------------------------------------------------
def sensitivity_folder() -> Path | None:
    """A sensitivity output folder to overlay on the causal web (``partnersim dashboard --sensitivity``)."""
    env = os.environ.get("PARTNERSIM_SENSITIVITY")
    return Path(env) if env and (Path(env) / "indices.parquet").is_file() else None


@lru_cache(maxsize=2)
def _overlay(folder: str) -> dict[str, float]:
    return sensitivity_index(Path(folder))


def sensitivity_overlay() -> dict[str, float]:
    """Total-order index per parameter, when a sensitivity folder was given."""
    folder = sensitivity_folder()
    return _overlay(str(folder)) if folder is not None else {}


def _edge_words(param: str) -> str:
    """``edge.culture->quality.weight`` → ``Culture → Quality`` (other parameters as they are)."""
    parts = param.split(".")
    if len(parts) == 3 and parts[0] == "edge" and "->" in parts[1]:
        src, tgt = parts[1].split("->")
        return f"{label(src)} → {label(tgt)}"
    return html.escape(param)


@solara.component
def TheoryPage() -> None:
    """The causal web; effect sizes editable for the session."""
    solara.Style(CSS)
    theory = default_theory()
    edits = theory_edits.value
    shown = theory_for(None, edits)
    highlight = [e.name for e in theory.edges if f"edge.{e.name}.weight" in edits]

    def set_weight(name: str) -> Callable[[float], None]:
        def setter(value: float) -> None:
            new = dict(theory_edits.value)
            if abs(value - theory.v(name)) < 1e-12:
                new.pop(name, None)
            else:
                new[name] = float(value)
            theory_edits.set(new)

        return setter

    def rerun() -> None:
        start_comparison()

    with solara.Sidebar():
        with solara.Card("Effect sizes (this session)"):
            note(
                "Each arrow's weight, within the range the theory file declares. Edits apply to new runs on "
                "every page; the files are not changed."
            )
            for e in theory.edges:
                pname = f"edge.{e.name}.weight"
                p = theory.params[pname]
                with solara.v.Html(tag="div", class_="partnersim-edge", attributes={"data-edge": pname}):
                    solara.HTML(
                        tag="div",
                        unsafe_innerHTML=f"{label(e.source)} → {label(e.target)}: "
                        f"<b>{shown.v(pname):.2f}</b> "
                        f"<small>({p.low:g} to {p.high:g})</small>",
                        classes=["partnersim-edge-label"],
                    )
                    solara.SliderFloat(
                        label="", value=shown.v(pname), min=p.low, max=p.high, step=0.01, on_value=set_weight(pname)
                    )
            solara.Button("Reset to the theory file", on_click=lambda: theory_edits.set({}), disabled=not edits)
    solara.HTML(tag="h2", unsafe_innerHTML="Theory: the causal web")
    note(
        "Partnering changes structural domains; they act on how people work, which drives the outcomes. "
        f"Theory file: <code>{theory.path}</code>."
    )
    st = sensitivity_overlay()
    if st:
        note(
            "Shading: total-order sensitivity index (ST) from <code>"
            f"{html.escape(str(sensitivity_folder()))}</code>; darker arrows matter more."
        )
    fig = causal_web_figure(shown, highlight=highlight, sensitivity=st or None)
    FigureImage(figure_png(fig), "causal web", "causal-web")
    with solara.Row():
        solara.Button(
            f"Rerun the comparison under this theory ({len(edits)} edited)",
            color="primary",
            on_click=rerun,
            disabled=comparison_task.pending,
        )
    note(
        f"Compares {compare_baseline.value} with {', '.join(compare_policies.value) or '(no policy chosen)'} "
        f"({compare_replicates.value} replicates, {compare_horizon.value} months); change these on the Compare "
        "policies page."
    )
    rows = "".join(
        f"<tr><td>{_edge_words(k)}</td><td>{theory.v(k):.2f}</td><td>{v:.2f}</td></tr>" for k, v in edits.items()
    )
    solara.HTML(
        tag="div",
        unsafe_innerHTML=(
            '<table class="partnersim-table"><tr><th>effect size edited</th>'
            f"<th>theory file</th><th>this session</th></tr>{rows}</table>"
        )
        if edits
        else "",
    )
    CompareResults()


@solara.component
def Layout(children: list[Any] | None = None) -> Any:
    """The app frame: title and one tab per page (with readable names)."""
    router = solara.use_router()
    route, all_routes = solara.use_route()
    index = all_routes.index(route) if route in all_routes else 0
    paths = [solara.resolve_path(r, level=0) for r in all_routes]
    solara.Title("partnersim")
    with solara.AppLayout(title="partnersim") as main:
        with solara.AppBar():
            with solara.lab.Tabs(value=index, on_value=lambda i: router.push(paths[i]), align="center"):
                for r in all_routes:
                    solara.lab.Tab(r.label)
        solara.Div(children=children or [])
    return main


routes = [
    solara.Route(path="/", component=WatchPage, label="Watch a run", layout=Layout),
    solara.Route(path="compare", component=ComparePage, label="Compare policies"),
    solara.Route(path="theory", component=TheoryPage, label="Theory"),
]
