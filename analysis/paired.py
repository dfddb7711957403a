"""Paired model runs in memory, for the realist studies (pathways, CMOC, validation, calibration).

A :class:`SimTask` says what to run (a :class:`sim.RunSpec`, a seed, optionally a *hook* that
changes or watches the run from inside, optionally the full history of provider levels);
:func:`simulate_many` runs tasks together through :func:`sim.run_many` (the engine advances
them side by side; each is the run alone, bit for bit), with each task's hook and history as
observers; :func:`run_tasks` maps chunks of tasks (about a second of work each) over an executor
of :mod:`analysis.executors`, so a ``--workers``/``--scheduler`` option means the same thing
here as in ``partnersim compare``. Unlike the runner's experiments, nothing is stored: the
studies need every run's history in memory, and every run (a failure stops them).

Every study pairs runs by seed (common random numbers): a policy run and the baseline run
with the same seed share the population, the monthly noise and every random stream the
policy does not touch, so their difference is the policy's effect.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Protocol, cast, overload

import numpy as np

import sim
from analysis.executors import Executor, open_executor
from sim import History, LevelHistory, Observer, RunSpec, World
from sim.policy import Levers, Uncertainties, flat_names, from_flat
from sim.theory import Theory

# pandas: imported by the functions that build or read tables, not with the module, so a run's
# workers are forked without it (tests/test_architecture.py)
if TYPE_CHECKING:
    import pandas as pd


class Recorder(Protocol):
    """What a hook leaves in a run: its ``result()`` is returned with the run."""

    def result(self) -> Any:
        """The recording (kept in :attr:`SimOut.hook`)."""
        ...


class Hook(Protocol):
    """A picklable recipe that changes or watches a run from inside (installed in the worker)."""

    def attach(self, model: World) -> Recorder:
        """Install on a freshly built model; return a recorder whose ``result()`` is kept."""
        ...


@dataclass(frozen=True)
class SimTask:
    """One run: a spec and a seed, an optional hook, and whether to keep the level history.

    Attributes:
        key: the caller's identifier for this run (returned with the result).
        spec: what to run.
        seed: the replicate's seed (shared by the runs that are compared).
        horizon: months (default: the spec's).
        hook: changes or watches the run (see :class:`Hook`).
        history: keep every month's provider levels and special-measures flags.
    """

    key: Hashable
    spec: RunSpec
    seed: int
    horizon: int | None = None
    hook: Hook | None = None
    history: bool = False


@dataclass
class SimOut:
    """What one run returns.

    Attributes:
        key, seed: as in the task.
        series: one row per month (``step``, ``date``, one column per metric).
        log: the partnership log (``sim.api.LOG_COLUMNS``) plus ``completion_month`` (end of
            approval, i.e. the legal transaction) and ``operating_month`` (end of transition).
        spells: completed special-measures spells (provider, entered, left, months).
        levels: months × providers × domains (float32), when the history was asked for.
        in_sm: months × providers, special-measures flags, when the history was asked for.
        hook: the hook recorder's ``result()``.
        domains: the theory's domain names (columns of ``levels``).
        turnover: providers' turnover (£m), for size weights.
    """

    key: Hashable
    seed: int
    series: pd.DataFrame
    log: pd.DataFrame
    spells: pd.DataFrame
    levels: np.ndarray | None = None
    in_sm: np.ndarray | None = None
    hook: Any = None
    domains: tuple[str, ...] = ()
    turnover: np.ndarray | None = None


def make_spec(
    theory: Theory | None = None,
    *,
    name: str = "run",
    horizon: int = 120,
    n_providers: int | None = None,
    population: sim.PopulationSpec | None = None,
    start_partnerships: str = "2022",
    **flat: Any,
) -> RunSpec:
    """A RunSpec from flat lever/uncertainty keywords (``failure_regime_enabled=True`` …)."""
    lever_names = {k for k in flat if k in flat_names(Levers)}
    levers = from_flat(Levers, Levers(), {k: flat[k] for k in lever_names})
    unc = from_flat(Uncertainties, Uncertainties(), {k: v for k, v in flat.items() if k not in lever_names})
    return RunSpec(
        name=name,
        theory=theory,
        population=population,
        levers=levers,
        uncertainties=unc,
        horizon=int(horizon),
        n_providers=n_providers,
        start_partnerships=start_partnerships,
    )


class _HookObserver:
    """A hook as an observer of :func:`sim.run`: installed when the model is built."""

    def __init__(self, hook: Hook) -> None:
        self.hook = hook
        self.recorder: Recorder | None = None

    def attach(self, model: World) -> None:
        self.recorder = self.hook.attach(model)

    def on_step(self, model: World) -> None:
        pass

    def result(self) -> Any:
        return self.recorder.result() if self.recorder is not None else None


@dataclass(frozen=True)
class _Facts:
    """What :class:`SimOut` needs beyond the run's tables."""

    partnership_type: np.ndarray  # type index of each partnership id
    approval_months: np.ndarray  # per type
    transition_months: np.ndarray  # per type
    domains: tuple[str, ...]
    turnover: np.ndarray


class _RunFacts:
    """Reads :class:`_Facts` off the model at the end of the run."""

    def attach(self, model: World) -> None:
        self.model = model

    def on_step(self, model: World) -> None:
        pass

    def result(self) -> _Facts:
        m = self.model
        return _Facts(  # copies: a run in a batch holds views of the batch's arrays
            np.array(m.ledger.type[: m.ledger.count]),
            np.array(m.types.approval_months),
            np.array(m.types.transition_months),
            tuple(m.theory.domain_names),
            np.array(m.pop.turnover, dtype=float),
        )


def simulate(task: SimTask) -> SimOut:
    """Run one task in this process (:func:`simulate_many` of one)."""
    return simulate_many([task])[0]


def simulate_many(tasks: Sequence[SimTask]) -> list[SimOut]:
    """Run tasks together in this process: :func:`sim.run_many`, each with its hook and history as observers.

    Each run is the run alone, bit for bit (the engine's guarantee), so a study's numbers do not
    depend on how its runs were batched.
    """
    observers: list[list[Observer]] = []
    for task in tasks:
        watch: list[Observer] = [_RunFacts()]
        if task.hook is not None:
            watch.append(_HookObserver(task.hook))
        if task.history:
            watch.append(LevelHistory())
        observers.append(watch)
    runs = [(t.spec if t.horizon is None else replace(t.spec, horizon=t.horizon), t.seed) for t in tasks]
    results = sim.run_many(runs, observers=observers)
    return [_out(task, result) for task, result in zip(tasks, results, strict=True)]


def _out(task: SimTask, result: sim.RunResult) -> SimOut:
    facts: _Facts = result.observed[0]
    history: History | None = result.observed[-1] if task.history else None
    return SimOut(
        key=task.key,
        seed=task.seed,
        series=result.series,
        log=_with_phase_months(result.partnerships, facts),
        spells=result.sm_spells,
        levels=history.levels if history is not None else None,
        in_sm=history.in_sm if history is not None else None,
        hook=result.observed[1] if task.hook is not None else None,
        domains=facts.domains,
        turnover=facts.turnover,
    )


def _with_phase_months(log: pd.DataFrame, facts: _Facts) -> pd.DataFrame:
    """The log plus ``completion_month`` (end of approval) and ``operating_month`` (end of transition)."""
    import pandas as pd

    if len(log):
        k = facts.partnership_type[log["partnership_id"].to_numpy()]
        planned = log["start_month"].to_numpy() + facts.approval_months[k]
        done = log["completion_month"].to_numpy()  # -1 while the approval is still under way
        log["completion_month"] = np.where(done >= 0, done, planned)
        log["operating_month"] = log["completion_month"].to_numpy() + facts.transition_months[k]
    else:
        log["completion_month"] = pd.Series(dtype=int)
        log["operating_month"] = pd.Series(dtype=int)
    return log


class Keyed(Protocol):
    """A task with a unique, hashable key (results are returned by key)."""

    @property
    def key(self) -> Hashable:
        """The task's identity."""
        ...


@overload
def run_tasks(
    tasks: Iterable[SimTask],
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    executor: Executor | None = None,
    batch_size: int | None = None,
    on_result: Callable[[SimTask, SimOut], None] | None = None,
) -> dict[Hashable, SimOut]: ...


@overload
def run_tasks[T: Keyed, R](
    tasks: Iterable[T],
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    executor: Executor | None = None,
    batch_size: int | None = None,
    fn: Callable[[T], R],
    on_result: Callable[[T, R], None] | None = None,
) -> dict[Hashable, R]: ...


def run_tasks(
    tasks: Iterable[Any],
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    executor: Executor | None = None,
    batch_size: int | None = None,
    fn: Callable[[Any], Any] = simulate,
    on_result: Callable[[Any, Any], None] | None = None,
) -> dict[Hashable, Any]:
    """Run tasks (in parallel unless ``workers == 1``); return ``{task.key: result}``.

    A task that raises stops everything with that error: these studies need every run.

    Args:
        tasks: what to run (keys must be unique).
        workers: processes (default: all cores; 1 = in this process).
        scheduler: a Dask scheduler address (or ``"local"``).
        executor: an executor to use instead (not closed here).
        batch_size: runs of the engine per worker task (default: automatic, :func:`_chunks`); tasks
            through another ``fn`` go one per worker task.
        fn: the function each task goes through (default :func:`simulate`, for :class:`SimTask`).
        on_result: called in this process after each task finishes.
    """
    tasks = list(tasks)
    if not tasks:
        return {}
    out: dict[Hashable, Any] = {}
    with open_executor(executor, workers=1 if len(tasks) == 1 else workers, scheduler=scheduler) as ex:
        if fn is simulate:  # runs of the engine: in batches that advance together
            for chunk, outs in ex.map_unordered(_simulate_chunk, _chunks(tasks, ex.workers, batch_size)):
                if isinstance(outs, BaseException):
                    raise outs
                for task, one in zip(chunk, outs, strict=True):
                    out[task.key] = one
                    if on_result is not None:
                        on_result(task, one)
            return out
        for task, result in ex.map_unordered(fn, tasks):
            if isinstance(result, BaseException):
                raise result
            out[task.key] = result
            if on_result is not None:
                on_result(task, result)
    return out


CHUNK_RUNS = 48  # runs per task handed to a worker: about a second of work, a few tasks per worker


def _chunks(tasks: Sequence[SimTask], workers: int, size: int | None = None) -> list[tuple[SimTask, ...]]:
    """The tasks in chunks of ``size`` (default: up to :data:`CHUNK_RUNS`, at least four per worker when enough)."""
    if size is None:
        size = max(1, min(CHUNK_RUNS, -(-len(tasks) // (4 * max(workers, 1)))))
    return [tuple(tasks[i : i + size]) for i in range(0, len(tasks), size)]


def _simulate_chunk(chunk: tuple[SimTask, ...]) -> list[SimOut]:
    return simulate_many(chunk)


# -- paired member effects ------------------------------------------------------------------
def members_of(log: pd.DataFrame) -> list[np.ndarray]:
    """Members of each partnership of a log, as index arrays."""
    return [np.array([int(x) for x in str(m).split()], dtype=np.int64) for m in log["members"]]


def paired_member_change(
    policy: SimOut, baseline: SimOut, domain: str, start: Sequence[int], end: Sequence[int]
) -> np.ndarray:
    """Per partnership of ``policy.log``: members' paired change in ``domain`` from ``start`` to ``end``.

    The members' mean change in the policy run minus the same providers' change in the
    baseline run over the same months. Both runs must have kept their history and share a seed.
    """
    if policy.levels is None or baseline.levels is None:
        raise ValueError("paired_member_change needs runs with history=True")
    col = list(policy.domains).index(domain)
    last = policy.levels.shape[0] - 1
    out = np.full(len(policy.log), np.nan)
    for n, (members, s, e) in enumerate(zip(members_of(policy.log), start, end, strict=True)):
        s, e = int(s), int(e)
        if s < 0 or e > last or e < s:
            continue
        d = (policy.levels[e, members, col] - policy.levels[s, members, col]) - (
            baseline.levels[e, members, col] - baseline.levels[s, members, col]
        )
        out[n] = float(d.mean())
    return out


def paired_member_path(policy: SimOut, baseline: SimOut, domain: str, origin: Sequence[int], months: int) -> np.ndarray:
    """Per partnership: members' paired change in ``domain`` since ``origin``, month by month.

    Returns partnerships × (months + 1): the change at 0, 1, … ``months`` months after
    ``origin`` (NaN past the horizon).
    """
    if policy.levels is None or baseline.levels is None:
        raise ValueError("paired_member_path needs runs with history=True")
    col = list(policy.domains).index(domain)
    last = policy.levels.shape[0] - 1
    out = np.full((len(policy.log), months + 1), np.nan)
    for n, (members, s) in enumerate(zip(members_of(policy.log), origin, strict=True)):
        s = int(s)
        if s < 0 or s > last:
            continue
        e = min(last, s + months)
        p = policy.levels[s : e + 1, members, col] - policy.levels[s, members, col]
        b = baseline.levels[s : e + 1, members, col] - baseline.levels[s, members, col]
        out[n, : e - s + 1] = (p - b).mean(axis=1)
    return out


@dataclass
class Pairing:
    """Runs of several studies over the same seeds, grouped by (study, seed)."""

    runs: dict[tuple[str, int], SimOut] = field(default_factory=dict)

    def get(self, study: str, seed: int) -> SimOut:
        """The run of ``study`` with ``seed``."""
        return self.runs[(study, seed)]

    def seeds(self, study: str) -> list[int]:
        """Seeds run for ``study``."""
        return sorted(s for (name, s) in self.runs if name == study)


def run_studies(
    studies: Mapping[str, tuple[RunSpec, Hook | None]],
    seeds: Sequence[int],
    *,
    history: bool = True,
    workers: int | None = None,
    scheduler: str | None = None,
    executor: Executor | None = None,
) -> Pairing:
    """Run every study with every seed (common random numbers across studies)."""
    tasks = [
        SimTask((name, int(seed)), spec, int(seed), hook=hook, history=history)
        for name, (spec, hook) in studies.items()
        for seed in seeds
    ]
    runs = run_tasks(tasks, workers=workers, scheduler=scheduler, executor=executor)
    return Pairing(cast(dict[tuple[str, int], SimOut], runs))  # the keys built above


def mean_ci(values: Sequence[float] | np.ndarray, level: float = 0.95) -> tuple[float, float, float]:
    """Mean and a t interval (NaNs dropped; the interval is NaN with fewer than 2 values)."""
    from scipy.special import stdtrit  # the t quantile, as scipy.stats.t.ppf (without its import time)

    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    if not len(x):
        return (float("nan"),) * 3
    m = float(x.mean())
    if len(x) < 2:
        return m, float("nan"), float("nan")
    se = float(x.std(ddof=1) / np.sqrt(len(x)))
    half = float(stdtrit(len(x) - 1, 0.5 + level / 2)) * se
    return m, m - half, m + half
