"""The design of a sweep: policies (lever settings) × futures (uncertainty draws), and its runner plan.

Levers and uncertainties become EMA Workbench parameters (``RealParameter``,
``IntegerParameter``, ``CategoricalParameter``) and EMA's samplers draw them: a full-factorial
grid (``FullFactorialSampler``, each factor at its grid values) or a Latin hypercube
(``LHSSampler``, seeded from the sweep's master seed). Policies and futures are sampled apart,
as EMA does, and crossed: every policy runs in every future.

The plan (:func:`sweep_plan`) is an ordinary :class:`analysis.plan.Plan`: its scenarios are the
baseline and one scenario per policy (the policy scenario with that point's lever values), its
design points are the futures (shocks and theory values, applied by
:func:`analysis.plan.with_point`), and replicate r of every scenario and future uses the same
seed. So the runner, the store (resume, locks, failures), every executor and common random
numbers hold as for ``partnersim compare``, and each policy is paired with the baseline by
future and replicate.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from analysis.limits import SWEEP_LIMITS
from analysis.plan import Plan, PlannedScenario, scenario_record
from analysis.studies.sensitivity import MetricsRun
from analysis.studies.sweep.factors import Factor
from analysis.studies.sweep.spec import SweepSpec
from sim import ConfigError, RunSpec
from sim.policy import Levers

POLICY_STREAM = 0x5EE9_0001
FUTURE_STREAM = 0x5EE9_0002
"""Entropy words that keep the design's draws apart from the replicate seeds (and from each other)."""


@dataclass(frozen=True)
class SweepDesign:
    """The policies and futures of a sweep.

    Attributes:
        policies: one row per policy: ``policy`` (its scenario name), ``point`` (0, 1, …) and one
            column per varied lever.
        futures: one row per future: ``future`` (0, 1, …; the plan's design point) and one column
            per uncertainty (none when the sweep has no uncertainties: one future, the scenario's own).
        fixed: levers set to one value in every policy.
        continuous: varied levers sampled over a range (a Latin hypercube): each policy has its own value.
    """

    policies: pd.DataFrame
    futures: pd.DataFrame
    fixed: dict[str, Any]
    continuous: tuple[str, ...] = ()

    @property
    def levers(self) -> list[str]:
        """The varied levers (columns of ``policies``)."""
        return [c for c in self.policies.columns if c not in ("policy", "point")]

    @property
    def uncertainties(self) -> list[str]:
        """The uncertainties (columns of ``futures``)."""
        return [c for c in self.futures.columns if c != "future"]

    def points(self) -> tuple[dict[str, float], ...]:
        """The futures as the plan's design points (``({},)`` when nothing is uncertain)."""
        if not self.uncertainties:
            return ({},)
        return tuple(
            {k: float(v) for k, v in row.items()} for row in self.futures[self.uncertainties].to_dict("records")
        )


def n_policies(spec: SweepSpec) -> int:
    """How many policies the design has (before sampling; a grid's product of level counts)."""
    varied = spec.varied_levers
    if not varied:
        return 1
    if spec.design == "lhs":
        return int(spec.n or 0)
    return math.prod(len(lv.grid_values()) for lv in varied)


def n_futures(spec: SweepSpec) -> int:
    """How many futures the design has."""
    if not spec.uncertainties:
        return 1
    if spec.futures_design == "lhs":
        return int(spec.futures or 0)
    return math.prod(len(u.grid_values()) for u in spec.uncertainties)


def n_runs(spec: SweepSpec) -> int:
    """Runs in the sweep: (baseline + policies) × futures × replicates."""
    return (1 + n_policies(spec)) * n_futures(spec) * spec.replicates


def make_design(spec: SweepSpec) -> SweepDesign:
    """Sample the policies and futures of ``spec`` (deterministic given its seed).

    Raises:
        ConfigError: the grid is larger than :data:`analysis.limits.SWEEP_LIMITS` allows.
    """
    for what, count, key in (("policies", n_policies(spec), "levers"), ("futures", n_futures(spec), "uncertainties")):
        bound = SWEEP_LIMITS["policies"]
        if count > bound.hi:
            raise ConfigError(
                f"the grid has {count:,} {what}, more than {bound.hi:,}; give fewer values or use a "
                f"Latin hypercube ({'design = "lhs", n = N' if what == 'policies' else 'futures = N'})",
                file=spec.file,
                key=key,
            )
    varied = spec.varied_levers
    policies = _sample(varied, spec.design, spec.n, _rng(spec.seed, POLICY_STREAM))
    width = len(str(max(len(policies) - 1, 0)))
    policies.insert(0, "point", np.arange(len(policies), dtype=np.int64))
    policies.insert(0, "policy", [f"policy_{i:0{width}d}" for i in range(len(policies))])
    futures = _sample(spec.uncertainties, spec.futures_design, spec.futures, _rng(spec.seed, FUTURE_STREAM))
    futures.insert(0, "future", np.arange(len(futures), dtype=np.int64))
    continuous = tuple(lv.name for lv in varied if spec.design == "lhs" and lv.is_range)
    return SweepDesign(policies, futures, spec.fixed_levers, continuous)


def _rng(seed: int, stream: int) -> np.random.Generator:
    return np.random.default_rng([int(seed), stream])


def _sample(factors: Sequence[Factor], design: str, n: int | None, rng: np.random.Generator) -> pd.DataFrame:
    """EMA Workbench's full-factorial or Latin-hypercube sample of ``factors`` (one row when none)."""
    if not factors:
        return pd.DataFrame(index=range(1))
    with warnings.catch_warnings():  # ema_workbench warns about optional parallel back-ends on import
        warnings.simplefilter("ignore")
        from ema_workbench.em_framework.samplers import FullFactorialSampler, LHSSampler

    names = [f"factor_{i}" for i in range(len(factors))]  # EMA wants Python identifiers, not dotted names
    params = [_ema_parameter(f, name, design) for f, name in zip(factors, names, strict=True)]
    if design == "grid":
        sample = FullFactorialSampler().generate_samples(params, 2)
    else:
        sample = LHSSampler().generate_samples(params, int(n or 0), rng=rng)
    rows = [{f.name: f.typed(s[name]) for f, name in zip(factors, names, strict=True)} for s in sample]
    return pd.DataFrame(rows, columns=[f.name for f in factors])


def _ema_parameter(factor: Factor, name: str, design: str) -> Any:
    """The EMA Workbench parameter of a factor: values → categorical (LHS) or the grid's resolution."""
    from ema_workbench.em_framework.parameters import CategoricalParameter, IntegerParameter, RealParameter

    values = factor.grid_values() if design == "grid" else factor.values
    if factor.kind in ("categorical", "boolean") or (design == "lhs" and values):
        return CategoricalParameter(name, list(values))
    if design == "grid":
        cls = IntegerParameter if factor.kind == "integer" else RealParameter
        return cls(name, min(values), max(values), resolution=list(values))
    assert factor.low is not None and factor.high is not None
    if factor.kind == "integer":
        return IntegerParameter(name, int(factor.low), int(factor.high))
    return RealParameter(name, factor.low, factor.high)


# -- the plan ---------------------------------------------------------------------------
def with_levers(levers: Levers, values: dict[str, Any]) -> Levers:
    """``levers`` with some fields set by dotted name (``support_fund.share``)."""
    for name, value in values.items():
        section, _, fld = name.partition(".")
        sub = getattr(levers, section)
        levers = dataclasses.replace(levers, **{section: dataclasses.replace(sub, **{fld: value})})
    return levers


def policy_specs(spec: SweepSpec, design: SweepDesign) -> dict[str, RunSpec]:
    """Each policy's RunSpec: the policy scenario with the fixed levers and that point's values."""
    base = _sized(spec.policy.spec, spec)
    out = {}
    for row in design.policies.to_dict("records"):
        values = {**design.fixed, **{k: row[k] for k in design.levers}}
        out[row["policy"]] = dataclasses.replace(base, name=row["policy"], levers=with_levers(base.levers, values))
    return out


def sweep_plan(spec: SweepSpec, design: SweepDesign) -> Plan:
    """The runner plan: the baseline and every policy, the futures as design points, R replicates.

    The runs keep only the months and metrics the sweep reads (:class:`MetricsRun`), as a
    sensitivity analysis does, so a large sweep's store stays small.
    """
    baseline = spec.baseline
    if baseline.name in design.policies["policy"].tolist():
        raise ConfigError(
            "the baseline's name is also a policy's name in the sweep; rename the baseline scenario",
            file=baseline.path,
            key="name",
            value=baseline.name,
        )
    planned = [
        PlannedScenario(baseline.name, _sized(baseline.spec, spec), {**scenario_record(baseline), "role": "baseline"})
    ]
    template = scenario_record(spec.policy)
    for row, (name, pspec) in zip(design.policies.to_dict("records"), policy_specs(spec, design).items(), strict=True):
        values = {**design.fixed, **{k: row[k] for k in design.levers}}
        planned.append(PlannedScenario(name, pspec, _policy_record(template, name, values, spec)))
    run_fn = MetricsRun(spec.kept_months, spec.kept_metrics)
    return Plan(tuple(planned), spec.replicates, spec.seed, design.points(), run_fn)


def _sized(run: RunSpec, spec: SweepSpec) -> RunSpec:
    """A spec run to the sweep's last month (and at its population size, when given)."""
    run = dataclasses.replace(run, horizon=max(spec.kept_months))
    return run if spec.n_providers is None else dataclasses.replace(run, n_providers=spec.n_providers)


def _policy_record(template: dict[str, Any], name: str, values: dict[str, Any], spec: SweepSpec) -> dict[str, Any]:
    """Provenance of a policy: the policy scenario's file and its raw content with the lever values set.

    ``raw`` is a scenario file's content (the policy's levers written in), so commands that rebuild
    scenarios from a manifest (``pathways``, ``cmoc``) can read a sweep's folder too.
    """
    raw = {k: (dict(v) if isinstance(v, dict) else v) for k, v in template["raw"].items()}
    levers = {k: dict(v) for k, v in raw.get("levers", {}).items()}
    for lever, value in values.items():
        section, _, fld = lever.partition(".")
        levers.setdefault(section, {})[fld] = value
    raw.update(name=name, levers=levers)
    setting = ", ".join(f"{k} = {v}" for k, v in values.items())
    return {
        "role": "policy",
        "sweep": spec.name,
        "levers": values,
        "path": template["path"],
        "sha256": template["sha256"],
        "raw": raw,
        "description": f"{spec.policy.description} Sweep point: {setting}.".strip(),
        "rationale": spec.policy.rationale,
        "sources": list(spec.policy.sources),
    }
