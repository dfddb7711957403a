"""Paired model runs for the realist analyses (pathways, CMOC tables, validation, calibration).

One small adapter between those analyses and the model: a :class:`SimTask` says what to
run (a :class:`sim.RunSpec`, a seed, optionally a *hook* that changes or watches the run
from inside, optionally the full history of provider levels), :func:`simulate` runs it
through :func:`sim.build_model`, and :func:`run_tasks` maps tasks over an executor.

Executors come from :mod:`analysis.runner` (serial, local process pool, Dask), so a
``--workers``/``--scheduler`` option means the same thing here as in ``partnersim compare``.

Every analysis pairs runs by seed (common random numbers): a policy run and the baseline
run with the same seed share the population, the monthly noise and every random stream
the policy does not touch, so their difference is the policy's effect.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import pandas as pd

from sim import RunSpec, build_model
from sim.api import LOG_COLUMNS, month_labels, sm_spells_frame
from sim.policy import Levers, Uncertainties, from_flat
from sim.theory import Theory


class Hook(Protocol):
    """Something that changes or watches a run from inside (picklable; built in the worker)."""

    def attach(self, model: Any) -> Any:
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

    key: Any
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

    key: Any
    seed: int
    series: pd.DataFrame
    log: pd.DataFrame
    spells: pd.DataFrame
    levels: np.ndarray | None = None
    in_sm: np.ndarray | None = None
    hook: Any = None
    domains: tuple[str, ...] = ()
    turnover: np.ndarray | None = None


def make_spec(theory: Theory | None = None, *, name: str = "run", horizon: int = 120,
              n_providers: int | None = None, population: Any = None, start_partnerships: str = "2022",
              **flat: Any) -> RunSpec:
    """A RunSpec from flat lever/uncertainty keywords (``failure_regime_enabled=True`` …)."""
    lever_names = {k for k in flat if k in _flat(Levers)}
    levers = from_flat(Levers, Levers(), {k: flat[k] for k in lever_names})
    unc = from_flat(Uncertainties, Uncertainties(), {k: v for k, v in flat.items() if k not in lever_names})
    return RunSpec(name=name, theory=theory, population=population, levers=levers, uncertainties=unc,
                   horizon=int(horizon), n_providers=n_providers, start_partnerships=start_partnerships)


def _flat(cls: type) -> dict[str, tuple[str, str]]:
    from sim.policy import flat_names

    return flat_names(cls)


def with_theory(spec: RunSpec, theory: Theory) -> RunSpec:
    """``spec`` running under ``theory`` (its own effect overrides still apply on top)."""
    return dataclasses.replace(spec, theory=theory)


def simulate(task: SimTask) -> SimOut:
    """Run one task in this process."""
    model = build_model(task.spec, task.seed, task.horizon)
    recorder = task.hook.attach(model) if task.hook is not None else None
    levels: list[np.ndarray] = []
    in_sm: list[np.ndarray] = []
    if task.history:
        levels.append(model.levels.astype(np.float32))
        in_sm.append(model.in_sm.copy())
    while model.running:
        model.step()
        if task.history:
            levels.append(model.levels.astype(np.float32))
            in_sm.append(model.in_sm.copy())
    series = model.datacollector.get_model_vars_dataframe().reset_index(drop=True)
    series.insert(0, "step", np.arange(len(series)))
    series.insert(1, "date", month_labels(task.spec.start, len(series)))
    spells = sm_spells_frame(model)
    return SimOut(
        key=task.key, seed=task.seed, series=series, log=_log(model), spells=spells,
        levels=np.stack(levels) if task.history else None,
        in_sm=np.stack(in_sm) if task.history else None,
        hook=recorder.result() if recorder is not None and hasattr(recorder, "result") else None,
        domains=tuple(model.theory.domain_names), turnover=np.asarray(model.pop.turnover, dtype=float),
    )


def _log(model: Any) -> pd.DataFrame:
    log = pd.DataFrame(model.partnership_log(), columns=LOG_COLUMNS)
    if len(log):
        ids = log["partnership_id"].to_numpy()
        k = model.ledger.type[ids]
        planned = log["start_month"].to_numpy() + model.types.approval_months[k]
        done = log["completion_month"].to_numpy()
        log["completion_month"] = np.where(done >= 0, done, planned)
        log["operating_month"] = log["completion_month"].to_numpy() + model.types.transition_months[k]
    else:
        log["completion_month"] = pd.Series(dtype=int)
        log["operating_month"] = pd.Series(dtype=int)
    return log


def run_tasks(tasks: Iterable[SimTask], *, workers: int | None = None, scheduler: str | None = None,
              executor: Any = None, fn: Callable[[SimTask], Any] = simulate,
              on_result: Callable[[SimTask, Any], None] | None = None) -> dict[Any, Any]:
    """Run tasks (in parallel unless ``workers == 1``); return ``{task.key: result}``.

    A task that raises stops everything with that error: these analyses need every run.

    Args:
        tasks: what to run (keys must be unique).
        workers: processes (default: all cores; 1 = in this process).
        scheduler: a Dask scheduler address (or ``"local"``).
        executor: an executor from :mod:`analysis.runner` to use instead (not closed here).
        fn: the function each task goes through (default :func:`simulate`).
        on_result: called in this process after each task finishes.
    """
    tasks = list(tasks)
    if not tasks:
        return {}
    own = executor is None
    if own:
        executor = _executor(1 if len(tasks) == 1 else workers, scheduler)
    out: dict[Any, Any] = {}
    try:
        for task, result in executor.map_unordered(fn, tasks):
            if isinstance(result, BaseException):
                raise result
            out[task.key] = result
            if on_result is not None:
                on_result(task, result)
    finally:
        if own:
            executor.close()
    return out


def _executor(workers: int | None, scheduler: str | None) -> Any:
    try:
        from analysis.runner import make_executor
    except ImportError:  # the runner is optional here: fall back to a plain pool
        return _LocalExecutor(workers)
    return make_executor(workers, scheduler)


class _LocalExecutor:
    """Serial (``workers == 1``) or a local process pool, with the runner's executor interface."""

    name = "local"

    def __init__(self, workers: int | None) -> None:
        import os

        self.workers = int(workers or os.cpu_count() or 1)
        self._pool = None
        if self.workers > 1:
            import multiprocessing as mp
            from concurrent.futures import ProcessPoolExecutor

            self._pool = ProcessPoolExecutor(self.workers, mp_context=mp.get_context("fork"))

    def map_unordered(self, fn: Callable[[Any], Any], items: Iterable[Any]) -> Any:
        """Yield ``(item, result or exception)``."""
        items = list(items)
        if self._pool is None:
            for item in items:
                try:
                    yield item, fn(item)
                except Exception as exc:  # noqa: BLE001 - reported per item
                    yield item, exc
            return
        futures = {self._pool.submit(fn, item): item for item in items}
        from concurrent.futures import as_completed

        for fut in as_completed(futures):
            exc = fut.exception()
            yield futures[fut], (exc if exc is not None else fut.result())

    def close(self) -> None:
        """Shut the pool down."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)


# -- paired member effects ------------------------------------------------------------------
def members_of(log: pd.DataFrame) -> list[np.ndarray]:
    """Members of each partnership of a log, as index arrays."""
    return [np.array([int(x) for x in str(m).split()], dtype=np.int64) for m in log["members"]]


def paired_member_change(policy: SimOut, baseline: SimOut, domain: str, start: Sequence[int],
                         end: Sequence[int]) -> np.ndarray:
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
        d = (policy.levels[e, members, col] - policy.levels[s, members, col]) \
            - (baseline.levels[e, members, col] - baseline.levels[s, members, col])
        out[n] = float(d.mean())
    return out


def paired_member_path(policy: SimOut, baseline: SimOut, domain: str, origin: Sequence[int],
                       months: int) -> np.ndarray:
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
        p = policy.levels[s:e + 1, members, col] - policy.levels[s, members, col]
        b = baseline.levels[s:e + 1, members, col] - baseline.levels[s, members, col]
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


def run_studies(studies: Mapping[str, tuple[RunSpec, Hook | None]], seeds: Sequence[int], *,
                history: bool = True, workers: int | None = None, scheduler: str | None = None,
                executor: Any = None) -> Pairing:
    """Run every study with every seed (common random numbers across studies)."""
    tasks = [SimTask((name, int(seed)), spec, int(seed), hook=hook, history=history)
             for name, (spec, hook) in studies.items() for seed in seeds]
    return Pairing(run_tasks(tasks, workers=workers, scheduler=scheduler, executor=executor))


def mean_ci(values: Sequence[float] | np.ndarray, level: float = 0.95) -> tuple[float, float, float]:
    """Mean and a t interval (NaNs dropped; the interval is NaN with fewer than 2 values)."""
    from scipy import stats

    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    if not len(x):
        return (float("nan"),) * 3
    m = float(x.mean())
    if len(x) < 2:
        return m, float("nan"), float("nan")
    se = float(x.std(ddof=1) / np.sqrt(len(x)))
    half = float(stats.t.ppf(0.5 + level / 2, len(x) - 1)) * se
    return m, m - half, m + half


# -- inputs of the realist commands: an experiment folder, or scenario files ------------------
@dataclass
class Inputs:
    """What a realist command compares: a baseline, policies, and the replicates' seeds."""

    baseline: RunSpec
    policies: dict[str, RunSpec]
    seeds: list[int]
    theory: Theory
    source: str
    notes: list[str] = field(default_factory=list)


DEFAULT_BASELINE = "scenarios/baseline.toml"


def resolve_inputs(paths: Sequence[str], *, baseline: str | None = None, reps: int | None = None,
                   seed: int | None = None, horizon: int | None = None, default_reps: int = 4) -> Inputs:
    """Policies and baseline from an experiment folder (first scenario = baseline) or scenario files.

    Scenario files: the baseline is ``baseline`` if given, else the first file whose levers are all
    off, else scenarios/baseline.toml; every other file is a policy. Seeds are the runner's
    (``replicate_seeds(master, reps)``), so replicate r is the same run as in ``partnersim compare``.
    """
    from pathlib import Path

    from analysis.runner import replicate_seeds
    from analysis.scenario import load_scenario, scenario_from_dict

    notes: list[str] = []
    paths = list(paths)
    if not paths:
        from analysis.cli import UserError

        raise UserError("give an experiment folder or at least one scenario file")
    if len(paths) == 1 and Path(paths[0]).is_dir():
        folder = Path(paths[0])
        if not (folder / "manifest.json").is_file():
            from analysis.cli import UserError

            raise UserError(f"{folder} is a folder but not an experiment (no manifest.json)")
        from analysis.store import read_manifest

        manifest = read_manifest(folder)
        scens = []
        for rec in manifest["scenarios"]:
            scen = scenario_from_dict(rec["raw"], path=rec.get("path") or "<experiment>")
            resolved = rec.get("resolved", {})
            if resolved.get("horizon") is not None:   # the experiment may have overridden the file's horizon
                scen = dataclasses.replace(scen, spec=dataclasses.replace(scen.spec, horizon=int(resolved["horizon"])))
            scens.append(scen)
        if baseline is not None:
            scens = [load_scenario(baseline)] + [s for s in scens if s.name != load_scenario(baseline).name]
        if len(scens) < 2:
            from analysis.cli import UserError

            raise UserError(f"the experiment {folder} has one scenario; it needs a baseline and at least one policy")
        all_seeds = [int(s) for s in manifest.get("seeds", [])]
        n = reps or len(all_seeds) or default_reps
        seeds = all_seeds[:n] if len(all_seeds) >= n else replicate_seeds(int(manifest.get("master_seed", 0)), n)
        recorded = {s["name"]: s.get("resolved", {}).get("digest") for s in manifest["scenarios"]}
        from analysis.runner import spec_digest

        for s in scens:
            if recorded.get(s.name) and recorded[s.name] != spec_digest(s.spec):
                notes.append(f"scenario '{s.name}' or its theory changed since the experiment ran; "
                             "using the current files")
        source = str(folder)
    else:
        for p in paths:
            if Path(p).is_dir():
                from analysis.cli import UserError

                raise UserError(f"{p} is a folder: give either one experiment folder or scenario files")
        files = list(paths)
        loaded = [load_scenario(f) for f in files]
        if baseline is None:   # a file with every lever off is the baseline; otherwise the default one
            off = [f for f, s in zip(files, loaded, strict=True) if s.spec.levers == Levers()]
            baseline = off[0] if off else DEFAULT_BASELINE
        base_file = Path(baseline).resolve()
        scens = [load_scenario(baseline)] + [s for f, s in zip(files, loaded, strict=True)
                                             if Path(f).resolve() != base_file]
        files = [baseline] + [f for f in files if Path(f).resolve() != base_file]
        if len(scens) < 2:
            from analysis.cli import UserError

            raise UserError("give at least one policy scenario besides the baseline")
        seeds = replicate_seeds(scens[0].seed if seed is None else seed, reps or default_reps)
        source = ", ".join(files)
    names = [s.name for s in scens]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        from analysis.cli import UserError

        raise UserError(f"scenario names must be unique; repeated: {', '.join(dupes)}")
    specs = {s.name: (s.spec if horizon is None else dataclasses.replace(s.spec, horizon=int(horizon)))
             for s in scens}
    base = specs.pop(scens[0].name)
    theory = scens[0].theory
    for name, spec in specs.items():
        if spec.theory is not None and spec.theory.digest() != theory.digest():
            notes.append(f"'{name}' uses another theory than the baseline; paired differences mix policy and theory")
    return Inputs(base, specs, [int(s) for s in seeds], theory, source, notes)
