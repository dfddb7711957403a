"""*Theory*: the causal web, with arrow strengths, arrow delays and mechanism parameters editable.

Edits hold for the browser session and apply to new runs on every page (the Watch page's
next *Start again*, the next comparison) and to scenarios saved from the Watch page; the
theory file is never changed. Each value stays within the range the theory file declares,
and the page shows the value, its range and (on hover) its source.
"""

from __future__ import annotations

import html
import os
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

import solara

from analysis.faces.dashboard.compare_page import CompareResults, comparison_task, start_comparison
from analysis.faces.dashboard.editing import Editable, editables, edited_rows, grouped
from analysis.faces.dashboard.model import default_theory, display_path, theory_for
from analysis.faces.dashboard.state import (
    compare_baseline,
    compare_horizon,
    compare_policies,
    compare_replicates,
    theory_edits,
)
from analysis.faces.dashboard.widgets import FigureImage, PageFrame, ParamSlider, figure_png, note
from analysis.faces.diagrams import causal_web_figure
from analysis.faces.report import sensitivity_index

shown_group = solara.reactive("")


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


def set_value(item: Editable, file_value: float) -> Callable[[float], None]:
    """A setter that records an edit (or forgets it when the value is back at the theory file's)."""

    def setter(value: float) -> None:
        new = dict(theory_edits.value)
        v = item.snap(value)
        if abs(v - file_value) < 1e-12:
            new.pop(item.param, None)
        else:
            new[item.param] = v
        theory_edits.set(new)

    return setter


@solara.component
def TheoryControls() -> None:
    """Choose a group of values; a slider per value (with its range); reset."""
    theory = default_theory()
    edits = theory_edits.value
    shown = theory_for(None, edits)
    groups = grouped(editables(theory))
    group = shown_group.value if shown_group.value in groups else next(iter(groups))
    with solara.Card("Edit the theory (this session)"):
        note(
            "Each value within the range the theory file declares (hover for its source). Edits apply to new "
            "runs on every page and to saved scenarios; the theory file is not changed."
        )
        solara.Select(label="Values to edit", value=group, values=list(groups), on_value=shown_group.set)
        for item in groups[group]:
            value = shown.v(item.param)
            ParamSlider(
                item.param,
                item.label,
                value,
                item.low,
                item.high,
                item.step,
                set_value(item, theory.v(item.param)),
                unit=item.unit,
                shown=item.show(value),
                title=f"{item.param}; source: {item.source}",
            )
        solara.Button("Reset all to the theory file", on_click=lambda: theory_edits.set({}), disabled=not edits)


@solara.component
def TheoryMain() -> None:
    """The causal web, the edits made, and the comparison under the edited theory."""
    theory = default_theory()
    edits = theory_edits.value
    shown = theory_for(None, edits)
    highlight = sorted({k.split(".")[1] for k in edits if k.startswith("edge.")})
    solara.HTML(tag="h2", unsafe_innerHTML="Theory: the causal web")
    note(
        "Partnering changes structural domains; they act on how people work, which drives the outcomes. "
        f"Theory file: <code>{html.escape(display_path(theory.path))}</code>."
    )
    st = sensitivity_overlay()
    if st:
        note(
            "Shading: total-order sensitivity index (ST) from <code>"
            f"{html.escape(str(sensitivity_folder()))}</code>; darker arrows matter more."
        )
    png = solara.use_memo(
        lambda: figure_png(causal_web_figure(shown, highlight=highlight, sensitivity=st or None)),
        [tuple(sorted(edits.items())), bool(st)],
    )
    FigureImage(png, "causal web", "causal-web")
    rows = "".join(
        f"<tr><td>{html.escape(name)}</td><td>{rng}</td><td>{file_value:g}</td><td>{value:g}</td></tr>"
        for name, file_value, value, rng in edited_rows(edits, theory)
    )
    if rows:
        solara.HTML(
            tag="div",
            unsafe_innerHTML=(
                '<table class="partnersim-table" data-testid="edits"><tr><th>value edited</th><th>range</th>'
                f"<th>theory file</th><th>this session</th></tr>{rows}</table>"
            ),
        )
    with solara.Row():
        solara.Button(
            f"Rerun the comparison under this theory ({len(edits)} edited)",
            color="primary",
            on_click=start_comparison,
            disabled=comparison_task.pending,
        )
    note(
        f"Compares {compare_baseline.value} with {', '.join(compare_policies.value) or '(no policy chosen)'} "
        f"({compare_replicates.value} replicates, {compare_horizon.value} months); change these on the Compare "
        "policies page. The Watch page runs the edited theory after <b>Start again</b>."
    )
    CompareResults()


@solara.component
def TheoryPage(inline: bool = False) -> None:
    """The causal web; its values editable for the session."""
    PageFrame(TheoryControls(), TheoryMain(), inline)
