"""Declared quantities: every number the model uses comes with a default, a range and a source."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from sim.bounds import Bound, NoBoundError, param_bound
from sim.errors import ConfigError

DISTRIBUTIONS = ("uniform", "triangular", "normal", "lognormal")


@dataclass(frozen=True)
class Param:
    """One declared quantity of the theory.

    ``low == high`` marks a fixed value (documented, but not swept by sensitivity analysis).
    """

    name: str
    default: float
    low: float
    high: float
    source: str
    dist: str = "uniform"
    unit: str = ""
    integer: bool = False

    @property
    def uncertain(self) -> bool:
        """True when the declared range is wider than a point."""
        return self.high > self.low

    def check(self, value: float, *, file: str | None = None) -> float:
        """Validate that ``value`` lies in the declared range; return it as float."""
        v = float(value)
        if not (self.low <= v <= self.high):
            raise ConfigError(
                f"value outside the declared range [{self.low}, {self.high}] of '{self.name}'",
                file=file,
                key=self.name,
                value=value,
            )
        return v


_FIELDS = {"default", "low", "high", "source", "dist", "unit", "value", "integer"}


def parse_param(name: str, raw: Any, *, file: str, key: str, integer: bool = False) -> Param:
    """Parse ``{default, low, high, source}`` or ``{value, source}`` into a :class:`Param`."""
    if isinstance(raw, bool) or not isinstance(raw, dict):
        raise ConfigError(
            'expected a table {default = …, low = …, high = …, source = "…"} or {value = …, source = "…"}',
            file=file,
            key=key,
            value=raw,
        )
    unknown = set(raw) - _FIELDS
    if unknown:
        bad = sorted(unknown)[0]
        raise ConfigError("unknown field", file=file, key=f"{key}.{bad}", value=bad, choices=_FIELDS)
    if "source" not in raw or not str(raw["source"]).strip():
        raise ConfigError(
            "missing field 'source' (a citation of docs/evidence.md, evidence.md#KEY, or \"assumption\")",
            file=file,
            key=f"{key}.source",
        )
    if "value" in raw:
        if {"default", "low", "high"} & set(raw):
            raise ConfigError("give either 'value' or 'default'/'low'/'high', not both", file=file, key=key)
        v = finite_number(raw["value"], file, f"{key}.value")
        default = low = high = v
    else:
        for f in ("default", "low", "high"):
            if f not in raw:
                raise ConfigError(f"missing field '{f}'", file=file, key=f"{key}.{f}")
        default = finite_number(raw["default"], file, f"{key}.default")
        low = finite_number(raw["low"], file, f"{key}.low")
        high = finite_number(raw["high"], file, f"{key}.high")
        if low > high:
            raise ConfigError(f"low ({low}) is greater than high ({high})", file=file, key=key)
        if not (low <= default <= high):
            raise ConfigError(f"default ({default}) lies outside [low, high] = [{low}, {high}]", file=file, key=key)
    fields = {"value": default} if "value" in raw else {"default": default, "low": low, "high": high}
    integer = integer or bool(raw.get("integer", False))
    check_bounds(name, fields, file=file, key=key, integer=integer)
    dist = str(raw.get("dist", "uniform"))
    if dist not in DISTRIBUTIONS:
        raise ConfigError("unknown distribution", file=file, key=f"{key}.dist", value=dist, choices=DISTRIBUTIONS)
    return Param(
        name=name,
        default=default,
        low=low,
        high=high,
        source=str(raw["source"]),
        dist=dist,
        unit=str(raw.get("unit", "")),
        integer=integer,
    )


def check_bounds(name: str, fields: dict[str, float], *, file: str, key: str, integer: bool = False) -> None:
    """Check the numbers declared for parameter ``name`` against its physical bound (:mod:`sim.bounds`).

    Args:
        name: the parameter's name (its bound is looked up by name).
        fields: the declared numbers by field (``value``, or ``default``/``low``/``high``).
        file: the file declaring it, for the error.
        key: its key path in that file.
        integer: the parameter counts whole months or items.

    Raises:
        ConfigError: a number lies outside the bound, or is not whole for an integer parameter.
    """
    try:
        bound = param_bound(name)
    except NoBoundError as exc:
        raise ConfigError(str(exc.args[0]), file=file, key=key) from None
    for field, v in fields.items():
        check_in_bound(v, bound, file=file, key=f"{key}.{field}")
        if integer and not float(v).is_integer():
            raise ConfigError(
                "expected a whole number (it counts months or items)", file=file, key=f"{key}.{field}", value=v
            )


def check_in_bound(value: float, bound: Bound, *, file: str, key: str) -> None:
    """Raise a ConfigError naming file, key, value and the bound when ``value`` lies outside ``bound``."""
    if not bound.contains(value):
        raise ConfigError(
            f"outside {bound.text()}, the physical bounds of {bound.meaning}", file=file, key=key, value=value
        )


def finite_number(raw: Any, file: str, key: str) -> float:
    """``raw`` as a float: a number (not true/false), finite; else a ConfigError naming file and key."""
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise ConfigError("expected a number", file=file, key=key, value=raw)
    value = float(raw)
    if not math.isfinite(value):
        raise ConfigError("expected a finite number (nan and inf mean nothing here)", file=file, key=key, value=raw)
    return value
