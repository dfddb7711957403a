"""Run a :class:`~analysis.plan.Plan` through :func:`sim.run` on any executor, into the store.

1. Batching: runs are grouped into :class:`Batch` tasks of about a second of work each, so
   per-task scheduling and I/O overhead stays a few percent of the work.
2. Execution: :func:`execute_batch` runs a batch inside a worker, its runs advancing together
   in the engine (:mod:`analysis.batching`), records each run that raises (with its traceback)
   and carries on, and encodes the batch's tables as Parquet bytes.
3. Storage: the parent hands each finished batch to :class:`analysis.store.ExperimentStore`,
   which writes it atomically, so an interrupted experiment resumes without redoing or
   duplicating runs. Memory stays flat: nothing but run statuses is kept in the parent.

Every run is a pure function of (scenario spec, design point, seed), so the results do not
depend on which executor (:mod:`analysis.executors`) runs them or in which order.
"""

from __future__ import annotations

import math
import os
import socket
import sys
import time
import traceback
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from analysis.batching import run_batch
from analysis.executors import Executor, PoolExecutor, open_executor
from analysis.plan import Plan, RunFn, RunTask, with_point
from analysis.store import BatchResult, ExperimentStore, RunStatus, check_folder, encode_batch
from analysis.store.format import RunTables, run_tables
from sim import RunSpec

DEFAULT_RUN_SECONDS = 0.012  # one default run (217 providers × 120 months) inside a batch, measured
DEFAULT_RUN_COST = 217 * 120  # provider-months of that run
BATCH_SECONDS = 1.0  # target work per task (Dask's per-task overhead is ~5 ms)
TASKS_PER_WORKER = 4  # at least this many tasks per worker, for load balance
MAX_FAILURES_KEPT = 100  # failed runs kept in memory for the report (the store keeps all)


# -- batches -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Batch:
    """A task: some runs, with the specs and design points they need."""

    id: int
    tasks: tuple[RunTask, ...]
    specs: Mapping[str, RunSpec]
    points: Mapping[int, Mapping[str, float]]
    run_fn: RunFn | None = None


def make_batches(plan: Plan, tasks: Sequence[RunTask], batch_size: int, first_id: int = 0) -> Iterator[Batch]:
    """Group ``tasks`` (in order) into batches of ``batch_size`` runs."""
    for i, start in enumerate(range(0, len(tasks), batch_size)):
        chunk = tuple(tasks[start : start + batch_size])
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


def execute_batch(batch: Batch) -> BatchResult:
    """Run a batch (inside a worker) and encode its tables; a run that raises is recorded, not fatal.

    The runs' outputs are taken as arrays (:func:`~analysis.store.format.run_tables`) and the
    batch's tables are built and encoded once (:func:`~analysis.store.format.encode_batch`).
    """
    started, cpu0 = time.time(), time.process_time()
    worker = f"{socket.gethostname()}:{os.getpid()}"
    done: list[tuple[RunTask, RunTables]] = []
    statuses: list[RunStatus] = []
    specs = [with_point(batch.specs[task.scenario], batch.points[task.point]) for task in batch.tasks]
    outcomes = run_batch(batch.run_fn, [(spec, task.seed) for spec, task in zip(specs, batch.tasks, strict=True)])
    for task, spec, out in zip(batch.tasks, specs, outcomes, strict=True):
        if out.error:
            statuses.append(
                RunStatus.of(task, "failed", out.seconds, out.error, worker, batch.id, cpu_seconds=out.cpu_seconds)
            )
            continue
        done.append((task, run_tables(out.output, spec.start)))
        statuses.append(RunStatus.of(task, "ok", out.seconds, "", worker, batch.id, cpu_seconds=out.cpu_seconds))
    files = encode_batch(done, statuses)
    return BatchResult(
        batch.id, files, statuses, cpu_seconds=time.process_time() - cpu0, started=started, finished=time.time()
    )


def failed_batch(batch: Batch, exc: BaseException, executor: str) -> BatchResult:
    """A batch whose task itself failed (a worker died, or the batch could not be sent)."""
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    text = f"the {executor} task running this batch failed:\n{text}"
    runs = [RunStatus.of(t, "failed", 0.0, text, "", batch.id) for t in batch.tasks]
    return BatchResult(batch.id, encode_batch([], runs), runs)


def _opening_after(batches: Iterable[Batch], workers: int, open_store: Callable[[], None]) -> Iterator[Batch]:
    """``batches``, calling ``open_store`` once the first ``workers`` of them are handed out (every worker busy)."""
    for i, batch in enumerate(batches):
        if i == workers:
            open_store()
        yield batch


# -- progress ----------------------------------------------------------------------------
class Progress:
    """A one-line progress bar: runs done, failures, rate and ETA.

    Redraws in place on a terminal; prints a line every ``every`` seconds otherwise (only
    when asked: non-interactive use is quiet by default).
    """

    def __init__(
        self,
        total: int,
        *,
        done: int = 0,
        enabled: bool | None = None,
        stream: TextIO | None = None,
        every: float = 10.0,
    ) -> None:
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
        return f"[{bar}] {self.done}/{self.total} runs{fail} | {rate:.1f} runs/s | elapsed {_hms(elapsed)} | ETA {eta}"

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
    failures: list[RunStatus] = field(default_factory=list)  # the first ones (at most MAX_FAILURES_KEPT)

    @property
    def ok(self) -> bool:
        """True when every run of the plan succeeded."""
        return self.failed == 0


def run_experiment(
    plan: Plan,
    out: str | Path,
    *,
    executor: Executor | None = None,
    resume: bool = False,
    batch_size: int | None = None,
    progress: bool | None = None,
    command: Sequence[str] | None = None,
    on_batch: Callable[[BatchResult], None] | None = None,
    on_running: Callable[[], None] | None = None,
) -> ExperimentOutcome:
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
        on_running: called once in the parent after the first batch is stored (at the latest at
            the end, when nothing ran): the workers then have the next batches queued (an executor
            keeps two per worker and two more in flight), so work the caller does next anyway (the
            report's imports, about 0.5 s) overlaps the runs instead of following them. Not called
            when the experiment stops before then.

    Returns:
        Counts of runs done, skipped (already stored) and failed in the plan.

    A new experiment's first batches are handed out before the folder is opened (its lock taken,
    its manifest written: 0.1 s, mostly the git commit and the package versions), so the workers
    start at once; nothing is written before it is open, and a folder that cannot hold the
    experiment is refused (:func:`~analysis.store.check_folder`) before any batch is handed out.
    A resumed experiment is opened first: what it already holds decides what runs.
    """
    store = ExperimentStore(out)
    check_folder(store.path, resume=resume)
    with open_executor(executor, make=PoolExecutor) as ex:

        def open_store() -> None:
            if not store.is_open:
                store.begin(plan, resume=resume, command=command, executor=ex.name, workers=ex.workers)

        if resume:
            open_store()
        done = store.done_keys() if resume else set()  # a new experiment's folder holds no runs
        todo = [t for t in plan.tasks() if t.key not in done]
        size = batch_size or auto_batch_size(plan, len(todo), ex.workers)
        bar = Progress(plan.n_runs, done=plan.n_runs - len(todo), enabled=progress)
        t0 = time.monotonic()
        failures: list[RunStatus] = []
        n_failed = 0
        batches = make_batches(plan, todo, size, first_id=store.next_batch_id() if resume else 0)
        interrupted = True
        try:
            for batch, result in ex.map_unordered(execute_batch, _opening_after(batches, ex.workers, open_store)):
                open_store()  # (done already unless fewer batches than workers, or one worker)
                if isinstance(result, BaseException):
                    result = failed_batch(batch, result, ex.name)
                store.write_batch(result)
                bad = [r for r in result.runs if r.status != "ok"]
                n_failed += len(bad)
                failures += bad[: MAX_FAILURES_KEPT - len(failures)]  # all of them are in the store
                bar.update(len(result.runs) - len(bad), len(bad))
                if on_batch is not None:
                    on_batch(result)
                if on_running is not None:
                    on_running()  # while the workers run the batches in flight
                    on_running = None
            open_store()  # an experiment with nothing to run still gets its folder
            if on_running is not None:
                on_running()
            interrupted = False
        finally:
            try:
                bar.close()
            finally:
                if store.is_open:
                    store.end(complete=not interrupted)
        return ExperimentOutcome(
            store.path, plan.n_runs, len(todo), plan.n_runs - len(todo), n_failed, time.monotonic() - t0, failures
        )
