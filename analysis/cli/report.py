"""``partnersim report``: the self-contained HTML report of an experiment, for policymakers."""

from __future__ import annotations

import argparse

from analysis import jobs
from analysis.cli.options import Subparsers, bounded


def add_parser(sub: Subparsers) -> None:
    """Add the command's parser to ``sub``."""
    p = sub.add_parser(
        "report",
        help="self-contained HTML report of an experiment, for policymakers",
        description="Write one HTML file (figures and styles inline, opens without a network) "
        "that reads top-down: what was compared and what the results say, with "
        "intervals; the assumptions behind them; trajectories with bands; paired "
        "differences; partnerships; the causal web; sensitivity and discovery results "
        "when the experiment folder holds them; provenance.",
        epilog="example: partnersim report results/2025-01-01_baseline_vs_mandated_mergers -o report.html",
    )
    p.add_argument("experiment", help="experiment folder (from partnersim run/compare)")
    p.add_argument(
        "-o",
        "--output",
        default=None,
        metavar="FILE",
        help="the HTML file to write (default: report.html inside the experiment folder)",
    )
    p.add_argument(
        "--sensitivity",
        default=None,
        metavar="DIR",
        help="a sensitivity output folder to include (default: any found inside the experiment)",
    )
    p.add_argument(
        "--discovery",
        default=None,
        metavar="DIR",
        help="a discovery output folder to include (default: any found inside the experiment)",
    )
    p.add_argument(
        "--pathways",
        default=None,
        metavar="DIR",
        help="a `partnersim pathways` output folder to include (default: any found inside the experiment)",
    )
    p.add_argument(
        "--cmoc",
        default=None,
        metavar="DIR",
        help="a `partnersim cmoc` output folder (default: any found inside, else computed from the logs)",
    )
    p.add_argument(
        "--validation",
        default=None,
        metavar="DIR",
        help="a `partnersim validate-theory` output folder to include (default: any found inside)",
    )
    p.add_argument(
        "--month",
        type=bounded("--month"),
        default=None,
        help="month the summary speaks about (default: 60 if run that long, else the last)",
    )
    p.add_argument("--force", action="store_true", help="replace the HTML file if it exists")
    p.add_argument(
        "--xlsx",
        action="store_true",
        help="also write the comparison tables as an Excel workbook beside the HTML file (same name, .xlsx)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Write the HTML report of an experiment."""
    extras = {
        "sensitivity": args.sensitivity,
        "discovery": args.discovery,
        "pathways": args.pathways,
        "cmoc": args.cmoc,
        "validation": args.validation,
    }
    return jobs.report.make_report(
        args.experiment, args.output, month=args.month, extras=extras, force=args.force, xlsx=args.xlsx
    )
