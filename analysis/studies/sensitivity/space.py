"""The parameter space of a sensitivity analysis, read from the theory (step 1 of the pipeline).

Every declared quantity whose range is wider than a point (``low < high``) in ``irt.toml`` or
``typology.toml`` becomes a :class:`Factor` named by its theory path, with its bounds, its
distribution and a pathway group (see :mod:`analysis.studies.sensitivity` for the groups and
the distributions). Also: the outputs an analysis can name (aliases such as ``quality``).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim import ConfigError
from sim.outcomes import metric_catalogue
from sim.theory import Theory

GROUPS = ("structural", "relational", "outcome", "mechanisms", "typology", "population", "regulation", "formation")
OUTPUT_ALIASES = {
    "quality": "mean_quality",
    "efficiency": "mean_efficiency",
    "access": "mean_access",
    "good": "share_good_or_outstanding",
    "deficit": "share_in_deficit",
    "special_measures": "share_special_measures",
    "surplus": "mean_surplus_pct",
    "partnerships": "partnerships_active",
    "partnered": "share_partnered",
    "trust": "mean_trust",
    "inequality": "ics_quality_sd",
}


@dataclass(frozen=True)
class Factor:
    """One uncertain parameter of the theory as a sensitivity-analysis factor."""

    name: str
    low: float
    high: float
    default: float
    dist: str = "uniform"
    integer: bool = False
    group: str = "other"
    source: str = ""

    def ppf(self, u: np.ndarray) -> np.ndarray:
        """Map unit coordinates ``u`` in [0, 1] to parameter values in [low, high]."""
        from scipy import stats

        u = np.clip(np.asarray(u, dtype=float), 0.0, 1.0)
        low, high = self.low, self.high
        if self.integer:  # widen by half a step so every whole number gets its share
            low, high = np.ceil(low) - 0.5, np.floor(high) + 0.5
        if self.dist == "uniform":
            x = low + u * (high - low)
        elif self.dist == "triangular":
            c = (self.default - low) / (high - low)
            x = stats.triang.ppf(u, c, loc=low, scale=high - low)
        elif self.dist == "normal":
            sd = (high - low) / 4.0
            x = stats.truncnorm.ppf(
                u, (low - self.default) / sd, (high - self.default) / sd, loc=self.default, scale=sd
            )
        elif self.dist == "lognormal":
            if low <= 0:
                raise ConfigError("a lognormal parameter needs low > 0", key=self.name, value=self.low)
            ll, lh, lm = np.log(low), np.log(high), np.log(self.default)
            sd = (lh - ll) / 4.0
            x = np.exp(stats.truncnorm.ppf(u, (ll - lm) / sd, (lh - lm) / sd, loc=lm, scale=sd))
        else:  # pragma: no cover - Param validation rejects other names
            raise ConfigError("unknown distribution", key=self.name, value=self.dist)
        if self.integer:
            return np.clip(np.rint(x), np.ceil(self.low), np.floor(self.high))
        return np.clip(x, self.low, self.high)


@dataclass(frozen=True)
class ParameterSpace:
    """The factors of an analysis; every other parameter keeps its value in force."""

    factors: tuple[Factor, ...]

    @property
    def names(self) -> list[str]:
        """Factor names (theory paths), in theory order."""
        return [f.name for f in self.factors]

    @property
    def groups(self) -> list[str]:
        """Pathway group of each factor."""
        return [f.group for f in self.factors]

    @property
    def group_names(self) -> list[str]:
        """Groups present, in the order of :data:`GROUPS` (then any others)."""
        present = set(self.groups)
        return [g for g in GROUPS if g in present] + sorted(present - set(GROUPS))

    def __len__(self) -> int:
        return len(self.factors)

    def problem(self, *, grouped: bool = False) -> dict[str, Any]:
        """The SALib problem in unit coordinates (optionally with pathway groups)."""
        prob: dict[str, Any] = {"num_vars": len(self), "names": self.names, "bounds": [[0.0, 1.0]] * len(self)}
        if grouped:
            prob["groups"] = self.groups
        return prob

    def value_problem(self) -> dict[str, Any]:
        """The SALib problem in parameter values (for the given-sample methods)."""
        return {"num_vars": len(self), "names": self.names, "bounds": [[f.low, f.high] for f in self.factors]}

    def to_values(self, unit: np.ndarray) -> np.ndarray:
        """Parameter values of a design given in unit coordinates (rows × factors)."""
        unit = np.atleast_2d(unit)
        return np.column_stack([f.ppf(unit[:, j]) for j, f in enumerate(self.factors)]) if len(self) else unit

    def table(self) -> pd.DataFrame:
        """One row per factor: name, group, bounds, default, distribution, source, plain label."""
        return pd.DataFrame(
            [
                {
                    "parameter": f.name,
                    "group": f.group,
                    "low": f.low,
                    "high": f.high,
                    "default": f.default,
                    "dist": f.dist,
                    "integer": f.integer,
                    "label": describe_param(f.name),
                    "source": f.source,
                }
                for f in self.factors
            ]
        )


def pathway_group(theory: Theory, name: str) -> str:
    """Pathway group of parameter ``name`` (see the module docstring for the rules)."""
    parts = name.split(".")
    head = parts[0]
    tiers = {d.name: d.tier for d in theory.domains}
    if head == "edge":
        source = parts[1].split("->")[0]
        return tiers.get(source, "outcome")
    if head == "domain":
        return tiers.get(parts[1], "outcome")
    if head == "partnering":
        return "structural"
    if head == "type":
        return "structural" if len(parts) >= 4 and parts[2] == "effect" else "typology"
    return {
        "mechanism": "mechanisms",
        "population": "population",
        "start": "population",
        "regulation": "regulation",
        "band": "regulation",
        "formation": "formation",
    }.get(head, head)


def parameter_space(
    theory: Theory,
    patterns: str | Sequence[str] | None = None,
    *,
    exclude: str | Sequence[str] | None = None,
    pinned: Mapping[str, float] | None = None,
    origin: str = "--params",
) -> ParameterSpace:
    """Factors for every uncertain parameter of ``theory``, optionally a subset.

    Args:
        theory: the theory (its typology included).
        patterns: fnmatch patterns (a list, or one comma-separated string) selecting factors by
            name, or group names (``mechanisms``); None selects every uncertain parameter.
        exclude: patterns or group names to leave out.
        pinned: parameters the scenario sets (``uncertainties.effect_overrides``); they stay at
            the scenario's value unless a pattern names them exactly.
        origin: what to name in errors (the CLI option or file the patterns came from).

    Returns:
        The parameter space, in the theory's declaration order.
    """
    uncertain = theory.uncertain_params()
    groups = {p.name: pathway_group(theory, p.name) for p in uncertain}
    include = split_patterns(patterns)
    chosen = (
        [p for p in uncertain if any(_match_one(p.name, groups[p.name], pat) for pat in include)]
        if include
        else list(uncertain)
    )
    if include:
        for pat in include:  # a pattern that selects nothing is a mistake, not a no-op
            if not any(_match_one(p.name, groups[p.name], pat) for p in uncertain):
                raise ConfigError(
                    "no uncertain theory parameter matches this pattern",
                    key=origin,
                    value=pat,
                    choices=[*GROUPS, *groups],
                )
    drop = split_patterns(exclude)
    chosen = [p for p in chosen if not any(_match_one(p.name, groups[p.name], pat) for pat in drop)]
    pinned = pinned or {}
    chosen = [p for p in chosen if p.name not in pinned or p.name in include]
    if not chosen:
        raise ConfigError(
            "the selection leaves no uncertain parameter to analyse", key=origin, value=",".join(include) or None
        )
    return ParameterSpace(
        tuple(
            Factor(
                name=p.name,
                low=p.low,
                high=p.high,
                default=p.default,
                dist=p.dist,
                integer=p.integer,
                group=groups[p.name],
                source=p.source,
            )
            for p in chosen
        )
    )


def split_patterns(patterns: str | Sequence[str] | None) -> list[str]:
    """Patterns from a comma-separated string or a list of them (blanks dropped)."""
    if not patterns:
        return []
    items = patterns.split(",") if isinstance(patterns, str) else [x for p in patterns for x in p.split(",")]
    return [p.strip() for p in items if p.strip()]


def _match_one(name: str, group: str, pattern: str) -> bool:
    return pattern == group or fnmatch.fnmatchcase(name, pattern)


_MECHANISM_WORDS = {
    "trust_build": "how fast trust builds",
    "trust_erosion": "how fast trust erodes",
    "trust_init": "starting trust between partners",
    "faith_init": "starting faith in the partnership",
    "faith_rate": "how fast faith adjusts",
    "confidence_rate": "how fast confidence adjusts",
    "conflict_rate": "how fast conflict adjusts",
    "conflict_base": "background conflict",
    "inertia_threshold": "collaborative-inertia threshold",
    "inertia_months": "months of inertia before dissolution",
    "behaviour_w_risk": "weight of the risk threshold in collaborative behaviour",
}


def describe_param(name: str) -> str:
    """Plain-language label of a theory parameter (``edge.a->b.weight`` → "effect of a on b")."""
    parts = name.split(".")

    def words(s: str) -> str:
        return s.replace("_", " ")

    head = parts[0]
    if head == "edge" and len(parts) == 3:
        src, _, tgt = parts[1].partition("->")
        return (
            f"effect of {words(src)} on {words(tgt)}"
            if parts[2] == "weight"
            else f"delay from {words(src)} to {words(tgt)} (months)"
        )
    if head == "domain" and len(parts) == 3:
        d = words(parts[1])
        return {
            "init_mean": f"starting {d} level",
            "init_sd": f"spread of starting {d}",
            "rate": f"how fast {d} adjusts",
            "noise": f"month-to-month noise in {d}",
        }.get(parts[2], name)
    if head == "mechanism":
        return _MECHANISM_WORDS.get(parts[1], words(parts[1]))
    if head == "partnering":
        if len(parts) == 3 and parts[1] == "disruption":
            return f"transition disruption to {words(parts[2])}"
        if len(parts) == 3 and parts[1] == "scale":
            return f"scale gains in {words(parts[2])}"
        return f"partnering {words(parts[1])}"
    if head == "type" and len(parts) >= 3:
        t = words(parts[1])
        if parts[2] == "effect" and len(parts) == 4:
            return f"{t}'s effect on {words(parts[3])}"
        return f"{t} {words(parts[2])}"
    if head in ("formation", "regulation", "population", "band") and len(parts) == 2:
        return f"{head} {words(parts[1])}"
    return name


def resolve_outputs(outputs: str | Sequence[str], theory: Theory) -> list[str]:
    """Metric names for output names (aliases such as ``quality`` or any metric name)."""
    names = [m.name for m in metric_catalogue(theory)]
    items = split_patterns(outputs)
    if not items:
        raise ConfigError("name at least one output", key="--outputs", choices=[*OUTPUT_ALIASES, *names])
    out = []
    for item in items:
        metric = OUTPUT_ALIASES.get(item, item)
        if metric not in names:
            raise ConfigError("unknown output", key="--outputs", value=item, choices=[*OUTPUT_ALIASES, *names])
        if metric not in out:
            out.append(metric)
    return out


def output_label(metric: str) -> str:
    """Short name of a metric (its alias when it has one)."""
    for alias, m in OUTPUT_ALIASES.items():
        if m == metric:
            return alias
    return metric


def read_patterns(text: str | None) -> str | None:
    """``--params`` value: patterns, or ``@FILE`` with one pattern per line (# comments)."""
    if not text or not text.startswith("@"):
        return text
    path = Path(text[1:])
    if not path.is_file():
        raise ConfigError("file not found", file=str(path), key="--params")
    lines = [ln.split("#")[0].strip() for ln in path.read_text().splitlines()]
    return ",".join(ln for ln in lines if ln)
