"""A sweep's description: a TOML file and/or options, validated into a :class:`SweepSpec`.

A sweep file (``scenarios/sweeps/*.toml``)::

    name = "support_fund_x_approval"
    description = "What a support fund and faster approvals do for mandated mergers"
    policy = "../mandated_mergers.toml"   # the scenario whose levers are set (relative to this file)
    baseline = "../baseline.toml"         # paired with every point by seed (default: scenarios/baseline.toml)
    design = "grid"                       # grid: every combination of the levers' values; lhs: n samples
    replicates = 10
    months = [12, 36, 60]
    outcomes = ["quality", "efficiency", "special_measures"]
    criteria = ["efficiency@60 >= baseline", "special_measures@60 < 0.1"]

    [levers]
    "support_fund.share" = [0, 0.5, 1]
    "approval.months" = { low = 6, high = 36, levels = 3 }

    [uncertainties]                       # optional: the futures every policy is run in
    "workforce_shock.size" = { low = 0, high = 0.1 }
    "mechanism.trust.build_rate" = {}     # a theory parameter over its declared range
    futures = 8                           # (top level) how many futures, Latin hypercube

Every key is checked: an unknown key, lever, uncertainty or choice names the file, the key,
the value and the valid choices; numbers are checked against :mod:`analysis.limits`.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from analysis.limits import SWEEP_LIMITS, check_months_within, within
from analysis.scenario import Scenario, check_population, load_scenario
from analysis.studies.compare import outcome_for
from analysis.studies.discovery import Criterion, parse_criterion
from analysis.studies.sensitivity import output_label, resolve_outputs
from analysis.studies.sweep.factors import Lever, Uncertainty, parse_assignment, read_lever, read_uncertainty
from sim import ConfigError
from sim.theory import Theory
from sim.toml_io import read_toml

DEFAULT_BASELINE = Path(__file__).resolve().parents[3] / "scenarios" / "baseline.toml"
DEFAULT_MONTHS = (12, 36, 60, 120)
"""Months measured by default: those within the horizon."""
DEFAULT_OUTCOMES = ("quality", "efficiency", "access", "special_measures")
DESIGNS = ("grid", "lhs")
SWEEP_KEYS = (
    "name",
    "description",
    "policy",
    "baseline",
    "design",
    "n",
    "futures",
    "futures_design",
    "replicates",
    "seed",
    "horizon",
    "months",
    "outcomes",
    "criteria",
    "n_providers",
    "levers",
    "uncertainties",
)


# -- satisficing criteria ----------------------------------------------------------------
_PAIRED = re.compile(r"^(?P<lhs>.*?)(?P<op>>=|<=|>|<)\s*baseline\s*(?:(?P<sign>[-+])\s*(?P<num>[0-9.eE+-]+))?\s*$")


@dataclass(frozen=True)
class Requirement:
    """What a policy must achieve in a future to *satisfice* there.

    ``paired``: the criterion is judged on the policy's difference from the baseline in the same
    future (``quality@60 >= baseline``: no worse than the baseline); otherwise on the policy's own
    value (``special_measures@60 < 0.1``). Both on the mean over replicates.
    """

    criterion: Criterion
    paired: bool
    text: str

    @property
    def metric(self) -> str:
        """The metric judged."""
        return self.criterion.metric

    @property
    def month(self) -> int:
        """The month judged."""
        return self.criterion.month

    def holds(self, values: np.ndarray) -> np.ndarray:
        """True where the criterion is met (NaN: not met)."""
        return self.criterion.holds(values) & ~np.isnan(np.asarray(values, dtype=float))

    def describe(self) -> str:
        """Plain words: 'quality at month 60 at least the paired baseline'."""
        return self.criterion.describe(paired=self.paired)


def parse_requirement(text: str, theory: Theory, *, file: str | None, key: str) -> Requirement:
    """``"OUTPUT@MONTH OP VALUE"`` (absolute) or ``"OUTPUT@MONTH OP baseline [± VALUE]"`` (paired)."""
    if not isinstance(text, str):
        raise ConfigError('expected a criterion such as "quality@60 >= baseline"', file=file, key=key, value=text)
    m = _PAIRED.match(text)
    given = f"{m['lhs']} {m['op']} {m['sign'] or '+'}{m['num'] or '0'}" if m else text
    try:
        criterion = parse_criterion(given, theory)
    except ConfigError as exc:
        raise ConfigError(
            exc.problem.replace('"OUTPUT@MONTH OP VALUE"', '"OUTPUT@MONTH OP VALUE" or "OUTPUT@MONTH OP baseline"'),
            file=file,
            key=key,
            value=text,
            choices=exc.choices,
        ) from None
    return Requirement(criterion, paired=m is not None, text=text.strip())


def default_requirements(outcomes: Sequence[str], month: int) -> list[Requirement]:
    """Requirements "no worse than the baseline" at ``month``, one per outcome with a better direction."""
    out = []
    for metric in outcomes:
        better = outcome_for(metric).better
        if better:
            op = ">=" if better > 0 else "<="
            crit = Criterion(metric, month, op, 0.0)
            out.append(Requirement(crit, True, f"{output_label(metric)}@{month} {op} baseline"))
    return out


# -- the sweep ----------------------------------------------------------------------------
@dataclass(frozen=True)
class SweepSpec:
    """A validated sweep: which policy and baseline, what varies, how it is sampled, what is measured."""

    name: str
    description: str
    policy: Scenario
    baseline: Scenario
    levers: tuple[Lever, ...]
    uncertainties: tuple[Uncertainty, ...]
    design: str
    n: int | None
    futures: int | None
    futures_design: str
    replicates: int
    seed: int
    horizon: int
    months: tuple[int, ...]
    outcomes: tuple[str, ...]
    requirements: tuple[Requirement, ...]
    n_providers: int | None = None
    file: str | None = None
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def varied_levers(self) -> tuple[Lever, ...]:
        """The levers that make the design's dimensions (more than one value)."""
        return tuple(lv for lv in self.levers if not lv.fixed)

    @property
    def fixed_levers(self) -> dict[str, Any]:
        """The levers set to one value in every policy."""
        return {lv.name: lv.values[0] for lv in self.levers if lv.fixed}

    @property
    def kept_months(self) -> tuple[int, ...]:
        """Months stored: those measured and those the criteria judge."""
        return tuple(sorted({*self.months, *(r.month for r in self.requirements)}))

    @property
    def kept_metrics(self) -> tuple[str, ...]:
        """Metrics stored: the outcomes and those the criteria judge."""
        return tuple(dict.fromkeys([*self.outcomes, *(r.metric for r in self.requirements)]))

    def record(self) -> dict[str, Any]:
        """A JSON-able description (saved beside the results as ``sweep.json``)."""
        return {
            "name": self.name,
            "description": self.description,
            "file": self.file,
            "policy": self.policy.path,
            "baseline": self.baseline.path,
            "levers": [dataclasses.asdict(lv) for lv in self.levers],
            "uncertainties": [dataclasses.asdict(u) for u in self.uncertainties],
            "design": self.design,
            "n": self.n,
            "futures": self.futures,
            "futures_design": self.futures_design,
            "replicates": self.replicates,
            "seed": self.seed,
            "horizon": self.horizon,
            "months": list(self.months),
            "outcomes": list(self.outcomes),
            "criteria": [r.text for r in self.requirements],
            "n_providers": self.n_providers,
        }


def read_sweep(
    file: str | Path | None = None,
    *,
    policy: str | None = None,
    baseline: str | None = None,
    levers: Sequence[str] = (),
    uncertainties: Sequence[str] = (),
    design: str | None = None,
    n: int | None = None,
    futures: int | None = None,
    futures_design: str | None = None,
    replicates: int | None = None,
    seed: int | None = None,
    horizon: int | None = None,
    months: Sequence[int] | None = None,
    outcomes: str | Sequence[str] | None = None,
    criteria: Sequence[str] = (),
    n_providers: int | None = None,
) -> SweepSpec:
    """A sweep from a file and/or options (options win; ``--lever``/``--uncertainty`` add to the file's).

    Raises:
        ConfigError: naming the file (or the option), the key, the value and the valid choices.
    """
    raw: dict[str, Any] = {}
    where = str(file) if file is not None else None
    base = Path.cwd()
    if file is not None:
        raw, _ = read_toml(file)
        base = Path(file).resolve().parent
        for k in raw:
            if k not in SWEEP_KEYS:
                raise ConfigError("unknown key", file=where, key=k, value=k, choices=SWEEP_KEYS)

    def pick(key: str, given: Any, option: str) -> tuple[Any, str | None, str]:
        """The option's value (checked as the option), else the file's (checked as the file's key)."""
        if given is not None:
            return given, None, option
        return raw.get(key), where, key

    policy_path = _path(policy, None, "--policy") if policy else _path(raw.get("policy"), base, "policy", where)
    if policy_path is None:
        raise ConfigError(
            "name the policy scenario whose levers the sweep sets (policy = FILE in the sweep file, or --policy FILE)",
            file=where,
            key="policy",
        )
    baseline_path = (
        _path(baseline, None, "--baseline") if baseline else _path(raw.get("baseline"), base, "baseline", where)
    ) or DEFAULT_BASELINE
    pol = load_scenario(policy_path)
    bas = load_scenario(baseline_path)
    theory = pol.theory
    if bas.theory.digest() != theory.digest():
        raise ConfigError(
            "the baseline uses another theory than the policy; paired differences would mix policy and theory",
            file=str(baseline_path),
            key="theory",
        )

    lever_table = _flat(_table(raw.get("levers", {}), where, "levers"), "levers", where)
    unc_table = _flat(_table(raw.get("uncertainties", {}), where, "uncertainties"), "uncertainties", where)
    found_levers = {
        name: read_lever(name, v, theory, file=where, key=f"levers.{name}") for name, v in lever_table.items()
    }
    origin = {name: (where, f"levers.{name}") for name in found_levers}
    for text in levers:
        name, v = parse_assignment(text, option="--lever")
        found_levers[name] = read_lever(name, v, theory, file=None, key=f"--lever {name}")
        origin[name] = (None, f"--lever {name}")
    found_unc = {
        name: read_uncertainty(name, v, theory, file=where, key=f"uncertainties.{name}")
        for name, v in unc_table.items()
    }
    for text in uncertainties:
        name, v = parse_assignment(text, option="--uncertainty")
        found_unc[name] = read_uncertainty(name, v, theory, file=None, key=f"--uncertainty {name}")
    if not found_levers and not found_unc:
        raise ConfigError(
            "nothing to sweep: name at least one lever ([levers] in the sweep file, or --lever NAME=VALUES) "
            "or uncertainty ([uncertainties], or --uncertainty NAME=LOW:HIGH)",
            file=where,
            key="levers" if where else "--lever",
        )
    _check_enabled(found_levers, pol, origin)

    value, src, key = pick("design", design, "--design")
    design_ = _choice(value or "grid", DESIGNS, src, key)
    value, src, key = pick("n", n, "-N")
    n_ = _bounded_int(value, "n", src, key)
    varied = [lv for lv in found_levers.values() if not lv.fixed]
    if design_ == "lhs" and varied and n_ is None:
        raise ConfigError("a Latin-hypercube design needs a number of policies (n = N, or -N)", file=src, key=key)
    if design_ == "grid":
        for lv in varied:
            if lv.is_range and lv.levels is None:
                raise ConfigError(
                    "a range on a grid needs levels (how many points), e.g. {low = 0, high = 1, levels = 5}",
                    file=where if lv.name in lever_table else None,
                    key=f"levers.{lv.name}" if lv.name in lever_table else f"--lever {lv.name}",
                )
    value, src, key = pick("futures", futures, "--futures")
    futures_ = _bounded_int(value, "futures", src, key)
    value, src, key = pick("futures_design", futures_design, "--futures-design")
    fdesign = _choice(value or ("lhs" if futures_ is not None else "grid"), DESIGNS, src, key)
    if found_unc and fdesign == "lhs" and futures_ is None:
        raise ConfigError(
            'sampling futures needs their number (futures = N, or --futures N), or futures_design = "grid"',
            file=where,
            key="futures",
        )
    if fdesign == "grid":
        for u in found_unc.values():
            if u.is_range and u.levels is None:
                raise ConfigError(
                    "a range on a grid of futures needs levels, e.g. {low = 0, high = 0.1, levels = 3}; "
                    "or sample futures with futures = N (--futures N)",
                    file=where if u.name in unc_table else None,
                    key=f"uncertainties.{u.name}" if u.name in unc_table else f"--uncertainty {u.name}",
                )

    value, src, key = pick("replicates", replicates, "--reps")
    reps = _bounded_int(value, "replicates", src, key) or bas.replications
    value, src, key = pick("seed", seed, "--seed")
    seed_ = _bounded_int(value, "seed", src, key)
    seed_ = bas.seed if seed_ is None else seed_
    value, src, key = pick("n_providers", n_providers, "--n-providers")
    n_prov = _bounded_int(value, "n_providers", src, key)
    n_prov_key = key
    value, src, key = pick("horizon", horizon, "--horizon")
    horizon_ = _bounded_int(value, "horizon", src, key) or pol.spec.horizon
    value, src, key = pick("months", None if months is None else list(months), "--months")
    if value is None:
        months_ = tuple(m for m in DEFAULT_MONTHS if m <= horizon_) or (horizon_,)
    else:
        items = value if isinstance(value, list) else [value]
        months_ = tuple(sorted({int(_bounded_int(m, "months", src, f"{key}[{i}]") or 0) for i, m in enumerate(items)}))
        if not months_:
            raise ConfigError("give at least one month", file=src, key=key, value=value)
        _months_within(months_, horizon_, src, key)

    value, src, key = pick("outcomes", outcomes, "--outcomes")
    value = DEFAULT_OUTCOMES if value is None else value
    if isinstance(value, list | tuple) and not all(isinstance(v, str) for v in value):
        raise ConfigError("expected a list of outcome names", file=src, key=key, value=value)
    try:
        outcomes_ = tuple(resolve_outputs(value if isinstance(value, str) else ",".join(value), theory))
    except ConfigError as exc:
        raise ConfigError(exc.problem, file=src, key=key, value=exc.value, choices=exc.choices) from None

    texts, src, key = (list(criteria), None, "--criterion") if criteria else (raw.get("criteria"), where, "criteria")
    if texts is not None and not isinstance(texts, list):
        raise ConfigError("expected a list of criteria", file=src, key=key, value=texts)
    reqs = [parse_requirement(t, theory, file=src, key=f"{key}[{i}]") for i, t in enumerate(texts or [])]
    for i, r in enumerate(reqs):
        _months_within((r.month,), horizon_, src, f"{key}[{i}]")
    requirements = tuple(reqs) or tuple(default_requirements(outcomes_, months_[-1]))

    name = raw.get("name") or (Path(file).stem if file is not None else f"{pol.name}_sweep")
    if not isinstance(name, str) or not name.strip():
        raise ConfigError("expected a name", file=where, key="name", value=name)
    description = raw.get("description", "")
    if not isinstance(description, str):
        raise ConfigError("expected a plain-language description", file=where, key="description", value=description)
    spec = SweepSpec(
        name=name.strip(),
        description=description.strip(),
        policy=pol,
        baseline=bas,
        levers=tuple(found_levers.values()),
        uncertainties=tuple(found_unc.values()),
        design=design_,
        n=n_,
        futures=futures_,
        futures_design=fdesign,
        replicates=int(reps),
        seed=int(seed_),
        horizon=int(horizon_),
        months=months_,
        outcomes=outcomes_,
        requirements=requirements,
        n_providers=n_prov,
        file=where,
        raw=raw,
    )
    if n_prov is not None:
        for scen in (pol, bas):
            check_population(dataclasses.replace(scen.spec, n_providers=n_prov), key=n_prov_key)
    return spec


# -- helpers ------------------------------------------------------------------------------
def _path(value: Any, base: Path | None, key: str, file: str | None = None) -> Path | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ConfigError("expected a scenario file's path", file=file, key=key, value=value)
    p = Path(value)
    return p if base is None or p.is_absolute() else base / p


def _table(value: Any, file: str | None, key: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError("expected a table", file=file, key=key, value=value)
    return value


def _flat(table: Mapping[str, Any], prefix: str, file: str | None) -> dict[str, Any]:
    """Nested tables as dotted names (``[levers.support_fund] share = …`` = ``"support_fund.share" = …``).

    A table whose keys are all ``low``/``high``/``levels`` (or none) is a range, not a section.
    """
    out: dict[str, Any] = {}
    for k, v in table.items():
        if isinstance(v, dict) and v and not set(v) <= {"low", "high", "levels"}:
            for name, inner in _flat(v, f"{prefix}.{k}", file).items():
                out[f"{k}.{name}"] = inner
        else:
            out[k] = v
    return out


def _choice(value: Any, choices: Sequence[str], file: str | None, key: str) -> str:
    if value not in choices:
        raise ConfigError("unknown choice", file=file, key=key, value=value, choices=choices)
    return str(value)


def _bounded_int(value: Any, limit: str, file: str | None, key: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
        raise ConfigError("expected a whole number", file=file, key=key, value=value)
    within(int(value), SWEEP_LIMITS[limit], key=key, file=file)
    return int(value)


def _months_within(months: Sequence[int], horizon: int, file: str | None, key: str) -> None:
    try:
        check_months_within(list(months), horizon, key=key, what="the sweep (horizon, or the policy scenario's)")
    except ConfigError as exc:
        raise ConfigError(exc.problem, file=file, key=key, value=exc.value) from None


def _check_enabled(levers: Mapping[str, Lever], policy: Scenario, origin: Mapping[str, tuple[str | None, str]]) -> None:
    """A lever of a section that has an ``enabled`` switch must not be swept while the switch is off.

    (A misspelt or switched-off lever would leave the baseline in place and produce a false "no effect".)
    """
    for name in levers:
        section, _, fld = name.partition(".")
        if fld == "enabled" or not hasattr(getattr(policy.spec.levers, section), "enabled"):
            continue
        switch = levers.get(f"{section}.enabled")
        on = any(switch.values) if switch is not None else getattr(policy.spec.levers, section).enabled
        if not on:
            raise ConfigError(
                f"this lever acts only when {section}.enabled is true, and the policy scenario "
                f"({policy.path}) has it off, so every point would be the same run; "
                f'add "{section}.enabled" = true under [levers] (or --lever {section}.enabled=true), or use a '
                "policy scenario that enables it",
                file=origin[name][0],
                key=origin[name][1],
            )
