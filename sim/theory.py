"""The theory as data: domains, the causal web, mechanism parameters (design.md §3).

``load_theory(path)`` reads ``irt.toml`` and the typology it names, validates both, and
returns an immutable :class:`Theory`. Every number the model uses is a :class:`Param`
in ``Theory.params`` under a stable name (``edge.governance->culture.weight``,
``mechanism.trust_build``, ``type.merger.org_change``…); ``Theory.values`` holds the
values in force, which ``with_values`` replaces for sensitivity analysis or scenario
overrides.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, cast

import numpy as np

from sim.bounds import beta_feasible
from sim.errors import ConfigError
from sim.params import Param, parse_param
from sim.toml_io import read_toml, reject_unknown, require
from sim.typology import PartnershipType, parse_types

TIERS = ("structural", "relational", "outcome")
ROLES = ("quality", "efficiency", "access", "culture", "accountability", "workforce", "leadership")
DOMAIN_PARAMS = ("init_mean", "init_sd", "rate", "noise")
SECTIONS: dict[str, tuple[str, ...]] = {
    "population": ("common_loading", "ics_sd"),
    "bands": (
        "good_quality",
        "deficit_efficiency",
        "surplus_pct_per_unit",
        "outstanding_quality",
        "inadequate_quality",
    ),
    "regulation": (
        "sm_entry_quality",
        "sm_entry_efficiency",
        "sm_exit_margin",
        "sm_entry_months",
        "sm_exit_months",
        "support_fade",
    ),
    "mechanisms": (
        "conflict_rate",
        "conflict_base",
        "conflict_w_gap",
        "conflict_w_asymmetry",
        "conflict_w_mandate",
        "conflict_w_slow",
        "conflict_w_change",
        "conflict_w_accountability",
        "trust_init",
        "trust_w_prior",
        "trust_w_legal",
        "trust_w_same_ics",
        "trust_build",
        "trust_erosion",
        "trust_w_leadership",
        "dissolution_trust_penalty",
        "confidence_init",
        "confidence_rate",
        "confidence_w_mandate",
        "confidence_ceiling",
        "faith_init",
        "faith_w_mandate",
        "faith_rate",
        "faith_w_instability",
        "faith_w_absence",
        "faith_w_leadership",
        "instability_scale",
        "absence_per_commitment",
        "progress_rate",
        "progress_scale",
        "progress_neutral",
        "progress_w_ambition",
        "progress_w_conflict",
        "ambition_w_integration",
        "ambition_w_trust",
        "risk_w_trust",
        "behaviour_w_risk",
        "inertia_threshold",
        "inertia_months",
    ),
    "partnering": (
        "convergence_rate",
        "synergy",
        "best_practice_share",
        "disruption_w_conflict",
        "disruption_persistence",
        "savings_lag",
        "realisation_mean",
        "realisation_sd",
    ),
    "formation": (
        "base_hazard",
        "pressure_sensitivity",
        "pressure_scale",
        "w_same_ics",
        "w_culture",
        "w_prior_trust",
        "w_size",
        "w_quality",
        "choice_noise",
        "out_of_ics_candidates",
    ),
    "start_2022": ("group_share", "group_age_max", "collaborative_age_max", "history_share", "history_trust_sd"),
}
SECTION_PREFIX = {
    "population": "population",
    "bands": "band",
    "regulation": "regulation",
    "mechanisms": "mechanism",
    "partnering": "partnering",
    "formation": "formation",
    "start_2022": "start",
}
STRING_KEYS = {"start_2022": ("group_type",)}  # names, not numbers
PER_DOMAIN_TABLES = {"partnering": ("disruption", "scale", "lead_cost"), "regulation": ("support",)}
INTEGER_PARAMS = {
    "regulation.sm_entry_months",
    "regulation.sm_exit_months",
    "mechanism.inertia_months",
    "formation.out_of_ics_candidates",
    "start.group_age_max",
    "start.collaborative_age_max",
}
TOP_LEVEL = {"meta", "roles", "domains", "edges", *SECTIONS}


@dataclass(frozen=True)
class Domain:
    """A domain of the theory: a provider-level state in [0, 1]."""

    name: str
    tier: str
    description: str


@dataclass(frozen=True)
class Edge:
    """A directed arrow of the causal web: ``source`` → ``target``."""

    source: str
    target: str
    direct: bool
    note: str

    @property
    def name(self) -> str:
        """The edge's name in parameter paths, e.g. ``governance->culture``."""
        return f"{self.source}->{self.target}"


@dataclass(frozen=True)
class Theory:
    """A validated theory plus its typology; immutable, cheap to copy with new values."""

    path: str
    typology_path: str
    meta: dict[str, Any]
    domains: tuple[Domain, ...]
    edges: tuple[Edge, ...]
    types: tuple[PartnershipType, ...]
    roles: dict[str, str]
    progress_domains: tuple[str, ...]
    disruption_domains: tuple[str, ...]
    scale_domains: tuple[str, ...]
    lead_cost_domains: tuple[str, ...]
    support_domains: tuple[str, ...]
    start_group_type: str
    params: dict[str, Param]
    values: dict[str, float]
    file_hashes: dict[str, str] = field(default_factory=dict)

    # -- lookup -------------------------------------------------------------
    def v(self, name: str) -> float:
        """Value in force of the parameter ``name``."""
        try:
            return self.values[name]
        except KeyError:
            raise ConfigError("unknown parameter", file=self.path, key=name, value=name, choices=self.params) from None

    @property
    def domain_names(self) -> list[str]:
        """Names of the domains, in declaration order."""
        return [d.name for d in self.domains]

    @property
    def type_names(self) -> list[str]:
        """Names of the partnership types, in declaration order."""
        return [t.name for t in self.types]

    def domain_index(self, name: str) -> int:
        """Column of ``name`` in the providers × domains arrays."""
        names = self.domain_names
        if name not in names:
            raise ConfigError("unknown domain", file=self.path, key="domains", value=name, choices=names)
        return names.index(name)

    def role_index(self, role: str) -> int:
        """Column of the domain playing ``role`` (quality, efficiency, workforce…)."""
        return self.domain_index(self.roles[role])

    def type_index(self, name: str) -> int:
        """Row of type ``name`` in the per-type arrays."""
        names = self.type_names
        if name not in names:
            raise ConfigError(
                "unknown partnership type", file=self.typology_path, key="types", value=name, choices=names
            )
        return names.index(name)

    def ptype(self, name: str) -> PartnershipType:
        """The partnership type called ``name``."""
        return self.types[self.type_index(name)]

    def uncertain_params(self) -> list[Param]:
        """Parameters whose declared range is wider than a point (the sensitivity space)."""
        return [p for p in self.params.values() if p.uncertain]

    # -- variants -----------------------------------------------------------
    def with_values(self, overrides: Mapping[str, float], *, origin: str | None = None) -> Theory:
        """A copy with some parameter values replaced; each must be declared and in range."""
        if not overrides:
            return self
        values = dict(self.values)
        for name, value in overrides.items():
            if name not in self.params:
                raise ConfigError(
                    "unknown theory parameter", file=origin or self.path, key=name, value=name, choices=self.params
                )
            p = self.params[name]
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ConfigError("expected a number", file=origin or self.path, key=name, value=value)
            values[name] = p.check(value, file=origin or self.path)
        _check_realisation(values, file=origin or self.path)
        _check_band_order(values, file=origin or self.path)
        return replace(self, values=values)

    def digest(self) -> str:
        """Hash of the theory content in force (files + values)."""
        blob = json.dumps({"files": self.file_hashes, "values": self.values}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


def default_theory_path() -> Path:
    """``scenarios/theory/irt.toml`` of this source tree."""
    return Path(__file__).resolve().parents[1] / "scenarios" / "theory" / "irt.toml"


_CACHE: dict[tuple[str, int, int, int, int], Theory] = {}


def load_theory(path: str | Path | None = None) -> Theory:
    """Load and validate a theory file (and the typology it names); cached per file state."""
    path = Path(path) if path is not None else default_theory_path()
    try:
        st = path.stat()
        key: tuple[str, int, int, int, int] | None = (str(path.resolve()), st.st_mtime_ns, st.st_size, 0, 0)
    except OSError:
        key = None
    if key is not None:
        cached = _CACHE.get(key)
        if cached is not None and _typology_unchanged(cached):
            return cached
    theory = _load_theory(path)
    if key is not None:
        _CACHE[key] = theory
    return theory


def _typology_unchanged(theory: Theory) -> bool:
    try:
        data = Path(theory.typology_path).read_bytes()
    except OSError:
        return False
    return hashlib.sha256(data).hexdigest() == theory.file_hashes["typology"]


def _load_theory(path: Path) -> Theory:
    raw, digest = read_toml(path)
    file = str(path)
    reject_unknown(raw, TOP_LEVEL, file=file, prefix="")
    meta = require(raw, "meta", dict, file=file, prefix="")
    typology_name = require(meta, "typology", str, file=file, prefix="meta")
    typology_path = (path.parent / typology_name).resolve()

    params: dict[str, Param] = {}
    domains = _parse_domains(raw, params, file)
    names = [d.name for d in domains]
    edges = _parse_edges(raw, names, params, file)
    roles, progress = _parse_roles(raw, names, file)
    per_domain: dict[str, tuple[str, ...]] = {}
    text: dict[str, str] = {}
    for section, required in SECTIONS.items():
        table = require(raw, section, dict, file=file, prefix="")
        subs = PER_DOMAIN_TABLES.get(section, ())
        strings = STRING_KEYS.get(section, ())
        reject_unknown(table, set(required) | set(subs) | set(strings), file=file, prefix=section)
        for key in strings:
            text[f"{section}.{key}"] = require(table, key, str, file=file, prefix=section)
        for key in required:
            if key not in table:
                raise ConfigError("missing parameter", file=file, key=f"{section}.{key}")
            pname = f"{SECTION_PREFIX[section]}.{key}"
            params[pname] = parse_param(
                pname, table[key], file=file, key=f"{section}.{key}", integer=pname in INTEGER_PARAMS
            )
        for sub in subs:
            sub_table = table.get(sub, {})
            if not isinstance(sub_table, dict):
                raise ConfigError("expected a table of domain = {…}", file=file, key=f"{section}.{sub}")
            for dom, spec in sub_table.items():
                if dom not in names:
                    raise ConfigError(
                        "unknown domain", file=file, key=f"{section}.{sub}.{dom}", value=dom, choices=names
                    )
                pname = f"{SECTION_PREFIX[section]}.{sub}.{dom}"
                params[pname] = parse_param(pname, spec, file=file, key=f"{section}.{sub}.{dom}")
            per_domain[sub] = tuple(sub_table)

    if not typology_path.is_file():
        what = "is a folder, not a file" if typology_path.is_dir() else "does not exist"
        raise ConfigError(
            f"the typology file this theory names, {typology_path}, {what}; give the path of the "
            "partnership types' file relative to the theory file",
            file=file,
            key="meta.typology",
            value=typology_name,
        )
    traw, tdigest = read_toml(typology_path)
    reject_unknown(traw, {"meta", "types"}, file=str(typology_path), prefix="")
    types, tparams = parse_types(traw.get("types"), names, file=str(typology_path))
    params.update(tparams)
    type_names = [t.name for t in types]
    if text["start_2022.group_type"] not in type_names:
        raise ConfigError(
            "unknown partnership type",
            file=file,
            key="start_2022.group_type",
            value=text["start_2022.group_type"],
            choices=type_names,
        )

    theory = Theory(
        path=file,
        typology_path=str(typology_path),
        meta=dict(meta),
        domains=tuple(domains),
        edges=tuple(edges),
        types=tuple(types),
        roles=roles,
        progress_domains=progress,
        disruption_domains=per_domain["disruption"],
        scale_domains=per_domain["scale"],
        lead_cost_domains=per_domain["lead_cost"],
        support_domains=per_domain["support"],
        start_group_type=text["start_2022.group_type"],
        params=params,
        values={k: p.default for k, p in params.items()},
        file_hashes={"theory": digest, "typology": tdigest},
    )
    _check_lag_free_cycles(theory)
    _check_realisation_ranges(params, file)
    _check_band_order(theory.values, file=file)
    return theory


REALISATION = ("partnering.realisation_mean", "partnering.realisation_sd")


def _check_realisation_ranges(params: Mapping[str, Param], file: str) -> None:
    """Every (mean, sd) in the declared ranges must give a Beta draw (sd² < mean·(1 − mean))."""
    mean, sd = (params[n] for n in REALISATION)
    worst_mean = min((mean.low, mean.high), key=lambda m: m * (1.0 - m))
    if not beta_feasible(worst_mean, sd.high):
        raise ConfigError(
            f"a realisation draw with mean {worst_mean:g} (in the declared range of realisation_mean) and "
            f"standard deviation {sd.high:g} does not exist: a Beta draw needs sd² < mean·(1 − mean) = "
            f"{worst_mean * (1.0 - worst_mean):.4g}; narrow the ranges",
            file=file,
            key="partnering.realisation_sd",
            value=sd.high,
        )


def _check_realisation(values: Mapping[str, float], *, file: str) -> None:
    """The values in force of the realisation draw's mean and sd must give a Beta draw."""
    mean, sd = (values[n] for n in REALISATION)
    if not beta_feasible(mean, sd):
        raise ConfigError(
            f"no Beta draw has mean {mean:g} and standard deviation {sd:g} (it needs sd² < mean·(1 − mean))",
            file=file,
            key="partnering.realisation_sd",
            value=sd,
        )


BAND_ORDER = ("band.inadequate_quality", "band.good_quality", "band.outstanding_quality")


def _check_band_order(values: Mapping[str, float], *, file: str) -> None:
    """The CQC rating lines must be ordered: inadequate below < good line <= outstanding from."""
    low, good, top = (values[n] for n in BAND_ORDER)
    if not low < good <= top:
        raise ConfigError(
            f"the quality lines of the CQC rating bands must be ordered inadequate_quality < good_quality <= "
            f"outstanding_quality (got {low:g}, {good:g}, {top:g})",
            file=file,
            key="bands",
            value=[low, good, top],
        )


def _parse_domains(raw: dict[str, Any], params: dict[str, Param], file: str) -> list[Domain]:
    table = require(raw, "domains", dict, file=file, prefix="")
    if not table:
        raise ConfigError("no domains declared", file=file, key="domains")
    domains = []
    for name, spec in table.items():
        prefix = f"domains.{name}"
        if not isinstance(spec, dict):
            raise ConfigError("expected a table", file=file, key=prefix, value=spec)
        reject_unknown(spec, {"tier", "description", *DOMAIN_PARAMS}, file=file, prefix=prefix)
        tier = require(spec, "tier", str, file=file, prefix=prefix)
        if tier not in TIERS:
            raise ConfigError("unknown tier", file=file, key=f"{prefix}.tier", value=tier, choices=TIERS)
        for key in DOMAIN_PARAMS:
            if key not in spec:
                raise ConfigError("missing parameter", file=file, key=f"{prefix}.{key}")
            params[f"domain.{name}.{key}"] = parse_param(
                f"domain.{name}.{key}", spec[key], file=file, key=f"{prefix}.{key}"
            )
        domains.append(Domain(name=name, tier=tier, description=str(spec.get("description", ""))))
    return domains


def _parse_edges(raw: dict[str, Any], names: list[str], params: dict[str, Param], file: str) -> list[Edge]:
    items = require(raw, "edges", list, file=file, prefix="")
    edges: list[Edge] = []
    seen: set[str] = set()
    for i, spec in enumerate(items):
        prefix = f"edges[{i}]"
        if not isinstance(spec, dict):
            raise ConfigError("expected a table", file=file, key=prefix, value=spec)
        reject_unknown(spec, {"source", "target", "weight", "lag", "direct", "note"}, file=file, prefix=prefix)
        src = require(spec, "source", str, file=file, prefix=prefix)
        tgt = require(spec, "target", str, file=file, prefix=prefix)
        for role, dom in (("source", src), ("target", tgt)):
            if dom not in names:
                raise ConfigError("unknown domain", file=file, key=f"{prefix}.{role}", value=dom, choices=names)
        edge = Edge(source=src, target=tgt, direct=bool(spec.get("direct", False)), note=str(spec.get("note", "")))
        if edge.name in seen:
            raise ConfigError("edge declared twice", file=file, key=prefix, value=edge.name)
        if src == tgt:
            raise ConfigError("an edge must join two different domains", file=file, key=prefix, value=edge.name)
        seen.add(edge.name)
        for key in ("weight", "lag"):
            if key not in spec:
                raise ConfigError("missing parameter", file=file, key=f"{prefix}.{key} ({edge.name})")
            pname = f"edge.{edge.name}.{key}"
            try:
                params[pname] = parse_param(pname, spec[key], file=file, key=f"{prefix}.{key}")
            except ConfigError as exc:  # name the edge: the index alone is hard to find in the file
                raise ConfigError(
                    f"{exc.problem} [edge {edge.name}]",
                    file=exc.file,
                    key=exc.key,
                    value=exc.value,
                    choices=exc.choices,
                ) from None
        edges.append(edge)
    return edges


def _parse_roles(raw: dict[str, Any], names: list[str], file: str) -> tuple[dict[str, str], tuple[str, ...]]:
    table = require(raw, "roles", dict, file=file, prefix="")
    reject_unknown(table, {*ROLES, "progress"}, file=file, prefix="roles")
    roles = {}
    for role in ROLES:
        dom = require(table, role, str, file=file, prefix="roles")
        if dom not in names:
            raise ConfigError("unknown domain", file=file, key=f"roles.{role}", value=dom, choices=names)
        roles[role] = dom
    progress = require(table, "progress", list, file=file, prefix="roles")
    for dom in progress:
        if dom not in names:
            raise ConfigError("unknown domain", file=file, key="roles.progress", value=dom, choices=names)
    if not progress:
        raise ConfigError("must name at least one domain", file=file, key="roles.progress")
    return roles, tuple(progress)


def _check_lag_free_cycles(theory: Theory) -> None:
    """Reject cycles whose every edge may have a zero lag (simultaneous determination)."""
    graph: dict[str, list[str]] = {d: [] for d in theory.domain_names}
    for e in theory.edges:
        if theory.params[f"edge.{e.name}.lag"].low == 0:
            graph[e.source].append(e.target)
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in graph[node]:
            if state.get(nxt) == 1:
                cycle = stack[stack.index(nxt) :] + [nxt]
                raise ConfigError(
                    "the causal web has a lag-free cycle "
                    + " -> ".join(cycle)
                    + "; give at least one of these edges a lag whose 'low' is above 0",
                    file=theory.path,
                    key="edges",
                )
            if nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for d in graph:
        if d not in state:
            visit(d)


_PER_THEORY: dict[tuple[Any, ...], tuple[Theory, Any]] = {}
PER_THEORY_KEPT = 64  # builds kept at most (a sweep over theory values builds a theory per run)


def per_theory[T](theory: Theory, build: Callable[..., T], *args: Any) -> T:
    """``build(theory, *args)``: what a run derives from its theory's values alone, built once per theory and shared.

    The runs of a batch share one theory object (a frozen object; a run with theory overrides has
    its own), so they share what is built from it: its arrays are made read-only (no run writes
    them). Kept by the theory object's identity, checked on every hit.
    """
    key = (id(theory), build, *args)
    hit = _PER_THEORY.get(key)
    if hit is not None and hit[0] is theory:
        return cast(T, hit[1])
    value = build(theory, *args)
    for field_value in vars(value).values() if hasattr(value, "__dict__") else ():
        if isinstance(field_value, np.ndarray):
            field_value.setflags(write=False)
    if len(_PER_THEORY) >= PER_THEORY_KEPT:
        _PER_THEORY.clear()
    _PER_THEORY[key] = (theory, value)
    return value
