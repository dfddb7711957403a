"""Declared quantities: every number the model uses comes with a default, a range and a source."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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
            "expected a table {default = …, low = …, high = …, source = \"…\"} "
            "or {value = …, source = \"…\"}",
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
            "missing field 'source' (a citation from domain.md, or \"assumption\")",
            file=file,
            key=f"{key}.source",
        )
    if "value" in raw:
        if {"default", "low", "high"} & set(raw):
            raise ConfigError("give either 'value' or 'default'/'low'/'high', not both", file=file, key=key)
        v = _number(raw["value"], file, f"{key}.value")
        default = low = high = v
    else:
        for f in ("default", "low", "high"):
            if f not in raw:
                raise ConfigError(f"missing field '{f}'", file=file, key=f"{key}.{f}")
        default = _number(raw["default"], file, f"{key}.default")
        low = _number(raw["low"], file, f"{key}.low")
        high = _number(raw["high"], file, f"{key}.high")
        if low > high:
            raise ConfigError(f"low ({low}) is greater than high ({high})", file=file, key=key)
        if not (low <= default <= high):
            raise ConfigError(
                f"default ({default}) lies outside [low, high] = [{low}, {high}]", file=file, key=key
            )
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
        integer=integer or bool(raw.get("integer", False)),
    )


def _number(raw: Any, file: str, key: str) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise ConfigError("expected a number", file=file, key=key, value=raw)
    return float(raw)
