"""The dashboard in a real browser: `partnersim dashboard` served locally, driven by headless chromium.

One server for the module, started as a user would, through the CLI, on a free port, from
a scratch working folder (so what the dashboard keeps lands in its ``results/dashboard``);
each test opens pages with every request that would leave the machine aborted and
recorded, so the pages must render from the local asset cache. Screenshots go to the
test's tmp folder (``pytest --basetemp DIR`` keeps them somewhere known).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import tomllib
import urllib.request
from pathlib import Path

import pytest
from browserkit import guard_network, launch, needs_chromium, rendered_size

pytestmark = needs_chromium
ROOT = Path(__file__).resolve().parents[1]
READY_TIMEOUT = 120
# The server must not reach the internet either: Solara fetches any asset missing from its local
# cache from a CDN on the browser's behalf, so route its HTTP(S) to a closed port. Only the cache
# filled by scripts/install-solara-assets can then serve the page.
BLACKHOLE = "http://127.0.0.1:9"
OFFLINE_SERVER_ENV = {
    **os.environ,
    "HTTP_PROXY": BLACKHOLE,
    "HTTPS_PROXY": BLACKHOLE,
    "http_proxy": BLACKHOLE,
    "https_proxy": BLACKHOLE,
    "NO_PROXY": "127.0.0.1,localhost",
    "no_proxy": "127.0.0.1,localhost",
}
OFFLINE_SERVER_ENV.pop("PARTNERSIM_DASHBOARD_RESULTS", None)
MESA_INTERNALS = ("Use Threads", "Render Interval", "Play Interval", "Model Parameters", "Page 0", "Time:")
LAG = "edge.governance->culture.lag"
MECHANISM = "mechanism.conflict_rate"


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """`partnersim dashboard --port P` in a subprocess; yields (url, launch time, working folder)."""
    port = _free_port()
    cwd = tmp_path_factory.mktemp("dashboard")
    log = cwd / "server.log"
    t0 = time.monotonic()
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "analysis.cli", "dashboard", "--port", str(port)],
            cwd=cwd,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=OFFLINE_SERVER_ENV,
        )
    url = f"http://127.0.0.1:{port}/"
    try:
        while True:
            if proc.poll() is not None:
                pytest.fail(f"dashboard exited with {proc.returncode}:\n{log.read_text()}")
            if time.monotonic() - t0 > READY_TIMEOUT:
                pytest.fail(f"dashboard not ready after {READY_TIMEOUT} s:\n{log.read_text()}")
            try:
                with urllib.request.urlopen(url, timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                time.sleep(0.2)
        yield url, t0, cwd
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        assert "Traceback" not in log.read_text(), log.read_text()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = launch(p)
        yield b
        b.close()


@pytest.fixture
def page(browser, tmp_path):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = context.new_page()
    pg.set_default_timeout(60_000)
    pg.attempted = guard_network(pg)  # type: ignore[attr-defined]
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.on("response", lambda r: errors.append(f"HTTP {r.status} {r.url}") if r.status >= 400 else None)
    pg.errors = errors  # type: ignore[attr-defined]
    yield pg
    assert pg.attempted == [], f"requests left the machine: {pg.attempted}"  # type: ignore[attr-defined]
    assert pg.errors == []  # type: ignore[attr-defined]
    context.close()


def _visible_figure(page, test_id: str):  # type: ignore[no-untyped-def]
    img = page.locator(f"img[data-testid={test_id}]")
    img.wait_for(state="visible")
    page.wait_for_function(
        "id => { const e = document.querySelector(`img[data-testid=${id}]`);"
        " return e && e.complete && e.naturalWidth > 0; }",
        arg=test_id,
    )
    w, h = rendered_size(img)
    assert w > 200 and h > 150, f"{test_id} rendered at {w}x{h}"
    return img


def _month(page) -> int:  # type: ignore[no-untyped-def]
    return int(page.locator("[data-testid=month]").inner_text())


def _wait_month(page, month: int) -> None:  # type: ignore[no-untyped-def]
    page.wait_for_function(f"() => document.querySelector('[data-testid=month]')?.textContent === '{month}'")


def _step(page, times: int) -> None:  # type: ignore[no-untyped-def]
    for _ in range(times):
        start = _month(page)
        page.get_by_role("button", name="Next month").click()
        _wait_month(page, start + 1)
    page.wait_for_function(  # both figures show the month the headline states
        "m => ['network', 'outcomes'].every(id => {"
        " const e = document.querySelector(`img[data-testid=${id}]`); return e && e.dataset.month === m; })",
        arg=str(_month(page)),
    )


def _thumb(page, param: str):  # type: ignore[no-untyped-def]
    """The thumb of the slider that sets ``param``."""
    return page.locator(f"[data-param='{param}'] [role=slider]")


def _choose(page, label: str, option: str) -> None:  # type: ignore[no-untyped-def]
    page.locator(".v-select", has=page.locator(f"label:text-is('{label}')")).click()
    page.locator(".v-menu__content:visible .v-list-item", has_text=option).first.click()


def _sidebar_text(page) -> str:  # type: ignore[no-untyped-def]
    return page.locator(".v-navigation-drawer").inner_text()


def test_watch_a_run_with_plain_controls(server, page, tmp_path):
    url, t0, _ = server
    page.goto(url)
    network = _visible_figure(page, "network")
    first_render = time.monotonic() - t0
    outcomes = _visible_figure(page, "outcomes")
    print(f"\ntime from `partnersim dashboard` to first render of the network: {first_render:.1f} s")
    assert _month(page) == 0
    text = page.locator("body").inner_text()
    for internal in MESA_INTERNALS:
        assert internal not in text, f"Mesa's {internal!r} is on the page"
    sidebar = _sidebar_text(page)
    for plain in (
        "NEXT MONTH",
        "PLAY",
        "START AGAIN",
        "Playing speed",
        "Policy levers",
        "Outside pressures",
        "Key assumptions",
        "Failing trusts get a mandated partner",
        "Support fund: share of transition costs met: 0% (0% to 100%)",
        "How fast trust builds: 0.04 (0.01 to 0.07)",
    ):
        assert plain in sidebar, plain
    before, net_before = outcomes.get_attribute("src"), network.get_attribute("src")
    _step(page, 3)
    default_run = page.locator("img[data-testid=outcomes]").get_attribute("src")
    assert default_run != before, "the time series did not change when the model stepped"
    assert page.locator("img[data-testid=network]").get_attribute("src") != net_before
    page.screenshot(path=str(tmp_path / "watch_default_month3.png"))

    # a bigger workforce shock: the page says the settings changed; Start again runs them
    thumb = _thumb(page, "workforce_shock")
    assert thumb.get_attribute("aria-valuenow") == "0"
    thumb.focus()
    thumb.press("End")
    page.get_by_text("The settings have changed since this run started").wait_for()
    page.get_by_role("button", name="Start again").click()
    _wait_month(page, 0)
    assert page.get_by_text("The settings have changed").count() == 0
    _step(page, 3)
    shocked = page.locator("img[data-testid=outcomes]").get_attribute("src")
    assert shocked != default_run, "moving the workforce-shock slider did not change the run"
    page.screenshot(path=str(tmp_path / "watch_shock_month3.png"))

    # Play runs on its own until paused
    page.get_by_role("button", name="Play", exact=True).click()
    page.wait_for_function("() => +document.querySelector('[data-testid=month]').textContent >= 6")
    page.get_by_role("button", name="Pause", exact=True).click()
    page.get_by_role("button", name="Play", exact=True).wait_for()
    stopped = _month(page)
    time.sleep(1.0)
    assert _month(page) == stopped, "the run went on after Pause"


def test_save_the_settings_as_a_scenario_file(server, page, tmp_path):
    url, _, cwd = server
    page.goto(url)
    _visible_figure(page, "network")
    page.locator("[data-param=voluntary] input").click(force=True)
    page.get_by_text("Changes from mandated_buddying: voluntary partnering under pressure.").wait_for()
    name = page.get_by_label("Name (e.g. buddying_with_fund)")
    name.fill("Not a name")
    page.get_by_role("button", name="Save as a scenario file").click()
    assert "is not a usable name" in page.locator("[data-testid=save-error]").inner_text()
    name.fill("buddying_voluntary")
    page.get_by_label("Description (optional)").fill("Buddying, and trusts under pressure partner voluntarily.")
    page.get_by_role("button", name="Save as a scenario file").click()
    shown = page.locator("[data-testid=saved-path]").inner_text()
    path = cwd / "results" / "dashboard" / "scenarios" / "buddying_voluntary.toml"
    assert Path(shown) == Path("results/dashboard/scenarios/buddying_voluntary.toml") and path.is_file()
    drawer = page.locator(".v-navigation-drawer").bounding_box()
    main = page.locator("[data-testid=now]").bounding_box()
    assert drawer["x"] + drawer["width"] <= main["x"], "the sidebar covers the headline"
    page.screenshot(path=str(tmp_path / "save_done.png"))
    cli = subprocess.run(
        [sys.executable, "-m", "analysis.cli", "validate", str(path)], capture_output=True, text=True, cwd=cwd
    )
    assert cli.returncode == 0, cli.stdout + cli.stderr
    saved = tomllib.loads(path.read_text())
    assert saved["levers"]["voluntary"]["enabled"] is True and saved["levers"]["failure_regime"]["enabled"] is True
    assert saved["description"] == "Buddying, and trusts under pressure partner voluntarily."

    # saving again under the same name asks first; keeping the old file leaves it alone
    first = path.read_text()
    page.get_by_label("Description (optional)").fill("Second thoughts.")
    page.get_by_role("button", name="Save as a scenario file").click()
    page.get_by_role("button", name="Replace it").wait_for()
    page.wait_for_timeout(500)  # the dialog's fade-in
    page.screenshot(path=str(tmp_path / "save_confirm.png"))
    page.get_by_role("button", name="Keep the old one").click()
    page.get_by_text("Replace the saved scenario?").wait_for(state="hidden")
    assert path.read_text() == first
    page.get_by_role("button", name="Save as a scenario file").click()
    page.get_by_role("button", name="Replace it").click()
    deadline = time.monotonic() + 30
    while tomllib.loads(path.read_text())["description"] != "Second thoughts." and time.monotonic() < deadline:
        time.sleep(0.2)
    assert tomllib.loads(path.read_text())["description"] == "Second thoughts."

    # the saved scenario is offered and runs
    _choose(page, "Scenario", "buddying_voluntary")
    page.get_by_text("Second thoughts.").wait_for()
    _step(page, 1)


def test_theory_page_edits_a_lag_and_a_mechanism_and_runs_reflect_them(server, page, tmp_path):
    url, _, cwd = server
    page.goto(url)  # a run is under way when the theory is edited
    _visible_figure(page, "network")
    page.get_by_role("tab", name="Theory").click()
    web = _visible_figure(page, "causal-web")
    before = web.get_attribute("src")
    _choose(page, "Values to edit", "Arrow delays")
    lag = page.locator(f"[data-param='{LAG}']")
    assert re.search(r"Governance → Culture: 6 months \(3 to 24 months\)", lag.inner_text())
    _thumb(page, LAG).focus()
    _thumb(page, LAG).press("End")
    page.get_by_text("Governance → Culture: 24 months").wait_for()
    _choose(page, "Values to edit", "Conflict")
    rate = page.locator(f"[data-param='{MECHANISM}']")
    assert "How fast conflict settles to its level (per month): 0.150 (0.05 to 0.3)" in rate.inner_text()
    for _ in range(2):
        _thumb(page, MECHANISM).press("ArrowRight")
    page.get_by_text("How fast conflict settles to its level (per month): 0.160").wait_for()
    edits = page.locator("table[data-testid=edits]")
    page.wait_for_function("() => document.querySelectorAll('table[data-testid=edits] tr').length === 3")
    assert "Delay of Governance → Culture\t3 to 24 months\t6\t24" in edits.inner_text()
    assert "0.05 to 0.3\t0.15\t0.16" in edits.inner_text()
    page.wait_for_function("src => document.querySelector('img[data-testid=causal-web]').src !== src", arg=before)
    page.screenshot(path=str(tmp_path / "theory_edited.png"))

    # the watched run uses them once started again
    page.get_by_role("tab", name="Watch a run").click()
    _visible_figure(page, "network")
    page.get_by_text("The settings have changed since this run started").wait_for()
    page.get_by_role("button", name="Start again").click()
    in_force = page.locator("[data-testid=theory-in-force]")
    in_force.wait_for()
    assert "Delay of Governance → Culture: 24 (theory file 6)" in in_force.inner_text()
    assert "How fast conflict settles to its level (per month): 0.16 (theory file 0.15)" in in_force.inner_text()
    _step(page, 2)
    page.screenshot(path=str(tmp_path / "watch_under_edited_theory.png"))

    # and so does the comparison, kept under results/dashboard/compare
    page.get_by_role("tab", name="Compare policies").click()
    _few_short_runs(page)
    page.get_by_role("tab", name="Theory").click()
    page.get_by_role("button", name="Rerun the comparison under this theory (2 edited)").click()
    page.get_by_text("under the edited theory (2 values changed)").wait_for(timeout=180_000)
    _visible_figure(page, "compare-trajectories")
    folder = cwd / page.locator("[data-testid=compare-folder]").inner_text()
    assert folder.parent == cwd / "results" / "dashboard" / "compare"
    manifest = json.loads((folder / "manifest.json").read_text())
    for scen in manifest["scenarios"]:
        overrides = scen["resolved"]["uncertainties"]["effect_overrides"]
        assert overrides[LAG] == 24.0 and overrides[MECHANISM] == pytest.approx(0.16), scen["name"]
    page.get_by_text("under the edited theory").scroll_into_view_if_needed()
    page.screenshot(path=str(tmp_path / "theory_rerun.png"))


def _few_short_runs(page) -> None:  # type: ignore[no-untyped-def]
    reps = _thumb(page, "replicates")
    reps.focus()
    reps.press("Home")  # the fewest replicates: keeps the test short
    page.get_by_text("Replicates per scenario: 2").wait_for()
    horizon = _thumb(page, "horizon")
    horizon.focus()
    horizon.press("Home")  # 12 months
    page.get_by_text("Horizon: 12 months").wait_for()


def test_compare_policies(server, page, tmp_path):
    url, _, cwd = server
    page.goto(url + "compare")
    _few_short_runs(page)
    page.get_by_role("button", name="Run the comparison").click()
    page.locator("[data-testid=progress]").wait_for()
    for key in ("trajectories", "differences", "partnerships"):
        _visible_figure(page, f"compare-{key}")
    summary = page.locator(".partnersim-summary").inner_text()
    assert "mandated_mergers vs baseline" in summary and "difference" in summary
    assert page.locator(".partnersim-horizons").inner_text().startswith("Mandated mergers: ")  # the headline
    assert page.locator('table[data-outcome="share_inadequate"]').count() == 1  # outcomes in units people use
    folder = cwd / page.locator("[data-testid=compare-folder]").inner_text()
    assert folder.parent == cwd / "results" / "dashboard" / "compare" and (folder / "manifest.json").is_file()
    page.screenshot(path=str(tmp_path / "compare_done.png"))
    page.locator("img[data-testid=compare-trajectories]").scroll_into_view_if_needed()
    page.screenshot(path=str(tmp_path / "compare_figures.png"))
