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
    from analysis.studies.units import UnitsRun

    tmp = tmp_path_factory.mktemp("report-browser")
    files = small_scenarios(tmp)
    exp = tmp / "exp"
    run_experiment(
        plan_from_scenarios([load_scenario(f) for f in files], replicates=2, master_seed=11, run_fn=UnitsRun()),
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


def test_headline_units_and_verdicts_are_on_top_and_every_table_fits_the_page(report, tmp_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = launch(p)
        page = browser.new_context(viewport={"width": 1200, "height": 900}, offline=True).new_page()
        guard_network(page)
        page.goto(report.as_uri())
        page.wait_for_load_state("load")
        # the theory's evidence status, then the headline across horizons, at the top of the summary
        evidence = page.locator("#summary p.evidence").bounding_box()
        headline = page.locator("#headline").bounding_box()
        assert evidence is not None and headline is not None and evidence["y"] < headline["y"] < 900
        policy = page.locator('#headline li[data-policy="mandated_mergers"]').inner_text()
        assert policy.startswith("Mandated mergers: ") and ("short run" in policy or "by month" in policy)
        # the comparison tables: outcomes in units people use first, with the verdict column
        first = page.locator("#differences table.partnersim-table").first
        assert first.get_attribute("data-outcome") == "share_good_or_outstanding"
        assert "verdict" in first.locator("tr").first.inner_text()
        verdicts = page.locator("#differences td span").all_inner_texts()
        assert verdicts and set(verdicts) <= {"better", "worse", "no material difference"}
        outcomes = page.locator("#differences table.partnersim-table").evaluate_all(
            "ts => ts.map(t => t.dataset.outcome)"
        )
        assert outcomes.index("sector_surplus_gbp_m") < outcomes.index("mean_quality")
        # nothing wider than the page, even a narrow one: tables wrap (CMOC, fixed layout) or scroll inside their box
        page.set_viewport_size({"width": 820, "height": 900})
        body = page.evaluate("document.body.getBoundingClientRect().right")
        assert page.evaluate("document.documentElement.scrollWidth") <= 820
        for sel in (".cmoc", ".table-box", "#summary", "#assumptions"):
            rights = page.locator(sel).evaluate_all("es => es.map(e => e.getBoundingClientRect().right)")
            assert rights and max(rights) <= body + 0.5, sel
        widths = page.locator(".cmoc table").evaluate_all("ts => ts.map(t => t.getBoundingClientRect().width)")
        box = page.locator(".cmoc").first.evaluate("e => e.clientWidth")
        assert widths and max(widths) <= box + 0.5
        text = page.locator("body").inner_text()
        assert "-0.000" not in text and "-0.0%" not in text  # no negative zero
        share_intervals = page.locator(
            '#differences table[data-outcome^="share_"] tr td:nth-child(4)'
        ).all_inner_texts()
        assert share_intervals and not [t for t in share_intervals if t.startswith("[-")]  # a share is never < 0
        theory = page.locator("#assumptions code").first.inner_text()
        assert theory == "scenarios/theory/irt.toml" or not theory.startswith("/")
        page.locator("#summary").screenshot(path=str(tmp_path / "report_summary.png"))
        browser.close()
