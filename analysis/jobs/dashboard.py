"""``partnersim dashboard``: serve the live dashboard until interrupted."""

from __future__ import annotations

from pathlib import Path

from analysis.faces.dashboard.serve import serve


def run_dashboard(
    host: str = "127.0.0.1", port: int = 8765, *, scenarios: Path | None = None, sensitivity: Path | None = None
) -> int:
    """Serve the dashboard on ``host:port`` (0 = any free port) until interrupted; return the exit code."""
    return serve(host, port, scenarios=scenarios, sensitivity=sensitivity)
