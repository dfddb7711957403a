"""``partnersim discover``: under which assumptions does a policy fail? (PRIM and CART boxes)."""

from __future__ import annotations

import argparse
import sys

from analysis import jobs
from analysis.cli.options import Subparsers, add_batch_size, bounded


def add_parser(sub: Subparsers) -> None:
    """Add the command's parser to ``sub``."""
    p = sub.add_parser(
        "discover",
        help="under which assumptions does a policy fail? (PRIM and CART boxes)",
        description="Scenario discovery: sample the theory's uncertain parameters, run the policy (and the "
        "paired baseline) at each point, mark the points where the policy fails the criterion, and "
        "find the parameter boxes that explain the failures with PRIM (coverage/density trade-off; "
        "pick a box with --box; quasi-p-values per limit; stability over bootstrap resamples) and CART. "
        "Prints the boxes in plain words. A policy that fails at every point, or at none, is reported as "
        "such (exit 0).",
        epilog="example: partnersim discover scenarios/merger.toml --baseline scenarios/baseline.toml "
        '--criterion "quality@60 > 0" -N 500',
    )
    p.add_argument("policy", nargs="?", help="the policy scenario file")
    p.add_argument(
        "--baseline",
        default=None,
        help="paired baseline scenario: the criterion applies to policy − baseline, run with the same "
        "seeds and theory values (default: scenarios/baseline.toml)",
    )
    p.add_argument(
        "--absolute",
        action="store_true",
        help="judge the criterion on the policy's own outputs, with no paired baseline",
    )
    p.add_argument(
        "--criterion",
        default=None,
        help='what success means: "OUTPUT@MONTH OP VALUE" with OP one of > >= < <= '
        '(default: "quality@60 > 0", i.e. quality at 60 months above the paired baseline; at the horizon '
        "if shorter)",
    )
    p.add_argument("-N", type=bounded("-N"), default=256, help="sample points (Latin hypercube; default: 256)")
    p.add_argument("--reps", type=bounded("--reps"), default=1, help="replicates per point, averaged (default: 1)")
    p.add_argument("--params", default=None, help="subset of parameters (patterns or groups, as in sensitivity)")
    p.add_argument("--exclude", default=None, help="patterns or groups to leave out")
    p.add_argument(
        "--from",
        dest="from_",
        default=None,
        metavar="SWEEP",
        help="use an existing sample (a sensitivity/discover output folder or a table) instead of running",
    )
    p.add_argument(
        "--box",
        type=bounded("--box"),
        default=None,
        help="the PRIM box to report: its index on the peeling trajectory (default: the densest box "
        "with coverage >= --min-coverage)",
    )
    p.add_argument(
        "--min-coverage", type=bounded("--min-coverage", float), default=0.5, help="default box choice (default: 0.5)"
    )
    p.add_argument(
        "--peel-alpha", type=bounded("--peel-alpha", float), default=0.05, help="PRIM peeling fraction (default: 0.05)"
    )
    p.add_argument(
        "--mass-min",
        type=bounded("--mass-min", float),
        default=0.05,
        help="smallest box, as a share of points (default: 0.05)",
    )
    p.add_argument("--cart-depth", type=bounded("--cart-depth"), default=3, help="depth of the CART tree (default: 3)")
    p.add_argument(
        "--resamples",
        type=bounded("--resamples"),
        default=20,
        help="bootstrap resamples for the PRIM box's stability, drawn from the seed (default: 20)",
    )
    p.add_argument("--no-stability", action="store_true", help="skip the resampling stability check")
    p.add_argument(
        "--n-providers", type=bounded("--n-providers"), default=None, help="resize the population (quick looks)"
    )
    p.add_argument("--seed", type=bounded("--seed"), default=None, help="seed (default: the policy scenario's)")
    p.add_argument(
        "--workers", type=bounded("--workers"), default=None, help="worker processes (default: all cores; 1 = serial)"
    )
    p.add_argument("--scheduler", default=None, help="Dask scheduler address (as in sensitivity)")
    p.add_argument("--out", default=None, help="output folder (default: results/discover/<policy>)")
    p.add_argument("--resume", action="store_true", help="reuse finished batches in --out")
    add_batch_size(p)
    p.add_argument(
        "--force",
        action="store_true",
        help="replace this command's earlier outputs in --out, the stored sweep included (--resume keeps it)",
    )
    p.add_argument("--no-figures", action="store_true", help="skip the figures")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run scenario discovery."""
    return jobs.discover.run_discovery(
        args.policy,
        baseline=args.baseline,
        absolute=args.absolute,
        criterion=args.criterion,
        points=args.N,
        replicates=args.reps,
        params=args.params,
        exclude=args.exclude,
        sweep_from=args.from_,
        box=args.box,
        min_coverage=args.min_coverage,
        peel_alpha=args.peel_alpha,
        mass_min=args.mass_min,
        cart_depth=args.cart_depth,
        resamples=0 if args.no_stability else args.resamples,
        n_providers=args.n_providers,
        seed=args.seed,
        workers=args.workers,
        scheduler=args.scheduler,
        batch_size=args.batch_size,
        out=args.out,
        resume=args.resume,
        figures=not args.no_figures,
        command=sys.argv,
        force=args.force,
    )
