"""``partnersim dashboard``: the live dashboard in the browser (Solara pages around the Mesa model)."""

from __future__ import annotations

import argparse
from pathlib import Path

from analysis import jobs
from analysis.cli.options import Subparsers, bounded


def add_parser(sub: Subparsers) -> None:
    """Add the command's parser to ``sub``."""
    p = sub.add_parser(
        "dashboard",
        help="live dashboard in the browser (watch a run, compare policies, edit the theory)",
        description="Serve the dashboard on this machine: watch a run month by month (partnership "
        "network and outcomes, levers, pressures and key assumptions as plain controls), compare "
        "policies with intervals, edit arrow strengths, delays and mechanism parameters for the "
        "session, and save the settings as a scenario file under results/dashboard. "
        "Prints the address to open; Ctrl-C stops it. Works offline once "
        "scripts/install-solara-assets has filled the asset cache (make does this).",
    )
    p.add_argument("--port", type=bounded("--port"), default=8765, help="port (default: 8765; 0 = any free port)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1, this machine only)")
    p.add_argument(
        "--scenarios",
        type=Path,
        default=None,
        metavar="DIR",
        help="folder of scenario files to offer (default: the repository's scenarios/)",
    )
    p.add_argument(
        "--sensitivity",
        type=Path,
        default=None,
        metavar="DIR",
        help="a `partnersim sensitivity` output folder: shade the Theory page's causal web by it",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Serve the dashboard until interrupted."""
    return jobs.dashboard.run_dashboard(args.host, args.port, scenarios=args.scenarios, sensitivity=args.sensitivity)
