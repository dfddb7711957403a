"""Time from `partnersim dashboard` to a usable page, and the cost of one Step.

For each of N launches: start `partnersim dashboard` on a free port, wait until the server
answers (ready), open the Watch page in headless chromium and wait until the partnership
network image has rendered (first render); then press Step five times and time each until
the month counter moves. Prints medians and the per-launch numbers. Offline: requests that
would leave the machine are aborted.

    .venv/bin/python benchmarks/bench_dashboard.py [--launches 3]
"""

from __future__ import annotations

import argparse
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from browserkit import guard_network, launch  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def one_launch(playwright) -> dict[str, float]:  # type: ignore[no-untyped-def]
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    t0 = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "analysis.cli", "dashboard", "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        while True:
            try:
                with urllib.request.urlopen(url, timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                time.sleep(0.1)
        ready = time.monotonic() - t0
        browser = launch(playwright)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(120_000)
        guard_network(page)
        page.goto(url)
        page.wait_for_function(
            "() => { const e = document.querySelector('img[data-testid=network]');"
            " return e && e.complete && e.naturalWidth > 0; }"
        )
        first = time.monotonic() - t0
        steps = []
        for k in range(5):
            s0 = time.monotonic()
            page.get_by_role("button", name="Step").click()
            page.wait_for_function(f"() => document.querySelector('[data-testid=month]').textContent === '{k + 1}'")
            steps.append(time.monotonic() - s0)
        browser.close()
        return {"ready": ready, "first_render": first, "step": statistics.median(steps)}
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def main() -> None:
    from playwright.sync_api import sync_playwright

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--launches", type=int, default=3)
    args = parser.parse_args()
    rows = []
    with sync_playwright() as p:
        for i in range(args.launches):
            r = one_launch(p)
            rows.append(r)
            print(
                f"launch {i + 1}: server ready {r['ready']:.1f} s, first render {r['first_render']:.1f} s, "
                f"one Step (median of 5) {r['step'] * 1000:.0f} ms",
                flush=True,
            )
    med = {k: statistics.median(r[k] for r in rows) for k in rows[0]}
    print(
        f"\nmedian over {len(rows)} launches: `partnersim dashboard` -> server ready {med['ready']:.1f} s, "
        f"-> network rendered in the browser {med['first_render']:.1f} s; one Step {med['step'] * 1000:.0f} ms"
    )


if __name__ == "__main__":
    main()
