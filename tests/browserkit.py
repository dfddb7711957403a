"""Shared bits of the browser tests: Debian's chromium driven headless by Playwright, offline.

The tests never download a browser (no ``playwright install``): they use ``/usr/bin/chromium``,
which ``.ci/run`` installs with apt. ``guard_network`` aborts every request that would leave
this machine and records it, so a test can assert that none was attempted.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

CHROMIUM = Path(os.environ.get("PARTNERSIM_CHROMIUM", "/usr/bin/chromium"))
ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
LOCAL = (
    "http://127.0.0.1",
    "https://127.0.0.1",
    "ws://127.0.0.1",
    "http://localhost",
    "ws://localhost",
    "data:",
    "blob:",
    "file:",
    "about:",
)

needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(), reason=f"{CHROMIUM} not installed (CI installs it: apt-get install -y chromium, see .ci/run)"
)


def launch(playwright):  # type: ignore[no-untyped-def]
    """Chromium, headless, with no background traffic of its own."""
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)


def guard_network(page) -> list[str]:  # type: ignore[no-untyped-def]
    """Abort requests leaving this machine; return the (live) list of those attempted."""
    attempted: list[str] = []

    def route(r):  # type: ignore[no-untyped-def]
        url = r.request.url
        if url.startswith(LOCAL):
            return r.continue_()
        attempted.append(url)
        return r.abort()

    page.route("**/*", route)
    return attempted


def rendered_size(locator) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """On-screen width and height of an element (0 when not rendered); images must also have loaded."""
    return locator.evaluate(
        "e => { const r = e.getBoundingClientRect();"
        " const ok = e.tagName !== 'IMG' || (e.complete && e.naturalWidth > 0);"
        " return ok ? [r.width, r.height] : [0, 0]; }"
    )
