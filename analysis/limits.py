"""Limits of every number a user gives, in a scenario file or on the command line: one table.

A scenario's ``horizon`` and the ``--horizon`` option, its ``replications`` and ``--reps``, its
population size and ``--n-providers`` are the same quantities and share one :class:`Bound`
here, so a value refused in a file is refused on the command line too, before any work
starts. The caps themselves (the longest horizon, the largest population) and the scenario
files' limits (:data:`SCENARIO_LIMITS`) live in :mod:`sim.bounds`, where the theory's lags and
months are checked against the same horizon, since :mod:`sim.scenario` reads scenario files.
"""

from __future__ import annotations

import math

from sim.bounds import (
    HORIZON,
    MAX_REPLICATES,
    MONTH,
    PROVIDERS,
    REPLICATES,
    SCENARIO_LIMITS,
    SEED,
    SHARE,
    Bound,
)
from sim.errors import ConfigError

MAX_WORKERS = 256
MAX_SAMPLE = 2**20
OPEN_SHARE = Bound(0.0, 1.0, "a share above 0 (at most 1)", lo_open=True)

FLAG_LIMITS: dict[str, Bound] = {
    # the same quantities as in scenario files
    "--reps": REPLICATES,
    "--horizon": HORIZON,
    "--n-providers": PROVIDERS,
    "--seed": SEED,
    "--at": MONTH,
    "--horizons": MONTH,
    "--month": MONTH,
    "--every": MONTH,
    # how much work, and where
    "-N": Bound(1, MAX_SAMPLE, f"a sample size (1 to {MAX_SAMPLE:,})"),
    "--budget": Bound(1, MAX_REPLICATES, f"a number of design points (1 to {MAX_REPLICATES:,})"),
    "--refine-reps": Bound(0, MAX_REPLICATES, f"a number of replicates (0 to {MAX_REPLICATES:,})"),
    "--validate-reps": Bound(0, MAX_REPLICATES, f"a number of replicates (0 to {MAX_REPLICATES:,})"),
    "--workers": Bound(1, MAX_WORKERS, f"a number of worker processes (1 to {MAX_WORKERS})"),
    "--batch-size": Bound(1, MAX_REPLICATES, f"runs per task (1 to {MAX_REPLICATES:,})"),
    "--resamples": Bound(1, MAX_REPLICATES, f"bootstrap resamples (1 to {MAX_REPLICATES:,})"),
    "--futures": Bound(1, MAX_SAMPLE, f"a number of sampled futures (1 to {MAX_SAMPLE:,})"),
    "--top": Bound(1, 10_000, "a number of parameters (1 to 10,000)"),
    "--levels": Bound(2, 100, "Morris grid levels (2 to 100)"),
    "--min-accept": Bound(1, MAX_REPLICATES, "a number of points (at least 1)"),
    "--min-count": Bound(1, 10**9, "a number of partnerships (at least 1)"),
    "--box": Bound(0, 10**6, "a box's index on the peeling trajectory (0 or more)"),
    "--cart-depth": Bound(1, 30, "a tree depth (1 to 30)"),
    "--port": Bound(0, 65_535, "a TCP port (0 to 65535; 0 = any free port)"),
    # shares and thresholds of the studies
    "--alpha": Bound(0.0, 1.0, "a false-discovery rate (above 0, below 1)", lo_open=True, hi_open=True),
    "--min-effect": Bound(0.0, 100.0, "a standardised difference (0 to 100)"),
    "--min-share": SHARE,
    "--tolerance": Bound(0.0, 100.0, "a multiple of the total effect (0 to 100)"),
    "--accept-quantile": OPEN_SHARE,
    "--min-coverage": OPEN_SHARE,
    "--peel-alpha": Bound(0.0, 0.5, "a peeling share (above 0, below 0.5)", lo_open=True, hi_open=True),
    "--mass-min": Bound(0.0, 0.5, "a share of points (above 0, below 0.5)", lo_open=True, hi_open=True),
}
"""Command-line options and their bounds (shared with :data:`SCENARIO_LIMITS` where they mean the same)."""

SWEEP_LIMITS: dict[str, Bound] = {
    "replicates": REPLICATES,
    "seed": SEED,
    "horizon": HORIZON,
    "months": MONTH,
    "n_providers": PROVIDERS,
    "n": FLAG_LIMITS["-N"],
    "futures": FLAG_LIMITS["--futures"],
    "levels": Bound(2, 1000, "points of a range on a grid (2 to 1,000)"),
    "policies": Bound(1, MAX_SAMPLE, f"lever settings in one sweep (1 to {MAX_SAMPLE:,})"),
}
"""Sweep-file fields (``partnersim sweep``) and their bounds; a lever's own values take the bounds of
:data:`SCENARIO_LIMITS` (``levers.support_fund.share``), and ``policies`` caps a grid's size."""

BOUNDS: dict[str, tuple[float, float]] = {key: (b.lo, b.hi) for key, b in SCENARIO_LIMITS.items()}
"""``SCENARIO_LIMITS`` as inclusive (low, high) pairs, as the scenario schema states them."""


def within(value: float, bound: Bound, *, key: str, file: str | None = None) -> float:
    """Return ``value`` if it is finite and inside ``bound``; else raise a ConfigError naming key and bound."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ConfigError(
            f"expected a finite number in {bound.text()}, {bound.meaning}", file=file, key=key, value=value
        )
    if not bound.contains(value):
        raise ConfigError(f"outside {bound.text()}, {bound.meaning}", file=file, key=key, value=value)
    return value


def check_flag(flag: str, value: float | None) -> float | None:
    """Check an option's value against :data:`FLAG_LIMITS` (``None``, meaning "the default", passes)."""
    if value is None:
        return None
    return within(value, FLAG_LIMITS[flag], key=flag)


def check_months_within(months: list[int] | tuple[int, ...], horizon: int, *, key: str, what: str) -> None:
    """Every month of ``months`` must lie within the ``horizon`` of what is run (``what`` names it)."""
    beyond = [m for m in months if m > horizon]
    if beyond:
        raise ConfigError(
            f"month {beyond[0]} is beyond the {horizon}-month horizon of {what}; choose months up to {horizon} "
            "(or lengthen the horizon in the scenario file)",
            key=key,
            value=",".join(map(str, months)),
        )
