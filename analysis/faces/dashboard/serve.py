"""Start the dashboard server (``partnersim dashboard``): Solara on a local port, offline-ready.

The app runs in a child process (``python -m solara run analysis.faces.dashboard.app``) in Solara's
production mode, with telemetry off and the front-end assets served from the local cache that
``scripts/install-solara-assets`` fills. We wait until the server answers, print the address
and how long it took, and stop the server on Ctrl-C.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from analysis.errors import UserError

APP = "analysis.faces.dashboard.app"
READY_TIMEOUT = 120.0


def solara_command(host: str, port: int) -> list[str]:
    """The command line that serves the app."""
    return [
        sys.executable,
        "-m",
        "solara",
        "run",
        APP,
        "--host",
        host,
        "--port",
        str(port),
        "--production",
        "--no-open",
        "--theme-loader",
        "plain",
        "--log-level",
        "warning",
    ]


def server_env(scenarios: Path | None = None, sensitivity: Path | None = None) -> dict[str, str]:
    """Environment of the server: no telemetry; the scenario library and a sensitivity folder to overlay."""
    env = dict(os.environ)
    env.update(
        SOLARA_TELEMETRY_MIXPANEL_ENABLE="False",
        MPLBACKEND="Agg",
        PYTHONWARNINGS="ignore:Cookies with samesite=none require https:UserWarning",
    )
    if scenarios is not None:
        env["PARTNERSIM_SCENARIOS"] = str(scenarios)
    if sensitivity is not None:
        env["PARTNERSIM_SENSITIVITY"] = str(sensitivity)
    return env


def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody listens on now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def port_in_use(host: str, port: int) -> bool:
    """Whether something already listens on ``host:port``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


def wait_ready(url: str, proc: subprocess.Popen[bytes], timeout: float = READY_TIMEOUT) -> float:
    """Poll ``url`` until it answers 200; return the seconds waited. Raise if the server dies or times out."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if proc.poll() is not None:
            raise UserError(
                f"the dashboard server stopped during start-up (exit code {proc.returncode}); see the messages above"
            )
        try:
            with urllib.request.urlopen(url, timeout=2) as r:  # noqa: S310 - our own local server
                if r.status == 200:
                    return time.monotonic() - t0
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            pass
        time.sleep(0.2)
    raise UserError(f"the dashboard server did not answer at {url} within {timeout:.0f} s")


def assets_missing() -> list[str]:
    """Front-end packages missing from Solara's local asset cache (empty when all are there)."""
    script = Path(__file__).resolve().parents[3] / "scripts" / "install-solara-assets"
    if not script.is_file():
        return []
    proc = subprocess.run([sys.executable, str(script), "--check"], capture_output=True, text=True, check=False)
    return [line.split()[-1] for line in proc.stdout.splitlines() if line.startswith("missing")]


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def serve(
    host: str = "127.0.0.1", port: int = 8765, *, scenarios: Path | None = None, sensitivity: Path | None = None
) -> int:
    """Run the dashboard until interrupted; print its address once it answers."""
    if port == 0:
        port = free_port(host)
    if not 1 <= port <= 65535:
        raise UserError(f"--port must be between 1 and 65535 (got {port}); 0 picks a free port")
    if port_in_use(host, port):
        raise UserError(f"port {port} on {host} is already in use; choose another with --port (0 = any free port)")
    if scenarios is not None and not any(Path(scenarios).glob("*.toml")):
        raise UserError(f"no scenario files (*.toml) in {scenarios}")
    if sensitivity is not None and not (Path(sensitivity) / "indices.parquet").is_file():
        raise UserError(
            f"--sensitivity {sensitivity}: no indices.parquet there; give the folder "
            "`partnersim sensitivity` wrote (its --out)"
        )
    missing = assets_missing()
    if missing:
        print(
            "partnersim: warning: the dashboard's browser assets are not in the local cache "
            f"({', '.join(missing)}); the page will try to fetch them from the internet. "
            "Run `.venv/bin/python scripts/install-solara-assets` (make does this) to work offline.",
            file=sys.stderr,
        )
    url = f"http://{host}:{port}/"
    t0 = time.monotonic()
    print(f"partnersim dashboard: starting on {url} …", flush=True)
    proc = subprocess.Popen(solara_command(host, port), env=server_env(scenarios, sensitivity))
    signal.signal(signal.SIGTERM, _interrupt)  # `kill` stops the server too, not only Ctrl-C
    try:
        waited = wait_ready(url, proc)
        print(
            f"partnersim dashboard: ready in {waited:.1f} s: open {url} in a browser "
            f"(pages: Watch a run, Compare policies, Theory). Ctrl-C stops it.",
            flush=True,
        )
        return proc.wait()
    except KeyboardInterrupt:
        print(f"\npartnersim dashboard: stopped after {time.monotonic() - t0:.0f} s", file=sys.stderr)
        return 0
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
