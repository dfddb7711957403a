"""Runs handed to the engine in batches: a runner task's runs advance together (:func:`sim.run_many`).

:func:`run_batch` runs the (spec, seed) pairs of one runner task: through the run function's own
``many`` when it has one (:class:`analysis.studies.sensitivity.MetricsRun` keeps only the months
and metrics a study asks for), through :func:`sim.run_many` for the default run function, and one
by one otherwise. Every run gives the same numbers as alone. If the batch raises, each run is
tried alone, so a failing run is recorded with its own traceback and the others are kept.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import sim
from sim import RunSpec

BatchFn = Callable[[Sequence[tuple[RunSpec, int]]], Sequence[Any]]
"""Runs many (spec, seed) pairs together; returns one output per pair, in order."""


@dataclass
class Outcome:
    """One run of a batch: its output (or the traceback of its failure) and its share of the time."""

    output: Any
    error: str
    seconds: float
    cpu_seconds: float


def batch_fn(run_fn: Callable[..., Any] | None) -> BatchFn | None:
    """How to run many runs of ``run_fn`` together (None: one by one)."""
    if run_fn is None:
        return sim.run_many
    many = getattr(run_fn, "many", None)
    return many if callable(many) else None


def run_batch(run_fn: Callable[..., Any] | None, runs: Sequence[tuple[RunSpec, int]]) -> list[Outcome]:
    """Run ``runs`` (together when the run function allows it); a run that raises is recorded."""
    many = batch_fn(run_fn)
    if many is not None and len(runs) > 1:
        t0, c0 = time.perf_counter(), time.process_time()
        try:
            outputs = many(runs)
        except Exception:  # noqa: BLE001 - retried one by one below, to name the failing run
            pass
        else:
            wall = (time.perf_counter() - t0) / len(runs)
            cpu = (time.process_time() - c0) / len(runs)
            return [Outcome(out, "", wall, cpu) for out in outputs]
    single = run_fn or sim.run
    results = []
    for spec, seed in runs:
        t0, c0 = time.perf_counter(), time.process_time()
        try:
            out, error = single(spec, seed, None), ""
        except Exception:  # noqa: BLE001 - a failing run is recorded with its traceback
            out, error = None, traceback.format_exc()
        results.append(Outcome(out, error, time.perf_counter() - t0, time.process_time() - c0))
    return results


def warm_up() -> None:
    """Load the engine's compiled code in this process, so a worker's first batch does not pay for it.

    One month of one run with every event-driven lever on touches every compiled stage (loading them
    from numba's on-disk cache takes about 0.3 s per process; compiling, on a fresh checkout, 30 s).
    """
    policy = {
        "failure_regime_enabled": True,
        "collaborative_duty_enabled": True,
        "voluntary_enabled": True,
    }
    sim.run_many([(policy, 0)], 1, keep=sim.Keep(months=(1,), metrics=("mean_quality",), tables=False))
