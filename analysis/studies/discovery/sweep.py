"""The sweep of scenario discovery: the policy (minus the paired baseline) over a Latin hypercube."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.studies.discovery.criterion import Criterion
from analysis.studies.sensitivity import ExecutorChoice, ModelTask, ParameterSpace, evaluate_design, make_design
from sim import RunSpec


@dataclass
class DiscoverySweep:
    """Parameter values, the criterion's output and the failure flags of a sweep."""

    x: pd.DataFrame
    y: np.ndarray
    fails: np.ndarray
    criterion: Criterion
    paired: bool


def sweep(
    policy: RunSpec,
    space: ParameterSpace,
    criterion: Criterion,
    N: int,
    *,
    baseline: RunSpec | None = None,
    reps: int = 1,
    seed: int = 0,
    executor: ExecutorChoice = "pool",
    workers: int | None = None,
    scheduler: str | None = None,
    batch_size: int | None = None,
    folder: str | Path | None = None,
    resume: bool = False,
    progress: bool | None = None,
    command: Sequence[str] | None = None,
) -> DiscoverySweep:
    """Run the policy (minus the paired baseline) over a Latin-hypercube sample of ``space``.

    The runs go through the experiments runner (:func:`analysis.studies.sensitivity.evaluate_design`),
    stored in ``folder`` (resumable) when given.
    """
    design = make_design(space, "delta", N, seed=seed)
    task = ModelTask(policy, (criterion.month,), (criterion.metric,), baseline)
    Y = evaluate_design(
        task,
        design.values,
        space.names,
        seed=seed,
        reps=reps,
        executor=executor,
        workers=workers,
        scheduler=scheduler,
        batch_size=batch_size,
        folder=folder,
        resume=resume,
        progress=progress,
        command=command,
    )
    y = Y.mean(axis=1)[:, 0, 0]
    x = pd.DataFrame(design.values, columns=space.names)
    return DiscoverySweep(x, y, criterion.fails(y), criterion, baseline is not None)
