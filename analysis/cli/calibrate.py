"""``partnersim calibrate``: parameter values that reproduce the quantitative evidence (ABC)."""

from __future__ import annotations

import argparse
import sys

from analysis import jobs
from analysis.cli.options import Subparsers, bounded


def add_parser(sub: Subparsers) -> None:
    """Add the command's parser to ``sub``."""
    p = sub.add_parser(
        "calibrate",
        help="find parameter values that reproduce the quantitative evidence (ABC)",
        description="Approximate Bayesian computation by rejection: sample the theory's uncertain parameters "
        "over their declared ranges (Latin hypercube), run the studies the quantitative checks "
        "need, accept the sets that meet every target (or the best ones), and write a new theory "
        "file with narrowed ranges and a header recording method, targets, budget and acceptance, "
        "plus a CSV record of every design point.",
        epilog="example: partnersim calibrate --budget 120 --reps 2",
    )
    p.add_argument("--theory", default=None, metavar="FILE", help="base theory (default: scenarios/theory/irt.toml)")
    p.add_argument(
        "--targets",
        default=None,
        metavar="NAME,…",
        help="quantitative checks to meet (default: all quantitative checks)",
    )
    p.add_argument(
        "--params",
        default=None,
        metavar="GLOB,…",
        help="parameters to search, glob patterns (default: those the targets depend on most "
        "directly; '*' = every uncertain parameter)",
    )
    p.add_argument("--budget", type=bounded("--budget"), default=120, metavar="N", help="design points (default 120)")
    p.add_argument("--reps", type=bounded("--reps"), default=2, metavar="R", help="replicates per point (default 2)")
    p.add_argument("--seed", type=bounded("--seed"), default=20220701, help="seed of the design and replicates")
    p.add_argument(
        "--accept-quantile",
        type=bounded("--accept-quantile", float),
        default=0.1,
        metavar="Q",
        help="share accepted when too few points meet every target (default 0.1)",
    )
    p.add_argument("--min-accept", type=bounded("--min-accept"), default=5, help="least accepted points (default 5)")
    p.add_argument(
        "--refine-reps",
        type=bounded("--refine-reps"),
        default=4,
        metavar="R",
        help="re-run the accepted points with R fresh replicates and choose the defaults on them "
        "(default 4; 0 = no refinement)",
    )
    p.add_argument(
        "--out",
        default=None,
        metavar="FILE",
        help="calibrated theory file (default: irt_calibrated.toml in a new folder results/calibration/<time>); "
        "a file git tracks is never replaced, another existing file only with --force",
    )
    p.add_argument(
        "--record",
        default=None,
        metavar="DIR",
        help="folder for the record of design points (default: results/calibration/<time>)",
    )
    p.add_argument(
        "--validate-reps",
        type=bounded("--validate-reps"),
        default=0,
        metavar="R",
        help="then validate the base and calibrated theories with R replicates (default: skip)",
    )
    p.add_argument("--workers", type=bounded("--workers"), default=None, metavar="N", help="worker processes")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS", help="Dask scheduler address, or 'local'")
    p.add_argument(
        "--force", action="store_true", help="replace an existing (untracked) --out file or --record outputs"
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Calibration."""
    return jobs.calibrate.run_calibration(
        args.theory,
        targets=args.targets,
        params=args.params,
        budget=args.budget,
        replicates=args.reps,
        seed=args.seed,
        accept_quantile=args.accept_quantile,
        min_accept=args.min_accept,
        refine_replicates=args.refine_reps,
        out=args.out,
        record=args.record,
        validate_replicates=args.validate_reps,
        workers=args.workers,
        scheduler=args.scheduler,
        command=sys.argv,
        force=args.force,
    )
