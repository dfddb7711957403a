"""Where tasks run: in this process, on a local process pool, or on Dask.

Every executor has the same small interface (:class:`Executor`): ``map_unordered(fn, items)``
yields ``(item, result)`` as items finish (``result`` is the exception when ``fn`` raised),
keeping a bounded number in flight, and ``close()`` releases the workers. The runner's
experiments and the paired runs of the realist studies both map their tasks this way, with
the executor's lifetime handled by :func:`open_executor`.

* :class:`SerialExecutor`: in-process, one item after another (debugging, tests, ``--workers 1``);
* :class:`PoolExecutor`: local processes (the default; forked on Linux, one BLAS thread each);
* :class:`DaskExecutor`: a Dask distributed scheduler, or a ``LocalCluster`` (``--scheduler local``).

No process is left behind: each pool worker runs a watchdog thread that ends the worker within
:data:`WATCHDOG_SECONDS` once its parent has died (killed with SIGKILL or SIGTERM, or crashed),
and the Dask executor stops with a resumable error (:class:`NoWorkers`) when the cluster has had
no live worker for :data:`NO_WORKER_SECONDS` (``PARTNERSIM_DASK_NO_WORKER_SECONDS``), instead of
waiting forever.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Protocol

import sim
from analysis.errors import ResumableError, UserError

if TYPE_CHECKING:
    from distributed import Client, LocalCluster


class Executor(Protocol):
    """Runs a function over items and yields results as they finish."""

    name: str
    workers: int

    def map_unordered[T, R](self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[tuple[T, R | BaseException]]:
        """Yield ``(item, result)`` pairs as they finish; ``result`` is the exception if ``fn`` raised."""
        ...

    def close(self) -> None:
        """Release workers (idempotent)."""
        ...


WATCHDOG_SECONDS = 0.5
"""How often a pool worker checks that its parent is alive (it exits within this once orphaned)."""
NO_WORKER_SECONDS = float(os.environ.get("PARTNERSIM_DASK_NO_WORKER_SECONDS", "60"))
"""How long the Dask executor waits for a cluster with no live worker before it stops."""
EXIT_ORPHANED = 70
"""Exit code of a pool worker whose parent died."""


class WorkerLost(ResumableError):
    """A worker process died (killed, out of memory, or a crash in native code)."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(
            message
            or "a worker process died unexpectedly (killed, out of memory, or a crash in native code); "
            "the batches finished before it are saved: rerun the same command with --resume to "
            "continue"
        )


class NoWorkers(WorkerLost):
    """The Dask cluster has had no live worker for longer than the executor waits."""

    def __init__(self, address: str, seconds: float) -> None:
        super().__init__(
            f"the Dask cluster at {address} has had no live worker for {seconds:.0f} s (they died or were "
            "never started), so the work cannot go on; the batches finished before are saved: start workers "
            f"(`dask worker {address}`) or use --scheduler local, then rerun the same command with --resume"
        )


class SerialExecutor:
    """In-process, one item after another (debugging, tests, ``--workers 1``)."""

    name = "serial"
    workers = 1

    def map_unordered[T, R](self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[tuple[T, R | BaseException]]:
        """Yield ``(item, fn(item))`` in order."""
        for item in items:
            try:
                yield item, fn(item)
            except Exception as exc:  # noqa: BLE001 - reported per item
                yield item, exc

    def close(self) -> None:
        """Nothing to release."""


def _init_worker(load_engine: bool = True) -> None:
    """Worker initialiser: one BLAS/OpenMP thread per worker, and leave Ctrl-C to the parent.

    Each worker is one process per core: a numpy BLAS pool of several threads in every worker
    oversubscribes the cores and its threads spin against each other (measured: runs took
    3x longer on 2 workers). Dask's nanny sets the same limits for its workers. A worker then
    loads the compiled engine (:func:`sim.warm_up`), unless ``load_engine`` is False: a forked
    worker inherits it from the parent, which loaded it before forking, and running the warm-up
    again only delayed the worker's first batch (a month of a run, 20-40 ms).
    """
    from threadpoolctl import threadpool_limits

    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = "1"
    threadpool_limits(1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    watch_parent()
    if load_engine:
        sim.warm_up()  # the compiled engine, loaded once per worker before its first task


def watch_parent(interval: float = WATCHDOG_SECONDS) -> threading.Thread:
    """Start a daemon thread that ends this process once its parent has died (it is then re-parented).

    A pool worker is a child of the command's process: if that process is killed (SIGKILL leaves
    it no chance to stop its workers) the worker would otherwise live on, holding memory, until
    its current batch ends and forever after.
    """
    parent = os.getppid()
    if parent == 1:  # orphaned before it started
        os._exit(EXIT_ORPHANED)

    def watch() -> None:
        while True:
            time.sleep(interval)
            if os.getppid() != parent:
                os._exit(EXIT_ORPHANED)

    thread = threading.Thread(target=watch, name="partnersim-parent-watchdog", daemon=True)
    thread.start()
    return thread


class PoolExecutor:
    """A local process pool (``concurrent.futures``).

    On Linux the workers are forked, so they start at once with the model already imported
    (a spawned worker takes seconds to import Mesa and the model). Before forking, the parent
    loads the compiled engine (:func:`sim.warm_up`: numba's registries and the cached kernels,
    0.5-0.6 s of CPU; :mod:`sim.numba_setup` spares it ``scipy.linalg``), so the workers inherit it instead of
    each loading it again. They are forked here, before any file I/O, when the parent's only
    other threads are idle OpenBLAS and jemalloc threads, which register at-fork handlers; set
    ``PARTNERSIM_START_METHOD=forkserver`` (or ``spawn``) to avoid fork altogether. Each worker
    uses one BLAS thread and ignores Ctrl-C (the parent shuts the pool down): see :func:`_init_worker`.
    """

    name = "pool"

    def __init__(self, workers: int | None = None, start_method: str | None = None) -> None:
        self.workers = int(workers or os.cpu_count() or 1)
        method = (
            start_method
            or os.environ.get("PARTNERSIM_START_METHOD")
            or ("fork" if "fork" in mp.get_all_start_methods() and sys.platform != "darwin" else "spawn")
        )
        ctx = mp.get_context(method)
        if method == "forkserver":
            ctx.set_forkserver_preload(["analysis.runner", "sim"])
        if method == "fork":
            sim.warm_up()  # once here, inherited by every worker
        self._pool = ProcessPoolExecutor(
            self.workers, mp_context=ctx, initializer=_init_worker, initargs=(method != "fork",)
        )
        with warnings.catch_warnings():  # Python warns about forking any multi-threaded process
            warnings.filterwarnings(
                "ignore", message=".*use of fork\\(\\) may lead to deadlocks", category=DeprecationWarning
            )
            self._pool.submit(os.getpid).result()  # start every worker now (fork starts them all at once)

    def map_unordered[T, R](self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[tuple[T, R | BaseException]]:
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


def _windowed[T, R](
    submit: Callable[[T], Future[R]], items: Iterable[T], window: int
) -> Iterator[tuple[T, R | BaseException]]:
    pending: dict[Future[R], T] = {}
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

    def __init__(
        self,
        address: str,
        workers: int | None = None,
        *,
        timeout: float = 15.0,
        no_worker_timeout: float = NO_WORKER_SECONDS,
        poll: float = 1.0,
    ) -> None:
        from distributed import Client, LocalCluster

        self._cluster: LocalCluster | None = None
        self.address = address
        self.no_worker_timeout = no_worker_timeout
        self.poll = poll
        self._client: Client
        if address == "local":
            import dask

            n = int(workers or os.cpu_count() or 1)
            # The workers' statistical profiler samples every 10 ms and slowed runs by ~15% here. The
            # nanny starts each worker with MALLOC_TRIM_THRESHOLD_=65536, which turns off glibc's
            # adaptive thresholds: memory a batch frees goes back to the system and is page-faulted in
            # again (three times the page faults, 10-20% more CPU per batch here); the workers hold
            # little between batches, so they keep glibc's defaults.
            environ = dict(dask.config.get("distributed.nanny.pre-spawn-environ", {}))
            environ.pop("MALLOC_TRIM_THRESHOLD_", None)
            settings = {"distributed.worker.profile.enabled": False, "distributed.nanny.pre-spawn-environ": environ}
            with dask.config.set(settings):
                self._cluster = LocalCluster(
                    n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=40
                )
            self._client = Client(self._cluster)
            self.address = self._cluster.scheduler_address
            self._client.run(sim.warm_up)  # each worker imports the model and loads the compiled engine once, now
        else:
            try:
                self._client = Client(address, timeout=timeout)
            except (OSError, TimeoutError) as exc:
                raise UserError(
                    f"could not connect to the Dask scheduler at {address!r} within {timeout:.0f} s "
                    f"({exc}); start one with `dask scheduler` and `dask worker ADDRESS`, "
                    f"or use --scheduler local"
                ) from None
        self.workers = max(1, sum(self._client.nthreads().values()))

    def map_unordered[T, R](self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[tuple[T, R | BaseException]]:
        """Yield ``(item, result)`` as they finish, keeping a bounded number in flight.

        Raises:
            NoWorkers: the cluster had no live worker for ``no_worker_timeout`` seconds while work was waiting.
        """
        from distributed import wait

        it = iter(items)
        pending: dict[Any, T] = {}
        window = 2 * self.workers + 2
        for item in it:
            pending[self._client.submit(fn, item, pure=False)] = item
            if len(pending) >= window:
                break
        idle_since: float | None = None
        while pending:
            try:
                done, _ = wait(list(pending), timeout=self.poll, return_when="FIRST_COMPLETED")
            except TimeoutError:
                done = set()
            if not done:
                idle_since = self._check_workers(idle_since)
                continue
            idle_since = None
            for fut in done:
                item = pending.pop(fut)
                if fut.status == "error":
                    yield item, fut.exception()
                else:
                    yield item, fut.result()
                fut.release()
                nxt = next(it, None)
                if nxt is not None:
                    pending[self._client.submit(fn, nxt, pure=False)] = nxt

    def _check_workers(self, idle_since: float | None) -> float | None:
        """When no worker has been alive for ``no_worker_timeout`` seconds, raise :class:`NoWorkers`."""
        try:
            alive = len(self._client.nthreads())
        except (OSError, TimeoutError):  # the scheduler itself is gone
            alive = 0
        if alive:
            return None
        now = time.monotonic()
        if idle_since is None:
            return now
        if now - idle_since >= self.no_worker_timeout:
            raise NoWorkers(self.address, self.no_worker_timeout)
        return idle_since

    def close(self) -> None:
        """Close the client (and the LocalCluster if we started it)."""
        try:
            self._client.close()
        finally:
            if self._cluster is not None:
                self._cluster.close()
                self._cluster = None


def make_executor(workers: int | None = None, scheduler: str | None = None) -> Executor:
    """The executor for the ``--workers`` and ``--scheduler`` options.

    Dask if a scheduler is given (or in ``DASK_SCHEDULER_ADDRESS``), serial in this process for
    ``workers == 1``, otherwise a local process pool.
    """
    scheduler = scheduler or os.environ.get("DASK_SCHEDULER_ADDRESS") or None
    if scheduler:
        return DaskExecutor(scheduler, workers)
    if workers == 1:
        return SerialExecutor()
    return PoolExecutor(workers)


@contextmanager
def open_executor(
    executor: Executor | None = None,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    make: Callable[[], Executor] | None = None,
) -> Iterator[Executor]:
    """``executor`` if given (left open for its owner), else a new one that is closed on leaving.

    The new one is ``make()`` when given, else :func:`make_executor` for ``workers`` and ``scheduler``.
    """
    if executor is not None:
        yield executor
        return
    own = make() if make is not None else make_executor(workers, scheduler)
    try:
        yield own
    finally:
        own.close()
