"""What an experiment runs: scenarios × design points × replicates, their seeds and digests.

A :class:`Plan` holds some scenarios, some design points (theory overrides, for sensitivity
sweeps; theory overrides and shocks, for the futures of a policy sweep; one empty point for a
plain comparison) and R replicates. Every run is a pure
function of (scenario spec, design point, seed), so the results do not depend on which
executor runs them or in which order.

Seeds: one master seed → ``numpy.random.SeedSequence(master).spawn(R)`` → one seed per
replicate (:func:`replicate_seeds`, the one derivation every command uses). Replicate r of
*every* scenario and design point gets the same seed (common random numbers), so
differences between scenarios are paired.

Digests (:func:`spec_digest`, :func:`points_digest`, :meth:`Plan.fingerprint`) identify what
determines the results, so the store can refuse to resume an experiment with other settings.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, overload

import numpy as np

from analysis.scenario import Scenario
from sim import RunSpec
from sim.policy import Uncertainties

# pandas: imported by the functions that build or read tables, not with the module, so a run's
# workers are forked without it (tests/test_architecture.py)
if TYPE_CHECKING:
    import pandas as pd


class RunOutput(Protocol):
    """What a run function returns: at least ``series`` (optionally also ``partnerships``)."""

    @property
    def series(self) -> pd.DataFrame:
        """Wide table: ``step``, optional ``date``, one column per metric."""
        ...


RunFn = Callable[[RunSpec, int, int | None], RunOutput]
"""A run function: ``(spec, seed, horizon) -> output`` (default :func:`sim.run`)."""


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


class DesignPoints(Sequence[Mapping[str, float]]):
    """Design points that all set the same parameters, held as one array (points × parameters).

    A point is a dict made when asked for (``points[i]``), as a tuple of dicts gives it. A Sobol
    design over the default theory's 226 parameters at N = 512 has 116,736 points: 211 MB as an
    array, 1.4 GB as dicts of Python floats, which the parent held for the whole evaluation.
    """

    def __init__(self, names: Sequence[str], values: np.ndarray) -> None:
        values = np.array(values, dtype=np.float64, ndmin=2)  # (a copy: read-only, whatever the caller does)
        if values.ndim != 2 or values.shape[1] != len(names):
            raise ValueError(f"the design has {values.shape[-1]} columns for {len(names)} parameter names")
        values.setflags(write=False)
        self.names = tuple(names)
        self.values = values

    def __len__(self) -> int:
        return len(self.values)

    @overload
    def __getitem__(self, index: int) -> dict[str, float]: ...
    @overload
    def __getitem__(self, index: slice) -> DesignPoints: ...
    def __getitem__(self, index: int | slice) -> dict[str, float] | DesignPoints:
        if isinstance(index, slice):
            return DesignPoints(self.names, self.values[index])
        return dict(zip(self.names, self.values[index].tolist(), strict=True))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, DesignPoints):
            return self.names == other.names and np.array_equal(self.values, other.values)
        if isinstance(other, Sequence):
            return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))
        return NotImplemented

    def __hash__(self) -> int:
        return hash((self.names, self.values.tobytes()))

    def __repr__(self) -> str:
        return f"DesignPoints({len(self)} points × {len(self.names)} parameters)"


@dataclass(frozen=True)
class Plan:
    """What an experiment runs.

    Attributes:
        scenarios: the scenarios (unique names), each with its RunSpec.
        replicates: replicates per scenario and design point.
        master_seed: the one seed every replicate seed derives from.
        points: design points; each a mapping of theory parameter → value applied as
            ``uncertainties.effect_overrides`` on top of the scenario's own (or of a shock's field,
            ``workforce_shock.size``: see :func:`with_point`). ``({},)`` = no sweep; a large design
            is best given as :class:`DesignPoints`.
        run_fn: the run function (default :func:`sim.run`); must be importable in workers.
    """

    scenarios: tuple[PlannedScenario, ...]
    replicates: int
    master_seed: int
    points: Sequence[Mapping[str, float]] = ({},)
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
    def design_digest(self) -> str:
        """:func:`points_digest` of the design points, computed once (a Sobol design at N = 512 has 116,736)."""
        return points_digest(self.points)

    @functools.cached_property
    def _fingerprint(self) -> str:
        """Hash of everything that determines the results except the replicate count.

        A resumed experiment must have the same fingerprint; more replicates may be added
        (earlier seeds do not change).
        """
        blob = {
            "scenarios": [[s.name, spec_digest(s.spec)] for s in self.scenarios],
            "points": self.design_digest,
            "master_seed": int(self.master_seed),
            "run_fn": run_fn_name(self.run_fn),
        }
        return _sha(blob)


def plan_from_scenarios(
    scenarios: Sequence[Scenario],
    *,
    replicates: int,
    master_seed: int,
    horizon: int | None = None,
    points: Sequence[Mapping[str, float]] = ({},),
    run_fn: RunFn | None = None,
) -> Plan:
    """A plan from scenario files as loaded (``horizon`` overrides theirs if given)."""
    planned = []
    for scen in scenarios:
        spec = scen.spec if horizon is None else dataclasses.replace(scen.spec, horizon=int(horizon))
        planned.append(PlannedScenario(scen.name, spec, scenario_record(scen)))
    return Plan(tuple(planned), int(replicates), int(master_seed), tuple(dict(p) for p in points), run_fn)


def scenario_record(scen: Scenario) -> dict[str, Any]:
    """Provenance of a scenario file: path, content, hash, description, rationale and sources."""
    p = Path(scen.path)
    text = p.read_text() if p.is_file() else None
    return {
        "path": str(scen.path),
        "sha256": hashlib.sha256(text.encode()).hexdigest() if text is not None else None,
        "content": text,
        "raw": scen.raw,
        "description": scen.description,
        "rationale": scen.rationale,
        "sources": list(scen.sources),
        "replications_in_file": scen.replications,
        "seed_in_file": scen.seed,
    }


SHOCKS = tuple(f.name for f in dataclasses.fields(Uncertainties) if f.name != "effect_overrides")
"""The uncertainties' external shocks (``workforce_shock``, ``financial_squeeze``): a design point may set
their fields as ``SHOCK.FIELD`` (``workforce_shock.size``)."""


def with_point(spec: RunSpec, overrides: Mapping[str, float]) -> RunSpec:
    """``spec`` with a design point applied: theory overrides added to its effect overrides.

    A key ``SHOCK.FIELD`` (``workforce_shock.size``, ``financial_squeeze.start_month``…) sets that
    field of the shock instead (the sampled futures of ``partnersim sweep``); every other key is a
    theory parameter.
    """
    if not overrides:
        return spec
    unc = spec.uncertainties
    theory: dict[str, float] = {}
    for key, value in overrides.items():
        shock, _, name = str(key).partition(".")
        if shock in SHOCKS and name:
            old = getattr(unc, shock)
            typed = int(round(value)) if isinstance(getattr(old, name), int) else float(value)
            unc = dataclasses.replace(unc, **{shock: dataclasses.replace(old, **{name: typed})})
        else:
            theory[str(key)] = float(value)
    if theory:
        unc = dataclasses.replace(unc, effect_overrides={**unc.effect_overrides, **theory})
    return dataclasses.replace(spec, uncertainties=unc)


# -- digests -----------------------------------------------------------------------------
def spec_digest(spec: RunSpec) -> str:
    """Hash of a resolved RunSpec (levers, uncertainties, theory, population, horizon, start)."""
    return _sha(spec_summary(spec))


def spec_summary(spec: RunSpec) -> dict[str, Any]:
    """A JSON-able description of a RunSpec (theory and population by digest)."""
    pop = spec.population
    summary: dict[str, Any] = {
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
    if spec.start_partnerships != "2022":  # only when set: the digests of earlier experiments stay as they were
        summary["start_partnerships"] = spec.start_partnerships
    return summary


def points_digest(points: Sequence[Mapping[str, float]]) -> str:
    """Hash of the design points (incremental: sweeps have tens of thousands; :attr:`Plan.design_digest` keeps it)."""
    h = hashlib.sha256()
    if isinstance(points, DesignPoints):  # the same bytes, read from the array
        if len(points):
            h.update(repr(points.names).encode())
        for row in points.values:
            h.update(row.tobytes() + b";")
        return h.hexdigest()[:16]
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


def _sha(obj: object) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:16]
