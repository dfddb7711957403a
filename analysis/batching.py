"""Runs handed to the engine in batches: a runner task's runs advance together (:func:`sim.run_many`).

:func:`run_batch` runs the (spec, seed) pairs of one runner task: through the run function's own
``many`` when it has one (:class:`analysis.studies.sensitivity.MetricsRun` keeps only the months
and metrics a study asks for), through :func:`run_many_tables` for the default run function, and
one by one otherwise. Every run gives the same numbers as alone. If the batch raises, each run is
tried alone, so a failing run is recorded with its own traceback and the others are kept.

:func:`run_many_tables` hands each run back as arrays (:class:`~analysis.store.format.RunTables`):
the engine's kept series and the partnership log as columns, caught at the last month by a
:class:`FinalLog` observer, so no DataFrame is built per run; the store encodes the whole batch at once.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

import sim
from analysis.store.format import RunTables
from sim import RunSpec
from sim.api import Keep, Observer
from sim.spec import DEFAULT_START

BatchFn = Callable[[Sequence[tuple[RunSpec, int]]], Sequence[Any]]
"""Runs many (spec, seed) pairs together; returns one output per pair, in order."""


@dataclass
class Outcome:
    """One run of a batch: its output (or the traceback of its failure) and its share of the time."""

    output: Any
    error: str
    seconds: float
    cpu_seconds: float


class FinalLog:
    """Observer: a run's metric names, and its partnership log as columns at its last month.

    The log is ``model.partnership_columns()`` taken after the last step, the state
    ``sim.run_many`` would turn into the run's ``partnerships`` DataFrame.
    """

    def __init__(self) -> None:
        self.metrics: tuple[str, ...] = ()
        self.log: dict[str, Any] | None = None

    def attach(self, model: Any) -> None:
        """Note the metric names (and the log, for a run of no month)."""
        self.metrics = tuple(model.metric_names)
        self.on_step(model)

    def on_step(self, model: Any) -> None:
        """Take the log once the run has reached its horizon."""
        if model.month >= model.horizon:
            self.log = model.partnership_columns()

    def result(self) -> FinalLog:
        """Itself (its ``metrics`` and ``log``)."""
        return self


def run_many_tables(
    runs: Sequence[tuple[RunSpec, int]], observers: Sequence[Sequence[Observer]] | None = None
) -> list[tuple[RunTables, list[Any]]]:
    """Run many runs together (:func:`sim.run_many`), each as arrays, with the results of its ``observers``.

    Every month and metric is kept, as the run alone gives them; no table is built per run.
    """
    finals = [FinalLog() for _ in runs]
    extra = observers if observers is not None else [() for _ in runs]
    watch = [[final, *obs] for final, obs in zip(finals, extra, strict=True)]
    results = sim.run_many(runs, keep=Keep(tables=False), observers=watch)
    out = []
    for (spec, _), final, result in zip(runs, finals, results, strict=True):
        if not final.metrics:
            raise RuntimeError("sim.run_many returned a run its observers never saw")
        values = result.values(final.metrics)
        months = np.arange(values.shape[0], dtype=np.int64)
        start = getattr(spec, "start", DEFAULT_START)
        out.append((RunTables(months, final.metrics, values, final.log, start), result.observed[1:]))
    return out


def default_many(runs: Sequence[tuple[RunSpec, int]]) -> list[RunTables]:
    """The default run function (:func:`sim.run`) of many runs together, as arrays."""
    return [tables for tables, _ in run_many_tables(runs)]


def batch_fn(run_fn: Callable[..., Any] | None) -> BatchFn | None:
    """How to run many runs of ``run_fn`` together (None: one by one)."""
    if run_fn is None:
        return default_many
    many = getattr(run_fn, "many", None)
    return many if callable(many) else None


def run_batch(run_fn: Callable[..., Any] | None, runs: Sequence[tuple[RunSpec, int]]) -> list[Outcome]:
    """Run ``runs`` (together when the run function allows it); a run that raises is recorded."""
    many = batch_fn(run_fn)
    if many is not None and runs:
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
