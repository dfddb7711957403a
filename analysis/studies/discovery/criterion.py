"""The criterion of scenario discovery: what success means (``quality@60 > 0``)."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from analysis.studies.compare import outcome_for
from analysis.studies.sensitivity import resolve_outputs
from sim import ConfigError
from sim.theory import Theory

_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_CRITERION = re.compile(rf"^\s*([A-Za-z_]\w*)\s*@\s*(\d+)\s*(>=|<=|>|<)\s*({_NUMBER})\s*$")


@dataclass(frozen=True)
class Criterion:
    """What success means: ``metric`` at ``month`` ``op`` ``threshold`` (e.g. quality@60 > 0)."""

    metric: str
    month: int
    op: str
    threshold: float

    def holds(self, y: np.ndarray) -> np.ndarray:
        """True where the criterion is met."""
        y = np.asarray(y, dtype=float)
        return {">": y > self.threshold, ">=": y >= self.threshold, "<": y < self.threshold, "<=": y <= self.threshold}[
            self.op
        ]

    def fails(self, y: np.ndarray) -> np.ndarray:
        """True where the policy fails the criterion (NaN counts as failure)."""
        y = np.asarray(y, dtype=float)
        return ~self.holds(y) | np.isnan(y)

    def describe(self, *, paired: bool, negate: bool = False) -> str:
        """Plain words: "quality at month 60 above the paired baseline" (with ``negate``: "not above")."""
        words = {">": "above", ">=": "at least", "<": "below", "<=": "at most"}[self.op]
        if negate:
            words = "not " + words
        what = outcome_words(self.metric)
        if paired and self.threshold == 0:
            return f"{what} at month {self.month} {words} the paired baseline"
        target = (
            f"the paired baseline {'+' if self.threshold >= 0 else '-'} {abs(self.threshold):g}"
            if paired
            else f"{self.threshold:g}"
        )
        return f"{what} at month {self.month} {words} {target}"


def parse_criterion(text: str, theory: Theory) -> Criterion:
    """Parse ``"OUTPUT@MONTH OP VALUE"`` (``quality@60 > 0``); OUTPUT is an alias or metric name."""
    m = _CRITERION.match(text or "")
    if not m:
        raise ConfigError(
            'expected "OUTPUT@MONTH OP VALUE", e.g. "quality@60 > 0" (OP one of > >= < <=)',
            key="--criterion",
            value=text,
        )
    metric = resolve_outputs(m.group(1), theory)[0]
    return Criterion(metric=metric, month=int(m.group(2)), op=m.group(3), threshold=float(m.group(4)))


def outcome_words(metric: str) -> str:
    """The metric's display name inside a sentence ("quality", "trusts in deficit"), never its column name."""
    label = outcome_for(metric).label
    return label[:1].lower() + label[1:] if label[1:2].islower() else label
