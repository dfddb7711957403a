"""``partnersim pathways``: attribute a policy's effect to the pathways of the causal web."""

from __future__ import annotations

import argparse

from analysis import jobs
from analysis.cli.options import Subparsers, add_inputs, bounded, months


def add_parser(sub: Subparsers) -> None:
    """Add the command's parser to ``sub``."""
    p = sub.add_parser(
        "pathways",
        help="attribute a policy's effect to the pathways of the causal web",
        description="Decompose each policy's paired difference from the baseline, per outcome and month, into "
        "contributions through the pathways of the theory (partnering -> governance -> culture -> "
        "quality …; synergy; transition disruption; scale effects), by counterfactual runs that "
        "block one pathway at a time under common random numbers. Reports the interaction "
        "remainder and whether the contributions add up; saves CSV, an HTML fragment and a "
        "waterfall figure per outcome and month.",
        epilog="example: partnersim pathways scenarios/mandated_mergers.toml --reps 4",
    )
    add_inputs(p)
    p.add_argument(
        "--outcomes",
        default="mean_quality,mean_efficiency,mean_access",
        metavar="M1,M2",
        help="metrics to attribute (mean_<domain> or a band metric; default: quality, efficiency, access)",
    )
    p.add_argument(
        "--horizons",
        type=months,
        default=(12, 36, 120),
        metavar="M1,M2,…",
        help="months at which effects are measured (default: 12,36,120)",
    )
    p.add_argument(
        "--level",
        default="pathway",
        choices=["pathway", "route", "entry", "channel"],
        help="how routes are grouped: pathway (partnering routes one by one, other channels whole; "
        "default), route, entry (channel x entry domain) or channel",
    )
    p.add_argument(
        "--min-share",
        type=bounded("--min-share", float),
        default=0.02,
        metavar="S",
        help="pool pathways whose first-order share is below S into 'other routes' (default 0.02)",
    )
    p.add_argument(
        "--tolerance",
        type=bounded("--tolerance", float),
        default=0.1,
        metavar="T",
        help="contributions add up when |remainder| <= T x |total| (default 0.1)",
    )
    p.add_argument("--no-figures", dest="figures", action="store_false", help="do not draw figures")
    p.add_argument("--force", action="store_true", help="replace earlier outputs in the --out folder")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Pathway attribution."""
    return jobs.pathways.run_pathways(
        args.inputs,
        baseline=args.baseline,
        replicates=args.reps,
        seed=args.seed,
        horizon=args.horizon,
        workers=args.workers,
        scheduler=args.scheduler,
        batch_size=args.batch_size,
        out=args.out,
        outcomes=args.outcomes,
        horizons=args.horizons,
        level=args.level,
        min_share=args.min_share,
        tolerance=args.tolerance,
        figures=args.figures,
        force=args.force,
    )
