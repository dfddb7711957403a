"""Run scenarios × design points × replicates through :func:`sim.run` on any executor.

An experiment is a :class:`Plan`: some scenarios, some design points (theory overrides,
for sensitivity sweeps; one empty point for a plain comparison) and R replicates. Every run
is a pure function of (scenario spec, design point, seed), so the results do not depend on
which executor runs them or in which order.

1. Seeds: one master seed → ``numpy.random.SeedSequence(master).spawn(R)`` → one seed per
   replicate. Replicate r of *every* scenario and design point gets the same seed (common
   random numbers), so differences between scenarios are paired.
2. Batching: runs are grouped into :class:`Batch` tasks of about a second of work each, so
   per-task scheduling and I/O overhead stays a few percent of the work.
3. Execution: :func:`execute_batch` runs a batch inside a worker, records each run that raises
   (with its traceback) and carries on, and encodes the batch's tables as Parquet bytes.
4. Storage: the parent hands each finished batch to :class:`analysis.store.ExperimentStore`,
   which writes it atomically, so an interrupted experiment resumes without redoing or
   duplicating runs. Memory stays flat: nothing but run statuses is kept in the parent.

Executors share one small interface (:class:`Executor`): :class:`SerialExecutor`
(in-process), :class:`PoolExecutor` (local processes, the default) and
:class:`DaskExecutor` (a Dask distributed scheduler, or a ``LocalCluster``).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import math
import os
import signal
import socket
import sys
import time
import traceback
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd
import pyarrow as pa

from sim import RunSpec
from sim.api import month_labels

RunFn = Callable[[RunSpec, int, int | None], Any]
"""A run function: ``(spec, seed, horizon) -> result`` with ``.series`` (wide: ``step``,
optional ``date``, one column per metric) and optionally ``.partnerships``."""

KEY_COLUMNS = ("scenario", "point", "replicate", "seed")
DEFAULT_RUN_SECONDS = 0.1          # one default run (217 providers × 120 months), measured
DEFAULT_RUN_COST = 217 * 120       # provider-months of that run
BATCH_SECONDS = 1.0                # target work per task (Dask's per-task overhead is ~5 ms)
TASKS_PER_WORKER = 4               # at least this many tasks per worker, for load balance
MAX_FAILURES_KEPT = 100            # failed runs kept in memory for the report (the store keeps all)


# -- seeds -----------------------------------------------------------------------------
def replicate_seeds(master_seed: int, replicates: int) -> list[int]:
    """One seed per replicate, derived from ``master_seed`` with ``SeedSequence.spawn``.

    Child r depends only on (master_seed, r), so adding replicates keeps the earlier seeds.
    """
    children = np.random.SeedSequence(int(master_seed)).spawn(int(replicates))
    return [int(c.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1)) for c in children]


# -- the plan ----------------------------------------------------------------------------
@dataclass(frozen=True)
class PlannedScenario:
    """A scenario as the runner needs it: a unique name, its spec, and provenance for the manifest."""

    name: str
    spec: RunSpec
    record: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RunTask:
    """One run: scenario × design point × replicate, with its seed."""

    scenario: str
    point: int
    replicate: int
    seed: int

    @property
    def key(self) -> tuple[str, int, int]:
        """Identity of the run within its experiment."""
        return (self.scenario, self.point, self.replicate)


@dataclass(frozen=True)
class Plan:
    """What an experiment runs.

    Attributes:
        scenarios: the scenarios (unique names), each with its RunSpec.
        replicates: replicates per scenario and design point.
        master_seed: the one seed every replicate seed derives from.
        points: design points; each a mapping of theory parameter → value applied as
            ``uncertainties.effect_overrides`` on top of the scenario's own. ``({},)`` = no sweep.
        run_fn: the run function (default :func:`sim.run`); must be importable in workers.
    """

    scenarios: tuple[PlannedScenario, ...]
    replicates: int
    master_seed: int
    points: tuple[Mapping[str, float], ...] = ({},)
    run_fn: RunFn | None = None

    def __post_init__(self) -> None:
        names = [s.name for s in self.scenarios]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"scenario names must be unique in an experiment; repeated: {', '.join(dupes)}")
        if self.replicates < 1:
            raise ValueError("an experiment needs at least one replicate")
        if not self.points:
            raise ValueError("an experiment needs at least one design point (use ({},) for none)")

    @functools.cached_property
    def seeds(self) -> list[int]:
        """Seed of each replicate (shared by every scenario and design point)."""
        return replicate_seeds(self.master_seed, self.replicates)

    @property
    def n_runs(self) -> int:
        """Total runs in the plan."""
        return len(self.scenarios) * len(self.points) * self.replicates

    def tasks(self) -> Iterator[RunTask]:
        """Every run, design point by design point, replicate by replicate, scenario by scenario."""
        seeds = self.seeds
        for p in range(len(self.points)):
            for r, seed in enumerate(seeds):
                for s in self.scenarios:
                    yield RunTask(s.name, p, r, seed)

    def spec(self, name: str) -> RunSpec:
        """The spec of scenario ``name``."""
        for s in self.scenarios:
            if s.name == name:
                return s.spec
        raise KeyError(name)

    def fingerprint(self) -> str:
        """Hash of everything that determines the results except the replicate count (cached)."""
        return self._fingerprint

    @functools.cached_property
    def _fingerprint(self) -> str:
        """Hash of everything that determines the results except the replicate count.

        A resumed experiment must have the same fingerprint; more replicates may be added
        (earlier seeds do not change).
        """
        blob = {
            "scenarios": [[s.name, spec_digest(s.spec)] for s in self.scenarios],
            "points": points_digest(self.points),
            "master_seed": int(self.master_seed),
            "run_fn": run_fn_name(self.run_fn),
        }
        return _sha(blob)


def plan_from_scenarios(scenarios: Sequence[Any], *, replicates: int, master_seed: int,
                        horizon: int | None = None, points: Sequence[Mapping[str, float]] = ({},),
                        run_fn: RunFn | None = None) -> Plan:
    """A plan from :class:`analysis.scenario.Scenario` objects (horizon overrides theirs if given)."""
    from analysis.store import scenario_record

    planned = []
    for scen in scenarios:
        spec = scen.spec if horizon is None else dataclasses.replace(scen.spec, horizon=int(horizon))
        planned.append(PlannedScenario(scen.name, spec, scenario_record(scen, spec)))
    return Plan(tuple(planned), int(replicates), int(master_seed), tuple(dict(p) for p in points), run_fn)


def spec_digest(spec: RunSpec) -> str:
    """Hash of a resolved RunSpec (levers, uncertainties, theory, population, horizon, start)."""
    return _sha(spec_summary(spec))


def spec_summary(spec: RunSpec) -> dict[str, Any]:
    """A JSON-able description of a RunSpec (theory and population by digest)."""
    pop = spec.population
    return {
        "name": spec.name,
        "levers": dataclasses.asdict(spec.levers),
        "uncertainties": dataclasses.asdict(spec.uncertainties),
        "horizon": spec.horizon,
        "start": spec.start,
        "n_providers": spec.n_providers,
        "n_ics": spec.n_ics,
        "theory_digest": spec.theory.digest() if spec.theory is not None else "default",
        "population_digest": (pop.digest or pop.name) if pop is not None else "default",
    }


def points_digest(points: Sequence[Mapping[str, float]]) -> str:
    """Hash of the design points (incremental: sweeps have tens of thousands)."""
    h = hashlib.sha256()
    keys: tuple[str, ...] | None = None
    for p in points:
        names = tuple(p)
        if names != keys:
            h.update(repr(names).encode())
            keys = names
        h.update(np.fromiter(p.values(), dtype=np.float64, count=len(p)).tobytes() + b";")
    return h.hexdigest()[:16]


def run_fn_name(fn: RunFn | None) -> str:
    """A stable name for a run function: ``module.qualname`` (plus its repr for callable objects)."""
    if fn is None:
        return "sim.run"
    if hasattr(fn, "__qualname__"):
        return f"{fn.__module__}.{fn.__qualname__}"
    kind = type(fn)
    text = repr(fn)
    return f"{kind.__module__}.{kind.__qualname__}" + ("" if " at 0x" in text else f":{text}")


def _sha(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:16]


# -- batches -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Batch:
    """A task: some runs, with the specs and design points they need."""

    id: int
    tasks: tuple[RunTask, ...]
    specs: Mapping[str, RunSpec]
    points: Mapping[int, Mapping[str, float]]
    run_fn: RunFn | None = None


@dataclass
class RunStatus:
    """Outcome of one run as the parent keeps it (no data)."""

    scenario: str
    point: int
    replicate: int
    seed: int
    status: str             # "ok" | "failed"
    seconds: float
    error: str = ""
    worker: str = ""
    batch: int = -1
    cpu_seconds: float = 0.0

    @property
    def key(self) -> tuple[str, int, int]:
        """Identity of the run."""
        return (self.scenario, self.point, self.replicate)


@dataclass
class BatchResult:
    """A finished batch: its tables as Parquet bytes, and the runs' statuses."""

    id: int
    files: dict[str, bytes]
    runs: list[RunStatus]
    cpu_seconds: float = 0.0     # CPU time of the whole batch in its worker (runs + conversion + encoding)


def make_batches(plan: Plan, tasks: Sequence[RunTask], batch_size: int, first_id: int = 0) -> Iterator[Batch]:
    """Group ``tasks`` (in order) into batches of ``batch_size`` runs."""
    for i, start in enumerate(range(0, len(tasks), batch_size)):
        chunk = tuple(tasks[start:start + batch_size])
        names = {t.scenario for t in chunk}
        specs = {s.name: s.spec for s in plan.scenarios if s.name in names}
        points = {t.point: plan.points[t.point] for t in chunk}
        yield Batch(first_id + i, chunk, specs, points, plan.run_fn)


def auto_batch_size(plan: Plan, n_tasks: int, workers: int) -> int:
    """Runs per task: about :data:`BATCH_SECONDS` of work, but at least 4 tasks per worker."""
    costs = []
    for s in plan.scenarios:
        n = s.spec.n_providers or (s.spec.population.n_providers if s.spec.population is not None else 217)
        costs.append(n * s.spec.horizon)
    run_seconds = DEFAULT_RUN_SECONDS * (sum(costs) / len(costs)) / DEFAULT_RUN_COST
    by_time = max(1, round(BATCH_SECONDS / max(run_seconds, 1e-6)))
    by_balance = max(1, math.ceil(n_tasks / (max(workers, 1) * TASKS_PER_WORKER)))
    return int(min(by_time, by_balance))


def with_point(spec: RunSpec, overrides: Mapping[str, float]) -> RunSpec:
    """``spec`` with a design point's theory overrides added to its effect overrides."""
    if not overrides:
        return spec
    unc = spec.uncertainties
    merged = {**unc.effect_overrides, **{str(k): float(v) for k, v in overrides.items()}}
    return dataclasses.replace(spec, uncertainties=dataclasses.replace(unc, effect_overrides=merged))


def execute_batch(batch: Batch) -> BatchResult:
    """Run a batch (inside a worker) and encode its tables; a run that raises is recorded, not fatal."""
    import sim
    from analysis.store import encode_tables

    cpu0 = time.process_time()
    run_fn: RunFn = batch.run_fn or sim.run
    worker = f"{socket.gethostname()}:{os.getpid()}"
    series, finals, logs, statuses = [], [], [], []
    for task in batch.tasks:
        t0, c0 = time.perf_counter(), time.process_time()
        try:
            spec = with_point(batch.specs[task.scenario], batch.points[task.point])
            result = run_fn(spec, task.seed, None)
            long, final = long_series(result.series, task, spec.start)
            log = getattr(result, "partnerships", None)
            status = RunStatus(*task_fields(task), "ok", time.perf_counter() - t0, "", worker, batch.id,
                               cpu_seconds=time.process_time() - c0)
        except Exception:  # noqa: BLE001 - a failing run is recorded with its traceback
            status = RunStatus(*task_fields(task), "failed", time.perf_counter() - t0, traceback.format_exc(),
                               worker, batch.id, cpu_seconds=time.process_time() - c0)
            statuses.append(status)
            continue
        series.append(long)
        finals.append(final)
        if log is not None and len(log):
            logs.append(tagged(log, task))
        statuses.append(status)
    files = encode_tables(series, finals, logs, statuses)
    return BatchResult(batch.id, files, statuses, cpu_seconds=time.process_time() - cpu0)


def task_fields(task: RunTask) -> tuple[str, int, int, int]:
    """(scenario, point, replicate, seed) of a task."""
    return (task.scenario, task.point, task.replicate, task.seed)


def long_series(wide: pd.DataFrame, task: RunTask, start: str) -> tuple[pa.Table, dict[str, float]]:
    """A run's wide time series as tidy long rows (an Arrow table), and its final value of every metric."""
    from analysis.store import SERIES_SCHEMA

    metrics = [str(c) for c in wide.columns if c not in ("step", "date")]
    steps = wide["step"].to_numpy(dtype=np.int32) if "step" in wide else np.arange(len(wide), dtype=np.int32)
    dates = wide["date"].astype(str).tolist() if "date" in wide else month_labels(start, len(wide))
    values = wide[metrics].to_numpy(dtype=np.float64)
    n_steps, n_metrics = values.shape
    n = n_steps * n_metrics

    def coded(codes: np.ndarray, labels: list[str]) -> pa.DictionaryArray:
        return pa.DictionaryArray.from_arrays(pa.array(codes.astype(np.int32)), pa.array(labels, pa.string()))

    table = pa.table([
        coded(np.zeros(n, dtype=np.int32), [task.scenario]),
        pa.array(np.full(n, task.point, dtype=np.int32)),
        pa.array(np.full(n, task.replicate, dtype=np.int32)),
        pa.array(np.full(n, task.seed, dtype=np.int64)),
        pa.array(np.repeat(steps, n_metrics)),
        coded(np.repeat(np.arange(n_steps, dtype=np.int32), n_metrics), dates),
        coded(np.tile(np.arange(n_metrics, dtype=np.int32), n_steps), metrics),
        pa.array(values.ravel()),
    ], schema=SERIES_SCHEMA)
    final = {m: float(values[-1, j]) for j, m in enumerate(metrics)} if n_steps else {}
    final["steps"] = float(steps[-1]) if n_steps else float("nan")
    return table, final


def tagged(log: pd.DataFrame, task: RunTask) -> pa.Table:
    """A partnership log (Arrow) with the run's key columns in front."""
    table = pa.Table.from_pandas(log, preserve_index=False)
    n = table.num_rows
    keys = [pa.array([task.scenario] * n, pa.string()), pa.array(np.full(n, task.point, dtype=np.int32)),
            pa.array(np.full(n, task.replicate, dtype=np.int32)), pa.array(np.full(n, task.seed, dtype=np.int64))]
    for i, (name, col) in enumerate(zip(KEY_COLUMNS, keys, strict=True)):
        table = table.add_column(i, name, col)
    return table


# -- executors ---------------------------------------------------------------------------
class Executor(Protocol):
    """Runs a function over items and yields results as they finish."""

    name: str
    workers: int

    def map_unordered(self, fn: Callable[[Any], Any], items: Iterable[Any]) -> Iterator[tuple[Any, Any]]:
        """Yield ``(item, result)`` pairs as they finish; ``result`` is the exception if ``fn`` raised."""
        ...

    def close(self) -> None:
        """Release workers (idempotent)."""
        ...


class SerialExecutor:
    """In-process, one item after another (debugging, tests, ``--workers 1``)."""

    name = "serial"
    workers = 1

    def map_unordered(self, fn: Callable[[Any], Any], items: Iterable[Any]) -> Iterator[tuple[Any, Any]]:
        """Yield ``(item, fn(item))`` in order."""
        for item in items:
            try:
                yield item, fn(item)
            except Exception as exc:  # noqa: BLE001 - reported per item
                yield item, exc

    def close(self) -> None:
        """Nothing to release."""


class WorkerLost(RuntimeError):
    """A worker process died (killed, out of memory, or a crash in native code)."""

    def __init__(self) -> None:
        super().__init__("a worker process died unexpectedly (killed, out of memory, or a crash in native code); "
                         "the batches finished before it are saved: rerun the same command with --resume to "
                         "continue")


def _init_worker() -> None:
    """Worker initialiser: one BLAS/OpenMP thread per worker, and leave Ctrl-C to the parent.

    Each worker is one process per core: a numpy BLAS pool of several threads in every worker
    oversubscribes the cores and its threads spin against each other (measured: runs took
    3x longer on 2 workers). Dask's nanny sets the same limits for its workers.
    """
    from threadpoolctl import threadpool_limits

    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = "1"
    threadpool_limits(1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class PoolExecutor:
    """A local process pool (``concurrent.futures``).

    On Linux the workers are forked, so they start at once with the model already imported
    (a spawned worker takes seconds to import Mesa and the model). They are forked here, before
    any work or file I/O, when the parent's only other threads are idle OpenBLAS and jemalloc
    threads, which register at-fork handlers; set ``PARTNERSIM_START_METHOD=forkserver`` (or
    ``spawn``) to avoid fork altogether. Each worker uses one BLAS thread and ignores Ctrl-C
    (the parent shuts the pool down): see :func:`_init_worker`.
    """

    name = "pool"

    def __init__(self, workers: int | None = None, start_method: str | None = None) -> None:
        import multiprocessing as mp
        import warnings

        self.workers = int(workers or os.cpu_count() or 1)
        method = start_method or os.environ.get("PARTNERSIM_START_METHOD") or (
            "fork" if "fork" in mp.get_all_start_methods() and sys.platform != "darwin" else "spawn")
        ctx = mp.get_context(method)
        if method == "forkserver":
            ctx.set_forkserver_preload(["analysis.runner", "sim"])
        self._pool = ProcessPoolExecutor(self.workers, mp_context=ctx, initializer=_init_worker)
        with warnings.catch_warnings():  # Python warns about forking any multi-threaded process
            warnings.filterwarnings("ignore", message=".*use of fork\\(\\) may lead to deadlocks",
                                    category=DeprecationWarning)
            self._pool.submit(os.getpid).result()   # start every worker now (fork starts them all at once)

    def map_unordered(self, fn: Callable[[Any], Any], items: Iterable[Any]) -> Iterator[tuple[Any, Any]]:
        """Yield ``(item, result)`` as they finish, keeping a bounded number in flight.

        Raises:
            WorkerLost: a worker process died (the pool is unusable; finished items were yielded).
        """
        try:
            for item, result in _windowed(lambda item: self._pool.submit(fn, item), items, 2 * self.workers + 2):
                if isinstance(result, BrokenProcessPool):
                    raise WorkerLost() from result
                yield item, result
        except BrokenProcessPool as exc:
            raise WorkerLost() from exc

    def close(self) -> None:
        """Shut the pool down, cancelling what has not started."""
        self._pool.shutdown(wait=True, cancel_futures=True)


def _windowed(submit: Callable[[Any], Future], items: Iterable[Any], window: int) -> Iterator[tuple[Any, Any]]:
    pending: dict[Future, Any] = {}
    it = iter(items)
    for item in it:
        pending[submit(item)] = item
        if len(pending) >= window:
            break
    while pending:
        done, _ = wait(pending, return_when=FIRST_COMPLETED)
        for fut in done:
            item = pending.pop(fut)
            exc = fut.exception()
            yield item, (exc if exc is not None else fut.result())
            nxt = next(it, None)
            if nxt is not None:
                pending[submit(nxt)] = nxt


class DaskExecutor:
    """Dask distributed: a scheduler at ``address``, or a ``LocalCluster`` when ``address == "local"``."""

    name = "dask"

    def __init__(self, address: str, workers: int | None = None, *, timeout: float = 15.0) -> None:
        from distributed import Client, LocalCluster

        self._cluster = None
        self.address = address
        if address == "local":
            import dask

            n = int(workers or os.cpu_count() or 1)
            # the workers' statistical profiler samples every 10 ms and slowed runs by ~15% here
            with dask.config.set({"distributed.worker.profile.enabled": False}):
                self._cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                                             dashboard_address=None, silence_logs=40)
            self._client = Client(self._cluster)
            self.address = self._cluster.scheduler_address
        else:
            try:
                self._client = Client(address, timeout=timeout)
            except (OSError, TimeoutError) as exc:
                from analysis.cli import UserError

                raise UserError(f"could not connect to the Dask scheduler at {address!r} within {timeout:.0f} s "
                                f"({exc}); start one with `dask scheduler` and `dask worker ADDRESS`, "
                                f"or use --scheduler local") from None
        self.workers = max(1, sum(self._client.nthreads().values()))

    def map_unordered(self, fn: Callable[[Any], Any], items: Iterable[Any]) -> Iterator[tuple[Any, Any]]:
        """Yield ``(item, result)`` as they finish, keeping a bounded number in flight."""
        from distributed import as_completed

        it = iter(items)
        futures = {}
        for item in it:
            futures[self._client.submit(fn, item, pure=False)] = item
            if len(futures) >= 2 * self.workers + 2:
                break
        ac = as_completed(list(futures))
        for fut in ac:
            item = futures.pop(fut)
            if fut.status == "error":
                yield item, fut.exception()
            else:
                yield item, fut.result()
            fut.release()
            nxt = next(it, None)
            if nxt is not None:
                new = self._client.submit(fn, nxt, pure=False)
                futures[new] = nxt
                ac.add(new)

    def close(self) -> None:
        """Close the client (and the LocalCluster if we started it)."""
        try:
            self._client.close()
        finally:
            if self._cluster is not None:
                self._cluster.close()
                self._cluster = None


def make_executor(workers: int | None = None, scheduler: str | None = None) -> Executor:
    """The executor for the CLI options.

    Dask if a scheduler is given (or in ``DASK_SCHEDULER_ADDRESS``), serial in this process for
    ``workers == 1``, otherwise a local process pool.
    """
    scheduler = scheduler or os.environ.get("DASK_SCHEDULER_ADDRESS") or None
    if scheduler:
        return DaskExecutor(scheduler, workers)
    if workers == 1:
        return SerialExecutor()
    return PoolExecutor(workers)


# -- progress ----------------------------------------------------------------------------
class Progress:
    """A one-line progress bar: runs done, failures, rate and ETA.

    Redraws in place on a terminal; prints a line every ``every`` seconds otherwise (only
    when asked: non-interactive use is quiet by default).
    """

    def __init__(self, total: int, *, done: int = 0, enabled: bool | None = None, stream: Any = None,
                 every: float = 10.0) -> None:
        self.stream = stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.enabled = self.tty if enabled is None else enabled
        self.total, self.start_done, self.done, self.failed = total, done, done, 0
        self.t0 = self._last = time.monotonic()
        self.every = every if not self.tty else 0.1
        self._drawn = -1

    def update(self, ok: int, failed: int) -> None:
        """Count finished runs and redraw if due."""
        self.done += ok + failed
        self.failed += failed
        now = time.monotonic()
        if self.enabled and (now - self._last >= self.every or self.done >= self.total):
            self._last = now
            self._draw(now)

    def line(self, now: float | None = None) -> str:
        """The progress text."""
        now = time.monotonic() if now is None else now
        elapsed = max(now - self.t0, 1e-9)
        new = self.done - self.start_done
        rate = new / elapsed
        remaining = self.total - self.done
        eta = _hms(remaining / rate) if rate > 0 and remaining else ("0:00" if not remaining else "?")
        width = 24
        filled = int(width * self.done / max(self.total, 1))
        bar = "#" * filled + "-" * (width - filled)
        fail = f" | {self.failed} failed" if self.failed else ""
        return (f"[{bar}] {self.done}/{self.total} runs{fail} | {rate:.1f} runs/s | "
                f"elapsed {_hms(elapsed)} | ETA {eta}")

    def _draw(self, now: float) -> None:
        self._drawn = self.done
        if self.tty:
            self.stream.write("\r" + self.line(now) + "\033[K")
        else:
            self.stream.write(self.line(now) + "\n")
        self.stream.flush()

    def close(self) -> None:
        """Finish the line."""
        if self.enabled:
            if self._drawn != self.done:
                self._draw(time.monotonic())
            if self.tty:
                self.stream.write("\n")
            self.stream.flush()


def _hms(seconds: float) -> str:
    s = int(round(seconds))
    h, rem = divmod(s, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


# -- running an experiment ---------------------------------------------------------------
@dataclass
class ExperimentOutcome:
    """What happened when an experiment ran (or resumed)."""

    path: Path
    total: int
    ran: int
    skipped: int
    failed: int
    seconds: float
    failures: list[RunStatus] = field(default_factory=list)   # the first ones (at most MAX_FAILURES_KEPT)

    @property
    def ok(self) -> bool:
        """True when every run of the plan succeeded."""
        return self.failed == 0


def run_experiment(plan: Plan, out: str | Path, *, executor: Executor | None = None, resume: bool = False,
                   batch_size: int | None = None, progress: bool | None = None,
                   command: Sequence[str] | None = None,
                   on_batch: Callable[[BatchResult], None] | None = None) -> ExperimentOutcome:
    """Run (or resume) ``plan`` into the experiment folder ``out``.

    Args:
        plan: what to run.
        out: the experiment folder (created; must not already hold an experiment unless ``resume``).
        executor: where to run (default: a local process pool); closed by the caller.
        resume: continue an interrupted experiment in ``out``: runs already stored are not redone,
            runs that failed are tried again, and more replicates may be added.
        batch_size: runs per task (default: about a second of work, at least 4 tasks per worker).
        progress: show a progress bar (default: only on a terminal).
        command: the command line, for the manifest.
        on_batch: called in the parent after each batch is stored (tests, custom reporting).

    Returns:
        Counts of runs done, skipped (already stored) and failed in the plan.
    """
    from analysis.store import ExperimentStore

    store = ExperimentStore(out)
    own_executor = executor is None
    executor = executor or PoolExecutor()
    try:
        store.begin(plan, resume=resume, command=command, executor=executor.name, workers=executor.workers)
        done = store.done_keys()
        todo = [t for t in plan.tasks() if t.key not in done]
        size = batch_size or auto_batch_size(plan, len(todo), executor.workers)
        bar = Progress(plan.n_runs, done=plan.n_runs - len(todo), enabled=progress)
        t0 = time.monotonic()
        failures: list[RunStatus] = []
        n_failed = 0
        batches = make_batches(plan, todo, size, first_id=store.next_batch_id())
        interrupted = True
        try:
            for batch, result in executor.map_unordered(execute_batch, batches):
                if isinstance(result, BaseException):
                    result = failed_batch(batch, result, executor.name)
                store.write_batch(result)
                bad = [r for r in result.runs if r.status != "ok"]
                n_failed += len(bad)
                failures += bad[:MAX_FAILURES_KEPT - len(failures)]   # all of them are in the store
                bar.update(len(result.runs) - len(bad), len(bad))
                if on_batch is not None:
                    on_batch(result)
            interrupted = False
        finally:
            bar.close()
            store.end(complete=not interrupted)
        return ExperimentOutcome(store.path, plan.n_runs, len(todo), plan.n_runs - len(todo), n_failed,
                                 time.monotonic() - t0, failures)
    finally:
        if own_executor:
            executor.close()


def failed_batch(batch: Batch, exc: BaseException, executor: str) -> BatchResult:
    """A batch whose task itself failed (a worker died, or the batch could not be sent)."""
    from analysis.store import encode_tables

    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    text = f"the {executor} task running this batch failed:\n{text}"
    runs = [RunStatus(*task_fields(t), "failed", 0.0, text, "", batch.id) for t in batch.tasks]
    return BatchResult(batch.id, encode_tables([], [], [], runs), runs)
