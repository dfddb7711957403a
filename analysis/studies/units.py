"""Outcomes in the units people use: CQC rating bands, £m, RTT 18-week performance, vacancy rates.

The mapping is data, ``scenarios/theory/units.toml`` (every number ``{default, low, high,
source}``), read and checked by :func:`load_units`. There are two kinds of unit outcome:

1. **Counted inside each run** from the trusts' own levels, by :class:`sim.outcomes.RatingBands`
   (the run function :class:`UnitsRun` of ``partnersim run``/``compare`` attaches one to every
   run): ``share_outstanding`` and ``share_inadequate`` (quality against the theory's lines
   ``band.outstanding_quality`` and ``band.inadequate_quality`` in ``irt.toml``),
   ``sector_surplus_gbp_m`` (the sum over trusts of turnover × surplus %, with the theory's own
   mapping from efficiency to surplus) and ``sector_surplus_pct`` (that sum over the sector's
   turnover). The model's ``share_good_or_outstanding`` uses the theory's good line.
2. **Derived afterwards** from stored metrics by :func:`with_units`: ``share_good`` and
   ``share_requires_improvement`` (from the counted shares), ``rtt_18_weeks_pct`` (from
   ``mean_access``) and ``vacancy_pct`` (from ``mean_workforce``), straight lines through a
   reference point.

The file also declares each outcome's **minimum important difference** (:func:`minimum_difference`),
which :mod:`analysis.studies.compare` uses for its verdicts.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

import sim
from analysis.batching import run_many_tables
from analysis.store.format import RunTables
from sim import ConfigError, RunResult, RunSpec
from sim.bounds import Bound
from sim.outcomes import BAND_METRICS, RatingBands
from sim.theory import default_theory_path
from sim.toml_io import read_toml, reject_unknown

# pandas: imported by the functions that build or read tables, not with the module, so a run's
# workers are forked without it (tests/test_architecture.py)
if TYPE_CHECKING:
    import pandas as pd

DEFAULT_UNITS = default_theory_path().parent / "units.toml"

LEVEL = Bound(0.0, 1.0, "a level of an index (0 to 1)")
PERCENT = Bound(0.0, 100.0, "a percentage (0 to 100)")
SLOPE = Bound(0.0, 1000.0, "percentage points per unit of the index (0 to 1000)")
MID = Bound(0.0, 1e6, "a difference in the outcome's own unit (0 or more)")

NUMBERS: dict[str, Bound] = {
    "rtt.index_at_reference": LEVEL,
    "rtt.pct_at_reference": PERCENT,
    "rtt.pct_per_unit": SLOPE,
    "vacancy.index_at_reference": LEVEL,
    "vacancy.pct_at_reference": PERCENT,
    "vacancy.pct_per_unit": SLOPE,
}
"""Every number of the mapping (``section.key``) and what it can mean."""

SHARE_OUTCOMES = (
    "share_good_or_outstanding",
    "share_outstanding",
    "share_good",
    "share_requires_improvement",
    "share_inadequate",
    "share_special_measures",
    "share_in_deficit",
)
MID_OUTCOMES = (
    *SHARE_OUTCOMES,
    "sector_surplus_gbp_m",
    "sector_surplus_pct",
    "mean_surplus_pct",
    "rtt_18_weeks_pct",
    "vacancy_pct",
    "mean_quality",
    "mean_efficiency",
    "mean_access",
    "mean_workforce",
)
"""Outcomes that may declare a minimum important difference (in their own display unit)."""

OBSERVED = BAND_METRICS
"""Metrics counted inside each run (:class:`sim.outcomes.RatingBands`)."""
DERIVED = ("share_good", "share_requires_improvement", "rtt_18_weeks_pct", "vacancy_pct")
"""Metrics :func:`with_units` derives from stored ones."""
NEEDS = ("share_good_or_outstanding", "share_outstanding", "share_inadequate", "mean_access", "mean_workforce")
"""Stored metrics the derived ones are computed from (load these with the series)."""
CQC_BANDS = ("share_outstanding", "share_good", "share_requires_improvement", "share_inadequate")
"""The four CQC rating bands, best first."""


# -- the file ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Number:
    """One declared number: default, range and source (low = high = default when fixed)."""

    default: float
    low: float
    high: float
    source: str
    unit: str = ""


@dataclass(frozen=True)
class Units:
    """The mapping from indices to units, and the minimum important differences."""

    path: str
    name: str
    numbers: Mapping[str, Number]
    mids: Mapping[str, Number]
    digest: str = ""

    def v(self, key: str) -> float:
        """The default of number ``key`` (``section.key``)."""
        return self.numbers[key].default

    def rows(self) -> list[tuple[str, Number]]:
        """Every number and MID, as (key, number), in file order: for tables."""
        return [*self.numbers.items(), *((f"mid.{k}", n) for k, n in self.mids.items())]


def load_units(path: str | Path | None = None) -> Units:
    """Read and check a units file (default ``scenarios/theory/units.toml``); errors name file, key and bound."""
    file = Path(path) if path is not None else DEFAULT_UNITS
    return _load_cached(str(file.resolve()), file.stat().st_mtime_ns if file.exists() else 0)


@functools.lru_cache(maxsize=8)
def _load_cached(file: str, mtime: int) -> Units:
    raw, digest = read_toml(file)
    sections = sorted({k.split(".")[0] for k in NUMBERS} | {"meta", "mid"})
    reject_unknown(raw, sections, file=file, prefix="")
    numbers = {}
    for key, bound in NUMBERS.items():
        section, name = key.split(".")
        table = raw.get(section, {})
        if not isinstance(table, dict):
            raise ConfigError("expected a table", file=file, key=section, value=table)
        reject_unknown(
            table, [k.split(".")[1] for k in NUMBERS if k.startswith(section + ".")], file=file, prefix=section
        )
        if name not in table:
            raise ConfigError("missing number", file=file, key=key)
        numbers[key] = _number(table[name], bound, file, key)
    mids_raw = raw.get("mid", {})
    if not isinstance(mids_raw, dict):
        raise ConfigError("expected a table", file=file, key="mid", value=mids_raw)
    reject_unknown(mids_raw, MID_OUTCOMES, file=file, prefix="mid")
    mids = {k: _number(v, MID, file, f"mid.{k}") for k, v in mids_raw.items()}
    meta = raw.get("meta", {}) if isinstance(raw.get("meta", {}), dict) else {}
    return Units(file, str(meta.get("name", Path(file).stem)), numbers, mids, digest[:16])


def _number(entry: Any, bound: Bound, file: str, key: str) -> Number:
    """One ``{default, low, high, source}`` (or ``{value, source}``) entry, checked."""
    if not isinstance(entry, dict):
        raise ConfigError("expected a table {default, low, high, source} or {value, source}", file=file, key=key)
    fixed = "value" in entry
    allowed = ("value", "source", "unit") if fixed else ("default", "low", "high", "source", "unit")
    reject_unknown(entry, allowed, file=file, prefix=key)
    for field in allowed:
        if field not in entry and field != "unit":
            raise ConfigError(f"missing field '{field}'", file=file, key=f"{key}.{field}")
    source = entry["source"]
    if not isinstance(source, str) or not source.strip():
        raise ConfigError("expected a source: evidence.md#KEY or 'assumption'", file=file, key=f"{key}.source")
    values = {}
    for field in ("value",) if fixed else ("default", "low", "high"):
        v = entry[field]
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
            raise ConfigError("expected a finite number", file=file, key=f"{key}.{field}", value=v)
        if not bound.contains(float(v)):
            raise ConfigError(f"outside {bound.text()}, {bound.meaning}", file=file, key=f"{key}.{field}", value=v)
        values[field] = float(v)
    if fixed:
        values = {"default": values["value"], "low": values["value"], "high": values["value"]}
    elif not values["low"] <= values["default"] <= values["high"]:
        raise ConfigError(
            f"needs low <= default <= high (low {values['low']:g}, high {values['high']:g})",
            file=file,
            key=f"{key}.default",
            value=values["default"],
        )
    return Number(values["default"], values["low"], values["high"], source.strip(), str(entry.get("unit", "")))


# -- minimum important differences --------------------------------------------------------------
def minimum_difference(metric: str, units: Units | None = None) -> float | None:
    """The minimum important difference of ``metric`` in its stored unit (shares as fractions), or None."""
    units = units or load_units()
    mid = units.mids.get(metric)
    if mid is None:
        return None
    return mid.default / 100.0 if metric.startswith("share_") else mid.default


# -- counted inside each run --------------------------------------------------------------------
@dataclass(frozen=True)
class UnitsRun:
    """The run function of ``run``/``compare``: :func:`sim.run` plus the :data:`OBSERVED` metrics in the series.

    The metrics are counted by :class:`sim.outcomes.RatingBands` inside each run (alone or in a
    batch), with the theory's quality lines. Picklable (workers import it).
    """

    def __call__(self, spec: RunSpec, seed: int, horizon: int | None = None) -> RunResult:
        """One run, alone."""
        return joined(sim.run(spec, seed, horizon, observers=[RatingBands()]))

    def many(self, runs: Sequence[tuple[RunSpec, int]]) -> list[RunTables]:
        """Many runs together in the engine (each identical to the run alone), as arrays for the store.

        The batch's :class:`~sim.outcomes.RatingBands` share one count per month; their columns
        follow the model's metrics, as in :func:`joined`.
        """
        out = []
        for tables, (counted,) in run_many_tables(runs, [[o] for o in RatingBands.batch(len(runs))]):
            values = np.hstack([tables.values, counted[tables.months]])
            out.append(replace(tables, metrics=(*tables.metrics, *OBSERVED), values=values))
        return out


def joined(result: RunResult) -> RunResult:
    """The run's series with its :class:`~sim.outcomes.RatingBands` result as extra columns (matched by month)."""
    counted = result.observed[0]
    steps = result.series["step"].to_numpy(dtype=int)
    for j, name in enumerate(OBSERVED):
        result.series[name] = counted[steps, j]
    result.observed = []
    return result


# -- derived afterwards -------------------------------------------------------------------------
def with_units(series: pd.DataFrame, units: Units | None = None) -> pd.DataFrame:
    """``series`` (tidy long) with the :data:`DERIVED` metrics added wherever their inputs are stored.

    Derived values are computed per run and month, so paired differences stay paired.
    """
    import pandas as pd  # with the first table, not with this module (a run's workers never need it)

    units = units or load_units()
    keys = ["scenario", "point", "replicate", "seed", "step", "date"]
    keys = [k for k in keys if k in series.columns]
    # metric names are compared as they are stored (a categorical column is matched through its
    # categories), not turned into a string per row: that took most of this function's time
    have = {str(m) for m in series["metric"].unique()}
    sub = series[series["metric"].isin(NEEDS)]
    if sub.empty:
        return series
    wide = sub.pivot_table(index=keys, columns="metric", values="value", aggfunc="first", observed=True)
    derived = pd.DataFrame(index=wide.index)
    if {"share_good_or_outstanding", "share_outstanding"} <= set(wide):
        derived["share_good"] = (wide["share_good_or_outstanding"] - wide["share_outstanding"]).clip(lower=0.0)
    if {"share_good_or_outstanding", "share_inadequate"} <= set(wide):
        derived["share_requires_improvement"] = (
            1.0 - wide["share_good_or_outstanding"] - wide["share_inadequate"]
        ).clip(lower=0.0)
    if "mean_access" in wide:
        derived["rtt_18_weeks_pct"] = rtt_pct(wide["mean_access"], units)
    if "mean_workforce" in wide:
        derived["vacancy_pct"] = vacancy_pct(wide["mean_workforce"], units)
    derived = derived[[c for c in derived.columns if c not in have]]
    if derived.empty:
        return series
    long = derived.reset_index().melt(id_vars=keys, var_name="metric", value_name="value")
    return concat_long(series, long[[c for c in series.columns if c in long.columns]])


def concat_long(series: pd.DataFrame, extra: pd.DataFrame) -> pd.DataFrame:
    """Rows of ``extra`` appended to ``series``, keeping categorical columns categorical (and their order)."""
    import pandas as pd  # with the first table, not with this module (a run's workers never need it)

    series, extra = series.copy(), extra.copy()
    for col in series.columns:
        if isinstance(series[col].dtype, pd.CategoricalDtype) and col in extra:
            known = list(series[col].cat.categories)
            labels = _as_str(extra[col])
            new = [v for v in labels.unique() if v not in set(map(str, known))]
            dtype = pd.CategoricalDtype([*known, *new], ordered=series[col].cat.ordered)
            series[col] = series[col].astype(dtype)
            extra[col] = labels.astype(dtype)
        elif col in extra:
            extra[col] = extra[col].astype(series[col].dtype)
    return pd.concat([series, extra], ignore_index=True)


def _as_str(column: pd.Series) -> pd.Series:
    """``column`` as strings: a categorical column stays categorical, only its categories become strings.

    Turning a categorical column into strings row by row (``astype(str)``) builds a string per row,
    most of the time :func:`concat_long` took; renaming its categories gives the same labels.
    """
    if column.dtype.name == "category":
        return column.cat.rename_categories([str(c) for c in column.cat.categories])
    return column.astype(str)


def rtt_pct(access: Any, units: Units | None = None) -> Any:
    """RTT 18-week performance (%) from the mean access index: a line through the reference point, in [0, 100]."""
    units = units or load_units()
    line = units.v("rtt.pct_at_reference") + units.v("rtt.pct_per_unit") * (access - units.v("rtt.index_at_reference"))
    return np.clip(line, 0.0, 100.0)


def vacancy_pct(workforce: Any, units: Units | None = None) -> Any:
    """Staff vacancy rate (%) from the mean workforce index: fewer vacancies as the index rises, in [0, 100]."""
    units = units or load_units()
    ref = units.v("vacancy.index_at_reference")
    line = units.v("vacancy.pct_at_reference") - units.v("vacancy.pct_per_unit") * (workforce - ref)
    return np.clip(line, 0.0, 100.0)
