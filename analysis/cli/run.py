"""``partnersim run``: replicates of one scenario, stored, with the outcome bands printed."""

from __future__ import annotations

import argparse
import sys

from analysis import jobs
from analysis.cli.options import Subparsers, add_experiment_options
from analysis.jobs.defaults import RUN_HORIZONS


def add_parser(sub: Subparsers) -> None:
    """Add the command's parser to ``sub``."""
    p = sub.add_parser(
        "run",
        help="run replicates of one scenario and print outcome bands",
        description="Run replicates of one scenario, store them (tidy Parquet + manifest) and "
        "print the outcome bands (mean over replicates) at 12, 36 and 120 months.",
    )
    p.add_argument("scenario", help="scenario file (e.g. scenarios/baseline.toml)")
    add_experiment_options(p, RUN_HORIZONS)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run replicates of one scenario and print the outcome bands."""
    return jobs.experiment.run_scenarios(
        [args.scenario],
        compare=False,
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
