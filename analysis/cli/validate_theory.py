"""``partnersim validate-theory``: check the theory against the evidence."""

from __future__ import annotations

import argparse

from analysis import jobs
from analysis.cli.options import Subparsers, bounded


def add_parser(sub: Subparsers) -> None:
    """Add the command's parser to ``sub``."""
    p = sub.add_parser(
        "validate-theory",
        help="check the theory against the evidence (stylized facts, figures)",
        description="Run named checks of the theory against the stylized facts and quantitative figures of the "
        "domain brief (time to leave special measures, back-office savings, merger effects, trust "
        "asymmetry …) over replicates and print the model's value beside the evidence's, pass or "
        "fail. Also lists what the model cannot speak to, and why.",
        epilog="example: partnersim validate-theory --reps 4 --compare scenarios/theory/irt_calibrated.toml",
    )
    p.add_argument("--theory", default=None, metavar="FILE", help="theory file (default: scenarios/theory/irt.toml)")
    p.add_argument("--compare", default=None, metavar="FILE", help="a second theory to show side by side")
    p.add_argument("--reps", type=bounded("--reps"), default=4, metavar="R", help="replicates (default 4)")
    p.add_argument("--seed", type=bounded("--seed"), default=20220701, help="master seed (default 20220701)")
    p.add_argument("--checks", default=None, metavar="NAME,…", help="run only these checks")
    p.add_argument("--workers", type=bounded("--workers"), default=None, metavar="N", help="worker processes")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS", help="Dask scheduler address, or 'local'")
    p.add_argument("--out", default=None, metavar="DIR", help="output folder (default: results/validation/<theory>)")
    p.add_argument("--strict", action="store_true", help="exit with code 1 if any check fails")
    p.add_argument("--force", action="store_true", help="replace earlier outputs in the --out folder")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Validation against the evidence."""
    return jobs.validate_theory.run_validation(
        args.theory,
        compare=args.compare,
        replicates=args.reps,
        seed=args.seed,
        checks=args.checks,
        workers=args.workers,
        scheduler=args.scheduler,
        out=args.out,
        strict=args.strict,
        force=args.force,
    )
