"""``partnersim cmoc``: context-mechanism-outcome tables from the partnership logs."""

from __future__ import annotations

import argparse

from analysis import jobs
from analysis.cli.options import Subparsers, add_inputs, bounded


def add_parser(sub: Subparsers) -> None:
    """Add the command's parser to ``sub``."""
    p = sub.add_parser(
        "cmoc",
        help="context-mechanism-outcome tables from the partnership logs",
        description="Bin each partnership's context (mandated or voluntary, integration, culture gap, size "
        "asymmetry, prior trust, same ICS, members' starting quality), summarise its mechanisms "
        "(trust, confidence, faith, behaviour, inertia, dissolution) and members' outcomes (paired "
        "against the baseline run with the same seed) per configuration with counts and 95% "
        "intervals, and flag demi-regularities: configurations whose outcomes differ clearly from "
        "the rest (Welch test, Benjamini-Hochberg FDR, minimum effect size). Saves CSV and HTML.",
        epilog="example: partnersim cmoc scenarios/voluntary_partnering.toml --contexts mandate,culture_gap",
    )
    add_inputs(p)
    p.add_argument(
        "--contexts",
        default="mandate,integration,culture_gap",
        metavar="C1,C2",
        help="contexts whose combinations form the configurations (of: mandate, integration, "
        "culture_gap, asymmetry, prior_trust, same_ics, start_quality)",
    )
    p.add_argument("--by-scenario", action="store_true", help="split configurations by scenario")
    p.add_argument(
        "--min-count", type=bounded("--min-count"), default=10, help="least partnerships for a flag (default 10)"
    )
    p.add_argument("--alpha", type=bounded("--alpha", float), default=0.05, help="false-discovery rate (default 0.05)")
    p.add_argument(
        "--min-effect",
        type=bounded("--min-effect", float),
        default=0.3,
        help="least |standardised difference| for a flag (default 0.3)",
    )
    p.add_argument(
        "--stored",
        action="store_true",
        help="use an experiment's stored logs as they are (no re-runs; outcomes not paired)",
    )
    p.add_argument("--force", action="store_true", help="replace earlier outputs in the --out folder")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """CMOC tables."""
    return jobs.cmoc.run_cmoc(
        args.inputs,
        baseline=args.baseline,
        replicates=args.reps,
        seed=args.seed,
        horizon=args.horizon,
        workers=args.workers,
        scheduler=args.scheduler,
        batch_size=args.batch_size,
        out=args.out,
        contexts=args.contexts,
        by_scenario=args.by_scenario,
        min_count=args.min_count,
        alpha=args.alpha,
        min_effect=args.min_effect,
        stored=args.stored,
        force=args.force,
    )
