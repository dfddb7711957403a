"""``partnersim sweep``: outcomes over a grid or sample of lever values, in one or many futures."""

from __future__ import annotations

import argparse
import sys

from analysis import jobs
from analysis.cli.options import Subparsers, bounded, months


def add_parser(sub: Subparsers) -> None:
    """Add the command's parser to ``sub``."""
    p = sub.add_parser(
        "sweep",
        help="outcomes over a grid or sample of lever values, with robustness across futures",
        description="Set a policy scenario's levers over a grid (every combination) or a Latin hypercube, "
        "and run every policy in every future (uncertainties: shocks and theory values within their "
        "ranges) with the baseline's replicate seeds (common random numbers). Prints and saves each "
        "outcome per lever value and per policy (mean, interval, paired difference from the baseline), "
        "regret and satisficing shares across futures, and one figure per lever. The sweep is a TOML "
        "file (see scenarios/sweeps/) and/or the options below; options win.",
        epilog="examples: partnersim sweep scenarios/sweeps/support_fund_x_approval.toml --dry-run; "
        "partnersim sweep --policy scenarios/mandated_mergers.toml --lever support_fund.share=0,0.5,1 "
        "--lever failure_regime.intervention=buddying,merger --reps 10 --months 12,36,60",
    )
    p.add_argument("file", nargs="?", metavar="SWEEP_FILE", help="the sweep file (TOML)")
    p.add_argument("--policy", default=None, metavar="SCENARIO", help="the policy scenario whose levers are set")
    p.add_argument(
        "--baseline",
        default=None,
        metavar="SCENARIO",
        help="the baseline every policy is paired with (default: the file's, else scenarios/baseline.toml)",
    )
    p.add_argument(
        "--lever",
        action="append",
        default=[],
        metavar="NAME=VALUES",
        help="a lever and its values: support_fund.share=0,0.5,1; approval.months=6:36:4 (a range with 4 grid "
        "points; LOW:HIGH in a Latin hypercube); failure_regime.intervention=buddying,merger (repeatable)",
    )
    p.add_argument(
        "--uncertainty",
        action="append",
        default=[],
        metavar="NAME=RANGE",
        help="an uncertainty: workforce_shock.size=0:0.1, or a theory parameter (a bare NAME sweeps its "
        "declared range) (repeatable)",
    )
    p.add_argument("--design", default=None, metavar="grid|lhs", help="how lever values are combined (default: grid)")
    p.add_argument("-N", type=bounded("-N"), default=None, help="policies of a Latin-hypercube design")
    p.add_argument(
        "--futures", type=bounded("--futures"), default=None, metavar="F", help="futures sampled over the uncertainties"
    )
    p.add_argument(
        "--futures-design", default=None, metavar="lhs|grid", help="how futures are drawn (default: lhs with --futures)"
    )
    p.add_argument("--reps", type=bounded("--reps"), default=None, metavar="R", help="replicates per policy and future")
    p.add_argument("--seed", type=bounded("--seed"), default=None, help="master seed (default: the baseline's)")
    p.add_argument(
        "--horizon", type=bounded("--horizon"), default=None, metavar="MONTHS", help="months the scenarios last"
    )
    p.add_argument(
        "--months",
        type=months,
        default=None,
        metavar="M1,M2,…",
        help="months measured (default: 12,36,60,120 within the horizon)",
    )
    p.add_argument(
        "--outcomes",
        default=None,
        help="outcomes, comma-separated (default: quality,efficiency,access,special_measures)",
    )
    p.add_argument(
        "--criterion",
        action="append",
        default=[],
        metavar="TEXT",
        help='a satisficing criterion: "quality@60 >= baseline" (paired) or "special_measures@60 < 0.1" '
        "(default: no worse than the baseline in each outcome at the last month) (repeatable)",
    )
    p.add_argument("--n-providers", type=bounded("--n-providers"), default=None, metavar="N", help="population size")
    p.add_argument(
        "--out", default=None, metavar="DIR", help="experiment folder (default: results/<date>_sweep_<name>)"
    )
    p.add_argument(
        "--workers", type=bounded("--workers"), default=None, metavar="N", help="worker processes (1 = in this process)"
    )
    p.add_argument("--scheduler", default=None, metavar="ADDRESS", help="Dask scheduler address, or 'local'")
    p.add_argument("--resume", action="store_true", help="continue an interrupted sweep in --out (or the latest)")
    p.add_argument("--batch-size", type=bounded("--batch-size"), default=None, metavar="RUNS", help="runs per task")
    prog = p.add_mutually_exclusive_group()
    prog.add_argument("--progress", dest="progress", action="store_true", default=None, help="always show progress")
    prog.add_argument("--no-progress", dest="progress", action="store_false", help="never show progress")
    p.add_argument("--no-figures", dest="figures", action="store_false", help="do not draw figures")
    p.add_argument(
        "--xlsx", action="store_true", help="also write the tables as one Excel workbook (sweep.xlsx, a sheet each)"
    )
    p.add_argument("--dry-run", action="store_true", help="print the design and the exact number of runs, then stop")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the sweep the file and options describe."""
    return jobs.sweep.run_sweep(
        args.file,
        policy=args.policy,
        baseline=args.baseline,
        levers=args.lever,
        uncertainties=args.uncertainty,
        design=args.design,
        n=args.N,
        futures=args.futures,
        futures_design=args.futures_design,
        replicates=args.reps,
        seed=args.seed,
        horizon=args.horizon,
        months=args.months,
        outcomes=args.outcomes,
        criteria=args.criterion,
        n_providers=args.n_providers,
        out=args.out,
        workers=args.workers,
        scheduler=args.scheduler,
        resume=args.resume,
        batch_size=args.batch_size,
        progress=args.progress,
        figures=args.figures,
        xlsx=args.xlsx,
        dry_run=args.dry_run,
        command=["partnersim", *sys.argv[1:]],
    )
