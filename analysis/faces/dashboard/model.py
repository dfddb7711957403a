"""What the dashboard runs: the scenario library, the watched model and its controls.

No Solara here (importable and testable without a browser). :class:`DashboardModel` is the
PartnershipModel built from a scenario file plus the controls a policymaker moves (levers,
outside pressures and a few key effect sizes); the Watch page builds a new one with the
controls' values when the user starts a run again. :func:`watch_controls` describes those
controls, starting from the scenario's own settings; :func:`watch_spec` turns a scenario and
control values into the RunSpec they mean (the same one the model runs and a saved scenario
file holds).

Theory edits (from the Theory page or the key-effect sliders) always travel as the
scenario's ``uncertainties.effect_overrides``, so the watched run, the comparison and a saved
scenario file apply them the same way: on top of the theory file, each within its range.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from analysis.scenario import Scenario, load_scenario
from sim import PartnershipModel, RunSpec
from sim.theory import Theory, load_theory

OFF = "off"
TYPOLOGY_DEFAULT = "as in the typology"
APPROVAL_CHOICES = (TYPOLOGY_DEFAULT, "6 months", "12 months", "24 months", "36 months", "48 months", "60 months")
RESULTS_ENV = "PARTNERSIM_DASHBOARD_RESULTS"


@dataclass(frozen=True)
class EffectControl:
    """A key effect size shown as a slider (within the parameter's declared range)."""

    param: str
    label: str


KEY_EFFECTS = (
    EffectControl("partnering.synergy", "Gain from working together (synergy)"),
    EffectControl("partnering.disruption.efficiency", "Cost of a transition (efficiency dip)"),
    EffectControl("mechanism.trust_build", "How fast trust builds"),
    EffectControl("edge.culture->quality.weight", "Effect of culture on quality"),
    EffectControl("edge.workforce->quality.weight", "Effect of workforce on quality"),
    EffectControl("partnering.convergence_rate", "How fast partners converge"),
)
KEY_EFFECT_PARAMS = frozenset(e.param for e in KEY_EFFECTS)


@dataclass(frozen=True)
class Control:
    """One input of the Watch page: what it sets, how it is shown, and its starting value.

    ``kind`` is ``select`` (``choices``), ``switch`` or ``slider`` (``low``, ``high``, ``step``,
    ``unit``; ``percent`` shows a share as a percentage); ``group`` is the card it sits in.
    """

    name: str
    kind: str
    label: str
    value: Any
    group: str
    choices: tuple[str, ...] = ()
    low: float = 0.0
    high: float = 1.0
    step: float = 0.01
    unit: str = ""
    percent: bool = False

    def show(self, value: float) -> str:
        """A slider's value as the page writes it."""
        return f"{value:.0%}" if self.percent else f"{value:g}"


LEVERS = "Policy levers"
PRESSURES = "Outside pressures"
ASSUMPTIONS = "Key assumptions (effect sizes)"
CHANCE = "Chance"
GROUPS = (LEVERS, PRESSURES, ASSUMPTIONS, CHANCE)


# -- the scenario library -----------------------------------------------------------------
def scenarios_dir() -> Path:
    """The scenario library: ``$PARTNERSIM_SCENARIOS`` or the repository's ``scenarios/``."""
    env = os.environ.get("PARTNERSIM_SCENARIOS")
    return Path(env) if env else Path(__file__).resolve().parents[3] / "scenarios"


def results_dir() -> Path:
    """Where the dashboard keeps what it makes: ``results/dashboard`` (or ``$PARTNERSIM_DASHBOARD_RESULTS``)."""
    env = os.environ.get(RESULTS_ENV)
    return Path(env) if env else Path("results") / "dashboard"


def display_path(path: str | Path) -> str:
    """A path as the page shows it: relative to the repository (or the working folder) when inside it."""
    p = Path(path).resolve()
    for root in (Path(__file__).resolve().parents[3], Path.cwd().resolve()):
        if p.is_relative_to(root):
            return p.relative_to(root).as_posix()
    return str(p)


def saved_dir() -> Path:
    """Scenario files saved from the dashboard (offered next to the library's)."""
    return results_dir() / "scenarios"


def _state(folder: Path) -> tuple[tuple[str, int], ...]:
    return tuple((p.name, p.stat().st_mtime_ns) for p in sorted(folder.glob("*.toml"))) if folder.is_dir() else ()


@lru_cache(maxsize=8)
def _library(folder: str, state: tuple[tuple[str, int], ...]) -> dict[str, Scenario]:
    del state  # part of the cache key only: a saved or changed file reloads the folder
    out: dict[str, Scenario] = {}
    for path in sorted(Path(folder).glob("*.toml")):
        scen = load_scenario(path)
        out[scen.name] = scen
    return out


def library_scenarios(folder: Path | None = None) -> dict[str, Scenario]:
    """The library's scenario files by name (the repository's ``scenarios/`` unless given)."""
    folder = folder or scenarios_dir()
    return _library(str(folder), _state(folder))


def scenario_library(folder: Path | None = None) -> dict[str, Scenario]:
    """Every scenario the dashboard offers by name: the library's (baseline first), then saved ones."""
    lib = library_scenarios(folder)
    saved = saved_dir()
    mine = {n: s for n, s in _library(str(saved), _state(saved)).items() if n not in lib} if saved.is_dir() else {}
    names = sorted(lib, key=lambda n: (n != "baseline", n))
    return {**{n: lib[n] for n in names}, **dict(sorted(mine.items()))}


@lru_cache(maxsize=4)
def default_theory() -> Theory:
    """The default theory (cached: the dashboard reads it on every render)."""
    return load_theory()


def theory_for(scen: Scenario | None, edits: Mapping[str, float] | None = None) -> Theory:
    """The theory a run of ``scen`` uses: its file, its own overrides, then the session's edits."""
    base = scen.spec.theory if scen is not None and scen.spec.theory is not None else default_theory()
    own = dict(scen.spec.uncertainties.effect_overrides) if scen is not None else {}
    values = {**own, **dict(edits or {})}
    return base.with_values(values, origin="dashboard theory edits") if values else base


def with_edits(scen: Scenario, edits: Mapping[str, float]) -> Scenario:
    """The scenario with the session's theory edits added to its effect overrides (edits win)."""
    if not edits:
        return scen
    unc = scen.spec.uncertainties
    unc = dataclasses.replace(unc, effect_overrides={**unc.effect_overrides, **{k: float(v) for k, v in edits.items()}})
    return dataclasses.replace(scen, spec=dataclasses.replace(scen.spec, uncertainties=unc))


# -- the controls and what they mean --------------------------------------------------------
def watch_spec(scen: Scenario, controls: Mapping[str, Any]) -> RunSpec:
    """The RunSpec the Watch page's controls describe: the scenario with its levers, pressures and edits changed.

    Args:
        scen: the scenario the controls start from.
        controls: control values by name (see :func:`watch_controls`); missing ones keep the
            scenario's setting. ``theory_edits`` (a mapping) and key-effect parameters (by
            their theory name) become effect overrides.
    """
    lv = scen.spec.levers
    un = scen.spec.uncertainties
    c = dict(controls)
    fr = c.get("failure_regime", lv.failure_regime.intervention if lv.failure_regime.enabled else OFF)
    approval = c.get("approval", _approval_choice(lv.approval.months)[0])
    levers = dataclasses.replace(
        lv,
        failure_regime=dataclasses.replace(
            lv.failure_regime, enabled=fr != OFF, intervention=fr if fr != OFF else lv.failure_regime.intervention
        ),
        collaborative_duty=dataclasses.replace(
            lv.collaborative_duty, enabled=bool(c.get("collaborative_duty", lv.collaborative_duty.enabled))
        ),
        voluntary=dataclasses.replace(lv.voluntary, enabled=bool(c.get("voluntary", lv.voluntary.enabled))),
        approval=dataclasses.replace(
            lv.approval, months=None if approval == TYPOLOGY_DEFAULT else float(str(approval).split()[0])
        ),
        support_fund=dataclasses.replace(
            lv.support_fund, share=float(c.get("support_fund_share", lv.support_fund.share))
        ),
    )
    edits = {k: float(v) for k, v in dict(c.get("theory_edits") or {}).items()}
    before = theory_for(scen, edits)  # key-effect sliders left where they started change nothing
    effects = {k: float(v) for k, v in c.items() if k in KEY_EFFECT_PARAMS and abs(float(v) - before.v(k)) > 1e-12}
    overrides = {**un.effect_overrides, **edits, **effects}
    unc = dataclasses.replace(
        un,
        workforce_shock=dataclasses.replace(
            un.workforce_shock, size=float(c.get("workforce_shock", un.workforce_shock.size))
        ),
        financial_squeeze=dataclasses.replace(
            un.financial_squeeze, size=float(c.get("financial_squeeze", un.financial_squeeze.size))
        ),
        effect_overrides={k: float(v) for k, v in overrides.items()},
    )
    return dataclasses.replace(scen.spec, levers=levers, uncertainties=unc)


class DashboardModel(PartnershipModel):
    """The watched model: a scenario file plus the dashboard's controls.

    Args:
        scenario_file: the scenario file (levers, pressures, population and horizon start from it).
        seed: the run's seed.
        **controls: control values by name, as :func:`watch_spec` reads them
            (``failure_regime="merger"``, ``workforce_shock=0.1``, ``theory_edits={...}``,
            ``**{"partnering.synergy": 0.04}``…).
    """

    def __init__(self, scenario_file: str, seed: int = 1, **controls: Any) -> None:
        scen = load_scenario(scenario_file)
        spec = watch_spec(scen, controls)
        super().__init__(
            spec.theory,
            spec.population,
            spec.levers,
            spec.uncertainties,
            horizon=spec.horizon,
            n_providers=spec.n_providers,
            n_ics=spec.n_ics,
            start_partnerships=spec.start_partnerships,
            rng=int(seed),
        )
        self.scenario_name = scen.name
        self.start = spec.start
        self.spec = spec


def _approval_choice(months: float | None) -> tuple[str, tuple[str, ...]]:
    if months is None:
        return TYPOLOGY_DEFAULT, APPROVAL_CHOICES
    label = f"{months:g} months"
    return label, APPROVAL_CHOICES if label in APPROVAL_CHOICES else (*APPROVAL_CHOICES, label)


def watch_controls(scen: Scenario, edits: Mapping[str, float] | None = None) -> list[Control]:
    """The Watch page's inputs for a scenario, each starting from the scenario's own setting."""
    lv = scen.spec.levers
    un = scen.spec.uncertainties
    theory = theory_for(scen, edits)
    approval, approval_values = _approval_choice(lv.approval.months)
    out = [
        Control(
            "failure_regime",
            "select",
            "Failing trusts get a mandated partner",
            lv.failure_regime.intervention if lv.failure_regime.enabled else OFF,
            LEVERS,
            choices=(OFF, *theory.type_names),
        ),
        Control(
            "collaborative_duty",
            "switch",
            "Duty to join a provider collaborative",
            bool(lv.collaborative_duty.enabled),
            LEVERS,
        ),
        Control("voluntary", "switch", "Voluntary partnering under pressure", bool(lv.voluntary.enabled), LEVERS),
        Control("approval", "select", "Approval time for mergers and acquisitions", approval, LEVERS, approval_values),
        Control(
            "support_fund_share",
            "slider",
            "Support fund: share of transition costs met",
            float(lv.support_fund.share),
            LEVERS,
            low=0.0,
            high=1.0,
            step=0.05,
            percent=True,
        ),
        Control(
            "workforce_shock",
            "slider",
            "Workforce shock (fall in workforce level, index 0-1)",
            float(un.workforce_shock.size),
            PRESSURES,
            low=0.0,
            high=0.2,
            step=0.01,
        ),
        Control(
            "financial_squeeze",
            "slider",
            "Financial squeeze (fall in finances, index 0-1)",
            float(un.financial_squeeze.size),
            PRESSURES,
            low=0.0,
            high=0.2,
            step=0.01,
        ),
    ]
    for ctl in KEY_EFFECTS:
        p = theory.params[ctl.param]
        out.append(
            Control(
                ctl.param,
                "slider",
                ctl.label,
                float(theory.v(ctl.param)),
                ASSUMPTIONS,
                low=float(p.low),
                high=float(p.high),
                step=nice_step(p.high - p.low),
            )
        )
    out.append(
        Control("seed", "slider", "Random seed (another draw of chance events)", 1, CHANCE, low=1, high=50, step=1)
    )
    return out


def nice_step(span: float) -> float:
    """A slider step giving about 20-50 positions over ``span``."""
    for step in (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0):
        if span / step <= 50:
            return step
    return span / 50


def initial_values(controls: list[Control]) -> dict[str, Any]:
    """The controls' starting values by name."""
    return {c.name: c.value for c in controls}


def snapshot(model: PartnershipModel) -> dict[str, float]:
    """This month's headline numbers (for the dashboard's summary line)."""
    s = model.summary
    keys = (
        "share_good_or_outstanding",
        "share_in_deficit",
        "share_special_measures",
        "mean_surplus_pct",
        "mean_quality",
        "mean_efficiency",
        "mean_access",
        "partnerships_active",
    )
    return {"month": float(model.month), **{k: float(s[k]) for k in keys}}
