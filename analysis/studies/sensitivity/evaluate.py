"""Evaluation: every design point × replicate through one point task (step 3).

A *point task* is ``task(overrides, seed) -> array[months, outputs]``: :class:`ModelTask`
runs the model (optionally as a paired difference against a contrast scenario) and
:class:`FunctionTask` a plain function in its place (the known-answer tests). Both go through
the experiments runner by the same path (:func:`evaluate_design`).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from analysis.executors import Executor, open_executor
from analysis.plan import DesignPoints, Plan, PlannedScenario, with_point
from analysis.runner import run_experiment
from analysis.store import load_experiment
from sim import ConfigError, Keep, MetricsAt, observe, run_many
from sim.api import RunSpec


@dataclass(frozen=True)
class ModelTask:
    """Run the model at one design point: ``task(overrides, seed) -> array[months, metrics]``.

    The design point's values are laid over the scenario's own ``effect_overrides`` and
    applied through ``uncertainties.effect_overrides`` (so ``Theory.with_values`` validates
    them). With ``contrast`` the task returns the paired difference scenario − contrast,
    both run with the same seed and the same theory values.
    """

    spec: RunSpec
    months: tuple[int, ...]
    metrics: tuple[str, ...]
    contrast: RunSpec | None = None

    def __call__(self, overrides: Mapping[str, float], seed: int) -> np.ndarray:
        """Outputs at ``months`` (rows) for ``metrics`` (columns)."""
        y = metrics_at(with_point(self.spec, overrides), seed, self.months, self.metrics)
        if self.contrast is not None:
            y = y - metrics_at(with_point(self.contrast, overrides), seed, self.months, self.metrics)
        return y


def metrics_at(spec: RunSpec, seed: int, months: Sequence[int], metrics: Sequence[str]) -> np.ndarray:
    """Run ``spec`` to the last of ``months``: array[months, metrics] of the model's summary metrics."""
    values: np.ndarray = observe(spec, seed, max(months), observers=[MetricsAt(months, metrics)])[0]
    return values


@dataclass(frozen=True)
class FunctionTask:
    """A plain function in place of the model: ``fn(overrides, seed)`` → scalar or array[outputs].

    Used by the known-answer tests; goes through the same evaluation and analysis as the model.
    """

    fn: Callable[[Mapping[str, float], int], Any]
    metrics: tuple[str, ...] = ("y",)
    months: tuple[int, ...] = (0,)

    def __call__(self, overrides: Mapping[str, float], seed: int) -> np.ndarray:
        """The function's value, shaped (months, metrics)."""
        y = np.asarray(self.fn(overrides, seed), dtype=float)
        return y.reshape(len(self.months), len(self.metrics))


PointTask = ModelTask | FunctionTask
"""What :func:`evaluate_design` evaluates: the model, or a plain function in its place."""


@dataclass
class MetricSeries:
    """What a runner run function returns: metrics at some months.

    ``series`` (the runner reads it) is the wide table ``step`` + one column per metric, built
    on demand; the in-memory backend reads ``values`` (months × metrics) directly.
    """

    months: tuple[int, ...]
    metrics: tuple[str, ...]
    values: np.ndarray
    partnerships: pd.DataFrame | None = None

    @property
    def series(self) -> pd.DataFrame:
        """Wide table: ``step`` then one column per metric."""
        return pd.DataFrame({"step": list(self.months), **{m: self.values[:, j] for j, m in enumerate(self.metrics)}})


@dataclass(frozen=True)
class MetricsRun:
    """Runner run function for model tasks: the model's metrics at ``months`` only.

    The runner applies the design point (``with_point``) and the seed; storing a handful of
    months and metrics instead of every metric every month keeps a sensitivity sweep's store
    small (80 000 runs × 2 metrics × 11 months instead of × 52 × 121).
    """

    months: tuple[int, ...]
    metrics: tuple[str, ...]

    def __call__(self, spec: RunSpec, seed: int, horizon: int | None = None) -> MetricSeries:
        """Run ``spec`` with ``seed`` to the last month; keep the metrics at ``months``."""
        return MetricSeries(self.months, self.metrics, metrics_at(spec, seed, self.months, self.metrics))

    def many(self, runs: Sequence[tuple[RunSpec, int]]) -> list[MetricSeries]:
        """Run many (spec, seed) pairs together (:func:`sim.run_many`): the same numbers as one by one."""
        keep = Keep(months=self.months, metrics=self.metrics, tables=False)
        out = run_many([(replace(spec, horizon=max(self.months)), seed) for spec, seed in runs], keep=keep)
        return [MetricSeries(self.months, self.metrics, r.values(self.metrics)) for r in out]


@dataclass(frozen=True)
class FunctionRun:
    """Runner run function for a plain function in place of the model (known-answer tests)."""

    fn: Callable[[Mapping[str, float], int], Any]
    months: tuple[int, ...]
    metrics: tuple[str, ...]

    def __repr__(self) -> str:
        """Names the function by module and qualified name (stable across processes, for resume)."""
        fn = f"{getattr(self.fn, '__module__', '')}.{getattr(self.fn, '__qualname__', type(self.fn).__name__)}"
        return f"FunctionRun(fn={fn}, months={self.months}, metrics={self.metrics})"

    def __call__(self, spec: RunSpec, seed: int, horizon: int | None = None) -> MetricSeries:
        """``fn(design point, seed)`` as a short series."""
        y = FunctionTask(self.fn, self.metrics, self.months)(spec.uncertainties.effect_overrides, seed)
        return MetricSeries(self.months, self.metrics, y)


ExecutorChoice = Executor | Literal["serial", "pool"]
"""An executor, or ``"serial"`` (this process) / ``"pool"`` (local processes, or Dask with a scheduler)."""


def open_choice(
    choice: ExecutorChoice, *, workers: int | None = None, scheduler: str | None = None
) -> AbstractContextManager[Executor]:
    """The executor ``choice`` names, opened (and closed on leaving, unless it was given as an object)."""
    if isinstance(choice, str):
        if choice not in ("serial", "pool"):
            raise ConfigError("unknown executor", key="--executor", value=choice, choices=["serial", "pool"])
        return open_executor(workers=1 if choice == "serial" else workers, scheduler=scheduler)
    return open_executor(choice)


def evaluate_design(
    task: PointTask,
    values: np.ndarray,
    names: Sequence[str],
    *,
    seed: int,
    reps: int = 1,
    executor: ExecutorChoice = "pool",
    workers: int | None = None,
    scheduler: str | None = None,
    batch_size: int | None = None,
    folder: str | Path | None = None,
    resume: bool = False,
    progress: bool | None = None,
    command: Sequence[str] | None = None,
    backend: str = "runner",
) -> np.ndarray:
    """Evaluate every design point at every replicate: the one adapter to the executors.

    Runs go through the experiments runner (:mod:`analysis.runner`): one plan whose design
    points are the rows of ``values`` (applied as theory overrides), ``reps`` replicates with
    common random numbers, batched onto the serial, process-pool or Dask executor, stored
    batch by batch in ``folder`` (so ``resume`` skips finished runs), with the runner's
    progress bar. A :class:`ModelTask` runs the model through :class:`MetricsRun` (its
    contrast scenario is a second scenario of the same plan, paired by seed); a
    :class:`FunctionTask` runs its plain function through :class:`FunctionRun` by the same path.

    Args:
        task: a :class:`ModelTask` or :class:`FunctionTask`.
        values: design points (rows) × factors, in parameter values.
        names: factor names (columns of ``values``).
        seed: master seed; replicate seeds are :func:`analysis.plan.replicate_seeds` (same at every point).
        reps: replicates per point.
        executor: ``serial``, ``pool``, or an executor (left open).
        workers: processes for the pool (default: all cores).
        scheduler: a Dask scheduler address (then the Dask executor is used).
        batch_size: runs per runner task (default: automatic, about a second of work).
        folder: the experiment folder (default: a temporary one, removed afterwards).
        resume: continue an interrupted evaluation in ``folder``.
        progress: show the runner's progress bar (default: on a terminal).
        command: the command line, for the manifest.
        backend: ``runner`` (the default: executors, store, resume, progress) or ``memory``: the
            same plan, run functions, design points and seeds run in this process with nothing
            stored (for plain functions and quick looks; tests show both give identical arrays).

    Returns:
        array[points, replicates, months, metrics] (the contrast already subtracted).
    """
    values = np.atleast_2d(np.asarray(values, dtype=float))
    if isinstance(executor, str) and executor not in ("serial", "pool"):
        raise ConfigError("unknown executor", key="--executor", value=executor, choices=["serial", "pool"])
    specs, run_fn = _plan_parts(task)
    plan = Plan(
        tuple(PlannedScenario(name, spec, {"role": role}) for name, spec, role in specs),
        int(reps),
        int(seed),
        DesignPoints(names, values),
        run_fn,
    )
    if backend == "memory":
        return _evaluate_in_memory(plan, task.months, task.metrics)
    if backend != "runner":
        raise ConfigError("unknown backend", key="backend", value=backend, choices=["runner", "memory"])
    with open_choice(executor, workers=workers, scheduler=scheduler) as ex, _experiment_folder(folder) as path:
        outcome = run_experiment(
            plan, path, executor=ex, resume=resume, batch_size=batch_size, progress=progress, command=command
        )
        if outcome.failed:
            first = outcome.failures[0]
            raise RunFailure(
                f"{outcome.failed} of {outcome.total} runs failed (the store in {path} keeps their "
                f"tracebacks; --resume retries them). First failure, point {first.point} replicate "
                f"{first.replicate}:\n{first.error}"
            )
        exp = load_experiment(path, metrics=list(task.metrics), steps=list(task.months), partnerships=False)
        return _series_array(
            exp.series, [name for name, _, _ in specs], len(plan.points), reps, task.months, task.metrics
        )


@contextmanager
def _experiment_folder(folder: str | Path | None) -> Iterator[Path]:
    """``folder``, or a temporary one removed on leaving."""
    if folder is not None:
        yield Path(folder)
        return
    with tempfile.TemporaryDirectory(prefix="partnersim-sa-") as tmp:
        yield Path(tmp) / "experiment"


def _evaluate_in_memory(plan: Plan, months: Sequence[int], metrics: Sequence[str]) -> np.ndarray:
    """Run ``plan`` in this process exactly as the runner's workers do, keeping only the array."""
    run_fn = plan.run_fn
    assert isinstance(run_fn, MetricsRun | FunctionRun)
    names = [s.name for s in plan.scenarios]
    Y = np.full((len(names), len(plan.points), plan.replicates, len(months), len(metrics)), np.nan)
    tasks = list(plan.tasks())
    runs = [(with_point(plan.spec(t.scenario), plan.points[t.point]), t.seed) for t in tasks]
    results = run_fn.many(runs) if isinstance(run_fn, MetricsRun) else [run_fn(s, seed, None) for s, seed in runs]
    for t, result in zip(tasks, results, strict=True):
        Y[names.index(t.scenario), t.point, t.replicate] = result.values
    return Y[0] - Y[1] if len(names) == 2 else Y[0]


class RunFailure(RuntimeError):
    """Some runs of a design raised; their tracebacks are in the experiment store."""


def _plan_parts(task: PointTask) -> tuple[list[tuple[str, RunSpec, str]], MetricsRun | FunctionRun]:
    """Scenarios (name, spec, role) and run function of the runner plan for ``task``."""
    if isinstance(task, ModelTask):
        spec = replace(task.spec, horizon=max(task.months))
        specs = [(spec.name, spec, "scenario")]
        if task.contrast is not None:
            cname = task.contrast.name if task.contrast.name != spec.name else f"{spec.name} (contrast)"
            specs.append((cname, replace(task.contrast, name=cname, horizon=max(task.months)), "contrast"))
        return specs, MetricsRun(task.months, task.metrics)
    if isinstance(task, FunctionTask):
        return [("function", RunSpec(name="function", horizon=max(task.months)), "function")], FunctionRun(
            task.fn, task.months, task.metrics
        )
    raise TypeError(f"cannot evaluate {task!r}: use ModelTask or FunctionTask")


def _series_array(
    series: pd.DataFrame,
    scenarios: Sequence[str],
    n_points: int,
    reps: int,
    months: Sequence[int],
    metrics: Sequence[str],
) -> np.ndarray:
    """array[points, replicates, months, metrics] from the store's long series (scenario 0 − scenario 1)."""
    Y = np.full((len(scenarios), n_points, reps, len(months), len(metrics)), np.nan)
    s_idx = pd.Categorical(series["scenario"].astype(str), categories=list(scenarios)).codes
    m_idx = pd.Categorical(series["metric"].astype(str), categories=list(metrics)).codes
    t_idx = pd.Categorical(series["step"].to_numpy(), categories=list(months)).codes
    ok = (s_idx >= 0) & (m_idx >= 0) & (t_idx >= 0)
    Y[s_idx[ok], series["point"].to_numpy()[ok], series["replicate"].to_numpy()[ok], t_idx[ok], m_idx[ok]] = series[
        "value"
    ].to_numpy()[ok]
    if np.isnan(Y).any():
        raise RunFailure("the experiment store lacks some runs of the design (was it interrupted? use --resume)")
    return Y[0] - Y[1] if len(scenarios) == 2 else Y[0]
