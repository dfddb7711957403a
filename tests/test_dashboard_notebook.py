"""The dashboard inside Jupyter: ``show()`` builds the pages in a kernel, and they work there."""

from __future__ import annotations

import json
import re
from pathlib import Path

import ipyvuetify as v
import nbformat
import pytest
import solara

from analysis.faces.dashboard.notebook import Notebook, show

ROOT = Path(__file__).resolve().parents[1]
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def _month(rc) -> int:  # type: ignore[no-untyped-def]
    for w in rc.find(solara.widgets.HTML).widgets:
        m = re.search(r'data-testid="month">(\d+)<', w.unsafe_innerHTML or "")
        if m:
            return int(m.group(1))
    raise AssertionError("no month shown")


def test_the_notebook_pages_render_and_step_without_a_browser(tmp_path, monkeypatch):
    monkeypatch.setenv("PARTNERSIM_DASHBOARD_RESULTS", str(tmp_path))
    _, rc = solara.render(Notebook(page="watch"), handle_error=False)
    assert [t.children for t in rc.find(v.Tab).widgets] == [["Watch a run"], ["Compare policies"], ["Theory"]]
    assert _month(rc) == 0
    rc.find(v.Btn, children=["Next month"]).widget.click()
    assert _month(rc) == 1
    rc.find(v.Tabs).widget.v_model = 2  # the Theory page, its controls inline
    rc.find(v.Select, label="Values to edit").assert_single()
    assert any("causal-web" in (w.unsafe_innerHTML or "") for w in rc.find(solara.widgets.HTML).widgets)
    rc.close()


def test_show_names_its_pages():
    assert show("theory").kwargs == {"page": "theory"}
    with pytest.raises(ValueError, match="watch, compare, theory"):
        show("results")


def test_a_notebook_cell_displays_the_dashboard_in_a_jupyter_kernel(tmp_path):
    jupyter_client = pytest.importorskip("jupyter_client.manager")
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(f"import os; os.environ['PARTNERSIM_DASHBOARD_RESULTS'] = {str(tmp_path)!r}"),
        nbformat.v4.new_code_cell("from analysis.faces.dashboard.notebook import show\nshow()"),
    ]
    km, kc = jupyter_client.start_new_kernel(kernel_name="python3", cwd=str(tmp_path))
    messages: list[dict] = []
    try:
        for cell in nb.cells:
            reply = kc.execute_interactive(cell.source, timeout=240, output_hook=messages.append)
            assert reply["content"]["status"] == "ok", reply["content"]
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    displayed = [m["content"]["data"] for m in messages if m["msg_type"] in ("display_data", "execute_result")]
    assert any(WIDGET_VIEW in d for d in displayed), displayed
    widgets = json.dumps([m["content"] for m in messages if m["msg_type"] == "comm_open"])
    assert "Next month" in widgets and 'data-testid=\\"month\\"' in widgets
    assert "Use Threads" not in widgets and "Render Interval" not in widgets
    assert not [m for m in messages if m["msg_type"] == "error"]
