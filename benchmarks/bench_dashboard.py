"""Time from `partnersim dashboard` to a usable page, and the cost of one Step.

For each of N launches: start `partnersim dashboard` on a free port, wait until the server
answers (ready), open the Watch page in headless chromium and wait until the partnership
network image has rendered (first render); then press Step K times and time each from the
click until the month counter has moved *and* both figures (network and outcomes) show the
new month (their images have changed and finished loading). The first Step of a run is
reported apart: it may redraw a figure in full (a partnership type appears in a legend).
Offline: requests that would leave the machine are aborted.

``--against DIR`` times another checkout too (e.g. an export of main: ``git archive main |
tar -x -C /tmp/before``): launches alternate between DIR and this tree, so both see the
same machine load, and the medians are printed side by side with their ratio.

    .venv/bin/python benchmarks/bench_dashboard.py [--launches 3] [--steps 10] [--against DIR]
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from browserkit import guard_network, launch  # noqa: E402

FIGURES = ("network", "outcomes")
STEP = re.compile(r"^\s*(Step|Next month)\s*$")  # the button's label before and after issue 13
# true once the month counter shows `month` and every figure's image differs from `before` and has loaded
UPDATED = """([month, before]) => {
  const m = document.querySelector('[data-testid=month]');
  if (!m || m.textContent.trim() !== String(month)) return false;
  return Object.entries(before).every(([id, src]) => {
    const e = document.querySelector(`img[data-testid=${id}]`);
    return e && e.src !== src && e.complete && e.naturalWidth > 0;
  });
}"""
SOURCES = "ids => Object.fromEntries(ids.map(id => [id, document.querySelector(`img[data-testid=${id}]`).src]))"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def one_launch(playwright, tree: Path, steps: int) -> dict[str, float]:  # type: ignore[no-untyped-def]
    """Serve the dashboard of ``tree`` (its own `analysis` and `sim`, this venv) and time it."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory() as results:
        proc = subprocess.Popen(
            [sys.executable, "-m", "analysis.cli", "dashboard", "--port", str(port)],
            cwd=tree,  # `python -m` puts the working directory first on sys.path: the tree's own code runs
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**os.environ, "PARTNERSIM_DASHBOARD_RESULTS": results},
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
            page.wait_for_function("() => document.querySelector('img[data-testid=outcomes]')?.complete")
            first = time.monotonic() - t0
            times = []
            for k in range(steps):
                before = page.evaluate(SOURCES, list(FIGURES))
                s0 = time.monotonic()
                page.get_by_role("button", name=STEP).click()
                page.wait_for_function(UPDATED, arg=[k + 1, before], polling="raf")
                times.append(time.monotonic() - s0)
            browser.close()
            return {"ready": ready, "first_render": first, "first_step": times[0], "step": statistics.median(times)}
        finally:
            proc.terminate()
            proc.wait(timeout=15)


def main() -> None:
    from playwright.sync_api import sync_playwright

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--launches", type=int, default=3, help="launches per tree (default 3)")
    parser.add_argument("--steps", type=int, default=10, help="Steps timed per launch (default 10)")
    parser.add_argument("--against", type=Path, default=None, metavar="DIR", help="another checkout to time too")
    args = parser.parse_args()
    trees = {"this tree": ROOT} if args.against is None else {"against": args.against.resolve(), "this tree": ROOT}
    rows: dict[str, list[dict[str, float]]] = {name: [] for name in trees}
    with sync_playwright() as p:
        for i in range(args.launches):
            for name, tree in trees.items():
                r = one_launch(p, tree, args.steps)
                rows[name].append(r)
                print(
                    f"{name:9s} launch {i + 1}: server ready {r['ready']:.1f} s, "
                    f"first render {r['first_render']:.1f} s, "
                    f"one Step (median of {args.steps}) {r['step'] * 1000:.0f} ms",
                    flush=True,
                )
    med = {name: {k: statistics.median(r[k] for r in rs) for k in rs[0]} for name, rs in rows.items()}
    print(f"\nmedians over {args.launches} launch(es) per tree:")
    print(f"{'':24s}" + "".join(f"{name:>12s}" for name in trees) + ("       ratio" if len(trees) == 2 else ""))
    for key, what, scale, unit in (
        ("ready", "server ready", 1, "s"),
        ("first_render", "first render", 1, "s"),
        ("first_step", "first Step of a run", 1000, "ms"),
        ("step", "one Step (median)", 1000, "ms"),
    ):
        vals = [med[name][key] * scale for name in trees]
        line = f"{what:24s}" + "".join(f"{v:>10.{0 if unit == 'ms' else 1}f}{unit:>2s}" for v in vals)
        if len(vals) == 2:
            line += f"   {vals[0] / vals[1]:>8.2f}x"
        print(line)
    if len(trees) == 2:
        print("(ratio = against / this tree: above 1 means this tree is faster)")


if __name__ == "__main__":
    main()
