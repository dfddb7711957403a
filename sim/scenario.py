"""Scenario files: schema and validation with clear errors (read by ``sim.run(path, seed)`` and ``analysis``).

A scenario (``scenarios/*.toml``) says what is compared: a name and a plain-language
description, the theory it uses, population settings, the partnerships it starts from
(``start_partnerships``: ``"2022"`` or ``"none"``), **levers** (policy choices) and
**uncertainties** (assumptions nobody controls), horizon, start date and replications.
Validation rejects unknown keys ("did you mean …"), wrong types, out-of-range values and
unknown partnership types, naming the file, the key path and the valid choices. The bounds
of its numbers are :data:`sim.bounds.SCENARIO_LIMITS`; ``analysis.scenario`` adds the JSON
Schema for editors.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sim.bounds import SCENARIO_LIMITS
from sim.errors import ConfigError
from sim.policy import Levers, Uncertainties
from sim.population import check_ics_count, load_population_spec
from sim.spec import RunSpec
from sim.theory import Theory, default_theory_path, load_theory
from sim.toml_io import read_toml
from sim.world import START_PARTNERSHIPS

BOUNDS: dict[str, tuple[float, float]] = {key: (b.lo, b.hi) for key, b in SCENARIO_LIMITS.items()}
"""The scenario limits as inclusive (low, high) pairs, as the schema states them."""

SCENARIO_KEYS = (
    "name",
    "description",
    "rationale",
    "sources",
    "theory",
    "population",
    "start_partnerships",
    "levers",
    "uncertainties",
    "horizon",
    "start",
    "replications",
    "seed",
)
POPULATION_KEYS = ("file", "n_providers", "n_ics")

DESCRIPTIONS: dict[str, str] = {
    "start_partnerships": 'The partnerships a run starts from: "2022" (those of July 2022) or "none"',
    "levers.failure_regime.enabled": "Trusts in special measures receive a mandated partnership",
    "levers.failure_regime.intervention": "Partnership type imposed on failing trusts",
    "levers.failure_regime.partner_min_quality": "Least quality a partner must have (default: the 'good' band)",
    "levers.failure_regime.partner_capacity": "Most mandated partnerships one partner may lead at once",
    "levers.failure_regime.same_ics_first": "Look for a partner in the failing trust's ICS first",
    "levers.collaborative_duty.enabled": "Duty to join a horizontal provider collaborative",
    "levers.collaborative_duty.start_month": "Month the duty starts",
    "levers.collaborative_duty.kinds": "Kinds of trust the duty applies to",
    "levers.collaborative_duty.type": "Partnership type used for the collaboratives",
    "levers.voluntary.enabled": "Providers under pressure seek partners voluntarily",
    "levers.voluntary.type_mix": "Relative weights of partnership types chosen voluntarily",
    "levers.voluntary.hazard_scale": "Multiplier on the theory's voluntary partnering hazard",
    "levers.approval.months": "Approval time for consolidations (months; default: typology)",
    "levers.support_fund.share": "Share of transaction costs met by a central support fund",
    "uncertainties.workforce_shock.size": "Fall in workforce level (positive = worse)",
    "uncertainties.financial_squeeze.size": "Fall in financial balance (positive = worse)",
    "uncertainties.effect_overrides": "Theory parameters set to other values within their ranges",
}


@dataclass(frozen=True)
class Scenario:
    """A validated scenario file."""

    name: str
    description: str
    path: str
    theory_path: str
    spec: RunSpec
    replications: int
    seed: int
    rationale: str = ""
    sources: tuple[str, ...] = ()
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def theory(self) -> Theory:
        """The theory in force (with the scenario's overrides applied at model build)."""
        assert self.spec.theory is not None
        return self.spec.theory


def load_scenario(path: str | Path, *, theory: Theory | None = None) -> Scenario:
    """Read and validate a scenario file; raise :class:`ConfigError` naming file and key."""
    path = Path(path)
    raw, _ = read_toml(path)
    return scenario_from_dict(raw, path=path, theory=theory)


def scenario_from_dict(
    raw: dict[str, Any], *, path: str | Path = "<scenario>", theory: Theory | None = None
) -> Scenario:
    """Validate a scenario given as a dict (as parsed from TOML)."""
    file = str(path)
    _reject_unknown(raw, SCENARIO_KEYS, file, "")
    name = _typed(raw.get("name", Path(file).stem), str, file, "name")
    description = _typed(raw.get("description", ""), str, file, "description")
    if not description.strip():
        raise ConfigError("missing a plain-language description", file=file, key="description")
    base = Path(file).parent if Path(file).exists() else Path.cwd()
    theory_rel = _typed(raw.get("theory", ""), str, file, "theory")
    theory_path = (base / theory_rel).resolve() if theory_rel else default_theory_path()
    if theory is None:
        try:
            theory = load_theory(theory_path)
        except ConfigError as exc:
            if exc.file is None or (exc.problem == "file not found" and Path(exc.file) == theory_path):
                raise ConfigError(
                    f"theory file not found: {theory_path}", file=file, key="theory", value=theory_rel
                ) from None
            raise
    pop_raw = _typed(raw.get("population", {}), dict, file, "population")
    _reject_unknown(pop_raw, POPULATION_KEYS, file, "population")
    pop_file = pop_raw.get("file")
    population = load_population_spec(
        (base / _typed(pop_file, str, file, "population.file")).resolve() if pop_file else None
    )
    n_providers = _bounded(pop_raw.get("n_providers"), int, file, "population.n_providers")
    n_ics = _bounded(pop_raw.get("n_ics"), int, file, "population.n_ics")
    if n_ics is not None:
        check_ics_count(n_ics, n_providers or population.n_providers, file=file, key="population.n_ics")

    levers = _build(Levers(), _typed(raw.get("levers", {}), dict, file, "levers"), file, "levers")
    unc = _build(
        Uncertainties(), _typed(raw.get("uncertainties", {}), dict, file, "uncertainties"), file, "uncertainties"
    )
    _check_types_named(levers, theory, file)
    _check_kinds(levers, [k.name for k in population.kinds], file)
    theory_checked = theory.with_values(unc.effect_overrides, origin=f"{file} [uncertainties.effect_overrides]")
    del theory_checked  # validation only: the model applies the overrides itself
    start = _typed(raw.get("start", "2022-07"), str, file, "start")
    if not _is_month(start):
        raise ConfigError('expected a month as "YYYY-MM"', file=file, key="start", value=start)
    horizon = _bounded(raw.get("horizon", 120), int, file, "horizon")
    reps = _bounded(raw.get("replications", 20), int, file, "replications")
    seed = _bounded(raw.get("seed", 20220701), int, file, "seed")
    start_partnerships = _typed(raw.get("start_partnerships", "2022"), str, file, "start_partnerships")
    if start_partnerships not in START_PARTNERSHIPS:
        raise ConfigError(
            "unknown starting state",
            file=file,
            key="start_partnerships",
            value=start_partnerships,
            choices=START_PARTNERSHIPS,
        )
    spec = RunSpec(
        name=name,
        theory=theory,
        population=population,
        levers=levers,
        uncertainties=unc,
        horizon=int(horizon),
        start=start,
        n_providers=n_providers,
        n_ics=n_ics,
        start_partnerships=start_partnerships,
    )
    sources = raw.get("sources", [])
    if not isinstance(sources, list) or not all(isinstance(s, str) for s in sources):
        raise ConfigError("expected a list of strings", file=file, key="sources", value=sources)
    return Scenario(
        name=name,
        description=description,
        path=file,
        theory_path=str(theory_path),
        spec=spec,
        replications=int(reps),
        seed=int(seed),
        rationale=str(raw.get("rationale", "")),
        sources=tuple(sources),
        raw=raw,
    )


# -- generic dataclass building ------------------------------------------------
def _build(default: Any, table: dict[str, Any], file: str, prefix: str) -> Any:
    hints = typing.get_type_hints(type(default))
    fields_ = {f.name: f for f in dataclasses.fields(default) if f.name != "role"}
    _reject_unknown(table, fields_, file, prefix)
    kwargs: dict[str, Any] = {}
    for name, value in table.items():
        key = f"{prefix}.{name}"
        hint = hints[name]
        current = getattr(default, name)
        if dataclasses.is_dataclass(current):
            kwargs[name] = _build(current, _typed(value, dict, file, key), file, key)
        else:
            kwargs[name] = _coerce(value, hint, file, key)
    return dataclasses.replace(default, **kwargs)


def _coerce(value: Any, hint: Any, file: str, key: str) -> Any:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (types.UnionType, typing.Union):
        inner = [a for a in args if a is not type(None)]
        return _coerce(value, inner[0], file, key)
    if origin is tuple:
        items = _typed(value, list, file, key)
        return tuple(_coerce(v, args[0], file, f"{key}[{i}]") for i, v in enumerate(items))
    if origin is dict:
        table = _typed(value, dict, file, key)
        out = {str(k): _coerce(v, args[1], file, f"{key}.{k}") for k, v in table.items()}
        if key in BOUNDS:
            for k, v in out.items():
                _bounded(v, args[1], file, f"{key}.{k}")
        return out
    if hint is float:
        return float(_bounded(value, float, file, key))
    if hint is int:
        return int(_bounded(value, int, file, key))
    return _typed(value, hint, file, key)


def _typed(value: Any, kind: type, file: str, key: str) -> Any:
    names = {
        str: "a string",
        int: "a whole number",
        float: "a number",
        bool: "true or false",
        dict: "a table",
        list: "a list",
    }
    ok = isinstance(value, kind) and not (isinstance(value, bool) and kind is not bool)
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        ok = True
    if not ok:
        raise ConfigError(f"expected {names.get(kind, kind.__name__)}", file=file, key=key, value=value)
    return value


def _bounded(value: Any, kind: type, file: str, key: str) -> Any:
    if value is None:
        return None
    value = _typed(value, kind, file, key)
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError("expected a finite number (nan and inf mean nothing here)", file=file, key=key, value=value)
    if key in BOUNDS:
        lo, hi = BOUNDS[key]
        if not lo <= value <= hi:
            raise ConfigError(f"out of range [{lo}, {hi}]", file=file, key=key, value=value)
    return value


def _reject_unknown(table: dict[str, Any], allowed: Any, file: str, prefix: str) -> None:
    for k in table:
        if k not in allowed:
            raise ConfigError(
                "unknown key", file=file, key=f"{prefix}.{k}" if prefix else k, value=k, choices=list(allowed)
            )


def _check_types_named(levers: Levers, theory: Theory, file: str) -> None:
    levers.check_type_names(theory.type_names, file=file, prefix="levers.")
    mix = levers.voluntary.type_mix
    if any(w < 0 for w in mix.values()) or sum(mix.values()) <= 0:
        raise ConfigError(
            "weights must be >= 0 and not all zero", file=file, key="levers.voluntary.type_mix", value=mix
        )


def _check_kinds(levers: Levers, kinds: list[str], file: str) -> None:
    for kind in levers.collaborative_duty.kinds:
        if kind not in kinds:
            raise ConfigError(
                "unknown kind of trust", file=file, key="levers.collaborative_duty.kinds", value=kind, choices=kinds
            )


def _is_month(text: str) -> bool:
    parts = text.split("-")
    return len(parts) == 2 and all(p.isdigit() for p in parts) and len(parts[0]) == 4 and 1 <= int(parts[1]) <= 12
