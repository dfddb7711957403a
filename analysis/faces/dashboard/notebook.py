"""The dashboard inside Jupyter: ``show()`` in a notebook cell renders its pages there.

Usage, in a notebook running this project's environment (JupyterLab or Notebook 7 with
``ipyvuetify`` installed, which this project depends on)::

    from analysis.faces.dashboard.notebook import show
    show()               # Watch a run; show("compare") or show("theory") opens another page first

The pages are the app's own (:mod:`analysis.faces.dashboard.app`), with their controls in a
column beside the figures instead of the app's sidebar, and tabs to switch page. Session
state (theory edits, the watched run) is the notebook kernel's, shared by every ``show()``.
"""

from __future__ import annotations

import solara
import solara.lab

from analysis.faces.dashboard.app import PAGES


@solara.component
def Notebook(page: str = "watch") -> None:
    """The dashboard's pages as tabs, controls inline (for a notebook cell)."""
    names = list(PAGES)
    tab = solara.use_reactive(names.index(page))
    with solara.Column(style={"min-width": "900px"}):
        with solara.lab.Tabs(value=tab.value, on_value=tab.set):
            for key in names:
                solara.lab.Tab(PAGES[key][0])
        PAGES[names[tab.value]][1](inline=True)


def show(page: str = "watch") -> solara.Element:
    """The dashboard as a cell's output: ``show()`` (or ``show("compare")``, ``show("theory")``).

    Args:
        page: the page shown first: ``watch``, ``compare`` or ``theory``.

    Returns:
        A Solara element; Jupyter displays it when it is the cell's last expression.

    Raises:
        ValueError: ``page`` is not one of the pages.
    """
    if page not in PAGES:
        raise ValueError(f"unknown page {page!r}; choose one of {', '.join(PAGES)}")
    return Notebook(page=page)
