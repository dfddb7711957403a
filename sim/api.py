"""The pure entry point: ``run(spec, seed, horizon, observers=...) -> RunResult``.

Everything in ``analysis/`` runs the model through this function, so a run is a pure
function of (spec, seed): the same spec and seed give identical results in any process.
This is the one loop that steps a model. An analysis that needs more than the monthly
metrics and the partnership log passes *observers* (:class:`Observer`): each is attached to
the freshly built model, told after every month, and its ``result()`` is returned in
``RunResult.observed`` (:func:`observe` returns only those results, skipping the tables,
for sweeps of many runs). Two are built in: :class:`MetricsAt` (summary metrics at chosen
months) and :class:`LevelHistory` (every month's provider levels and special-measures flags).
"""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from sim.ensemble import Ensemble, structure
from sim.regulation import CAUSE_NAMES
from sim.scenario import load_scenario
from sim.spec import DEFAULT_START, RunSpec
from sim.theory import Theory, load_theory
from sim.world import World

if TYPE_CHECKING:
    import pandas as pd

    from sim.model import PartnershipModel


@dataclass(frozen=True)
class KeptSeries:
    """The months and metrics :func:`run_many` kept of a run, as an array (the ``series`` table is built from it)."""

    start: str
    months: tuple[int, ...]
    metrics: tuple[str, ...]
    values: np.ndarray  # months × metrics

    def frame(self) -> pd.DataFrame:
        """The wide table: ``step``, ``date``, one column per metric."""
        import pandas as pd  # only when a table is read: a batch's workers never import pandas

        cols: dict[str, Any] = {
            "step": np.array(self.months, dtype=np.int64),
            "date": month_labels_at(self.start, self.months),
        }
        cols.update(zip(self.metrics, self.values.T, strict=True))
        return pd.DataFrame(cols)


class RunResult:
    """Outputs of one run.

    Attributes:
        name, seed: the run's scenario name and seed.
        series: one row per month (step 0 = start), one column per metric.
        partnerships: the partnership log, one row per partnership.
        sm_spells: completed special-measures spells: provider, entered, left, months, cause.
        panel: provider-level panel, when requested.
        observed: each observer's ``result()``, in the order given.

    A table a batch did not keep (``Keep(tables=False)``) reads as an empty table, and a series
    kept as an array (:class:`KeptSeries`) becomes a table when first read, so a sweep that only
    wants a few numbers per run (:meth:`values`) never builds a DataFrame.
    """

    def __init__(
        self,
        name: str,
        seed: int,
        series: pd.DataFrame | KeptSeries,
        partnerships: pd.DataFrame | None = None,
        sm_spells: pd.DataFrame | None = None,
        panel: pd.DataFrame | None = None,
        observed: list[Any] | None = None,
    ) -> None:
        self.name, self.seed = name, seed
        self._series = series
        self._partnerships = partnerships
        self._spells = sm_spells
        self.panel = panel
        self.observed = [] if observed is None else observed

    @property
    def series(self) -> pd.DataFrame:
        """One row per month kept (step 0 = start), one column per metric kept."""
        if isinstance(self._series, KeptSeries):
            self._series = self._series.frame()
        return self._series

    @series.setter
    def series(self, value: pd.DataFrame) -> None:
        self._series = value

    @property
    def partnerships(self) -> pd.DataFrame:
        """The partnership log (:data:`LOG_COLUMNS`), one row per partnership."""
        if self._partnerships is None:
            self._partnerships = partnership_frame_empty()
        return self._partnerships

    @partnerships.setter
    def partnerships(self, value: pd.DataFrame) -> None:
        self._partnerships = value

    @property
    def sm_spells(self) -> pd.DataFrame:
        """Completed special-measures spells: provider, entered, left, months, cause."""
        if self._spells is None:
            self._spells = sm_spells_frame_empty()
        return self._spells

    @sm_spells.setter
    def sm_spells(self, value: pd.DataFrame) -> None:
        self._spells = value

    def values(self, metrics: Sequence[str]) -> np.ndarray:
        """The kept months (rows) of ``metrics`` (columns), as floats (a new array)."""
        kept = self._series
        if isinstance(kept, KeptSeries):
            if tuple(metrics) == kept.metrics:  # all of them, in order (the runner's case): no lookups
                return kept.values.copy()
            return kept.values[:, [kept.metrics.index(m) for m in metrics]]
        return kept[list(metrics)].to_numpy(dtype=float)


class Observer(Protocol):
    """Watches (or changes) one run from inside; a fresh one is needed for every run."""

    def attach(self, model: World) -> None:
        """Called once on the freshly built model (month 0), before the first step."""
        ...

    def on_step(self, model: World) -> None:
        """Called after every step (the model's ``month`` is the month just simulated)."""
        ...

    def result(self) -> Any:
        """What the run returns for this observer (in ``RunResult.observed``)."""
        ...


class MetricsAt:
    """Summary metrics at chosen months: ``result()`` is array[months, metrics] (NaN if not reached)."""

    def __init__(self, months: Sequence[int], metrics: Sequence[str]) -> None:
        self.months = tuple(int(m) for m in months)
        self.metrics = tuple(metrics)
        self._row = {m: i for i, m in enumerate(self.months)}
        self._values = np.full((len(self.months), len(self.metrics)), np.nan)

    def attach(self, model: World) -> None:
        """Record month 0 if asked for."""
        self.on_step(model)

    def on_step(self, model: World) -> None:
        """Record the month just simulated if asked for."""
        row = self._row.get(model.month)
        if row is not None:
            self._values[row] = [model.summary[k] for k in self.metrics]

    def result(self) -> np.ndarray:
        """array[months, metrics]."""
        return self._values


@dataclass(frozen=True)
class History:
    """Every month of a run: provider levels (months × providers × domains, float32) and SM flags."""

    levels: np.ndarray
    in_sm: np.ndarray


class LevelHistory:
    """Every month's provider levels and special-measures flags, month 0 included."""

    def __init__(self) -> None:
        self._levels: list[np.ndarray] = []
        self._in_sm: list[np.ndarray] = []

    def attach(self, model: World) -> None:
        """Record month 0."""
        self.on_step(model)

    def on_step(self, model: World) -> None:
        """Record the month just simulated."""
        self._levels.append(model.levels.astype(np.float32))
        self._in_sm.append(model.in_sm.copy())

    def result(self) -> History:
        """The history as two stacked arrays."""
        return History(np.stack(self._levels), np.stack(self._in_sm))


def build_model(
    spec: RunSpec | Mapping[str, Any],
    seed: int,
    horizon: int | None = None,
    *,
    agent_panel: bool = False,
    agents: bool = True,
) -> World:
    """A run for ``spec`` (a RunSpec, or flat keyword parameters as batch_run passes).

    With ``agents`` (default) it is a Mesa :class:`~sim.model.PartnershipModel` (agents and
    DataCollector); without, a bare :class:`~sim.world.World` to join a batch
    (:func:`run_many`), which never imports Mesa. Both give the same numbers.
    """
    if agents:
        return build_mesa_model(spec, seed, horizon, agent_panel=agent_panel)
    return World(**_model_arguments(spec, seed, horizon))


def build_mesa_model(
    spec: RunSpec | Mapping[str, Any], seed: int, horizon: int | None = None, *, agent_panel: bool = False
) -> PartnershipModel:
    """``spec`` as a Mesa model: a PartnershipModel with its agents and DataCollector."""
    from sim.model import PartnershipModel  # Mesa is imported only when a Mesa model is built

    return PartnershipModel(agent_panel=agent_panel, **_model_arguments(spec, seed, horizon))


def _model_arguments(spec: RunSpec | Mapping[str, Any], seed: int, horizon: int | None) -> dict[str, Any]:
    """The keyword arguments of a run of ``spec`` (a RunSpec's fields, or its flat parameters)."""
    if isinstance(spec, RunSpec):
        return {
            "theory": spec.theory,
            "population": spec.population,
            "levers": spec.levers,
            "uncertainties": spec.uncertainties,
            "horizon": spec.horizon if horizon is None else horizon,
            "n_providers": spec.n_providers,
            "n_ics": spec.n_ics,
            "start_partnerships": spec.start_partnerships,
            "rng": seed,
        }
    params = dict(spec)
    params.pop("name", None)
    params.pop("start", None)
    if horizon is not None:
        params["horizon"] = horizon
    return {**params, "rng": seed}


def run(
    spec: RunSpec | Mapping[str, Any] | str | os.PathLike[str],
    seed: int,
    horizon: int | None = None,
    *,
    agent_panel: bool = False,
    observers: Sequence[Observer] = (),
) -> RunResult:
    """Run one replicate and return its time series, partnership log and the observers' results.

    ``spec`` is a :class:`RunSpec`, flat keyword parameters, or a scenario file's path
    (``sim.run("scenarios/baseline.toml", 1)``, read and checked by :func:`sim.scenario.load_scenario`).
    """
    if isinstance(spec, str | os.PathLike):
        spec = load_scenario(os.fspath(spec)).spec
    model = build_mesa_model(spec, seed, horizon, agent_panel=agent_panel)
    advance(model, observers)
    start = spec.start if isinstance(spec, RunSpec) else str(spec.get("start", DEFAULT_START))
    name = spec.name if isinstance(spec, RunSpec) else str(spec.get("name", "run"))
    series = model.datacollector.get_model_vars_dataframe().reset_index(drop=True)
    series.insert(0, "step", np.arange(len(series)))
    series.insert(1, "date", month_labels(start, len(series)))
    spells = sm_spells_frame(model)
    panel = None
    if agent_panel:
        panel = model.datacollector.get_agenttype_vars_dataframe(model.provider_type).reset_index()
    return RunResult(
        name=name,
        seed=model.seed,
        series=series,
        partnerships=partnership_frame(model),
        sm_spells=spells,
        panel=panel,
        observed=[o.result() for o in observers],
    )


def observe(
    spec: RunSpec | Mapping[str, Any], seed: int, horizon: int | None = None, *, observers: Sequence[Observer]
) -> list[Any]:
    """Run one replicate and return only the observers' results (no tables, no Mesa model: for sweeps)."""
    nothing = Keep(months=(), metrics=(), tables=False)
    return run_many([(spec, seed)], horizon, keep=nothing, observers=[observers])[0].observed


def advance(model: World, observers: Sequence[Observer] = ()) -> None:
    """Step ``model`` to its horizon, with ``observers`` attached: the one loop that runs a model."""
    for observer in observers:
        observer.attach(model)
    while model.running:
        model.step()
        for observer in observers:
            observer.on_step(model)


# -- many runs together -------------------------------------------------------------------------
MAX_BATCH = 256  # runs advanced together at most (a batch of 256 default runs holds well under 1 GB)
ENSEMBLE_TRUSTS = 16 * 217
"""Trusts (over all its runs) an ensemble advances together by default: 16 default runs.

A month's stages each sweep every run's state (about 0.2 MB of a default run's arrays), so the
runs of a larger ensemble fall out of the cache between stages. Measured on the mandated-buddying
scenario (2-core EPYC, 1 MiB L2 per core; 128 runs in all, metrics only, as in section 2 of
``benchmarks/bench_peers.py``): CPU per run with 8 / 16 / 32 / 64 / 128 runs together, medians
of 8 interleaved rounds, 12.3 / 10.8 / 12.6 / 13.3 / 14.1 ms. Below 16 the per-month calls of
each stage, shared by the ensemble's runs, cost more than the cache saves."""


def ensemble_size(n_providers: int, n_runs: int, most: int | None = None) -> int:
    """Runs to advance together out of ``n_runs`` of ``n_providers`` trusts each.

    At most ``most`` (default: as many as :data:`ENSEMBLE_TRUSTS` allows, and at least one),
    split evenly: 40 runs of 16 at most go as 14 + 14 + 12, not 16 + 16 + 8.
    """
    cap = most if most is not None else min(MAX_BATCH, max(1, ENSEMBLE_TRUSTS // max(n_providers, 1)))
    n, cap = max(n_runs, 1), max(cap, 1)
    parts = (n + cap - 1) // cap  # ensembles needed
    return (n + parts - 1) // parts  # runs in each, as even as they go


@dataclass(frozen=True)
class Keep:
    """What :func:`run_many` keeps of each run.

    Attributes:
        months: months of the series (None = every month, 0 to the horizon).
        metrics: metrics of the series (None = every metric of ``metric_catalogue``).
        tables: the partnership log and the special-measures spells.
    """

    months: tuple[int, ...] | None = None
    metrics: tuple[str, ...] | None = None
    tables: bool = True


def run_many(
    runs: Sequence[tuple[RunSpec | Mapping[str, Any], int]],
    horizon: int | None = None,
    *,
    keep: Keep = Keep(),
    observers: Sequence[Sequence[Observer]] | None = None,
    batch_size: int | None = None,
) -> list[RunResult]:
    """Run many (spec, seed) pairs together; each result is identical to ``run(spec, seed, horizon)``.

    Runs of one structure (population size, theory wiring, horizon: :func:`sim.ensemble.structure`)
    are advanced together by an :class:`~sim.ensemble.Ensemble`, ``batch_size`` at a time; their
    specs may differ in levers, uncertainties and theory values. Each run draws from its own
    streams, so its series, log and spells are the same, bit for bit, as the run alone.

    Args:
        runs: (spec, seed) pairs.
        horizon: months (default: each spec's).
        keep: the months, metrics and tables to keep (a sweep keeps a few numbers per run).
        observers: per run, observers to attach (as :func:`run` does), or None.
        batch_size: most runs advanced together (default: :func:`ensemble_size`, by the runs'
            population size: 16 default runs, one run of 20,000 trusts). The results do not
            depend on it, only the speed.

    Returns:
        One :class:`RunResult` per run, in the order given (``series`` holds the kept months and
        metrics; the tables are empty unless ``keep.tables``).
    """
    results: list[RunResult | None] = [None] * len(runs)
    groups: dict[tuple[object, ...], list[int]] = {}
    pending: list[World] = []
    default_theory = load_theory()  # read once for every run that names no theory
    with cycle_collector_paused():
        for idx, (spec, seed) in enumerate(runs):
            model = build_model(_with_theory(spec, default_theory), seed, horizon, agents=False)
            key = structure(model)
            group = groups.setdefault(key, [])
            group.append(idx)
            pending.append(model)
            if len(group) >= ensemble_size(model.pop.n, len(runs), batch_size):
                _finish(groups.pop(key), pending, runs, keep, observers, results)
        for group in groups.values():
            _finish(group, pending, runs, keep, observers, results)
    return [r for r in results if r is not None]


def _with_theory(spec: RunSpec | Mapping[str, Any], theory: Theory) -> RunSpec | Mapping[str, Any]:
    """``spec`` with ``theory`` in place of none (the default theory, loaded once for a batch)."""
    if isinstance(spec, RunSpec):
        return spec if spec.theory is not None else replace(spec, theory=theory)
    return spec if spec.get("theory") is not None else {**spec, "theory": theory}


def _finish(
    group: list[int],
    models: list[World],
    runs: Sequence[tuple[RunSpec | Mapping[str, Any], int]],
    keep: Keep,
    observers: Sequence[Sequence[Observer]] | None,
    results: list[RunResult | None],
) -> None:
    """Advance one group of runs together and store their results."""
    batch = [models[i] for i in group]
    ens = Ensemble(batch)
    names = ens.metric_names
    cols = [names.index(m) for m in keep.metrics] if keep.metrics is not None else list(range(len(names)))
    take = cols if keep.metrics is not None else slice(None)  # every metric: a view, not a gather
    horizon = batch[0].horizon
    months = list(keep.months) if keep.months is not None else list(range(horizon + 1))
    slot = {m: j for j, m in enumerate(months)}
    record = np.full((len(batch), len(months), len(cols)), np.nan)
    watch = [observers[i] for i in group] if observers is not None else [()] * len(batch)
    for m, obs in zip(batch, watch, strict=True):
        for o in obs:
            o.attach(m)
    if 0 in slot:
        record[:, slot[0]] = ens.metrics[:, take]
    watched = any(watch)  # an observer may read any month's summary
    while ens.month < horizon:
        ens.step(summarise=watched or ens.month + 1 in slot)
        j = slot.get(ens.month)
        if j is not None:
            record[:, j] = ens.metrics[:, take]
        for m, obs in zip(batch, watch, strict=True):
            for o in obs:
                o.on_step(m)
    kept = tuple(names[c] for c in cols)
    for r, (i, m) in enumerate(zip(group, batch, strict=True)):
        spec = runs[i][0]
        start = spec.start if isinstance(spec, RunSpec) else str(spec.get("start", DEFAULT_START))
        name = spec.name if isinstance(spec, RunSpec) else str(spec.get("name", "run"))
        results[i] = RunResult(
            name=name,
            seed=m.seed,
            series=KeptSeries(start, tuple(months), kept, record[r]),
            partnerships=partnership_frame(m) if keep.tables else None,
            sm_spells=sm_spells_frame(m) if keep.tables else None,
            observed=[o.result() for o in watch[r]],
        )
        models[i] = None  # type: ignore[call-overload]  # let the run's arrays go


@contextmanager
def cycle_collector_paused() -> Iterator[None]:
    """Python's cycle collector off while batches are built and stepped (on again after, as it was).

    A batch frees what it allocates by reference counting, but its many small allocations (the
    ledgers' lists, the build's draws) trigger the cycle collector, which then walks every live
    object of the batch's runs: 64 policy runs took 36-43 ms each with it and 29-31 ms without
    (per-run CPU, same machine, alternating). Cycles made meanwhile are collected once it is on again.
    """
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


def month_labels_at(start: str, months: Sequence[int]) -> list[str]:
    """``YYYY-MM`` labels of ``months`` after ``start``."""
    year, month = (int(x) for x in start.split("-")[:2])
    base = year * 12 + month - 1
    return [f"{(base + i) // 12:04d}-{(base + i) % 12 + 1:02d}" for i in months]


def sm_spells_frame_empty() -> pd.DataFrame:
    """An empty spells table."""
    import pandas as pd

    return pd.DataFrame(columns=["provider", "entered", "left", "months", "cause"])


def sm_spells_frame(model: World) -> pd.DataFrame:
    """Completed special-measures spells: provider, entered, left, months, cause (quality, finance, both)."""
    if not model.sm_spells:
        return sm_spells_frame_empty()
    import pandas as pd

    a = np.array(model.sm_spells, dtype=np.int64)
    return pd.DataFrame(
        {
            "provider": a[:, 0],
            "entered": a[:, 1],
            "left": a[:, 2],
            "months": a[:, 2] - a[:, 1],
            "cause": [CAUSE_NAMES[c] for c in a[:, 3].tolist()],
        }
    )


def partnership_frame(model: World) -> pd.DataFrame:
    """The partnership log (:data:`LOG_COLUMNS`), one row per partnership."""
    if model.ledger.count == 0:
        return partnership_frame_empty()
    import pandas as pd

    return pd.DataFrame(model.partnership_columns(), columns=LOG_COLUMNS)


def partnership_frame_empty() -> pd.DataFrame:
    """An empty partnership log."""
    import pandas as pd

    return pd.DataFrame(columns=LOG_COLUMNS)


def month_labels(start: str, n: int) -> list[str]:
    """``YYYY-MM`` labels for ``n`` months from ``start`` (``YYYY-MM``)."""
    year, month = (int(x) for x in start.split("-")[:2])
    base = year * 12 + month - 1
    return [f"{(base + i) // 12:04d}-{(base + i) % 12 + 1:02d}" for i in range(n)]


LOG_COLUMNS = [
    "partnership_id",
    "type",
    "mandated",
    "start_month",
    "completion_month",
    "end_month",
    "ended",
    "dissolved",
    "end_reason",
    "final_phase",
    "n_members",
    "members",
    "lead",
    "same_ics",
    "culture_gap",
    "asymmetry",
    "prior_trust",
    "initial_trust",
    "ambition",
    "realisation",
    "mean_trust",
    "min_trust",
    "mean_confidence",
    "mean_faith",
    "mean_behaviour",
    "mean_conflict",
    "months_in_inertia",
    "final_trust",
    "final_confidence",
    "final_faith",
    "final_behaviour",
    "final_conflict",
    "start_quality",
    "delta_quality",
    "start_efficiency",
    "delta_efficiency",
    "start_access",
    "delta_access",
]


def warm_up() -> None:
    """Load the engine's compiled code in this process, so a worker's first batch does not pay for it.

    One month of one run with every event-driven lever on touches every compiled stage, and ending
    nothing through the compiled endings loads those too (nothing ends in month 1; a worker would
    otherwise load them at its first ending, about 90 ms). Loading them from numba's on-disk cache
    takes about 0.3 s per process; compiling, on a fresh checkout, 30 s.
    """
    policy = {
        "failure_regime_enabled": True,
        "collaborative_duty_enabled": True,
        "voluntary_enabled": True,
    }
    world = build_model(policy, 0, 1, agents=False)
    ensemble = Ensemble([world])
    ensemble.step()
    ensemble.end_compiled(np.zeros(ensemble.runs, dtype=np.int64))  # nothing ends in month 1
