"""A synthetic population of English NHS provider trusts (docs/evidence.md: nhsproviders2020, initialisation).

The spec (counts by kind, sectors, turnover distributions, ICS count, kind offsets) is
data in ``scenarios/population/*.toml``; the starting distribution of each domain and the
correlation between domains are theory parameters (``domain.<d>.init_mean``,
``population.common_loading``…). The same generator builds 20 or 20,000 providers:
counts by kind and the number of ICSs scale with the requested size.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sim.bounds import POPULATION_BOUNDS
from sim.errors import ConfigError
from sim.params import check_in_bound, finite_number
from sim.rng import choice_cdf, choose
from sim.theory import Theory
from sim.toml_io import read_toml, reject_unknown, require

KIND_FIELDS = {"count", "sector", "turnover_median", "turnover_sigma", "offsets"}


@dataclass(frozen=True)
class KindSpec:
    """One kind of trust (acute, mental health, ambulance…)."""

    name: str
    count: int
    sector: str
    turnover_median: float
    turnover_sigma: float
    offsets: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class PopulationSpec:
    """What the synthetic population looks like; ``n_providers`` may be rescaled."""

    name: str
    kinds: tuple[KindSpec, ...]
    n_providers: int
    n_ics: int
    ics_size_sigma: float
    path: str = ""
    digest: str = ""

    def resized(self, n_providers: int | None = None, n_ics: int | None = None) -> PopulationSpec:
        """The same mix for another population size (ICS count scales unless given)."""
        n = int(n_providers) if n_providers is not None else self.n_providers
        check_in_bound(n, POPULATION_BOUNDS["n_providers"], file=self.path, key="n_providers")
        base = sum(k.count for k in self.kinds)
        ics = n_ics if n_ics is not None else max(1, round(self.n_ics * n / base))
        check_in_bound(ics, POPULATION_BOUNDS["n_ics"], file=self.path, key="n_ics")
        check_ics_count(int(ics), n, file=self.path)
        return PopulationSpec(self.name, self.kinds, n, int(ics), self.ics_size_sigma, self.path, self.digest)


def check_ics_count(n_ics: int, n_providers: int, *, file: str, key: str = "n_ics") -> None:
    """An ICS is a group of providers: there cannot be more ICSs than providers."""
    if n_ics > n_providers:
        raise ConfigError(
            f"{n_ics} ICSs for {n_providers} providers: there cannot be more ICSs than providers",
            file=file,
            key=key,
            value=n_ics,
        )


@dataclass
class Population:
    """Arrays describing the providers at month 0."""

    kind: np.ndarray  # int, index into kind_names
    kind_names: list[str]
    sector: np.ndarray  # int, index into sector_names
    sector_names: list[str]
    ics: np.ndarray  # int in [0, n_ics)
    n_ics: int
    turnover: np.ndarray  # £m a year
    levels: np.ndarray  # providers × domains, starting levels in [0, 1]

    @property
    def n(self) -> int:
        """Number of providers."""
        return int(self.kind.shape[0])


def default_population_path() -> Path:
    """``scenarios/population/england.toml`` of this source tree."""
    return Path(__file__).resolve().parents[1] / "scenarios" / "population" / "england.toml"


def load_population_spec(path: str | Path | None = None) -> PopulationSpec:
    """Read and validate a population file (every number finite and inside :data:`POPULATION_BOUNDS`)."""
    path = Path(path) if path is not None else default_population_path()
    raw, digest = read_toml(path)
    file = str(path)
    reject_unknown(raw, {"meta", "n_providers", "n_ics", "ics_size_sigma", "kinds"}, file=file, prefix="")
    kinds_raw = require(raw, "kinds", dict, file=file, prefix="")
    if not kinds_raw:
        raise ConfigError("declare at least one kind of trust", file=file, key="kinds")
    kinds = []
    for name, k in kinds_raw.items():
        prefix = f"kinds.{name}"
        if not isinstance(k, dict):
            raise ConfigError("expected a table", file=file, key=prefix, value=k)
        reject_unknown(k, KIND_FIELDS, file=file, prefix=prefix)
        count = int(_bounded(k, "count", int, file, prefix))
        med = _bounded(k, "turnover_median", (int, float), file, prefix)
        sig = _bounded(k, "turnover_sigma", (int, float), file, prefix)
        offsets = k.get("offsets", {})
        if not isinstance(offsets, dict):
            raise ConfigError("expected a table of domain = offset", file=file, key=f"{prefix}.offsets")
        shifts = {}
        for dom, v in offsets.items():
            key = f"{prefix}.offsets.{dom}"
            shifts[dom] = finite_number(v, file, key)
            check_in_bound(shifts[dom], POPULATION_BOUNDS["offsets"], file=file, key=key)
        kinds.append(KindSpec(name, count, str(require(k, "sector", str, file=file, prefix=prefix)), med, sig, shifts))
    n = int(_bounded(raw, "n_providers", int, file, ""))
    if sum(k.count for k in kinds) != n:
        raise ConfigError(
            f"kinds' counts add up to {sum(k.count for k in kinds)}, not n_providers",
            file=file,
            key="n_providers",
            value=n,
        )
    n_ics = int(_bounded(raw, "n_ics", int, file, ""))
    check_ics_count(n_ics, n, file=file)
    meta = raw.get("meta", {})
    return PopulationSpec(
        name=str(meta.get("name", path.stem) if isinstance(meta, dict) else path.stem),
        kinds=tuple(kinds),
        n_providers=n,
        n_ics=n_ics,
        ics_size_sigma=_bounded(raw, "ics_size_sigma", (int, float), file, ""),
        path=file,
        digest=digest,
    )


def _bounded(table: dict[str, Any], key: str, kind: type | tuple[type, ...], file: str, prefix: str) -> float:
    """``table[key]``: present, of ``kind``, finite and inside its bound in :data:`POPULATION_BOUNDS`."""
    where = f"{prefix}.{key}" if prefix else key
    value = finite_number(require(table, key, kind, file=file, prefix=prefix), file, where)
    check_in_bound(value, POPULATION_BOUNDS[key], file=file, key=where)
    return value


def check_against_theory(spec: PopulationSpec, theory: Theory) -> None:
    """Offsets must name domains of the theory."""
    for k in spec.kinds:
        for dom in k.offsets:
            if dom not in theory.domain_names:
                raise ConfigError(
                    "unknown domain",
                    file=spec.path,
                    key=f"kinds.{k.name}.offsets.{dom}",
                    value=dom,
                    choices=theory.domain_names,
                )


def kind_counts(spec: PopulationSpec) -> np.ndarray:
    """Counts by kind scaled to ``spec.n_providers`` (largest remainder, total exact)."""
    base = np.array([k.count for k in spec.kinds], dtype=float)
    quota = base / base.sum() * spec.n_providers
    counts = np.floor(quota).astype(int)
    short = spec.n_providers - counts.sum()
    order = np.argsort(-(quota - counts), kind="stable")
    counts[order[:short]] += 1
    return counts


@dataclass(frozen=True)
class _Layout:
    """What a population's draws build on, from its spec and theory alone (the same for every seed)."""

    kind: np.ndarray  # each provider's kind
    kind_names: tuple[str, ...]
    sector: np.ndarray  # each provider's sector
    sector_names: tuple[str, ...]
    turnover_median: np.ndarray  # each provider's kind's
    turnover_sigma: np.ndarray
    mean: np.ndarray  # (D,) starting levels' mean and s.d. by domain
    sd: np.ndarray
    offsets: np.ndarray  # providers × domains: each provider's kind's offsets


_LAYOUTS: dict[tuple[int, int], tuple[PopulationSpec, Theory, _Layout]] = {}


def _layout(spec: PopulationSpec, theory: Theory) -> _Layout:
    """The layout of ``spec`` under ``theory``, checked and built once per pair of objects, and shared.

    The runs of a batch share both objects, so they share the layout: its arrays are read-only.
    """
    key = (id(spec), id(theory))
    hit = _LAYOUTS.get(key)
    if hit is not None and hit[0] is spec and hit[1] is theory:
        return hit[2]
    check_against_theory(spec, theory)
    counts = kind_counts(spec)
    kind = np.repeat(np.arange(len(spec.kinds)), counts)
    sector_names = sorted({k.sector for k in spec.kinds})
    sector_of_kind = np.array([sector_names.index(k.sector) for k in spec.kinds], dtype=int)
    names = theory.domain_names
    offsets = np.zeros((len(spec.kinds), len(names)))
    for i, k in enumerate(spec.kinds):
        for dom, v in k.offsets.items():
            offsets[i, names.index(dom)] = v
    layout = _Layout(
        kind=kind,
        kind_names=tuple(k.name for k in spec.kinds),
        sector=sector_of_kind[kind],
        sector_names=tuple(sector_names),
        turnover_median=np.array([k.turnover_median for k in spec.kinds])[kind],
        turnover_sigma=np.array([k.turnover_sigma for k in spec.kinds])[kind],
        mean=np.array([theory.v(f"domain.{x}.init_mean") for x in names]),
        sd=np.array([theory.v(f"domain.{x}.init_sd") for x in names]),
        offsets=offsets[kind],
    )
    for value in vars(layout).values():
        if isinstance(value, np.ndarray):
            value.setflags(write=False)
    if len(_LAYOUTS) >= 32:  # a sweep over theory values builds a theory per run
        _LAYOUTS.clear()
    _LAYOUTS[key] = (spec, theory, layout)
    return layout


def build_population(spec: PopulationSpec, theory: Theory, rng: np.random.Generator) -> Population:
    """Draw a population: kinds, ICSs, turnover and correlated starting levels."""
    layout = _layout(spec, theory)
    n = layout.kind.shape[0]
    ics = _assign_ics(n, spec.n_ics, spec.ics_size_sigma, rng)
    turnover = layout.turnover_median * np.exp(layout.turnover_sigma * rng.standard_normal(n))
    levels = _starting_levels(spec, theory, layout, ics, rng)
    return Population(
        kind=layout.kind.copy(),
        kind_names=list(layout.kind_names),
        sector=layout.sector.copy(),
        sector_names=list(layout.sector_names),
        ics=ics,
        n_ics=spec.n_ics,
        turnover=turnover,
        levels=levels,
    )


def _assign_ics(n: int, n_ics: int, size_sigma: float, rng: np.random.Generator) -> np.ndarray:
    weights = np.exp(size_sigma * rng.standard_normal(n_ics))
    weights /= weights.sum()
    ics = choose(rng, choice_cdf(weights), n)  # rng.choice(n_ics, size=n, p=weights), without its checks
    if n >= n_ics:  # every ICS gets at least one provider
        ics[rng.permutation(n)[:n_ics]] = np.arange(n_ics)
    return ics.astype(int)


def _starting_levels(
    spec: PopulationSpec, theory: Theory, layout: _Layout, ics: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    n, d = layout.kind.shape[0], layout.mean.shape[0]
    rho = theory.v("population.common_loading")
    common = rng.standard_normal((n, 1))
    own = rng.standard_normal((n, d))
    z = np.sqrt(rho) * common + np.sqrt(1.0 - rho) * own
    ics_effect = theory.v("population.ics_sd") * rng.standard_normal((spec.n_ics, d))
    levels = layout.mean + layout.sd * z + ics_effect[ics] + layout.offsets
    return np.clip(levels, 0.0, 1.0)


def describe(pop: Population, theory: Theory) -> dict[str, Any]:
    """Starting shares in the interpretable bands (for docs and tests)."""
    q = pop.levels[:, theory.role_index("quality")]
    e = pop.levels[:, theory.role_index("efficiency")]
    return {
        "n": pop.n,
        "share_good_or_outstanding": float(np.mean(q >= theory.v("band.good_quality"))),
        "share_outstanding": float(np.mean(q >= theory.v("band.outstanding_quality"))),
        "share_inadequate": float(np.mean(q < theory.v("band.inadequate_quality"))),
        "share_in_deficit": float(np.mean(e < theory.v("band.deficit_efficiency"))),
        "share_special_measures": float(np.mean(q < theory.v("regulation.sm_entry_quality"))),
        "mean_turnover": float(pop.turnover.mean()),
    }
