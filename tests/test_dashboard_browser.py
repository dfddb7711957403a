"""The dashboard in a real browser: `partnersim dashboard` served locally, driven by headless chromium.

One server for the module (started as a user would, through the CLI, on a free port); each
test opens pages with every request that would leave the machine aborted and recorded, so
the pages must render from the local asset cache. Screenshots go to the test's tmp folder.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
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
OFFLINE_SERVER_ENV = {**os.environ, "HTTP_PROXY": BLACKHOLE, "HTTPS_PROXY": BLACKHOLE, "http_proxy": BLACKHOLE,
                      "https_proxy": BLACKHOLE, "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"}


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """`partnersim dashboard --port P` in a subprocess; yields (url, seconds from launch to ready)."""
    port = _free_port()
    log = tmp_path_factory.mktemp("dashboard") / "server.log"
    t0 = time.monotonic()
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "analysis.cli", "dashboard", "--port", str(port)],
                                cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, env=OFFLINE_SERVER_ENV)
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
        yield url, t0
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
    context.close()


def _visible_figure(page, test_id: str):  # type: ignore[no-untyped-def]
    img = page.locator(f"img[data-testid={test_id}]")
    img.wait_for(state="visible")
    page.wait_for_function("id => { const e = document.querySelector(`img[data-testid=${id}]`);"
                           " return e && e.complete && e.naturalWidth > 0; }", arg=test_id)
    w, h = rendered_size(img)
    assert w > 200 and h > 150, f"{test_id} rendered at {w}x{h}"
    return img


def _month(page) -> int:  # type: ignore[no-untyped-def]
    return int(page.locator("[data-testid=month]").inner_text())


def _step(page, times: int) -> None:  # type: ignore[no-untyped-def]
    for _ in range(times):
        start = _month(page)
        page.get_by_role("button", name="Step").click()
        page.wait_for_function(f"() => document.querySelector('[data-testid=month]').textContent === '{start + 1}'")


def _slider(page, label: str):  # type: ignore[no-untyped-def]
    """The thumb of the slider whose label starts with ``label``."""
    return page.locator(".v-input", has=page.locator(f"label:text-matches('^{label}')")).locator("[role=slider]")


def test_watch_a_run(server, page, tmp_path):
    url, t0 = server
    page.goto(url)
    network = _visible_figure(page, "network")
    first_render = time.monotonic() - t0
    outcomes = _visible_figure(page, "outcomes")
    (tmp_path / "first_render_seconds.txt").write_text(f"{first_render:.2f}\n")
    print(f"\ntime from `partnersim dashboard` to first render of the network: {first_render:.1f} s")
    assert _month(page) == 0
    before = outcomes.get_attribute("src")
    net_before = network.get_attribute("src")
    _step(page, 3)
    assert _month(page) == 3
    default_run = page.locator("img[data-testid=outcomes]").get_attribute("src")
    assert default_run != before, "the time series did not change when the model stepped"
    assert page.locator("img[data-testid=network]").get_attribute("src") != net_before
    page.screenshot(path=str(tmp_path / "watch_default_month3.png"))

    # a bigger workforce shock, then Reset and the same three months: the series must differ
    thumb = _slider(page, "Workforce shock")
    assert thumb.get_attribute("aria-valuenow") == "0"
    thumb.focus()
    thumb.press("End")
    page.wait_for_function("() => [...document.querySelectorAll('[role=slider]')]"
                           ".some(e => e.getAttribute('aria-valuenow') === '0.2')")
    page.get_by_role("button", name="Reset").click()
    page.wait_for_function("() => document.querySelector('[data-testid=month]').textContent === '0'")
    _step(page, 3)
    shocked = page.locator("img[data-testid=outcomes]").get_attribute("src")
    assert shocked != default_run, "moving the workforce-shock slider did not change the run"
    page.screenshot(path=str(tmp_path / "watch_shock_month3.png"))
    assert page.attempted == [], f"requests left the machine: {page.attempted}"  # type: ignore[attr-defined]
    assert page.errors == []  # type: ignore[attr-defined]


def test_compare_and_theory(server, page, tmp_path):
    url, _ = server
    page.goto(url + "compare")
    reps = _slider(page, "Replicates per scenario")
    reps.focus()
    reps.press("Home")  # the fewest replicates: keeps the test short
    page.get_by_text("Replicates per scenario: 2").wait_for()
    horizon = _slider(page, "Horizon")
    horizon.focus()
    horizon.press("Home")  # 12 months
    page.get_by_text("Horizon: 12 months").wait_for()
    page.get_by_role("button", name="Run the comparison").click()
    page.locator("[data-testid=progress]").wait_for()
    page.screenshot(path=str(tmp_path / "compare_running.png"))
    for key in ("trajectories", "differences", "partnerships"):
        _visible_figure(page, f"compare-{key}")
    summary = page.locator(".partnersim-summary").inner_text()
    assert "mandated_mergers vs baseline" in summary and "difference" in summary
    page.screenshot(path=str(tmp_path / "compare_done.png"), full_page=True)

    page.get_by_role("tab", name="Theory").click()
    web = _visible_figure(page, "causal-web")
    before = web.get_attribute("src")
    thumb = page.locator("[data-edge='edge.culture->quality.weight'] [role=slider]")
    thumb.focus()
    thumb.press("End")
    page.get_by_role("button", name="Rerun the comparison under this theory (1 edited)").wait_for()
    page.wait_for_function("src => document.querySelector('img[data-testid=causal-web]').src !== src", arg=before)
    page.get_by_role("button", name="Rerun the comparison under this theory").click()
    page.get_by_text("under the edited theory").wait_for(timeout=120_000)
    _visible_figure(page, "compare-trajectories")
    page.screenshot(path=str(tmp_path / "theory_rerun.png"), full_page=True)
    assert page.attempted == [], f"requests left the machine: {page.attempted}"  # type: ignore[attr-defined]
    assert page.errors == []  # type: ignore[attr-defined]
