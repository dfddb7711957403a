"""What a sweep varies: levers (policy choices) and uncertainties (assumptions nobody controls).

The two are distinct types, as in EMA Workbench: a :class:`Lever` is a field of a scenario's
``[levers]`` (``support_fund.share``, ``failure_regime.intervention``) and makes the *policies*
of a sweep; an :class:`Uncertainty` is a shock's field (``workforce_shock.size``) or a theory
parameter within its declared range and makes the *futures*. Each is given as values (a list,
or one value: a fixed setting) or as a range ``{low, high}`` (``levels`` points on a grid; the
whole range in a Latin hypercube). Every value is checked where it is read: a lever against
the bounds of scenario files (:data:`analysis.limits.SCENARIO_LIMITS`) and its valid choices, a
theory parameter against its declared range, so a bad sweep stops before any run.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from analysis.limits import SCENARIO_LIMITS, SWEEP_LIMITS, within
from analysis.plan import SHOCKS
from sim import ConfigError
from sim.bounds import Bound
from sim.policy import Levers, Shock
from sim.theory import Theory

RANGE_KEYS = ("low", "high", "levels")
CATEGORICAL_LEVERS = ("failure_regime.intervention", "collaborative_duty.type")
"""Levers whose values are partnership types (their choices come from the theory's typology)."""

Value = bool | int | float | str


@dataclass(frozen=True)
class Factor:
    """Something a sweep varies: values, or a range (``low``–``high``, ``levels`` grid points).

    Attributes:
        name: the dotted name (``support_fund.share``, ``workforce_shock.size``, a theory parameter).
        kind: ``real``, ``integer``, ``categorical`` or ``boolean``.
        values: the values given (a grid uses these; a Latin hypercube samples among them).
        low: the low end of a range (with ``high``; none when ``values`` are given).
        high: the high end of a range.
        levels: points of the range on a grid (a Latin hypercube ignores it).
    """

    name: str
    kind: str
    values: tuple[Value, ...] = ()
    low: float | None = None
    high: float | None = None
    levels: int | None = None

    @property
    def fixed(self) -> bool:
        """True when the factor takes one value only (a setting, not a dimension of the design)."""
        return len(self.values) == 1

    @property
    def is_range(self) -> bool:
        """True when given as a range rather than values."""
        return not self.values

    def grid_values(self) -> tuple[Value, ...]:
        """The values on a grid: the values given, or ``levels`` evenly spaced points of the range."""
        if self.values:
            return self.values
        assert self.low is not None and self.high is not None and self.levels is not None
        points = np.linspace(self.low, self.high, self.levels)
        if self.kind == "integer":
            return tuple(dict.fromkeys(int(round(x)) for x in points))
        return tuple(float(x) for x in points)

    def typed(self, value: Any) -> Value:
        """``value`` (as a sampler returns it: numpy numbers) as this factor's Python type."""
        if self.kind == "boolean":
            return bool(value)
        if self.kind == "categorical":
            return str(value)
        if self.kind == "integer":
            return int(round(float(value)))
        return float(value)


@dataclass(frozen=True)
class Lever(Factor):
    """A policy choice: a field of the scenario's levers, set the same way in every future."""


@dataclass(frozen=True)
class Uncertainty(Factor):
    """An assumption nobody controls: a shock's field or a theory parameter (``theory=True``)."""

    theory: bool = False


# -- what may be swept -------------------------------------------------------------------
def lever_kinds(theory: Theory) -> dict[str, tuple[str, tuple[str, ...]]]:
    """Every lever a sweep may vary: dotted name → (kind, valid choices for categorical levers).

    Derived from :class:`sim.policy.Levers`, so a new lever field is sweepable at once; lists
    and tables (``collaborative_duty.kinds``, ``voluntary.type_mix``) are not swept.
    """
    out: dict[str, tuple[str, tuple[str, ...]]] = {}
    for section in dataclasses.fields(Levers):
        default = getattr(Levers(), section.name)
        hints = typing.get_type_hints(type(default))
        for f in dataclasses.fields(default):
            name = f"{section.name}.{f.name}"
            kind = _kind_of(hints[f.name])
            if kind is None:
                continue
            choices = tuple(theory.type_names) if name in CATEGORICAL_LEVERS else ()
            out[name] = (kind, choices)
    return out


def shock_kinds() -> dict[str, str]:
    """Every shock field a sweep may vary as an uncertainty: ``workforce_shock.size`` → kind."""
    out = {}
    hints = typing.get_type_hints(Shock)
    for shock in SHOCKS:
        for f in dataclasses.fields(Shock):
            if f.name != "role":
                out[f"{shock}.{f.name}"] = _kind_of(hints[f.name]) or "real"
    return out


def _kind_of(hint: Any) -> str | None:
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    if args and typing.get_origin(hint) in (typing.Union, type(int | None)):
        hint = args[0]
    return {bool: "boolean", int: "integer", float: "real", str: "categorical"}.get(hint)


# -- reading factors ---------------------------------------------------------------------
def read_lever(name: str, given: Any, theory: Theory, *, file: str | None, key: str) -> Lever:
    """A lever from its sweep-file (or ``--lever``) entry; raise a ConfigError naming file and key."""
    kinds = lever_kinds(theory)
    if name not in kinds:
        raise ConfigError("unknown lever", file=file, key=key, value=name, choices=kinds)
    kind, choices = kinds[name]
    if isinstance(given, Mapping) and not given:
        raise ConfigError(
            "a lever has no declared range: give its values ([0, 0.5, 1] in a file, NAME=0,0.5,1 as an option) "
            "or a range ({low = 0, high = 1, levels = 3}, NAME=0:1:3)",
            file=file,
            key=key,
            value=name,
            choices=choices or None,
        )
    bound = SCENARIO_LIMITS.get(f"levers.{name}")
    return Lever(**_read(name, given, kind, choices, bound, file=file, key=key))


def read_uncertainty(name: str, given: Any, theory: Theory, *, file: str | None, key: str) -> Uncertainty:
    """An uncertainty from its entry: a shock's field, or a theory parameter (``{}``: its declared range)."""
    shocks = shock_kinds()
    if name in shocks:
        if isinstance(given, Mapping) and not given:
            raise ConfigError(
                "a shock has no declared range: give values or {low = …, high = …}", file=file, key=key, value=given
            )
        bound = SCENARIO_LIMITS[f"uncertainties.{name}"]
        return Uncertainty(**_read(name, given, shocks[name], (), bound, file=file, key=key))
    if name not in theory.params:
        raise ConfigError(
            "unknown uncertainty (a shock's field or a theory parameter)",
            file=file,
            key=key,
            value=name,
            choices=[*shocks, *theory.params],
        )
    p = theory.params[name]
    if not p.uncertain:
        raise ConfigError(
            f"the theory fixes this parameter at {p.default:g} (it declares no range), so it cannot be swept",
            file=file,
            key=key,
            value=name,
        )
    kind = "integer" if p.integer else "real"
    declared = Bound(p.low, p.high, f"the theory's declared range ({p.source})")
    if isinstance(given, Mapping) and not {"low", "high"} & set(given):
        given = {"low": p.low, "high": p.high, **given}
    return Uncertainty(**_read(name, given, kind, (), declared, file=file, key=key), theory=True)


def _read(
    name: str, given: Any, kind: str, choices: tuple[str, ...], bound: Bound | None, *, file: str | None, key: str
) -> dict[str, Any]:
    """The fields of a factor: its values (checked) or its range (checked)."""
    if isinstance(given, Mapping):
        if kind in ("categorical", "boolean"):
            raise ConfigError(
                f"a {kind} lever takes a list of values, not a range", file=file, key=key, value=dict(given)
            )
        unknown = [k for k in given if k not in RANGE_KEYS]
        if unknown:
            raise ConfigError("unknown key of a range", file=file, key=f"{key}.{unknown[0]}", choices=RANGE_KEYS)
        if "low" not in given or "high" not in given:
            raise ConfigError("a range needs both low and high", file=file, key=key, value=dict(given))
        low = _number(given["low"], kind, bound, file=file, key=f"{key}.low")
        high = _number(given["high"], kind, bound, file=file, key=f"{key}.high")
        if not low < high:
            raise ConfigError(
                "low must be below high (for one value, give it alone)", file=file, key=key, value=dict(given)
            )
        levels = given.get("levels")
        if levels is not None:
            levels = int(_whole(levels, file=file, key=f"{key}.levels"))
            within(levels, SWEEP_LIMITS["levels"], key=f"{key}.levels", file=file)
        return {"name": name, "kind": kind, "low": float(low), "high": float(high), "levels": levels}
    items = list(given) if isinstance(given, list | tuple) else [given]
    if not items:
        raise ConfigError("give at least one value", file=file, key=key, value=given)
    values = tuple(_value(v, kind, choices, bound, file=file, key=f"{key}[{i}]") for i, v in enumerate(items))
    dupes = sorted({str(v) for v in values if values.count(v) > 1})
    if dupes:
        raise ConfigError(f"a value is listed twice ({', '.join(dupes)})", file=file, key=key, value=list(items))
    return {"name": name, "kind": kind, "values": values}


def _value(
    value: Any, kind: str, choices: tuple[str, ...], bound: Bound | None, *, file: str | None, key: str
) -> Value:
    if kind == "boolean":
        if not isinstance(value, bool):
            raise ConfigError("expected true or false", file=file, key=key, value=value)
        return value
    if kind == "categorical":
        if not isinstance(value, str) or (choices and value not in choices):
            raise ConfigError("unknown choice", file=file, key=key, value=value, choices=choices or None)
        return value
    return _number(value, kind, bound, file=file, key=key)


def _number(value: Any, kind: str, bound: Bound | None, *, file: str | None, key: str) -> int | float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        what = "a whole number" if kind == "integer" else "a finite number"
        raise ConfigError(f"expected {what}", file=file, key=key, value=value)
    if kind == "integer":
        value = int(_whole(value, file=file, key=key))
    if bound is not None:
        within(value, bound, key=key, file=file)
    return value


def _whole(value: Any, *, file: str | None, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
        raise ConfigError("expected a whole number", file=file, key=key, value=value)
    return int(value)


# -- the command line's form -------------------------------------------------------------
def parse_assignment(text: str, *, option: str) -> tuple[str, Any]:
    """``NAME=SPEC`` from the command line as (name, the value a sweep file would hold).

    SPEC is values separated by commas (``0,0.5,1``; ``buddying,merger``; ``true,false``), a range
    ``LOW:HIGH`` or ``LOW:HIGH:LEVELS``; a bare ``NAME`` (uncertainties only) means the declared range.
    """
    name, eq, spec = text.partition("=")
    name = name.strip()
    if not name:
        raise ConfigError("expected NAME=VALUES, NAME=LOW:HIGH or NAME=LOW:HIGH:LEVELS", key=option, value=text)
    if not eq:
        return name, {}
    if ":" in spec:
        parts = spec.split(":")
        if len(parts) not in (2, 3):
            raise ConfigError("a range is LOW:HIGH or LOW:HIGH:LEVELS", key=option, value=text)
        nums = [_scalar(p) for p in parts]
        return name, dict(zip(RANGE_KEYS, nums, strict=False))
    items = [_scalar(p) for p in spec.split(",") if p.strip()]
    if not items:
        raise ConfigError("give at least one value after '='", key=option, value=text)
    return name, items


def _scalar(text: str) -> Value:
    t = text.strip()
    if t.lower() in ("true", "false"):
        return t.lower() == "true"
    for kind in (int, float):
        try:
            return kind(t)
        except ValueError:
            pass
    return t
