"""Option types and option groups shared by several ``partnersim`` commands (argparse only)."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable, Sequence

from analysis.limits import FLAG_LIMITS, MONTH

Subparsers = argparse._SubParsersAction  # noqa: SLF001 - argparse exposes no public name for it


def months(text: str) -> tuple[int, ...]:
    """Parse comma-separated months (an argparse type), e.g. ``12,36,60,120``, each within the horizon cap."""
    try:
        values = tuple(int(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected months separated by commas, like 12,36,60 (got {text!r})") from None
    if not values or not all(MONTH.contains(v) for v in values):
        raise argparse.ArgumentTypeError(f"expected months in {MONTH.text()} separated by commas (got {text!r})")
    return tuple(sorted(set(values)))


def bounded(flag: str, kind: type = int) -> Callable[[str], float]:
    """An argparse type for ``flag``: a whole number (or a finite number) inside its bound in FLAG_LIMITS."""
    bound = FLAG_LIMITS[flag]
    what = "a whole number" if kind is int else "a number"

    def parse(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected {what} in {bound.text()}, {bound.meaning} (got {text!r})"
            ) from None
        if not math.isfinite(value) or not bound.contains(value):
            raise argparse.ArgumentTypeError(f"{text} is outside {bound.text()}, {bound.meaning}")
        return value

    parse.__name__ = f"{flag} value"
    return parse


BATCH_SIZE_HELP = "runs per task, advanced together by the engine (default: automatic, about a second of work)"


def add_batch_size(parser: argparse.ArgumentParser) -> None:
    """``--batch-size RUNS``: the runs a worker's task holds (results do not depend on it, only the speed)."""
    parser.add_argument(
        "--batch-size", type=bounded("--batch-size"), default=None, metavar="RUNS", help=BATCH_SIZE_HELP
    )


def add_experiment_options(parser: argparse.ArgumentParser, horizons: Sequence[int]) -> None:
    """Options shared by ``run`` and ``compare``."""
    parser.add_argument(
        "--reps",
        type=bounded("--reps"),
        default=None,
        metavar="R",
        help="replicates per scenario (default: the first scenario's 'replications')",
    )
    parser.add_argument(
        "--out", default=None, metavar="DIR", help="experiment folder (default: results/<date>_<scenarios>)"
    )
    parser.add_argument(
        "--seed",
        type=bounded("--seed"),
        default=None,
        help="master seed; replicate seeds derive from it (default: the first scenario's)",
    )
    parser.add_argument(
        "--horizon",
        type=bounded("--horizon"),
        default=None,
        metavar="MONTHS",
        help="months to simulate (default: each scenario's 'horizon')",
    )
    parser.add_argument(
        "--horizons",
        type=months,
        default=tuple(horizons),
        metavar="M1,M2,…",
        help=f"months to tabulate (default: {','.join(map(str, horizons))})",
    )
    parser.add_argument(
        "--workers",
        type=bounded("--workers"),
        default=None,
        metavar="N",
        help="worker processes (default: one per CPU; 1 = run in this process)",
    )
    parser.add_argument(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        help="run on a Dask distributed scheduler (tcp://host:8786), or 'local' for a LocalCluster "
        "(default: $DASK_SCHEDULER_ADDRESS if set, else a local process pool)",
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="continue an interrupted experiment in --out (or the latest default folder): "
        "stored runs are not redone, failed ones are retried",
    )
    add_batch_size(parser)
    prog = parser.add_mutually_exclusive_group()
    prog.add_argument(
        "--progress",
        dest="progress",
        action="store_true",
        default=None,
        help="show progress even when not on a terminal",
    )
    prog.add_argument("--no-progress", dest="progress", action="store_false", help="never show progress")
    parser.add_argument("--no-figures", dest="figures", action="store_false", help="do not draw figures")
    parser.add_argument(
        "--report",
        action="store_true",
        help="also write the self-contained HTML report for policymakers (report.html in the folder)",
    )
    parser.add_argument(
        "--xlsx",
        action="store_true",
        help="also write the tables as an Excel workbook beside the CSVs (comparison.xlsx or summary.xlsx: "
        "one sheet per outcome, units in the headers)",
    )


def add_inputs(parser: argparse.ArgumentParser) -> None:
    """Options shared by ``pathways`` and ``cmoc``: what to compare, replicates, where to run."""
    parser.add_argument(
        "inputs",
        nargs="+",
        metavar="EXPERIMENT_OR_SCENARIO",
        help="an experiment folder (its first scenario is the baseline), or policy scenario files "
        "(a file with every lever off is taken as the baseline)",
    )
    parser.add_argument(
        "--baseline",
        default=None,
        metavar="FILE",
        help="baseline scenario (default: a given file with every lever off, else scenarios/baseline.toml)",
    )
    parser.add_argument(
        "--reps", type=bounded("--reps"), default=None, metavar="R", help="replicates (default: the experiment's, or 4)"
    )
    parser.add_argument(
        "--seed", type=bounded("--seed"), default=None, help="master seed (default: the baseline scenario's)"
    )
    parser.add_argument(
        "--horizon", type=bounded("--horizon"), default=None, metavar="MONTHS", help="months to simulate"
    )
    parser.add_argument(
        "--workers",
        type=bounded("--workers"),
        default=None,
        metavar="N",
        help="worker processes (default: one per CPU; 1 = in this process)",
    )
    parser.add_argument("--scheduler", default=None, metavar="ADDRESS", help="Dask scheduler address, or 'local'")
    add_batch_size(parser)
    parser.add_argument("--out", default=None, metavar="DIR", help="output folder")
