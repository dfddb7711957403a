"""Sensitivity analysis over the theory's uncertain parameters (design.md §8).

The parameter space is read from the theory, never written by hand: every declared
quantity whose range is wider than a point (``low < high``) in ``irt.toml`` or
``typology.toml`` becomes a factor named by its theory path
(``edge.governance->culture.weight``, ``mechanism.trust_build``,
``type.merger.effect.governance``…), with its bounds, its distribution and a pathway group.
A parameter added to the theory file therefore appears here with no code change.

The pipeline has four steps, each a plain function:

1. :func:`parameter_space` — factors from the theory (optionally a subset by pattern).
2. :func:`make_design` — a SALib design in the unit hypercube, mapped to parameter values
   through each factor's distribution (:meth:`ParameterSpace.to_values`).
3. :func:`evaluate_design` — every design point × replicate through one *point task*
   (``task(overrides, seed) -> array[months, outputs]``). :class:`ModelTask` runs the model
   (optionally as a paired difference against a contrast scenario); tests pass a plain
   function (Ishigami) through exactly the same path.
4. :func:`analyse` — indices per output and month on the replicate mean, the share of
   variance that is replicate noise, and a convergence check on the first half of the sample.

Groups (``--groups``) follow the pathways of the theory:

==============  ===============================================================================
structural      edges out of structural domains; structural domains' own dynamics
                (``domain.<structural>.*``); how partnering acts (``partnering.*``) and the
                types' effects on domains (``type.<t>.effect.<d>``)
relational      edges out of relational domains; relational domains' own dynamics
outcome         edges out of outcome domains (feedback, e.g. efficiency → workforce) and
                outcome domains' own dynamics
mechanisms      ``mechanism.*`` (conflict, trust, confidence, faith, risk, inertia)
typology        the other ``type.*`` ratings (integration, organisational change, contract
                strength, approval and transition months)
population      ``population.*`` (correlation of starting levels, ICS spread) and ``start.*`` (the
                partnerships that existed in July 2022)
regulation      ``regulation.*`` and ``band.*`` (special measures, rating bands)
formation       ``formation.*`` (who seeks partners and whom they choose)
==============  ===============================================================================

Distributions (``dist`` in the theory file) map a unit-hypercube coordinate ``u`` to a value:
``uniform`` on [low, high]; ``triangular`` on [low, high] with its mode at ``default``;
``normal`` truncated to [low, high], mean ``default``, s.d. (high − low)/4; ``lognormal``
truncated to [low, high], median ``default``, log-s.d. (ln high − ln low)/4 (needs low > 0).
Integer parameters are rounded after mapping (each whole number of a uniform range is
equally likely). Values are always inside the declared range, as ``Theory.with_values``
requires. Sobol, eFAST and Morris analyse the unit coordinates (Morris elementary effects
are therefore per unit of the factor's *range*, comparable across factors); PAWN and delta
analyse the values.
"""

from __future__ import annotations

import fnmatch
import json
import os
import sys
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from sim import ConfigError
from sim.api import RunSpec, build_model
from sim.theory import Theory

if TYPE_CHECKING:
    from matplotlib.figure import Figure

METHODS = ("morris", "sobol", "efast", "pawn", "delta")
GIVEN_SAMPLE_METHODS = ("pawn", "delta")
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
# The index each method ranks factors by.
RANK_INDEX = {"sobol": "ST", "morris": "mu_star", "efast": "ST", "pawn": "median", "delta": "delta"}
# Replicate noise above this share of the analysed output's variance makes indices unreliable.
NOISE_WARN_SHARE = 0.10
DEFAULT_TOP_K = 5



# ---------------------------------------------------------------------------------------
# 1. The parameter space
# ---------------------------------------------------------------------------------------
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
            x = stats.truncnorm.ppf(u, (low - self.default) / sd, (high - self.default) / sd, loc=self.default,
                                    scale=sd)
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
        return pd.DataFrame([{"parameter": f.name, "group": f.group, "low": f.low, "high": f.high,
                              "default": f.default, "dist": f.dist, "integer": f.integer,
                              "label": describe_param(f.name), "source": f.source} for f in self.factors])


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
    return {"mechanism": "mechanisms", "population": "population", "start": "population", "regulation": "regulation",
            "band": "regulation", "formation": "formation"}.get(head, head)


def parameter_space(theory: Theory, patterns: str | Sequence[str] | None = None, *,
                    exclude: str | Sequence[str] | None = None, pinned: Mapping[str, float] | None = None,
                    origin: str = "--params") -> ParameterSpace:
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
    include = _split_patterns(patterns)
    chosen = [p for p in uncertain if any(_match_one(p.name, groups[p.name], pat) for pat in include)] \
        if include else list(uncertain)
    if include:
        for pat in include:  # a pattern that selects nothing is a mistake, not a no-op
            if not any(_match_one(p.name, groups[p.name], pat) for p in uncertain):
                raise ConfigError("no uncertain theory parameter matches this pattern", key=origin, value=pat,
                                  choices=[*GROUPS, *groups])
    drop = _split_patterns(exclude)
    chosen = [p for p in chosen if not any(_match_one(p.name, groups[p.name], pat) for pat in drop)]
    pinned = pinned or {}
    chosen = [p for p in chosen if p.name not in pinned or p.name in include]
    if not chosen:
        raise ConfigError("the selection leaves no uncertain parameter to analyse", key=origin,
                          value=",".join(include) or None)
    return ParameterSpace(tuple(Factor(name=p.name, low=p.low, high=p.high, default=p.default, dist=p.dist,
                                       integer=p.integer, group=groups[p.name], source=p.source) for p in chosen))


def _split_patterns(patterns: str | Sequence[str] | None) -> list[str]:
    if not patterns:
        return []
    items = patterns.split(",") if isinstance(patterns, str) else [x for p in patterns for x in p.split(",")]
    return [p.strip() for p in items if p.strip()]


def _match_one(name: str, group: str, pattern: str) -> bool:
    return pattern == group or fnmatch.fnmatchcase(name, pattern)


_MECHANISM_WORDS = {
    "trust_build": "how fast trust builds", "trust_erosion": "how fast trust erodes",
    "trust_init": "starting trust between partners", "faith_init": "starting faith in the partnership",
    "faith_rate": "how fast faith adjusts", "confidence_rate": "how fast confidence adjusts",
    "conflict_rate": "how fast conflict adjusts", "conflict_base": "background conflict",
    "inertia_threshold": "collaborative-inertia threshold", "inertia_months": "months of inertia before dissolution",
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
        return (f"effect of {words(src)} on {words(tgt)}" if parts[2] == "weight"
                else f"delay from {words(src)} to {words(tgt)} (months)")
    if head == "domain" and len(parts) == 3:
        d = words(parts[1])
        return {"init_mean": f"starting {d} level", "init_sd": f"spread of starting {d}",
                "rate": f"how fast {d} adjusts", "noise": f"month-to-month noise in {d}"}.get(parts[2], name)
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


# ---------------------------------------------------------------------------------------
# Outputs
# ---------------------------------------------------------------------------------------
def resolve_outputs(outputs: str | Sequence[str], theory: Theory) -> list[str]:
    """Metric names for output names (aliases such as ``quality`` or any metric name)."""
    from sim.outcomes import metric_catalogue

    names = [m.name for m in metric_catalogue(theory)]
    items = _split_patterns(outputs)
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


# ---------------------------------------------------------------------------------------
# 2. Designs
# ---------------------------------------------------------------------------------------
@dataclass
class Design:
    """A sample of the parameter space, in unit coordinates and in parameter values."""

    method: str
    unit: np.ndarray            # rows × factors, in [0, 1]
    values: np.ndarray          # rows × factors, parameter values
    N: int
    seed: int
    grouped: bool = False
    second_order: bool = False
    num_levels: int = 4
    M: int = 4
    names: list[str] = field(default_factory=list)

    @property
    def n_points(self) -> int:
        """Number of design points (model evaluations per replicate)."""
        return int(self.unit.shape[0])

    def block(self, space: ParameterSpace) -> int:
        """Rows per base point (Sobol: D+2 or 2D+2; Morris: D+1, D = factors or groups)."""
        d = len(space.group_names) if self.grouped else len(space)
        if self.method == "sobol":
            return 2 * d + 2 if self.second_order else d + 2
        if self.method == "morris":
            return d + 1
        return 1


def design_size(method: str, n_factors: int, N: int, *, second_order: bool = False) -> int:
    """Number of design points ``method`` needs for ``n_factors`` factors (or groups) at ``N``."""
    if method == "sobol":
        return N * (2 * n_factors + 2 if second_order else n_factors + 2)
    if method == "morris":
        return N * (n_factors + 1)
    if method == "efast":
        return N * n_factors
    return N


def make_design(space: ParameterSpace, method: str, N: int, *, seed: int = 0, grouped: bool = False,
                second_order: bool = False, num_levels: int = 4, M: int = 4) -> Design:
    """A SALib design for ``method`` (see :data:`METHODS`), mapped to parameter values.

    ``N`` is the base sample size: Sobol's N (a power of two; N·(D+2) points, N·(2D+2) with
    second order), Morris's number of trajectories (N·(D+1) points), eFAST's points per
    factor (N·D points, N > 4·M²) and the number of Latin-hypercube points for PAWN/delta.
    """
    from SALib.sample import fast_sampler, latin, morris, sobol

    check_design(method, N, space, grouped=grouped, second_order=second_order, num_levels=num_levels, M=M)
    prob = space.problem(grouped=grouped)
    if method == "sobol":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            unit = sobol.sample(prob, N, calc_second_order=second_order, scramble=True, seed=seed)
    elif method == "morris":
        unit = morris.sample(prob, N, num_levels=num_levels, seed=seed)
    elif method == "efast":
        unit = fast_sampler.sample(prob, N, M=M, seed=seed)
    else:
        unit = latin.sample(space.problem(), N, seed=seed)
    unit = np.clip(np.asarray(unit, dtype=float), 0.0, 1.0)
    return Design(method=method, unit=unit, values=space.to_values(unit), N=N, seed=seed, grouped=grouped,
                  second_order=second_order, num_levels=num_levels, M=M, names=space.names)


def check_design(method: str, N: int, space: ParameterSpace, *, grouped: bool = False, second_order: bool = False,
                 num_levels: int = 4, M: int = 4) -> None:
    """Reject a design that SALib cannot build or analyse, naming the option to change."""
    _check_method(method)
    if grouped and method not in ("sobol", "morris"):
        raise ConfigError("grouped indices exist only for sobol and morris", key="--groups", value=method,
                          choices=["sobol", "morris"])
    if grouped and len(space.group_names) < 2:
        raise ConfigError("grouped indices need factors from at least two groups", key="--groups",
                          value=space.group_names)
    if second_order and method != "sobol":
        raise ConfigError("second-order indices exist only for sobol", key="--second-order", value=method)
    if method == "sobol" and (N < 2 or N & (N - 1)):
        lo = 2 ** max(1, int(np.floor(np.log2(max(N, 2)))))
        raise ConfigError(f"Sobol needs N to be a power of two (e.g. {lo} or {lo * 2})", key="-N", value=N)
    if method == "morris" and N < 2:
        raise ConfigError("Morris needs at least 2 trajectories", key="-N", value=N)
    if method == "morris" and (num_levels < 2 or num_levels % 2):
        raise ConfigError("Morris needs an even number of levels (4 is usual)", key="--levels", value=num_levels)
    if method == "efast" and N <= 4 * M * M:
        raise ConfigError(f"eFAST needs N > 4·M² = {4 * M * M}", key="-N", value=N)
    if method in GIVEN_SAMPLE_METHODS and N < 20:
        raise ConfigError("PAWN and delta need at least 20 sample points (hundreds are usual)", key="-N", value=N)


def _check_method(method: str) -> None:
    if method not in METHODS:
        raise ConfigError("unknown sensitivity method", key="--method", value=method, choices=METHODS)


# ---------------------------------------------------------------------------------------
# 3. Evaluation
# ---------------------------------------------------------------------------------------
def replicate_seeds(seed: int, reps: int) -> list[int]:
    """Seeds of replicates 0..reps-1: common random numbers (the same at every design point).

    The experiments runner's scheme (``SeedSequence(seed).spawn(reps)``): replicate r of a
    sensitivity design gets the same seed as replicate r of an experiment with that seed.
    """
    children = np.random.SeedSequence(int(seed)).spawn(int(reps))
    return [int(c.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1)) for c in children]


@dataclass(frozen=True)
class ModelTask:
    """Run the model at one design point: ``task(overrides, seed) -> array[months, metrics]``.

    The design point's values are laid over the scenario's own ``effect_overrides`` and
    applied through ``uncertainties.effect_overrides`` (so ``Theory.with_values`` validates
    them). With ``contrast`` the task returns the paired difference scenario − contrast,
    both run with the same seed and the same theory values.
    """

    spec: RunSpec
    months: tuple[int, ...]
    metrics: tuple[str, ...]
    contrast: RunSpec | None = None

    def __call__(self, overrides: Mapping[str, float], seed: int) -> np.ndarray:
        """Outputs at ``months`` (rows) for ``metrics`` (columns)."""
        y = self._run(self.spec, overrides, seed)
        if self.contrast is not None:
            y = y - self._run(self.contrast, overrides, seed)
        return y

    def _run(self, spec: RunSpec, overrides: Mapping[str, float], seed: int) -> np.ndarray:
        unc = replace(spec.uncertainties, effect_overrides={**spec.uncertainties.effect_overrides, **overrides})
        model = build_model(replace(spec, uncertainties=unc), seed, horizon=max(self.months))
        row = {m: i for i, m in enumerate(self.months)}
        out = np.full((len(self.months), len(self.metrics)), np.nan)
        if 0 in row:
            out[row[0]] = [model.summary[k] for k in self.metrics]
        while model.running:
            model.step()
            if model.month in row:
                out[row[model.month]] = [model.summary[k] for k in self.metrics]
        return out


@dataclass(frozen=True)
class FunctionTask:
    """A plain function in place of the model: ``fn(overrides, seed)`` → scalar or array[outputs].

    Used by the known-answer tests; goes through the same evaluation and analysis as the model.
    """

    fn: Callable[[Mapping[str, float], int], Any]
    metrics: tuple[str, ...] = ("y",)
    months: tuple[int, ...] = (0,)

    def __call__(self, overrides: Mapping[str, float], seed: int) -> np.ndarray:
        """The function's value, shaped (months, metrics)."""
        y = np.asarray(self.fn(overrides, seed), dtype=float)
        return y.reshape(len(self.months), len(self.metrics))


PointTask = ModelTask | FunctionTask
"""What :func:`evaluate_design` evaluates: the model, or a plain function in its place."""


@dataclass
class MetricSeries:
    """What a runner run function returns: metrics at some months.

    ``series`` (the runner reads it) is the wide table ``step`` + one column per metric, built
    on demand; the in-memory backend reads ``values`` (months × metrics) directly.
    """

    months: tuple[int, ...]
    metrics: tuple[str, ...]
    values: np.ndarray
    partnerships: pd.DataFrame | None = None

    @property
    def series(self) -> pd.DataFrame:
        """Wide table: ``step`` then one column per metric."""
        return pd.DataFrame({"step": list(self.months), **{m: self.values[:, j] for j, m in
                                                            enumerate(self.metrics)}})


@dataclass(frozen=True)
class MetricsRun:
    """Runner run function for model tasks: the model's metrics at ``months`` only.

    The runner applies the design point (``with_point``) and the seed; storing a handful of
    months and metrics instead of every metric every month keeps a sensitivity sweep's store
    small (80 000 runs × 2 metrics × 11 months instead of × 52 × 121).
    """

    months: tuple[int, ...]
    metrics: tuple[str, ...]

    def __call__(self, spec: RunSpec, seed: int, horizon: int | None = None) -> MetricSeries:
        """Run ``spec`` with ``seed`` to the last month; keep the metrics at ``months``."""
        task = ModelTask(spec, self.months, self.metrics)
        return MetricSeries(self.months, self.metrics, task._run(spec, {}, seed))


@dataclass(frozen=True)
class FunctionRun:
    """Runner run function for a plain function in place of the model (known-answer tests)."""

    fn: Callable[[Mapping[str, float], int], Any]
    months: tuple[int, ...]
    metrics: tuple[str, ...]

    def __repr__(self) -> str:
        """Names the function by module and qualified name (stable across processes, for resume)."""
        fn = f"{getattr(self.fn, '__module__', '')}.{getattr(self.fn, '__qualname__', type(self.fn).__name__)}"
        return f"FunctionRun(fn={fn}, months={self.months}, metrics={self.metrics})"

    def __call__(self, spec: RunSpec, seed: int, horizon: int | None = None) -> MetricSeries:
        """``fn(design point, seed)`` as a short series."""
        y = FunctionTask(self.fn, self.metrics, self.months)(spec.uncertainties.effect_overrides, seed)
        return MetricSeries(self.months, self.metrics, y)


def evaluate_design(task: PointTask, values: np.ndarray, names: Sequence[str], *, seed: int, reps: int = 1,
                    executor: Any = "pool", workers: int | None = None, scheduler: str | None = None,
                    folder: str | Path | None = None, resume: bool = False, progress: bool | None = None,
                    command: Sequence[str] | None = None, backend: str = "runner") -> np.ndarray:
    """Evaluate every design point at every replicate: the one adapter to the executors.

    Runs go through the experiments runner (``analysis.runner``): one plan whose design
    points are the rows of ``values`` (applied as theory overrides), ``reps`` replicates with
    common random numbers, batched onto the serial, process-pool or Dask executor, stored
    batch by batch in ``folder`` (so ``resume`` skips finished runs), with the runner's
    progress bar. A :class:`ModelTask` runs the model through :class:`MetricsRun` (its
    contrast scenario is a second scenario of the same plan, paired by seed); a
    :class:`FunctionTask` runs its plain function through :class:`FunctionRun` by the same path.

    Args:
        task: a :class:`ModelTask` or :class:`FunctionTask`.
        values: design points (rows) × factors, in parameter values.
        names: factor names (columns of ``values``).
        seed: master seed; replicate seeds are :func:`replicate_seeds` (same at every point).
        reps: replicates per point.
        executor: ``serial``, ``pool``, or an executor object of ``analysis.runner``.
        workers: processes for the pool (default: all cores).
        scheduler: a Dask scheduler address (then the runner's Dask executor is used).
        folder: the experiment folder (default: a temporary one, removed afterwards).
        resume: continue an interrupted evaluation in ``folder``.
        progress: show the runner's progress bar (default: on a terminal).
        command: the command line, for the manifest.
        backend: ``runner`` (the default: executors, store, resume, progress) or ``memory``: the
            same plan, run functions, design points and seeds run in this process with nothing
            stored (for plain functions and quick looks; tests show both give identical arrays).

    Returns:
        array[points, replicates, months, metrics] (the contrast already subtracted).
    """
    import tempfile

    from analysis import runner
    from analysis.store import load_experiment

    values = np.atleast_2d(np.asarray(values, dtype=float))
    if isinstance(executor, str) and executor not in ("serial", "pool"):
        raise ConfigError("unknown executor", key="--executor", value=executor, choices=["serial", "pool"])
    specs, run_fn = _plan_parts(task)
    points = tuple({n: float(v) for n, v in zip(names, row, strict=True)} for row in values)
    plan = runner.Plan(tuple(runner.PlannedScenario(name, spec, {"role": role}) for name, spec, role in specs),
                       int(reps), int(seed), points, run_fn)
    if backend == "memory":
        return _evaluate_in_memory(plan, task.months, task.metrics)
    if backend != "runner":
        raise ConfigError("unknown backend", key="backend", value=backend, choices=["runner", "memory"])
    if isinstance(executor, str):
        ex = runner.make_executor(1 if executor == "serial" else workers, scheduler)
        own = True
    else:
        ex, own = executor, False
    tmp = tempfile.TemporaryDirectory(prefix="partnersim-sa-") if folder is None else None
    path = Path(tmp.name) / "experiment" if tmp is not None else Path(folder)  # type: ignore[arg-type]
    try:
        outcome = runner.run_experiment(plan, path, executor=ex, resume=resume, progress=progress, command=command)
        if outcome.failed:
            first = outcome.failures[0]
            raise RunFailure(f"{outcome.failed} of {outcome.total} runs failed (the store in {path} keeps their "
                             f"tracebacks; --resume retries them). First failure, point {first.point} replicate "
                             f"{first.replicate}:\n{first.error}")
        exp = load_experiment(path, metrics=list(task.metrics), steps=list(task.months), partnerships=False)
        return _series_array(exp.series, [name for name, _, _ in specs], len(points), reps, task.months,
                             task.metrics)
    finally:
        if own:
            ex.close()
        if tmp is not None:
            tmp.cleanup()


def _evaluate_in_memory(plan: Any, months: Sequence[int], metrics: Sequence[str]) -> np.ndarray:
    """Run ``plan`` in this process exactly as the runner's workers do, keeping only the array."""
    from analysis.runner import with_point

    names = [s.name for s in plan.scenarios]
    Y = np.full((len(names), len(plan.points), plan.replicates, len(months), len(metrics)), np.nan)
    for t in plan.tasks():
        result = plan.run_fn(with_point(plan.spec(t.scenario), plan.points[t.point]), t.seed, None)
        Y[names.index(t.scenario), t.point, t.replicate] = result.values
    return Y[0] - Y[1] if len(names) == 2 else Y[0]


class RunFailure(RuntimeError):
    """Some runs of a design raised; their tracebacks are in the experiment store."""


def _plan_parts(task: PointTask) -> tuple[list[tuple[str, RunSpec, str]], Any]:
    """Scenarios (name, spec, role) and run function of the runner plan for ``task``."""
    if isinstance(task, ModelTask):
        spec = replace(task.spec, horizon=max(task.months))
        specs = [(spec.name, spec, "scenario")]
        if task.contrast is not None:
            cname = task.contrast.name if task.contrast.name != spec.name else f"{spec.name} (contrast)"
            specs.append((cname, replace(task.contrast, name=cname, horizon=max(task.months)), "contrast"))
        return specs, MetricsRun(task.months, task.metrics)
    if isinstance(task, FunctionTask):
        return [("function", RunSpec(name="function", horizon=max(task.months)), "function")], \
            FunctionRun(task.fn, task.months, task.metrics)
    raise TypeError(f"cannot evaluate {task!r}: use ModelTask or FunctionTask")


def _series_array(series: pd.DataFrame, scenarios: Sequence[str], n_points: int, reps: int,
                  months: Sequence[int], metrics: Sequence[str]) -> np.ndarray:
    """array[points, replicates, months, metrics] from the store's long series (scenario 0 − scenario 1)."""
    Y = np.full((len(scenarios), n_points, reps, len(months), len(metrics)), np.nan)
    s_idx = pd.Categorical(series["scenario"].astype(str), categories=list(scenarios)).codes
    m_idx = pd.Categorical(series["metric"].astype(str), categories=list(metrics)).codes
    t_idx = pd.Categorical(series["step"].to_numpy(), categories=list(months)).codes
    ok = (s_idx >= 0) & (m_idx >= 0) & (t_idx >= 0)
    Y[s_idx[ok], series["point"].to_numpy()[ok], series["replicate"].to_numpy()[ok], t_idx[ok], m_idx[ok]] = \
        series["value"].to_numpy()[ok]
    if np.isnan(Y).any():
        raise RunFailure("the experiment store lacks some runs of the design (was it interrupted? use --resume)")
    return Y[0] - Y[1] if len(scenarios) == 2 else Y[0]


# ---------------------------------------------------------------------------------------
# 4. Analysis
# ---------------------------------------------------------------------------------------
@dataclass
class SensitivityResult:
    """Indices and diagnostics of one analysis.

    Attributes:
        method: the method.
        indices: one row per (metric, month, factor or group) with the method's indices
            (Sobol/eFAST: S1, S1_conf, ST, ST_conf; Morris: mu, mu_star, mu_star_conf, sigma;
            PAWN: minimum, mean, median, maximum, CV; delta (SALib's bootstrap "raw" estimator):
            delta, delta_conf, delta_balanced, S1, S1_conf),
            plus ``noise_share`` and ``rank`` (by :data:`RANK_INDEX`).
        second_order: Sobol S2 per pair (when asked for).
        noise: per (metric, month): variance between design points, within-point (replicate)
            variance, the noise share of the analysed replicate mean, and ``reliable``.
        convergence: per (metric, month): the top-k factors at N/2 and N and whether they agree.
        params: the factors (name, group, bounds, distribution, source).
        warnings: plain-language warnings (noise, non-varying outputs, unstable rankings).
    """

    method: str
    indices: pd.DataFrame
    second_order: pd.DataFrame | None
    noise: pd.DataFrame
    convergence: pd.DataFrame | None
    params: pd.DataFrame
    warnings: list[str] = field(default_factory=list)

    def top(self, metric: str, month: int, k: int = DEFAULT_TOP_K) -> pd.DataFrame:
        """The ``k`` most influential factors for ``metric`` at ``month``."""
        t = self.indices[(self.indices["metric"] == metric) & (self.indices["month"] == month)]
        return t.sort_values("rank").head(k)


def analyse_point(method: str, space: ParameterSpace, design: Design | None, y: np.ndarray, *,
                  x_values: np.ndarray | None = None, num_resamples: int = 100, conf_level: float = 0.95,
                  seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """Indices of one output vector ``y`` (one value per design point).

    Returns a table with one row per factor (or group) and, for Sobol with second order, the
    S2 table. Sobol, eFAST and Morris need the ``design``; PAWN and delta need the factor
    values ``x_values`` (rows × factors) of a given sample.
    """
    from SALib.analyze import delta, fast, morris, pawn, sobol

    _check_method(method)
    y = np.asarray(y, dtype=float)
    names = space.group_names if design is not None and design.grouped else space.names
    if _flat(y):
        nan = pd.DataFrame({"parameter": names})
        for col in _INDEX_COLUMNS[method]:
            nan[col] = np.nan
        return nan, None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if method == "sobol":
            assert design is not None
            prob = space.problem(grouped=design.grouped)
            si = sobol.analyze(prob, y, calc_second_order=design.second_order, num_resamples=num_resamples,
                               conf_level=conf_level, seed=seed)
            table = pd.DataFrame({"parameter": names, "S1": si["S1"], "S1_conf": si["S1_conf"], "ST": si["ST"],
                                  "ST_conf": si["ST_conf"]})
            s2 = None
            if design.second_order:
                rows = []
                for i in range(len(names)):
                    for j in range(i + 1, len(names)):
                        rows.append({"parameter": names[i], "parameter_2": names[j], "S2": si["S2"][i, j],
                                     "S2_conf": si["S2_conf"][i, j]})
                s2 = pd.DataFrame(rows)
            return table, s2
        if method == "morris":
            assert design is not None
            prob = space.problem(grouped=design.grouped)
            si = morris.analyze(prob, design.unit, y, num_resamples=num_resamples, conf_level=conf_level,
                                num_levels=design.num_levels, seed=seed)
            return pd.DataFrame({"parameter": list(si["names"]), "mu": si["mu"], "mu_star": si["mu_star"],
                                 "mu_star_conf": si["mu_star_conf"], "sigma": si["sigma"]}), None
        if method == "efast":
            assert design is not None
            si = fast.analyze(space.problem(), y, M=design.M, num_resamples=num_resamples, conf_level=conf_level,
                              seed=seed)
            return pd.DataFrame({"parameter": names, "S1": si["S1"], "S1_conf": si["S1_conf"], "ST": si["ST"],
                                 "ST_conf": si["ST_conf"]}), None
        x = x_values if x_values is not None else (design.values if design is not None else None)
        if x is None:
            raise ValueError("PAWN and delta need the sample's factor values")
        prob = space.value_problem()
        if method == "pawn":
            si = pawn.analyze(prob, x, y, S=10, seed=seed)
            return pd.DataFrame({"parameter": names, "minimum": si["minimum"], "mean": si["mean"],
                                 "median": si["median"], "maximum": si["maximum"], "CV": si["CV"]}), None
        state = np.random.get_state()  # SALib's delta seeds numpy's global generator and replaces
        fmt = warnings.formatwarning     # the warnings formatter: leave both as they were
        warnings.showwarning = _quiet    # and it resets the filters to "once": silence its notices here
        try:
            sd = delta.analyze(prob, x, y, num_resamples=num_resamples, conf_level=conf_level, seed=seed + 1,
                               method="delta")
            s1 = delta.analyze(prob, x, y, num_resamples=num_resamples, conf_level=conf_level, seed=seed + 1,
                               method="sobol")
        finally:
            np.random.set_state(state)
            warnings.formatwarning = fmt
        return pd.DataFrame({"parameter": names, "delta": sd["delta_raw"], "delta_conf": sd["delta_raw_conf"],
                             "delta_balanced": sd["delta_balanced"], "S1": s1["S1"], "S1_conf": s1["S1_conf"]}), None


def _quiet(*args: Any, **kwargs: Any) -> None:
    """A ``warnings.showwarning`` that shows nothing."""


_INDEX_COLUMNS = {"sobol": ["S1", "S1_conf", "ST", "ST_conf"], "efast": ["S1", "S1_conf", "ST", "ST_conf"],
                  "morris": ["mu", "mu_star", "mu_star_conf", "sigma"],
                  "pawn": ["minimum", "mean", "median", "maximum", "CV"],
                  "delta": ["delta", "delta_conf", "delta_balanced", "S1", "S1_conf"]}


def noise_table(Y: np.ndarray, months: Sequence[int], metrics: Sequence[str],
                probe: np.ndarray | None = None) -> pd.DataFrame:
    """Share of the analysed output's variance that is replicate noise, per metric and month.

    ``Y`` is array[points, replicates, months, metrics]; indices are computed on the
    replicate mean. Replicate r uses the same seed at every point (common random numbers),
    so the part of the noise that every point shares cancels from the comparison between
    points; what is left is the point × replicate interaction of a two-way layout. Its mean
    square (from ``probe``, array[points, seeds, months, metrics], when ``Y`` has one
    replicate), divided by R, is the noise variance of the replicate means:

    * ``noise_share`` = that noise variance / variance of the replicate means across points:
      the part of what the indices decompose that is noise, not parameters (warned about
      above :data:`NOISE_WARN_SHARE`);
    * ``noise_share_single_run`` = mean within-point variance across seeds / variance of all
      single runs: how noisy one run is, before pairing and averaging.
    """
    reps = Y.shape[1]
    mean = Y.mean(axis=1)
    src = Y if reps >= 2 else probe
    rows = []
    for mi, month in enumerate(months):
        for ki, metric in enumerate(metrics):
            ybar = mean[:, mi, ki]
            between = float(np.var(ybar, ddof=1)) if len(ybar) > 1 else float("nan")
            single = float(np.var(Y[:, :, mi, ki], ddof=1)) if Y[:, :, mi, ki].size > 1 else float("nan")
            within = interaction = float("nan")
            if src is not None and src.shape[0] >= 2 and src.shape[1] >= 2:
                z = src[:, :, mi, ki]
                within = float(np.mean(np.var(z, axis=1, ddof=1)))
                resid = z - z.mean(axis=1, keepdims=True) - z.mean(axis=0, keepdims=True) + z.mean()
                interaction = float((resid ** 2).sum() / ((z.shape[0] - 1) * (z.shape[1] - 1)))
            varies = not _flat(ybar)
            share = min(1.0, (interaction / reps) / between) if varies and between > 0 else float("nan")
            share1 = min(1.0, within / single) if single > 0 and not _flat(Y[:, :, mi, ki]) else float("nan")
            rows.append({"metric": metric, "month": int(month), "reps": reps, "varies": varies,
                         "var_between": between, "var_within": within, "var_interaction": interaction,
                         "noise_share": share, "noise_share_single_run": share1,
                         "reliable": bool(not varies or np.isnan(share) or share <= NOISE_WARN_SHARE)})
    return pd.DataFrame(rows)


def _flat(y: np.ndarray) -> bool:
    """True when ``y`` does not vary (beyond floating-point rounding)."""
    y = np.asarray(y, dtype=float)
    if not np.all(np.isfinite(y)):
        return True
    return bool(np.ptp(y) <= 1e-9 * max(1.0, float(np.max(np.abs(y)))))


def rank_table(table: pd.DataFrame, method: str) -> pd.DataFrame:
    """Add ``rank`` (1 = most influential by :data:`RANK_INDEX`) to an indices table."""
    col = RANK_INDEX[method]
    out = table.copy()
    key = out.groupby([c for c in ("metric", "month") if c in out.columns], sort=False)[col] \
        if {"metric", "month"} <= set(out.columns) else None
    if key is not None:
        out["rank"] = key.rank(ascending=False, method="first", na_option="bottom").astype(int)
    else:
        out["rank"] = out[col].rank(ascending=False, method="first", na_option="bottom").astype(int)
    return out


def half_design(design: Design, space: ParameterSpace) -> tuple[Design, np.ndarray]:
    """The first half of a design as a valid design of size N/2, and the rows it keeps.

    Sobol: the first N/2 blocks of D+2 (or 2D+2) rows (SALib lays out one block per base
    point, and the first N/2 points of a Sobol' sequence are themselves balanced); Morris:
    the first N/2 trajectories; PAWN/delta: the first N/2 rows. eFAST has no nested half.
    """
    if design.method == "efast":
        raise ValueError("eFAST designs have no nested half")
    half = design.N // 2
    rows = np.arange(half * design.block(space))
    return replace(design, unit=design.unit[rows], values=design.values[rows], N=half), rows


def convergence_table(method: str, space: ParameterSpace, design: Design, Ybar: np.ndarray, months: Sequence[int],
                      metrics: Sequence[str], full: pd.DataFrame, *, k: int = DEFAULT_TOP_K, seed: int = 0,
                      num_resamples: int = 100) -> pd.DataFrame | None:
    """Rerun the analysis on the first half of the sample; compare the top-k rankings.

    ``Ybar`` is array[points, months, metrics] (replicate means). Returns one row per metric
    and month: the top-k at N/2 and at N, ``same_set`` (the same k factors), ``same_order``
    and the Spearman correlation of all factors' indices between the two.
    """
    from scipy.stats import spearmanr

    if method == "efast" or design.N < 4:
        return None
    hd, rows = half_design(design, space)
    col = RANK_INDEX[method]
    out = []
    for mi, month in enumerate(months):
        for ki, metric in enumerate(metrics):
            big = full[(full["metric"] == metric) & (full["month"] == month)].set_index("parameter")[col]
            if big.isna().all():
                continue
            small, _ = analyse_point(method, space, hd, Ybar[rows, mi, ki], num_resamples=num_resamples, seed=seed)
            small_s = small.set_index("parameter")[col]
            kk = min(k, len(big))
            top_big = list(big.sort_values(ascending=False).index[:kk])
            top_small = list(small_s.sort_values(ascending=False).index[:kk])
            both = pd.concat([big, small_s], axis=1).dropna()
            rho = float(spearmanr(both.iloc[:, 0], both.iloc[:, 1]).statistic) if len(both) > 2 else float("nan")
            out.append({"metric": metric, "month": int(month), "k": kk, "N_half": hd.N, "N": design.N,
                        "top_half": ", ".join(top_small), "top_full": ", ".join(top_big),
                        "overlap": len(set(top_big) & set(top_small)), "same_set": set(top_big) == set(top_small),
                        "same_order": top_big == top_small, "spearman": rho,
                        "stable": set(top_big) == set(top_small)})
    return pd.DataFrame(out, columns=_CONVERGENCE_COLUMNS)


_CONVERGENCE_COLUMNS = ["metric", "month", "k", "N_half", "N", "top_half", "top_full", "overlap", "same_set",
                        "same_order", "spearman", "stable"]


def analyse(method: str, space: ParameterSpace, design: Design | None, Y: np.ndarray, *, months: Sequence[int],
            metrics: Sequence[str], probe: np.ndarray | None = None, x_values: np.ndarray | None = None,
            num_resamples: int = 100, conf_level: float = 0.95, seed: int = 0, top_k: int = DEFAULT_TOP_K,
            convergence_months: Sequence[int] | None = None) -> SensitivityResult:
    """Indices for every metric and month, on the replicate mean, with diagnostics.

    Args:
        method: one of :data:`METHODS`.
        space: the factors.
        design: the design (None for a given sample, then ``x_values`` is needed).
        Y: array[points, replicates, months, metrics] from :func:`evaluate_design`.
        months: months of ``Y``'s third axis.
        metrics: metrics of ``Y``'s fourth axis.
        probe: extra replicates at a few points (array[points, seeds, months, metrics]) to
            measure replicate noise when ``Y`` has a single replicate.
        x_values: factor values of a given sample (PAWN, delta).
        num_resamples: bootstrap resamples for the confidence intervals.
        conf_level: confidence level of the intervals.
        seed: seed of the bootstrap (same seed, same indices).
        top_k: factors compared by the convergence check.
        convergence_months: months to run the convergence check at (default: all).
    """
    Y = np.asarray(Y, dtype=float)
    if Y.ndim != 4:
        raise ValueError("Y must be array[points, replicates, months, metrics]")
    Ybar = Y.mean(axis=1)
    tables, s2s = [], []
    for mi, month in enumerate(months):
        for ki, metric in enumerate(metrics):
            t, s2 = analyse_point(method, space, design, Ybar[:, mi, ki], x_values=x_values,
                                  num_resamples=num_resamples, conf_level=conf_level, seed=seed)
            t.insert(0, "month", int(month))
            t.insert(0, "metric", metric)
            tables.append(t)
            if s2 is not None:
                s2.insert(0, "month", int(month))
                s2.insert(0, "metric", metric)
                s2s.append(s2)
    indices = pd.concat(tables, ignore_index=True)
    group_of = dict(zip(space.names, space.groups, strict=True))
    indices.insert(3, "group", indices["parameter"].map(lambda p: group_of.get(p, p)))
    indices.insert(3, "label", indices["parameter"].map(lambda p: describe_param(p) if p in group_of else p))
    indices.insert(0, "method", method)
    noise = noise_table(Y, months, metrics, probe)
    indices = indices.merge(noise[["metric", "month", "noise_share"]], on=["metric", "month"], how="left")
    indices = rank_table(indices, method)
    conv = None
    if design is not None:
        cm = list(months) if convergence_months is None else [m for m in months if m in set(convergence_months)]
        idx = [list(months).index(m) for m in cm]
        conv = convergence_table(method, space, design, Ybar[:, idx, :], cm, metrics, indices, k=top_k, seed=seed,
                                 num_resamples=num_resamples)
    msgs = _warnings(indices, noise, conv, metrics)
    return SensitivityResult(method=method, indices=indices, second_order=pd.concat(s2s, ignore_index=True)
                             if s2s else None, noise=noise, convergence=conv, params=space.table(), warnings=msgs)


def _warnings(indices: pd.DataFrame, noise: pd.DataFrame, conv: pd.DataFrame | None,
              metrics: Sequence[str]) -> list[str]:
    msgs = []
    for _, r in noise[~noise["reliable"]].iterrows():
        msgs.append(f"{r['metric']} at month {r['month']}: replicate noise is {r['noise_share']:.0%} of the variance "
                    f"the indices decompose (R = {r['reps']}); indices below about {r['noise_share']:.2f} cannot be "
                    f"told from noise: add replicates (--reps).")
    for _, r in noise[~noise["varies"]].iterrows():
        if r["month"] > 0:
            msgs.append(f"{r['metric']} at month {r['month']} does not vary across the design: no indices.")
    if conv is not None:
        for _, r in conv[~conv["stable"]].iterrows():
            msgs.append(f"{r['metric']} at month {r['month']}: the top {r['k']} factors differ between N/2 = "
                        f"{r['N_half']} and N = {r['N']} ({r['overlap']} of {r['k']} shared): use a larger N.")
    return msgs


# ---------------------------------------------------------------------------------------
# Whole analyses
# ---------------------------------------------------------------------------------------
@dataclass
class Analysis:
    """Everything one ``partnersim sensitivity`` run produced."""

    result: SensitivityResult
    design: Design
    Y: np.ndarray
    months: list[int]
    metrics: list[str]
    seeds: list[int]
    timings: dict[str, float]
    probe: np.ndarray | None = None


def run_analysis(task: PointTask, space: ParameterSpace, method: str, N: int, *, months: Sequence[int],
                 metrics: Sequence[str], reps: int = 1, seed: int = 0, grouped: bool = False,
                 second_order: bool = False, num_levels: int = 4, M: int = 4, executor: Any = "pool",
                 workers: int | None = None, scheduler: str | None = None, folder: str | Path | None = None,
                 resume: bool = False, progress: bool | None = None, command: Sequence[str] | None = None,
                 noise_probe: tuple[int, int] = (8, 4), num_resamples: int = 100, top_k: int = DEFAULT_TOP_K,
                 convergence_months: Sequence[int] | None = None, backend: str = "runner") -> Analysis:
    """Sample, evaluate (R replicates with common random numbers) and analyse.

    With one replicate, ``noise_probe`` = (points, seeds) extra runs measure the replicate
    noise (the first points of the design at that many seeds). ``folder`` holds the
    experiment stores (``experiment/`` for the design, ``probe/`` for the noise probe).
    """
    t0 = time.perf_counter()
    design = make_design(space, method, N, seed=seed, grouped=grouped, second_order=second_order,
                         num_levels=num_levels, M=M)
    seeds = replicate_seeds(seed, reps)
    t1 = time.perf_counter()
    own = None
    if backend == "runner" and isinstance(executor, str):  # one pool for the design and the probe
        if executor not in ("serial", "pool"):
            raise ConfigError("unknown executor", key="--executor", value=executor, choices=["serial", "pool"])
        from analysis.runner import make_executor

        executor = own = make_executor(1 if executor == "serial" else workers, scheduler)
    common = dict(executor=executor, workers=workers, scheduler=scheduler, resume=resume, progress=progress,
                  command=command, backend=backend)
    try:
        Y = evaluate_design(task, design.values, space.names, seed=seed, reps=reps,
                            folder=None if folder is None else Path(folder) / "experiment", **common)
        probe = None
        if reps < 2 and noise_probe and noise_probe[0] > 0 and noise_probe[1] >= 2:
            npts = min(noise_probe[0], design.n_points)
            probe = evaluate_design(task, design.values[:npts], space.names, seed=seed, reps=noise_probe[1],
                                    folder=None if folder is None else Path(folder) / "probe", **common)
    finally:
        if own is not None:
            own.close()
    t2 = time.perf_counter()
    result = analyse(method, space, design, Y, months=months, metrics=metrics, probe=probe,
                     num_resamples=num_resamples, seed=seed, top_k=top_k, convergence_months=convergence_months)
    t3 = time.perf_counter()
    runs = Y.shape[0] * Y.shape[1] + (0 if probe is None else probe.shape[0] * probe.shape[1])
    return Analysis(result=result, design=design, Y=Y, months=list(months), metrics=list(metrics), seeds=seeds,
                    timings={"design_s": t1 - t0, "evaluate_s": t2 - t1, "analyse_s": t3 - t2, "runs": runs},
                    probe=probe)


def given_sample(x: pd.DataFrame, y: pd.DataFrame, method: str, space: ParameterSpace, *, seed: int = 0,
                 num_resamples: int = 100) -> SensitivityResult:
    """PAWN or delta indices on an existing sample.

    Args:
        x: one row per run (or design point), one column per factor (parameter values).
        y: the same rows; columns ``metric`` names, and optionally ``month`` (long by month)
            and ``point`` (replicates of a point are averaged first).
        method: ``pawn`` or ``delta``.
        space: the factors (columns of ``x``; bounds from the theory).
        seed: seed of the resampling.
        num_resamples: bootstrap resamples (delta).
    """
    if method not in GIVEN_SAMPLE_METHODS:
        raise ConfigError("only the given-sample methods run on an existing sweep", key="--method", value=method,
                          choices=GIVEN_SAMPLE_METHODS)
    metrics = [c for c in y.columns if c not in ("month", "point", "replicate", "seed")]
    months = sorted(y["month"].unique()) if "month" in y.columns else [0]
    X = x[space.names].to_numpy(dtype=float)
    n = len(X)
    Y = np.empty((n, 1, len(months), len(metrics)))
    for mi, m in enumerate(months):
        ym = y[y["month"] == m] if "month" in y.columns else y
        Y[:, 0, mi, :] = ym[metrics].to_numpy(dtype=float)
    return analyse(method, space, None, Y, months=months, metrics=metrics, x_values=X, seed=seed,
                   num_resamples=num_resamples)


# ---------------------------------------------------------------------------------------
# Tables on disk
# ---------------------------------------------------------------------------------------
def runs_frame(analysis: Analysis) -> pd.DataFrame:
    """Tidy long table of every run: point, replicate, seed, month, metric, value."""
    Y = analysis.Y
    p, r, m, k = Y.shape
    idx = np.indices((p, r, m, k)).reshape(4, -1)
    return pd.DataFrame({"point": idx[0], "replicate": idx[1], "seed": np.asarray(analysis.seeds)[idx[1]],
                         "month": np.asarray(analysis.months)[idx[2]], "metric": np.asarray(analysis.metrics)[idx[3]],
                         "value": Y.reshape(-1)})


def design_frame(design: Design) -> pd.DataFrame:
    """The design: one row per point, one column per factor (parameter values)."""
    df = pd.DataFrame(design.values, columns=design.names)
    df.insert(0, "point", np.arange(len(df)))
    return df


def write_table(df: pd.DataFrame, path: Path) -> list[Path]:
    """Write ``df`` as Parquet and CSV (``path`` without suffix); atomic per file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    written = []
    for suffix, writer in ((".parquet", lambda p: df.to_parquet(p, index=False)),
                           (".csv", lambda p: df.to_csv(p, index=False))):
        final = path.with_suffix(suffix)
        tmp = final.with_name(f".{final.name}.{os.getpid()}.tmp")
        writer(tmp)
        os.replace(tmp, final)
        written.append(final)
    return written


def load_sweep(path: str | Path, space_names: Sequence[str] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read an existing sample: a ``partnersim sensitivity``/``discover`` folder, or a table file.

    A folder must hold ``design.parquet`` (point + factor columns) and ``runs.parquet``
    (point, replicate, month, metric, value); replicates are averaged per point. A table
    (``.parquet`` or ``.csv``) has one row per run, factor columns named by theory path, metric
    columns, and optionally ``month``.

    Returns:
        (x, y): factor values and outputs, one row per point (and month).
    """
    p = Path(path)
    if p.is_dir():
        d, r = p / "design.parquet", p / "runs.parquet"
        if not (d.exists() and r.exists()):
            raise ConfigError("not a sweep folder (needs design.parquet and runs.parquet)", file=str(p))
        design = pd.read_parquet(d)
        runs = pd.read_parquet(r)
        wide = runs.pivot_table(index=["point", "month"], columns="metric", values="value", aggfunc="mean")
        wide = wide.reset_index()
        wide.columns.name = None
        merged = wide.merge(design, on="point", how="left")
        x = merged[[c for c in design.columns if c != "point"]]
        y = merged[[c for c in wide.columns if c not in ("point",)]]
        return x, y
    if not p.exists():
        raise ConfigError("file not found", file=str(p))
    table = pd.read_parquet(p) if p.suffix == ".parquet" else pd.read_csv(p)
    names = list(space_names or [c for c in table.columns if "." in c])
    missing = [n for n in names if n not in table.columns]
    if missing:
        raise ConfigError("the sweep has no column for this parameter", file=str(p), key=missing[0],
                          choices=list(table.columns))
    x = table[names]
    y = table[[c for c in table.columns if c not in names]]
    return x, y.select_dtypes("number")


# ---------------------------------------------------------------------------------------
# Figures (take data, return a Figure)
# ---------------------------------------------------------------------------------------
_GROUP_COLOURS = dict(zip(GROUPS, ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
                                   "#7f7f7f"), strict=True))


def _colour(group: str) -> str:
    return _GROUP_COLOURS.get(group, "#17becf")


def _figure(w: float, h: float) -> tuple[Figure, Any]:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(w, h), layout="constrained")
    return fig, fig.add_subplot()


def plot_morris(table: pd.DataFrame, *, title: str = "", label_top: int = 10) -> Figure:
    """Morris μ*–σ plot of one metric and month (rows of a Morris indices table).

    Points are coloured by pathway group, with μ* confidence intervals; the σ/μ* = 0.1, 0.5
    and 1 lines separate near-linear effects from interactions and non-linearity.
    """
    fig, ax = _figure(7.5, 5.5)
    for group, sub in table.groupby("group", sort=False):
        ax.errorbar(sub["mu_star"], sub["sigma"], xerr=sub["mu_star_conf"], fmt="o", ms=5, lw=0.8,
                    color=_colour(str(group)), label=str(group), alpha=0.85)
    xmax = float(np.nanmax(np.r_[(table["mu_star"] + table["mu_star_conf"].fillna(0)).to_numpy(), 1e-12])) * 1.15
    ymax = float(np.nanmax(np.r_[table["sigma"].to_numpy(), 1e-12])) * 1.15
    top = table.sort_values("mu_star", ascending=False).head(label_top)
    for _, r in top[top["mu_star"] >= 0.05 * top["mu_star"].max()].iterrows():  # label the ones that stand out
        ax.annotate(str(r["parameter"]), (r["mu_star"], r["sigma"]), fontsize=7, xytext=(3, 3),
                    textcoords="offset points")
    xs = np.linspace(0, xmax, 10)
    for ratio, style in ((0.1, ":"), (0.5, "--"), (1.0, "-")):
        ax.plot(xs, ratio * xs, style, color="grey", lw=0.7)
        x_at = min(xmax, ymax / ratio) * 0.97
        ax.annotate(f"σ/μ* = {ratio:g}", (x_at, ratio * x_at), fontsize=7, color="grey", ha="right", va="bottom")
    ax.set_xlim(0, xmax)
    ax.set_ylim(0, ymax)
    ax.set_xlabel("μ* (mean |elementary effect| per unit of the parameter's range)")
    ax.set_ylabel("σ (spread of elementary effects)")
    ax.set_title(title or "Morris screening")
    ax.legend(fontsize=7, title="pathway", title_fontsize=7)
    return fig


def plot_sobol(table: pd.DataFrame, *, title: str = "", top: int = 20, first: str = "S1",
               total: str = "ST") -> Figure:
    """First-order and total-order indices with confidence intervals, grouped by pathway.

    ``table`` holds one metric and month (Sobol or eFAST rows); the ``top`` factors by total
    order are shown, ordered by group and then by total order.
    """
    t = table.sort_values(total, ascending=False).head(top).copy()
    order = {g: i for i, g in enumerate(GROUPS)}
    t["_g"] = t["group"].map(lambda g: order.get(g, len(order)))
    t = t.sort_values(["_g", total], ascending=[True, True])
    fig, ax = _figure(8, 0.32 * len(t) + 1.8)
    y = np.arange(len(t))
    colours = [_colour(g) for g in t["group"]]
    ax.barh(y + 0.2, t[total], height=0.4, color=colours, alpha=0.9, label=f"{total} (total order)",
            xerr=t.get(f"{total}_conf"), error_kw={"lw": 0.8})
    ax.barh(y - 0.2, t[first], height=0.4, color=colours, alpha=0.45, hatch="//", label=f"{first} (first order)",
            xerr=t.get(f"{first}_conf"), error_kw={"lw": 0.8})
    ax.set_yticks(y, [f"{p}  [{g}]" for p, g in zip(t["parameter"], t["group"], strict=True)], fontsize=7)
    ax.axvline(0, color="black", lw=0.6)
    ax.set_xlabel("share of output variance")
    ax.set_title(title or "Sobol indices")
    ax.legend(fontsize=7, loc="lower right")
    return fig


def plot_timeline(indices: pd.DataFrame, metric: str, *, index: str = "ST", top: int = 6,
                  title: str = "") -> Figure:
    """How the ``index`` (total order by default) of the top factors evolves over the horizon.

    The top factors are those with the largest index at any month; bands show confidence
    intervals when the table has them.
    """
    t = indices[indices["metric"] == metric]
    best = t.groupby("parameter")[index].max().sort_values(ascending=False).head(top).index
    fig, ax = _figure(8, 4.5)
    for name in best:
        s = t[t["parameter"] == name].sort_values("month")
        colour = _colour(str(s["group"].iloc[0]))
        line, = ax.plot(s["month"], s[index], marker="o", ms=3, label=name)
        conf = f"{index}_conf"
        if conf in s:
            ax.fill_between(s["month"], s[index] - s[conf], s[index] + s[conf], color=line.get_color(), alpha=0.12)
        del colour
    if "noise_share" in t:
        ns = t.drop_duplicates("month").sort_values("month")
        ax.plot(ns["month"], ns["noise_share"], ":", color="grey", label="replicate noise share")
    ax.set_xlabel("month")
    ax.set_ylabel(index)
    ax.set_title(title or f"{index} of the top parameters over time: {metric}")
    ax.legend(fontsize=7)
    return fig


def plot_convergence(conv: pd.DataFrame, metric: str) -> Figure:
    """Spearman correlation of the indices between N/2 and N over months (1 = same ranking)."""
    t = conv[conv["metric"] == metric].sort_values("month")
    fig, ax = _figure(6, 3.5)
    ax.plot(t["month"], t["spearman"], marker="o")
    ax.set_ylim(-0.05, 1.05)
    ax.set_xlabel("month")
    ax.set_ylabel("rank correlation, N/2 vs N")
    ax.set_title(f"Convergence: {metric}")
    return fig


# ---------------------------------------------------------------------------------------
# Reporting helpers for the CLI
# ---------------------------------------------------------------------------------------
def format_summary(result: SensitivityResult, months: Sequence[int], *, k: int = DEFAULT_TOP_K) -> str:
    """Plain-text tables of the top factors per metric and month, with noise and convergence."""
    method = result.method
    col = RANK_INDEX[method]
    conf = f"{col}_conf" if f"{col}_conf" in result.indices.columns else None
    lines = []
    for metric in result.indices["metric"].unique():
        for month in months:
            t = result.top(metric, month, k)
            if t.empty:
                continue
            ns = result.noise[(result.noise["metric"] == metric) & (result.noise["month"] == month)]
            share = float(ns["noise_share"].iloc[0]) if len(ns) else float("nan")
            head = f"{metric} at month {month}  (ranked by {col}; replicate noise {share:.1%} of variance"
            if result.convergence is not None:
                c = result.convergence[(result.convergence["metric"] == metric) &
                                       (result.convergence["month"] == month)]
                if len(c):
                    head += "; top-{} {} at N/2".format(int(c["k"].iloc[0]),
                                                        "stable" if bool(c["stable"].iloc[0]) else "NOT stable")
            lines.append(head + ")")
            for _, r in t.iterrows():
                val = f"{r[col]:.3g}" + (f" ± {r[conf]:.2g}" if conf and pd.notna(r[conf]) else "")
                extra = ""
                if method in ("sobol", "efast"):
                    extra = f"  S1 {r['S1']:.3g}"
                elif method == "morris":
                    extra = f"  σ {r['sigma']:.3g}"
                lines.append(f"  {int(r['rank']):>2}. {r['parameter']:<48} {col} {val}{extra}  [{r['group']}]")
            lines.append("")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------
# The `partnersim sensitivity` command (reporting: the only part that writes files)
# ---------------------------------------------------------------------------------------
def parse_months(text: str, *, key: str = "--at") -> list[int]:
    """Months from ``"12,36,120"``; each a whole number >= 0."""
    out = []
    for item in _split_patterns(text):
        if not item.isdigit():
            raise ConfigError("expected whole months separated by commas, e.g. 12,36,120", key=key, value=text)
        out.append(int(item))
    if not out:
        raise ConfigError("name at least one month", key=key, value=text)
    return sorted(set(out))


def timeline_months(at: Sequence[int], every: int) -> list[int]:
    """The ``at`` months plus every ``every`` months up to the last of them."""
    last = max(at)
    extra = list(range(every, last + 1, every)) if every > 0 else []
    return sorted(set(at) | set(extra))


def read_patterns(text: str | None) -> str | None:
    """``--params`` value: patterns, or ``@FILE`` with one pattern per line (# comments)."""
    if not text or not text.startswith("@"):
        return text
    path = Path(text[1:])
    if not path.is_file():
        raise ConfigError("file not found", file=str(path), key="--params")
    lines = [ln.split("#")[0].strip() for ln in path.read_text().splitlines()]
    return ",".join(ln for ln in lines if ln)


def estimate_runs(method: str, space: ParameterSpace, N: int, reps: int, *, grouped: bool = False,
                  second_order: bool = False, contrast: bool = False) -> int:
    """Model runs an analysis needs (replicates and the contrast scenario included)."""
    d = len(space.group_names) if grouped else len(space)
    return design_size(method, d, N, second_order=second_order) * reps * (2 if contrast else 1)


def write_outputs(analysis: Analysis, out: Path, *, space: ParameterSpace, figures: bool = True,
                  at: Sequence[int] = (), manifest: Mapping[str, Any] | None = None, top: int = 20) -> list[Path]:
    """Write tables (Parquet + CSV), figures (PNG) and a manifest into ``out``."""
    res = analysis.result
    written: list[Path] = []
    written += write_table(res.indices, out / "indices")
    written += write_table(res.noise, out / "noise")
    written += write_table(res.params, out / "params")
    if res.second_order is not None:
        written += write_table(res.second_order, out / "second_order")
    if res.convergence is not None:
        written += write_table(res.convergence, out / "convergence")
    design_frame(analysis.design).to_parquet(out / "design.parquet", index=False)
    runs_frame(analysis).to_parquet(out / "runs.parquet", index=False)
    written += [out / "design.parquet", out / "runs.parquet"]
    if figures:
        written += write_figures(res, out / "figures", at=at or analysis.months, top=top)
    (out / "summary.txt").write_text(format_summary(res, at or analysis.months) + "\n" +
                                     "\n".join(f"warning: {w}" for w in res.warnings) + "\n")
    info = {"method": res.method, "N": analysis.design.N, "points": analysis.design.n_points,
            "grouped": analysis.design.grouped, "second_order": analysis.design.second_order,
            "factors": space.names, "groups": space.groups, "months": analysis.months, "metrics": analysis.metrics,
            "seeds": analysis.seeds, "timings": analysis.timings, "warnings": res.warnings, **(manifest or {})}
    (out / "manifest.json").write_text(json.dumps(info, indent=2, default=str))
    written += [out / "summary.txt", out / "manifest.json"]
    return written


def write_figures(res: SensitivityResult, folder: Path, *, at: Sequence[int], top: int = 20) -> list[Path]:
    """Save the method's figures for each metric at the ``at`` months, and the time evolution."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    ind = res.indices
    for metric in ind["metric"].unique():
        short = output_label(metric)
        for month in at:
            t = ind[(ind["metric"] == metric) & (ind["month"] == month)]
            if t.empty or t[RANK_INDEX[res.method]].isna().all():
                continue
            title = f"{metric} at month {month}"
            if res.method == "morris":
                fig = plot_morris(t, title=f"Morris screening: {title}")
            elif res.method in ("sobol", "efast"):
                fig = plot_sobol(t, title=f"{res.method.capitalize()} indices: {title}", top=top)
            elif res.method == "delta":
                fig = plot_sobol(t, title=f"Delta and S1: {title}", top=top, first="S1", total="delta")
            else:
                fig = plot_sobol(t.assign(mn=t["minimum"]), title=f"PAWN (median and min KS): {title}", top=top,
                                 first="mn", total="median")
            path = folder / f"{res.method}_{short}_m{month}.png"
            fig.savefig(path, dpi=120)
            written.append(path)
        months = ind[ind["metric"] == metric]["month"].unique()
        if len(months) > 1 and not ind[ind["metric"] == metric][RANK_INDEX[res.method]].isna().all():
            fig = plot_timeline(ind, metric, index=RANK_INDEX[res.method])
            path = folder / f"{res.method}_{short}_timeline.png"
            fig.savefig(path, dpi=120)
            written.append(path)
    return written


DEFAULT_N = {"sobol": 64, "morris": 10, "efast": 65, "pawn": 256, "delta": 256}


def command(args: Any) -> int:
    """``partnersim sensitivity``: parse the options, run the analysis, write and print the results."""
    from analysis.scenario import load_scenario

    method = str(args.method).lower()
    _check_method(method)
    at = parse_months(args.at)
    every = int(args.every)
    if every < 0:
        raise ConfigError("must be 0 or more months", key="--every", value=every)
    if args.reps < 1:
        raise ConfigError("needs at least one replicate", key="--reps", value=args.reps)
    if args.workers is not None and args.workers < 1:
        raise ConfigError("needs at least one worker", key="--workers", value=args.workers)
    if args.from_:
        return _command_given_sample(args, method)
    if not args.scenario:
        raise ConfigError("name a scenario file (or --from a sweep for pawn/delta)", key="scenario")
    scen = load_scenario(args.scenario)
    spec = scen.spec if args.n_providers is None else replace(scen.spec, n_providers=args.n_providers)
    theory = scen.theory
    space = parameter_space(theory, read_patterns(args.params), exclude=args.exclude,
                            pinned=spec.uncertainties.effect_overrides)
    metrics = resolve_outputs(args.outputs, theory)
    # the given-sample estimators cost seconds per parameter: indices at the --at months only
    months = at if method in GIVEN_SAMPLE_METHODS else timeline_months(at, every)
    resamples = default_resamples(method, args.resamples)
    contrast = None
    if args.contrast:
        cs = load_scenario(args.contrast)
        missing = [n for n in space.names if n not in cs.theory.params]
        if missing:
            raise ConfigError("the contrast scenario's theory lacks this parameter", file=args.contrast,
                              key=missing[0])
        contrast = cs.spec if args.n_providers is None else replace(cs.spec, n_providers=args.n_providers)
    N = DEFAULT_N[method] if args.N is None else int(args.N)
    check_design(method, N, space, grouped=args.groups, second_order=args.second_order, num_levels=args.levels)
    seed = scen.seed if args.seed is None else int(args.seed)
    n_runs = estimate_runs(method, space, N, args.reps, grouped=args.groups, second_order=args.second_order,
                           contrast=contrast is not None)
    out = Path(args.out) if args.out else Path("results") / "sensitivity" / \
        f"{scen.name}-{method}{'-grouped' if args.groups else ''}"
    print(f"{scen.name}: {method} over {len(space)} parameters "
          f"({', '.join(f'{g} {space.groups.count(g)}' for g in space.group_names)})"
          f"{' in ' + str(len(space.group_names)) + ' groups' if args.groups else ''}; N = {N}, "
          f"{args.reps} replicate(s){', paired against ' + contrast.name if contrast else ''}: "
          f"{n_runs} runs of {max(months)} months")
    if args.dry_run:
        print(space.table()[["parameter", "group", "low", "high", "default", "dist"]].to_string(index=False))
        return 0
    if out.exists() and any(out.iterdir()) and not args.resume:
        from analysis.cli import UserError

        raise UserError(f"{out} already holds results: pass --resume to continue it, or choose another --out")
    out.mkdir(parents=True, exist_ok=True)
    task = ModelTask(spec, tuple(months), tuple(metrics), contrast)
    executor = "serial" if args.workers == 1 else "pool"
    analysis = run_analysis(task, space, method, N, months=months, metrics=metrics, reps=args.reps, seed=seed,
                            grouped=args.groups, second_order=args.second_order, num_levels=args.levels,
                            executor=executor, workers=args.workers, scheduler=args.scheduler, folder=out,
                            resume=args.resume, progress=True, command=sys.argv, num_resamples=resamples,
                            top_k=args.top,
                            convergence_months=at)
    record = {"scenario": scen.path, "scenario_name": scen.name, "contrast": args.contrast,
              "theory": scen.theory_path, "theory_digest": theory.digest(), "n_providers": args.n_providers,
              "reps": args.reps, "seed": seed, "command": sys.argv}
    write_outputs(analysis, out, space=space, figures=not args.no_figures, at=at, manifest=record, top=20)
    t = analysis.timings
    print(f"\n{int(t['runs'])} runs in {t['evaluate_s']:.1f} s ({t['runs'] / max(t['evaluate_s'], 1e-9):.1f} runs/s); "
          f"analysis {t['analyse_s']:.1f} s\n")
    print(format_summary(analysis.result, at, k=args.top))
    for w in analysis.result.warnings:
        print(f"warning: {w}")
    print(f"\ntables, figures and manifest in {out}/")
    return 0


def default_resamples(method: str, asked: int | None) -> int:
    """Bootstrap resamples: as asked, else 100 (10 for delta, whose SALib estimator is slow)."""
    if asked is not None:
        if asked < 1:
            raise ConfigError("needs at least one resample", key="--resamples", value=asked)
        return int(asked)
    return 10 if method == "delta" else 100


def _command_given_sample(args: Any, method: str) -> int:
    from analysis.scenario import load_scenario
    from sim.theory import load_theory

    if method not in GIVEN_SAMPLE_METHODS:
        raise ConfigError("--from works with the given-sample methods only", key="--method", value=method,
                          choices=GIVEN_SAMPLE_METHODS)
    theory = load_scenario(args.scenario).theory if args.scenario else load_theory()
    x, y = load_sweep(args.from_)
    space = parameter_space(theory, read_patterns(args.params) or ",".join(c for c in x.columns
                                                                          if c in theory.params),
                            exclude=args.exclude)
    metrics = resolve_outputs(args.outputs, theory) if args.outputs else None
    cols = [c for c in y.columns if c == "month" or metrics is None or c in metrics]
    missing = [m for m in (metrics or []) if m not in y.columns]
    if missing:
        raise ConfigError("the sweep has no such output", file=args.from_, key=missing[0],
                          choices=[c for c in y.columns if c != "month"])
    y = y[cols]
    at = parse_months(args.at)
    if "month" in y.columns:
        keep = y["month"].isin(at).to_numpy()
        if not keep.any():
            raise ConfigError("the sweep has none of these months", file=args.from_, key="--at", value=args.at,
                              choices=[str(m) for m in sorted(y["month"].unique())])
        x, y = x[keep], y[keep]
    res = given_sample(x, y, method, space, seed=0 if args.seed is None else args.seed,
                       num_resamples=default_resamples(method, args.resamples))
    out = Path(args.out) if args.out else Path("results") / "sensitivity" / f"{Path(args.from_).stem}-{method}"
    written = write_table(res.indices, out / "indices") + write_table(res.params, out / "params")
    if not args.no_figures:
        written += write_figures(res, out / "figures", at=sorted(res.indices["month"].unique()))
    print(format_summary(res, sorted(res.indices["month"].unique()), k=args.top))
    for w in res.warnings:
        print(f"warning: {w}")
    print(f"\n{len(written)} files in {out}/")
    return 0
