"""``partnersim sensitivity``: which of the theory's assumptions the outcomes depend on."""

from __future__ import annotations

import argparse
import sys

from analysis import jobs
from analysis.cli.options import Subparsers, add_batch_size, bounded


def add_parser(sub: Subparsers) -> None:
    """Add the command's parser to ``sub``."""
    p = sub.add_parser(
        "sensitivity",
        help="which of the theory's assumptions the outcomes depend on (SALib)",
        description="Sensitivity analysis over the uncertain parameters of the scenario's theory: "
        "Morris screening, Sobol (S1, ST, optional S2), eFAST, or the given-sample methods "
        "PAWN and delta. Each design point runs R replicates with common random numbers; "
        "indices are computed on the replicate mean at each month of --at (and every "
        "--every months for the time-evolution figure), next to the share of variance that "
        "is replicate noise and a convergence check on the first half of the sample. "
        "Writes indices, noise, convergence and design tables (Parquet + CSV) and figures.",
        epilog="example: partnersim sensitivity scenarios/baseline.toml --method sobol -N 512 "
        "--outputs quality,efficiency --at 12,36,120 --groups",
    )
    p.add_argument("scenario", nargs="?", help="scenario file (its theory defines the parameter space)")
    p.add_argument("--method", default="sobol", help="morris, sobol, efast, pawn or delta (default: sobol)")
    p.add_argument(
        "-N",
        type=bounded("-N"),
        default=None,
        help="base sample size: Sobol N (power of two), Morris trajectories, eFAST points per "
        "parameter, PAWN/delta sample points (default: 64, 10, 65, 256)",
    )
    p.add_argument(
        "--outputs",
        default="quality",
        help="comma-separated outputs: quality, efficiency, access, good, deficit, special_measures, "
        "surplus, partnerships… or any metric name (default: quality)",
    )
    p.add_argument(
        "--at",
        default=None,
        help="months at which to report indices, within the scenario's horizon (default: those of 12,36,120 within it)",
    )
    p.add_argument(
        "--every",
        type=bounded("--every"),
        default=12,
        help="also compute indices every this many months, for the time-evolution figure (default: 12; 0 = only --at)",
    )
    p.add_argument("--reps", type=bounded("--reps"), default=1, help="replicates per design point (default: 1)")
    p.add_argument(
        "--params",
        default=None,
        help="subset of parameters: comma-separated fnmatch patterns on theory paths "
        "('edge.*->quality.weight,mechanism.trust_*') or group names (structural, relational, "
        "outcome, mechanisms, typology, population, regulation, formation), or @FILE with one "
        "pattern per line; the rest stay at the scenario's values, and parameters the scenario sets in "
        "uncertainties.effect_overrides stay pinned unless named exactly (default: all uncertain)",
    )
    p.add_argument("--exclude", default=None, help="patterns or groups to leave out of the analysis")
    p.add_argument(
        "--groups", action="store_true", help="grouped indices over pathway groups (Sobol, Morris): far fewer runs"
    )
    p.add_argument("--second-order", action="store_true", help="Sobol second-order indices (N·(2D+2) runs)")
    p.add_argument("--levels", type=bounded("--levels"), default=4, help="Morris grid levels (default: 4)")
    p.add_argument(
        "--contrast",
        default=None,
        metavar="SCENARIO",
        help="analyse the paired difference scenario − this scenario (same seeds and theory values)",
    )
    p.add_argument(
        "--from",
        dest="from_",
        default=None,
        metavar="SWEEP",
        help="PAWN/delta on an existing sample: an output folder of sensitivity/discover, or a "
        "Parquet/CSV table with parameter and metric columns",
    )
    p.add_argument(
        "--n-providers", type=bounded("--n-providers"), default=None, help="resize the population (quick looks)"
    )
    p.add_argument(
        "--seed", type=bounded("--seed"), default=None, help="seed of the design and replicates (default: scenario's)"
    )
    p.add_argument(
        "--workers", type=bounded("--workers"), default=None, help="worker processes (default: all cores; 1 = serial)"
    )
    p.add_argument(
        "--scheduler",
        default=None,
        help="Dask scheduler address (tcp://host:port) to run on a cluster (default: "
        "$DASK_SCHEDULER_ADDRESS, else local processes)",
    )
    p.add_argument("--out", default=None, help="output folder (default: results/sensitivity/<scenario>-<method>)")
    p.add_argument("--resume", action="store_true", help="reuse finished batches in --out")
    add_batch_size(p)
    p.add_argument("--force", action="store_true", help="with --from: replace earlier outputs in --out")
    p.add_argument(
        "--top", type=bounded("--top"), default=5, help="parameters listed and compared for convergence (default: 5)"
    )
    p.add_argument(
        "--resamples",
        type=bounded("--resamples"),
        default=None,
        help="bootstrap resamples for the intervals (default: 100; 10 for delta, whose SALib "
        "estimator costs about a second per parameter and resample batch)",
    )
    p.add_argument("--no-figures", action="store_true", help="skip the figures")
    p.add_argument("--dry-run", action="store_true", help="print the parameter space and the number of runs, then stop")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run a sensitivity analysis."""
    return jobs.sensitivity.run_sensitivity(
        args.scenario,
        method=args.method,
        base_sample=args.N,
        outputs=args.outputs,
        at=args.at,
        every=args.every,
        replicates=args.reps,
        params=args.params,
        exclude=args.exclude,
        groups=args.groups,
        second_order=args.second_order,
        levels=args.levels,
        contrast=args.contrast,
        sweep=args.from_,
        n_providers=args.n_providers,
        seed=args.seed,
        workers=args.workers,
        scheduler=args.scheduler,
        batch_size=args.batch_size,
        out=args.out,
        resume=args.resume,
        top=args.top,
        resamples=args.resamples,
        figures=not args.no_figures,
        dry_run=args.dry_run,
        command=sys.argv,
        force=args.force,
    )
