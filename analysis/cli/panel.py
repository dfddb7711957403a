"""``partnersim panel``: one run's trusts (or ICSs) month by month, as a CSV, Parquet or Excel table."""

from __future__ import annotations

import argparse

from analysis import jobs
from analysis.cli.options import Subparsers, bounded


def add_parser(sub: Subparsers) -> None:
    """Add the command's parser to ``sub``."""
    p = sub.add_parser(
        "panel",
        help="one run's trusts (or ICSs) month by month, as a table (CSV, Parquet, Excel)",
        description="Run the scenario once and write one row per trust (or per ICS) per chosen month: its domain "
        "levels (quality, efficiency, access, workforce, governance…), kind, ICS, special-measures status, "
        "surplus as a % of turnover, and its active partnerships (count, types, ids in the partnership log). "
        "The format follows the output file's suffix.",
        epilog="example: partnersim panel scenarios/mandated_mergers.toml --seed 7 --months 0,12,60,120 "
        "--by ics -o ics_panel.xlsx",
    )
    p.add_argument("scenario", help="scenario file (e.g. scenarios/baseline.toml)")
    p.add_argument(
        "-o", "--output", required=True, metavar="FILE", help="the table to write: FILE.csv, FILE.parquet or FILE.xlsx"
    )
    p.add_argument("--seed", type=bounded("--seed"), default=None, help="the run's seed (default: the scenario's)")
    p.add_argument(
        "--months",
        default=None,
        help='months to report: "0,12,60,120" or "all" (default: 0, 12, 60, 120 within the horizon, and the horizon)',
    )
    p.add_argument("--by", default="trust", help="one row per trust (default) or per ics")
    p.add_argument("--horizon", type=bounded("--horizon"), default=None, help="months to run (default: the scenario's)")
    p.add_argument(
        "--n-providers", type=bounded("--n-providers"), default=None, help="resize the population (quick looks)"
    )
    p.add_argument("--force", action="store_true", help="replace FILE if it exists")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Write the panel of one run."""
    return jobs.panel.run_panel(
        args.scenario,
        output=args.output,
        seed=args.seed,
        months=args.months,
        by=args.by,
        horizon=args.horizon,
        n_providers=args.n_providers,
        force=args.force,
    )
