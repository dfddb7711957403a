"""The whole analysis in one call: sample, evaluate (with replicate-noise probe) and analyse.

Also PAWN or delta on an existing sample (:func:`given_sample`).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis.plan import replicate_seeds
from analysis.studies.sensitivity.analyse import DEFAULT_TOP_K, SensitivityResult, analyse
from analysis.studies.sensitivity.design import GIVEN_SAMPLE_METHODS, NOISE_PROBE, Design, make_design, probe_runs
from analysis.studies.sensitivity.evaluate import ExecutorChoice, PointTask, evaluate_design, open_choice
from analysis.studies.sensitivity.space import ParameterSpace
from sim import ConfigError


@dataclass
class Analysis:
    """Everything one ``partnersim sensitivity`` run produced."""

    result: SensitivityResult
    design: Design
    Y: np.ndarray
    months: list[int]
    metrics: list[str]
    seeds: list[int]
    timings: dict[str, float]
    probe: np.ndarray | None = None


def run_analysis(
    task: PointTask,
    space: ParameterSpace,
    method: str,
    N: int,
    *,
    months: Sequence[int],
    metrics: Sequence[str],
    reps: int = 1,
    seed: int = 0,
    grouped: bool = False,
    second_order: bool = False,
    num_levels: int = 4,
    M: int = 4,
    executor: ExecutorChoice = "pool",
    workers: int | None = None,
    scheduler: str | None = None,
    batch_size: int | None = None,
    folder: str | Path | None = None,
    resume: bool = False,
    progress: bool | None = None,
    command: Sequence[str] | None = None,
    noise_probe: tuple[int, int] = NOISE_PROBE,
    num_resamples: int = 100,
    top_k: int = DEFAULT_TOP_K,
    convergence_months: Sequence[int] | None = None,
    backend: str = "runner",
) -> Analysis:
    """Sample, evaluate (R replicates with common random numbers) and analyse.

    With one replicate, ``noise_probe`` = (points, seeds) extra runs measure the replicate
    noise (the first points of the design at that many seeds). ``folder`` holds the
    experiment stores (``experiment/`` for the design, ``probe/`` for the noise probe).
    """
    t0 = time.perf_counter()
    design = make_design(
        space, method, N, seed=seed, grouped=grouped, second_order=second_order, num_levels=num_levels, M=M
    )
    seeds = replicate_seeds(seed, reps)
    t1 = time.perf_counter()
    # one pool for the design and the probe
    opened = (
        open_choice(executor, workers=workers, scheduler=scheduler) if backend == "runner" else nullcontext(executor)
    )
    with opened as ex:
        common: dict[str, Any] = dict(
            executor=ex,
            workers=workers,
            scheduler=scheduler,
            batch_size=batch_size,
            resume=resume,
            progress=progress,
            command=command,
            backend=backend,
        )
        Y = evaluate_design(
            task,
            design.values,
            space.names,
            seed=seed,
            reps=reps,
            folder=None if folder is None else Path(folder) / "experiment",
            **common,
        )
        probe = None
        if probe_runs(design.n_points, reps, noise_probe):
            npts = min(noise_probe[0], design.n_points)
            probe = evaluate_design(
                task,
                design.values[:npts],
                space.names,
                seed=seed,
                reps=noise_probe[1],
                folder=None if folder is None else Path(folder) / "probe",
                **common,
            )
    t2 = time.perf_counter()
    result = analyse(
        method,
        space,
        design,
        Y,
        months=months,
        metrics=metrics,
        probe=probe,
        num_resamples=num_resamples,
        seed=seed,
        top_k=top_k,
        convergence_months=convergence_months,
    )
    t3 = time.perf_counter()
    runs = (Y.shape[0] * Y.shape[1] + (0 if probe is None else probe.shape[0] * probe.shape[1])) * (
        2 if getattr(task, "contrast", None) is not None else 1
    )
    return Analysis(
        result=result,
        design=design,
        Y=Y,
        months=list(months),
        metrics=list(metrics),
        seeds=seeds,
        timings={"design_s": t1 - t0, "evaluate_s": t2 - t1, "analyse_s": t3 - t2, "runs": runs},
        probe=probe,
    )


def given_sample(
    x: pd.DataFrame, y: pd.DataFrame, method: str, space: ParameterSpace, *, seed: int = 0, num_resamples: int = 100
) -> SensitivityResult:
    """PAWN or delta indices on an existing sample.

    Args:
        x: one row per run (or design point), one column per factor (parameter values).
        y: the same rows; columns ``metric`` names, and optionally ``month`` (long by month)
            and ``point`` (replicates of a point are averaged first).
        method: ``pawn`` or ``delta``.
        space: the factors (columns of ``x``; bounds from the theory).
        seed: seed of the resampling.
        num_resamples: bootstrap resamples (delta).
    """
    if method not in GIVEN_SAMPLE_METHODS:
        raise ConfigError(
            "only the given-sample methods run on an existing sweep",
            key="--method",
            value=method,
            choices=GIVEN_SAMPLE_METHODS,
        )
    metrics = [c for c in y.columns if c not in ("month", "point", "replicate", "seed")]
    months = sorted(y["month"].unique()) if "month" in y.columns else [0]
    X = x[space.names].to_numpy(dtype=float)
    n = len(X)
    Y = np.empty((n, 1, len(months), len(metrics)))
    for mi, m in enumerate(months):
        ym = y[y["month"] == m] if "month" in y.columns else y
        Y[:, 0, mi, :] = ym[metrics].to_numpy(dtype=float)
    return analyse(
        method, space, None, Y, months=months, metrics=metrics, x_values=X, seed=seed, num_resamples=num_resamples
    )
