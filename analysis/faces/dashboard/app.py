"""The Solara app behind ``partnersim dashboard`` (``solara run analysis.faces.dashboard.app``).

Three pages (routes), each in its own module:

- **Watch a run** (:mod:`~analysis.faces.dashboard.watch_page`): one run month by month,
  with the scenario, levers, outside pressures and key effect sizes as plain-language
  controls; save the settings as a scenario file.
- **Compare policies** (:mod:`~analysis.faces.dashboard.compare_page`): replicated runs
  of a baseline and policies in the background, with bands and paired differences.
- **Theory** (:mod:`~analysis.faces.dashboard.theory_page`): the causal web with arrow
  strengths, arrow delays and mechanism parameters editable for the session.

Session state lives in Solara reactive variables (:mod:`~analysis.faces.dashboard.state`),
one value per browser session. :mod:`analysis.faces.dashboard.notebook` shows the same
pages inside Jupyter.
"""

from __future__ import annotations

from typing import Any

import solara
import solara.lab

from analysis.faces.dashboard.compare_page import ComparePage
from analysis.faces.dashboard.theory_page import TheoryPage
from analysis.faces.dashboard.watch_page import WatchPage

PAGES = {
    "watch": ("Watch a run", WatchPage),
    "compare": ("Compare policies", ComparePage),
    "theory": ("Theory", TheoryPage),
}


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
    solara.Route(path="/", component=WatchPage, label=PAGES["watch"][0], layout=Layout),
    solara.Route(path="compare", component=ComparePage, label=PAGES["compare"][0]),
    solara.Route(path="theory", component=TheoryPage, label=PAGES["theory"][0]),
]
