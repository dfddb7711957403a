"""Small Solara pieces every page uses: the style sheet, figures, notes, labelled sliders, the page frame."""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import solara

if TYPE_CHECKING:
    from matplotlib.figure import Figure

CSS = """
.partnersim-note { color: #555; font-size: 0.9rem; margin: 0 0 8px 0; }
.partnersim-hint { background: #fff4e5; border-left: 3px solid #e6550d; padding: 6px 8px; font-size: 0.9rem;
  margin: 6px 0; }
.partnersim-now { font-size: 1rem; margin: 4px 0 8px 0; }
.partnersim-now b { font-size: 1.15rem; }
.partnersim-figures { display: flex; flex-wrap: wrap; gap: 12px; align-items: flex-start; }
.partnersim-figures > div { flex: 1 1 460px; min-width: 420px; max-width: 760px; }
.partnersim-figure img { max-width: 100%; height: auto; display: block; }
table.partnersim-table { border-collapse: collapse; font-size: 0.9rem; margin: 8px 0 16px 0; }
table.partnersim-table th, table.partnersim-table td { padding: 4px 10px; border-bottom: 1px solid #e0e0e0;
  text-align: right; }
table.partnersim-table th:nth-child(-n+2), table.partnersim-table td:nth-child(-n+2) { text-align: left; }
table.partnersim-table caption { text-align: left; font-weight: 600; padding: 4px 0; }
.better { color: #1a7f37; font-weight: 600; } .worse { color: #b42318; font-weight: 600; }
.unclear { color: #666; }
.table-box { max-width: 100%; overflow-x: auto; }
.partnersim-horizons ul { margin: 0 0 8px 0; } .partnersim-horizons li { margin: 0 0 6px 0; }
.partnersim-param { margin: 2px 0 4px 0; }
.partnersim-param-label { font-size: 0.9rem; line-height: 1.3; margin-top: 6px; }
.partnersim-param-label small { color: #777; white-space: nowrap; }
.partnersim-param .v-input { margin-top: 0; padding-top: 0; }
.partnersim-param .v-messages { display: none; }
.partnersim-summary ul { margin: 0 0 12px 0; } .partnersim-summary p { margin: 8px 0 4px 0; }
.partnersim-controls { min-width: 280px; max-width: 360px; }
.partnersim-controls .v-card { margin-bottom: 10px; }
.partnersim-buttons { display: flex; flex-wrap: wrap; gap: 6px; margin: 4px 0 8px 0; }
/* long paths may break anywhere: the app's sidebar is as wide as its widest unbreakable word */
.partnersim-note code, .partnersim-hint code { overflow-wrap: anywhere; }
"""


def figure_png(fig: Figure, dpi: int = 90) -> bytes:
    """A matplotlib figure as PNG bytes."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


@solara.component
def FigureImage(png: bytes, alt: str, test_id: str, month: int | None = None) -> None:
    """A PNG figure scaled to its container's width (an ``img`` the browser tests can find)."""
    src = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
    month_attr = f' data-month="{month}"' if month is not None else ""
    solara.HTML(
        tag="div",
        unsafe_innerHTML=f'<img src="{src}" alt="{html.escape(alt)}" data-testid="{test_id}"{month_attr}>',
        classes=["partnersim-figure"],
    )


def note(text: str, *, hint: bool = False) -> None:
    """A short explanatory line (``hint``: one that asks the user to act)."""
    solara.HTML(tag="p", unsafe_innerHTML=text, classes=["partnersim-hint" if hint else "partnersim-note"])


@solara.component
def ParamSlider(
    name: str,
    label: str,
    value: float,
    low: float,
    high: float,
    step: float,
    on_value: Callable[[float], None],
    unit: str = "",
    shown: str | None = None,
    title: str = "",
    percent: bool = False,
) -> None:
    """A slider with its label, its value and its range written out (``data-param`` names what it sets)."""
    text = shown if shown is not None else f"{value:g}"
    unit_text = f" {unit}" if unit else ""
    span = f"{low:.0%} to {high:.0%}" if percent else f"{low:g} to {high:g}{unit_text}"
    with solara.v.Html(tag="div", class_="partnersim-param", attributes={"data-param": name, "title": title}):
        solara.HTML(
            tag="div",
            unsafe_innerHTML=f"{html.escape(label)}: <b>{html.escape(text)}</b>{html.escape(unit_text)} "
            f"<small>({html.escape(span)})</small>",
            classes=["partnersim-param-label"],
        )
        solara.SliderFloat(label="", value=value, min=low, max=high, step=step, on_value=on_value, thumb_label=False)


@solara.component
def PageFrame(controls: Any, main: Any, inline: bool = False) -> None:
    """A page: controls in the app's sidebar, or (``inline``, in a notebook) in a column beside the main part."""
    solara.Style(CSS)
    if inline:
        with solara.Row(style={"align-items": "flex-start", "gap": "16px"}):
            solara.Column(children=[controls], classes=["partnersim-controls"])
            solara.Column(children=[main], style={"flex": "1 1 auto", "min-width": "0"})
    else:
        solara.Sidebar(children=[solara.Column(children=[controls])])
        solara.Column(children=[main])
