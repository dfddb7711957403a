"""One named comparison of the model with the evidence: :class:`Check`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from analysis.studies.validation.evidence import Evidence


# -- checks -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Check:
    """One named comparison of the model with the evidence.

    Attributes:
        name: identifier (``sm_exit_mean_months`` …).
        title: the claim in plain words.
        fact: where it sits in docs/evidence.md (``evidence.md#KEY``).
        source: the evidence's citation.
        evidence: the evidence's value, as stated.
        target: the evidence's value as a number (None for a direction).
        low, high: the band the model's value must fall in to pass (None = open).
        band_rule: count | range | direction | stated (see the module docstring).
        unit: of the model's value.
        mapping: which model quantity corresponds to the evidence, and why.
        studies: the runs it needs (:data:`STUDIES`).
        statistic: computes the model's value from the evidence.
        quantitative: usable as a calibration target (the evidence gives a number).
        falsifier: theory values under which the check should fail (tests use them; values
            outside declared ranges are marked by ``falsifier_widens``).
        falsifier_widens: the falsifier needs values outside the declared ranges.
        basis: ``emergent`` (the value comes out of the model's dynamics) or ``by construction``
            (an input was set from the same evidence, or the value is a function of parameters
            alone): such checks are reported apart and never counted as passes.
    """

    name: str
    title: str
    fact: str
    source: str
    evidence: str
    target: float | None
    low: float | None
    high: float | None
    band_rule: str
    unit: str
    mapping: str
    studies: tuple[str, ...]
    statistic: Callable[[Evidence], float]
    quantitative: bool = False
    falsifier: dict[str, float] = field(default_factory=dict)
    falsifier_widens: bool = False
    basis: str = "emergent"

    def passes(self, value: float) -> bool | None:
        """True/False, or None when the model gives no value."""
        if value is None or not np.isfinite(value):
            return None
        return (self.low is None or value >= self.low) and (self.high is None or value <= self.high)

    def band(self) -> str:
        """The pass band in words."""
        if self.low is not None and self.high is not None:
            return f"{_fmt(self.low)} to {_fmt(self.high)}"
        if self.low is not None:
            return f"≥ {_fmt(self.low)}" if self.low != 0 else "> 0"
        if self.high is not None:
            return f"≤ {_fmt(self.high)}" if self.high != 0 else "< 0"
        return "any"

    def distance(self, value: float) -> float:
        """How far ``value`` lies outside the band, in units of the band's width (0 inside).

        For one-sided or direction bands the unit is the evidence value's magnitude (or 1).
        """
        if value is None or not np.isfinite(value):
            return float("inf")
        if self.passes(value):
            return 0.0
        width = (
            (self.high - self.low)
            if self.low is not None and self.high is not None
            else (abs(self.target) if self.target else 1.0)
        )
        width = width or 1.0
        edge = self.low if self.low is not None and value < self.low else self.high
        assert edge is not None  # a failing value lies beyond a bound that exists
        return float(abs(value - edge) / width)


def _fmt(v: float) -> str:
    return f"{v:.3g}"


def _pct(ev: Evidence) -> float:
    return ev.theory.v("band.surplus_pct_per_unit")


def _sd(ev: Evidence, role: str) -> float:
    return ev.theory.v(f"domain.{ev.theory.roles[role]}.init_sd")
