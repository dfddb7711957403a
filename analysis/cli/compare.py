"""``partnersim compare``: scenarios against a baseline, paired by replicate."""

from __future__ import annotations

import argparse
import sys

from analysis import jobs
from analysis.cli.options import Subparsers, add_experiment_options
from analysis.jobs.defaults import COMPARE_HORIZONS


def add_parser(sub: Subparsers) -> None:
    """Add the command's parser to ``sub``."""
    p = sub.add_parser(
        "compare",
        help="compare scenarios against a baseline, paired by replicate",
        description="Run every scenario with the same replicate seeds (common random numbers), "
        "then print per outcome and month the mean and interval per scenario and the "
        "paired difference against the first scenario (the baseline). Saves the "
        "tables (CSV + Parquet) and figures beside the data.",
        epilog="example: partnersim compare scenarios/baseline.toml scenarios/mandated_mergers.toml "
        "scenarios/mandated_buddying.toml --reps 50",
    )
    p.add_argument("scenarios", nargs="+", metavar="SCENARIO", help="scenario files; the first is the baseline")
    add_experiment_options(p, COMPARE_HORIZONS)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run several scenarios and print the paired comparison against the first."""
    return jobs.experiment.run_scenarios(
        args.scenarios,
        compare=True,
        replicates=args.reps,
        out=args.out,
        seed=args.seed,
        horizon=args.horizon,
        horizons=args.horizons,
        workers=args.workers,
        scheduler=args.scheduler,
        resume=args.resume,
        batch_size=args.batch_size,
        progress=args.progress,
        figures=args.figures,
        report=args.report,
        xlsx=args.xlsx,
        command=["partnersim", *sys.argv[1:]],
    )
