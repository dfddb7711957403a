"""*Watch a run*: one run month by month, with plain-language controls.

The sidebar holds the scenario, the run's buttons (next month, play or pause at a chosen
speed, start again), the levers, outside pressures and key assumptions, and a form that
saves the settings as a scenario file. The main part states this month's headline numbers
and shows the partnership network and the outcomes so far, both redrawn incrementally
(:mod:`analysis.faces.dashboard.live`).

The run lives in session state, so it survives a visit to another page. Changing a control
does not restart it: the page says the settings have changed and *Start again* runs them.
"""

from __future__ import annotations

import calendar
import html
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import solara
import solara.lab

from analysis.faces.dashboard.editing import describe
from analysis.faces.dashboard.live import LiveNetwork, LiveOutcomes
from analysis.faces.dashboard.model import (
    GROUPS,
    Control,
    DashboardModel,
    initial_values,
    library_scenarios,
    saved_dir,
    scenario_library,
    snapshot,
    watch_controls,
    watch_spec,
)
from analysis.faces.dashboard.saving import SaveError, changes, save_scenario
from analysis.faces.dashboard.state import library_version, scenario_name, theory_edits
from analysis.faces.dashboard.widgets import FigureImage, PageFrame, ParamSlider, note
from analysis.scenario import Scenario

SPEEDS = {"1 month a second": 1.0, "2 months a second": 0.5, "4 months a second": 0.25, "as fast as it draws": 0.0}
DEFAULT_SPEED = "4 months a second"


@dataclass(frozen=True)
class Run:
    """The watched run: its model and the settings it was started with."""

    model: DashboardModel
    scenario: str
    values: Mapping[str, Any] = field(default_factory=dict)
    edits: Mapping[str, float] = field(default_factory=dict)


# -- session state ----------------------------------------------------------------------
run: solara.Reactive[Run | None] = solara.reactive(None)
changed: solara.Reactive[dict[str, dict[str, Any]]] = solara.reactive({})  # per scenario: controls moved
shown_month = solara.reactive(0)
playing = solara.reactive(False)
speed = solara.reactive(DEFAULT_SPEED)


def current_values(scen: Scenario, edits: Mapping[str, float]) -> tuple[list[Control], dict[str, Any]]:
    """The scenario's controls and their values now (the scenario's settings, then what the user moved)."""
    controls = watch_controls(scen, edits)
    return controls, {**initial_values(controls), **changed.value.get(scen.name, {})}


def start_run(scen: Scenario, values: Mapping[str, Any], edits: Mapping[str, float]) -> None:
    """Start a new run of ``scen`` with these control values and theory edits."""
    playing.set(False)
    model = DashboardModel(str(scen.path), theory_edits=dict(edits), **dict(values))
    run.set(Run(model, scen.name, dict(values), dict(edits)))
    shown_month.set(model.month)


def step_once() -> None:
    """Advance the run one month and show it."""
    current = run.value
    if current is not None and current.model.running:
        current.model.step()
        shown_month.set(current.model.month)


# -- the sidebar ------------------------------------------------------------------------
@solara.component
def RunButtons(model: DashboardModel, on_restart: Callable[[], None]) -> None:
    """Next month, play or pause, start again; how fast playing goes."""

    def play_loop() -> None:
        while playing.value and model.running:
            t0 = time.monotonic()
            step_once()
            time.sleep(max(0.0, SPEEDS[speed.value] - (time.monotonic() - t0)))
        if not model.running:
            playing.set(False)

    solara.lab.use_task(play_loop, dependencies=[playing.value, model], prefer_threaded=True)  # type: ignore[arg-type]
    with solara.Div(classes=["partnersim-buttons"]):
        solara.Button("Next month", color="primary", on_click=step_once, disabled=playing.value or not model.running)
        solara.Button(
            "Pause" if playing.value else "Play",
            icon_name="mdi-pause" if playing.value else "mdi-play",
            color="primary",
            on_click=lambda: playing.set(not playing.value),
            disabled=not model.running,
        )
        solara.Button("Start again", icon_name="mdi-restart", on_click=on_restart, outlined=True)
    solara.Select(label="Playing speed", value=speed.value, values=list(SPEEDS), on_value=speed.set)
    if not model.running:
        note(f"The run has reached its horizon ({model.horizon} months).")


@solara.component
def ControlInput(control: Control, value: Any, on_value: Callable[[Any], None]) -> None:
    """One control: a choice, a switch or a slider with its value and range."""
    if control.kind == "select":
        solara.Select(label=control.label, value=value, values=list(control.choices), on_value=on_value)
    elif control.kind == "switch":
        with solara.v.Html(tag="div", attributes={"data-param": control.name}):
            solara.Switch(label=control.label, value=bool(value), on_value=on_value)
    else:
        ParamSlider(
            control.name,
            control.label,
            float(value),
            control.low,
            control.high,
            control.step,
            on_value,
            unit=control.unit,
            shown=control.show(float(value)),
            percent=control.percent,
        )


@solara.component
def SaveScenario(scen: Scenario, values: Mapping[str, Any], edits: Mapping[str, float]) -> None:
    """Save the settings shown as a scenario file under ``results/dashboard/scenarios``; ask before replacing."""
    name = solara.use_reactive("")
    description = solara.use_reactive("")
    message: solara.Reactive[tuple[str, str] | None] = solara.use_reactive(None)
    confirm = solara.use_reactive(False)
    folder = saved_dir()
    spec = watch_spec(scen, {**values, "theory_edits": dict(edits)})
    changed_text = changes(scen, spec)

    def save(overwrite: bool = False) -> None:
        try:
            path = save_scenario(
                scen,
                spec,
                name=name.value,
                description=description.value,
                folder=folder,
                taken=library_scenarios(),
                overwrite=overwrite,
            )
        except FileExistsError:
            confirm.set(True)
            return
        except SaveError as exc:
            message.set(("error", str(exc)))
            return
        library_version.set(library_version.value + 1)
        message.set(
            (
                "ok",
                f"Saved as <code data-testid='saved-path'>{html.escape(str(path))}</code>. It is now in the "
                "scenario lists of every page; <code>partnersim compare</code> and <code>partnersim run</code> "
                "take it too.",
            )
        )

    note(
        "Keeps the levers, pressures and assumptions shown here, and the Theory page's edits, as a scenario "
        f"file in <code>{html.escape(str(folder))}</code>."
    )
    note(
        f"Changes from {html.escape(scen.name)}: {html.escape('; '.join(changed_text))}."
        if changed_text
        else f"Nothing changed from {html.escape(scen.name)} yet."
    )
    solara.InputText("Name (e.g. buddying_with_fund)", value=name, continuous_update=True)
    solara.InputText("Description (optional)", value=description, continuous_update=True)
    solara.Button("Save as a scenario file", icon_name="mdi-content-save", on_click=save, disabled=not name.value)
    if message.value is not None:
        kind, text = message.value
        solara.HTML(
            tag="p",
            unsafe_innerHTML=text,
            classes=["partnersim-note" if kind == "ok" else "partnersim-hint"],
            attributes={"data-testid": f"save-{kind}"},
        )
    solara.lab.ConfirmationDialog(
        confirm,
        title="Replace the saved scenario?",
        content=f"A scenario called '{name.value}' is already saved in {folder}. Replace it with these settings?",
        ok="Replace it",
        cancel="Keep the old one",
        on_ok=lambda: save(overwrite=True),
    )


@solara.component
def WatchControls(scen: Scenario, lib: Mapping[str, Scenario], current: Run) -> None:
    """The Watch page's sidebar."""
    edits = theory_edits.value
    controls, values = current_values(scen, edits)

    def set_value(key: str) -> Callable[[Any], None]:
        def setter(value: Any) -> None:
            mine = {**changed.value.get(scen.name, {}), key: value}
            changed.set({**changed.value, scen.name: mine})

        return setter

    def choose(name: str) -> None:
        scenario_name.set(name)
        new = lib[name]
        start_run(new, current_values(new, theory_edits.value)[1], theory_edits.value)

    with solara.Card("Scenario"):
        solara.Select(label="Scenario", value=scen.name, values=list(lib), on_value=choose)
        note(html.escape(scen.description))
    with solara.Card("Run"):
        RunButtons(current.model, lambda: start_run(scen, values, edits))
        stale = dict(values) != dict(current.values) or dict(edits) != dict(current.edits)
        if stale:
            note("The settings have changed since this run started: press <b>Start again</b> to run them.", hint=True)
    for group in GROUPS:
        with solara.Card(group):
            for c in controls:
                if c.group == group:
                    ControlInput(c, values[c.name], set_value(c.name))
    if edits:
        with solara.Card("Theory edits"):
            note(f"{len(edits)} theory value(s) edited on the Theory page apply to new runs.")
    with solara.Card("Save these settings"):
        SaveScenario(scen, values, edits)


# -- the main part ----------------------------------------------------------------------
def month_name(start: str, month: int) -> str:
    """``2022-07`` + 3 months → ``Oct 2022``."""
    year, mon = (int(x) for x in start.split("-")[:2])
    k = year * 12 + mon - 1 + month
    return f"{calendar.month_abbr[k % 12 + 1]} {k // 12}"


@solara.component
def Headline(model: DashboardModel, month: int) -> None:
    """This month's numbers in a sentence (``data-testid=month`` holds the month)."""
    s = snapshot(model)
    surplus = s["mean_surplus_pct"]
    solara.HTML(
        tag="div",
        classes=["partnersim-now"],
        unsafe_innerHTML=(
            f'<span data-testid="now">Month <b data-testid="month">{month}</b> of {model.horizon} '
            f"({month_name(model.start, month)}): "
            f"<b>{s['share_good_or_outstanding']:.0%}</b> of trusts rated good or outstanding, "
            f"<b>{s['share_in_deficit']:.0%}</b> in deficit (mean {'surplus' if surplus >= 0 else 'deficit'} "
            f"<b>{abs(surplus):.1f}%</b> of turnover), <b>{s['share_special_measures']:.0%}</b> in special "
            f"measures; <b>{s['partnerships_active']:.0f}</b> partnerships active.</span>"
        ),
    )


@solara.component
def Figures(model: DashboardModel, month: int) -> None:
    """The network and the outcomes so far (each redrawn incrementally)."""
    network = solara.use_memo(lambda: LiveNetwork(model), [model])
    outcomes = solara.use_memo(
        lambda: LiveOutcomes(model, title=f"{model.scenario_name}: one run, month by month"), [model]
    )
    with solara.Div(classes=["partnersim-figures"]):
        FigureImage(network.png(model), "partnership network", "network", month)
        FigureImage(outcomes.png(model), "outcomes over time", "outcomes", month)


@solara.component
def TheoryInForce(current: Run) -> None:
    """The theory values this run uses that differ from the theory file (read from the run itself)."""
    model = current.model
    base = model.spec.theory
    if base is None:
        return
    changed_values = {k: v for k, v in model.theory.values.items() if v != base.v(k)}
    if not changed_values:
        return
    items = "".join(
        f'<li data-param="{html.escape(k)}">{html.escape(describe(k, base))}: <b>{v:g}</b> '
        f"(theory file {base.v(k):g})</li>"
        for k, v in changed_values.items()
    )
    solara.HTML(
        tag="div",
        unsafe_innerHTML=f"<p>This run uses these theory values instead of the file's:</p><ul>{items}</ul>",
        classes=["partnersim-note"],
        attributes={"data-testid": "theory-in-force"},
    )


@solara.component
def WatchMain(current: Run) -> None:
    """Headline, figures and the theory values in force (the only part redrawn at each month)."""
    month = shown_month.value
    Headline(current.model, month)
    Figures(current.model, month)
    TheoryInForce(current)


@solara.component
def WatchPage(inline: bool = False) -> None:
    """One run, month by month."""
    library_version.get()  # a saved scenario joins the list
    lib = scenario_library()
    name = scenario_name.value if scenario_name.value in lib else next(iter(lib))
    scen = lib[name]
    current = run.value
    missing = current is None or current.scenario not in lib

    def first_run() -> None:
        if missing:
            start_run(scen, current_values(scen, theory_edits.value)[1], theory_edits.value)

    solara.use_effect(first_run, [missing])
    if current is None or missing:
        solara.ProgressLinear(True)
        return
    PageFrame(WatchControls(lib[current.scenario], lib, current), WatchMain(current), inline)
