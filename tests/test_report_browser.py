"""The HTML report opened from disk in headless chromium with networking off: every figure renders."""

from __future__ import annotations

import re

import pytest
from browserkit import guard_network, launch, needs_chromium, rendered_size
from test_report import small_scenarios

from analysis.cli import main

pytestmark = needs_chromium


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """A two-scenario experiment with a (tiny) sensitivity analysis inside it, and its report."""
    from analysis.executors import SerialExecutor
    from analysis.plan import plan_from_scenarios
    from analysis.runner import run_experiment
    from analysis.scenario import load_scenario

    tmp = tmp_path_factory.mktemp("report-browser")
    files = small_scenarios(tmp)
    exp = tmp / "exp"
    run_experiment(
        plan_from_scenarios([load_scenario(f) for f in files], replicates=2, master_seed=11),
        exp,
        executor=SerialExecutor(),
        progress=False,
    )
    assert (
        main(
            [
                "sensitivity",
                str(files[0]),
                "--method",
                "morris",
                "-N",
                "3",
                "--params",
                "edge.culture->*.weight,edge.workforce->quality.weight",
                "--out",
                str(exp / "sensitivity"),
                "--workers",
                "1",
                "--every",
                "0",
                "--at",
                "12",
                "--resamples",
                "10",
            ]
        )
        == 0
    )
    out = tmp / "report.html"
    assert main(["report", str(exp), "-o", str(out)]) == 0
    return out


def test_every_figure_renders_offline(report, tmp_path):
    from playwright.sync_api import sync_playwright

    text = report.read_text()
    expected = len(re.findall(r"<img ", text))
    assert expected >= 10 and 'id="sensitivity"' in text  # found inside the experiment folder
    with sync_playwright() as p:
        browser = launch(p)
        context = browser.new_context(viewport={"width": 1200, "height": 900}, offline=True)
        page = context.new_page()
        attempted = guard_network(page)
        requests: list[str] = []
        page.on("request", lambda r: requests.append(r.url))
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(report.as_uri())
        page.wait_for_load_state("load")
        images = page.locator("img")
        assert images.count() == expected
        for i in range(expected):
            img = images.nth(i)
            img.scroll_into_view_if_needed()
            w, h = rendered_size(img)
            assert w > 100 and h > 100, f"figure {img.get_attribute('data-figure')} rendered at {w}x{h}"
        page.screenshot(path=str(tmp_path / "report_top.png"))
        for section in ("trajectories", "differences", "web", "sensitivity", "provenance"):
            page.locator(f"#{section}").scroll_into_view_if_needed()
            page.evaluate(f"document.getElementById('{section}').scrollIntoView()")
            page.screenshot(path=str(tmp_path / f"report_{section}.png"))
        browser.close()
    assert attempted == []
    assert [u for u in requests if not u.startswith(("file:", "data:"))] == []
    assert errors == []
