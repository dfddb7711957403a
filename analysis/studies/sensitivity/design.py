"""Designs: a SALib sample of the parameter space, mapped to parameter values (step 2).

``N`` is the base sample size: Sobol's N (a power of two; N·(D+2) points, N·(2D+2) with
second order), Morris's number of trajectories (N·(D+1) points), eFAST's points per factor
(N·D points, N > 4·M²) and the number of Latin-hypercube points for PAWN and delta.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np

from analysis.studies.sensitivity.space import ParameterSpace
from sim import ConfigError

METHODS = ("morris", "sobol", "efast", "pawn", "delta")
GIVEN_SAMPLE_METHODS = ("pawn", "delta")
DEFAULT_N = {"sobol": 64, "morris": 10, "efast": 65, "pawn": 256, "delta": 256}


@dataclass
class Design:
    """A sample of the parameter space, in unit coordinates and in parameter values."""

    method: str
    unit: np.ndarray  # rows × factors, in [0, 1]
    values: np.ndarray  # rows × factors, parameter values
    N: int
    seed: int
    grouped: bool = False
    second_order: bool = False
    num_levels: int = 4
    M: int = 4
    names: list[str] = field(default_factory=list)

    @property
    def n_points(self) -> int:
        """Number of design points (model evaluations per replicate)."""
        return int(self.unit.shape[0])

    def block(self, space: ParameterSpace) -> int:
        """Rows per base point (Sobol: D+2 or 2D+2; Morris: D+1, D = factors or groups)."""
        d = len(space.group_names) if self.grouped else len(space)
        if self.method == "sobol":
            return 2 * d + 2 if self.second_order else d + 2
        if self.method == "morris":
            return d + 1
        return 1


def design_size(method: str, n_factors: int, N: int, *, second_order: bool = False) -> int:
    """Number of design points ``method`` needs for ``n_factors`` factors (or groups) at ``N``."""
    if method == "sobol":
        return N * (2 * n_factors + 2 if second_order else n_factors + 2)
    if method == "morris":
        return N * (n_factors + 1)
    if method == "efast":
        return N * n_factors
    return N


def make_design(
    space: ParameterSpace,
    method: str,
    N: int,
    *,
    seed: int = 0,
    grouped: bool = False,
    second_order: bool = False,
    num_levels: int = 4,
    M: int = 4,
) -> Design:
    """A SALib design for ``method`` (see :data:`METHODS`), mapped to parameter values.

    ``N`` is the base sample size: Sobol's N (a power of two; N·(D+2) points, N·(2D+2) with
    second order), Morris's number of trajectories (N·(D+1) points), eFAST's points per
    factor (N·D points, N > 4·M²) and the number of Latin-hypercube points for PAWN/delta.
    """
    from SALib.sample import fast_sampler, latin, morris, sobol

    check_design(method, N, space, grouped=grouped, second_order=second_order, num_levels=num_levels, M=M)
    prob = space.problem(grouped=grouped)
    if method == "sobol":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            unit = sobol.sample(prob, N, calc_second_order=second_order, scramble=True, seed=seed)
    elif method == "morris":
        unit = morris.sample(prob, N, num_levels=num_levels, seed=seed)
    elif method == "efast":
        unit = fast_sampler.sample(prob, N, M=M, seed=seed)
    else:
        unit = latin.sample(space.problem(), N, seed=seed)
    unit = np.clip(np.asarray(unit, dtype=float), 0.0, 1.0)
    return Design(
        method=method,
        unit=unit,
        values=space.to_values(unit),
        N=N,
        seed=seed,
        grouped=grouped,
        second_order=second_order,
        num_levels=num_levels,
        M=M,
        names=space.names,
    )


def check_design(
    method: str,
    N: int,
    space: ParameterSpace,
    *,
    grouped: bool = False,
    second_order: bool = False,
    num_levels: int = 4,
    M: int = 4,
) -> None:
    """Reject a design that SALib cannot build or analyse, naming the option to change."""
    check_method(method)
    if grouped and method not in ("sobol", "morris"):
        raise ConfigError(
            "grouped indices exist only for sobol and morris", key="--groups", value=method, choices=["sobol", "morris"]
        )
    if grouped and len(space.group_names) < 2:
        raise ConfigError(
            "grouped indices need factors from at least two groups", key="--groups", value=space.group_names
        )
    if second_order and method != "sobol":
        raise ConfigError("second-order indices exist only for sobol", key="--second-order", value=method)
    if method == "sobol" and (N < 2 or N & (N - 1)):
        lo = 2 ** max(1, int(np.floor(np.log2(max(N, 2)))))
        raise ConfigError(f"Sobol needs N to be a power of two (e.g. {lo} or {lo * 2})", key="-N", value=N)
    if method == "morris" and N < 2:
        raise ConfigError("Morris needs at least 2 trajectories", key="-N", value=N)
    if method == "morris" and (num_levels < 2 or num_levels % 2):
        raise ConfigError("Morris needs an even number of levels (4 is usual)", key="--levels", value=num_levels)
    if method == "efast" and N <= 4 * M * M:
        raise ConfigError(f"eFAST needs N > 4·M² = {4 * M * M}", key="-N", value=N)
    if method in GIVEN_SAMPLE_METHODS and N < 20:
        raise ConfigError("PAWN and delta need at least 20 sample points (hundreds are usual)", key="-N", value=N)


def check_method(method: str) -> None:
    """Reject an unknown method name, listing the known ones."""
    if method not in METHODS:
        raise ConfigError("unknown sensitivity method", key="--method", value=method, choices=METHODS)


NOISE_PROBE = (8, 4)
"""With one replicate, this many design points are also run at this many seeds to measure replicate noise."""


def probe_runs(n_points: int, reps: int, probe: tuple[int, int] | None = NOISE_PROBE) -> int:
    """Extra runs of the replicate-noise probe: ``probe`` = (points, seeds), only when ``reps`` is 1."""
    if reps >= 2 or not probe or probe[0] <= 0 or probe[1] < 2:
        return 0
    return min(probe[0], n_points) * probe[1]


def estimate_runs(
    method: str,
    space: ParameterSpace,
    N: int,
    reps: int,
    *,
    grouped: bool = False,
    second_order: bool = False,
    contrast: bool = False,
    noise_probe: tuple[int, int] | None = NOISE_PROBE,
) -> int:
    """Model runs an analysis makes: the design's points × replicates, the noise probe, the contrast scenario's."""
    d = len(space.group_names) if grouped else len(space)
    points = design_size(method, d, N, second_order=second_order)
    return (points * reps + probe_runs(points, reps, noise_probe)) * (2 if contrast else 1)
