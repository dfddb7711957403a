"""What the dashboard runs: the scenario library, the watched model and its controls.

No Solara here (importable and testable without a browser). :class:`DashboardModel` is the
PartnershipModel built from a scenario file plus the controls a policymaker moves (levers,
shocks and a few key effect sizes); Mesa's SolaraViz re-creates it with the controls' values
when the user presses Reset. :func:`watch_controls` describes those controls in SolaraViz's
``model_params`` form, starting from the scenario's own settings.
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
from sim import PartnershipModel
from sim.policy import Levers, Uncertainties
from sim.theory import Theory, load_theory

OFF = "off"
TYPOLOGY_DEFAULT = "as in the typology"
APPROVAL_CHOICES = (TYPOLOGY_DEFAULT, "6 months", "12 months", "24 months", "36 months", "48 months", "60 months")


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


def scenarios_dir() -> Path:
    """The scenario library: ``$PARTNERSIM_SCENARIOS`` or the repository's ``scenarios/``."""
    env = os.environ.get("PARTNERSIM_SCENARIOS")
    return Path(env) if env else Path(__file__).resolve().parents[3] / "scenarios"


@lru_cache(maxsize=8)
def _library(folder: str) -> dict[str, Scenario]:
    out: dict[str, Scenario] = {}
    for path in sorted(Path(folder).glob("*.toml")):
        scen = load_scenario(path)
        out[scen.name] = scen
    return out


def scenario_library(folder: Path | None = None) -> dict[str, Scenario]:
    """Every valid scenario file of the library by name, the baseline first."""
    lib = _library(str(folder or scenarios_dir()))
    names = sorted(lib, key=lambda n: (n != "baseline", n))
    return {n: lib[n] for n in names}


@lru_cache(maxsize=4)
def default_theory() -> Theory:
    """The default theory (cached: the dashboard reads it on every render)."""
    return load_theory()


def theory_for(scen: Scenario | None, edits: Mapping[str, float] | None = None) -> Theory:
    """The scenario's theory with the session's edited effect sizes applied."""
    base = scen.spec.theory if scen is not None and scen.spec.theory is not None else default_theory()
    return base.with_values(dict(edits or {}), origin="dashboard theory edits") if edits else base


class DashboardModel(PartnershipModel):
    """The watched model: a scenario file plus the dashboard's controls.

    Args:
        scenario_file: the scenario file (levers, shocks, population and horizon start from it).
        failure_regime: partnership type imposed on trusts in special measures, or ``"off"``.
        collaborative_duty: duty to join a provider collaborative.
        voluntary: voluntary partnering under pressure.
        approval: approval time for consolidations (``"12 months"``…, or the typology's own).
        support_fund_share: share of transaction costs met by a central fund.
        workforce_shock: fall in workforce level (0-1 scale, positive = worse).
        financial_squeeze: fall in financial balance (0-1 scale, positive = worse).
        seed: the run's seed.
        theory_edits: effect sizes edited for the session (Theory page), applied first.
        scenario: Mesa's scenario object, passed by SolaraViz on reset (unused).
        **effect_sizes: key effect sizes from the sliders (``partnering.synergy=0.04``…).
    """

    def __init__(
        self,
        scenario_file: str = "",
        failure_regime: str = OFF,
        collaborative_duty: bool = False,
        voluntary: bool = False,
        approval: str = TYPOLOGY_DEFAULT,
        support_fund_share: float = 0.0,
        workforce_shock: float = 0.0,
        financial_squeeze: float = 0.0,
        seed: int = 1,
        theory_edits: Mapping[str, float] | None = None,
        scenario: object = None,
        **effect_sizes: float,
    ) -> None:
        scen = load_scenario(scenario_file) if scenario_file else None
        spec = scen.spec if scen is not None else None
        levers = spec.levers if spec is not None else PartnershipModel_defaults()[0]
        unc = spec.uncertainties if spec is not None else PartnershipModel_defaults()[1]
        fr = levers.failure_regime
        fr = dataclasses.replace(
            fr, enabled=failure_regime != OFF, intervention=failure_regime if failure_regime != OFF else fr.intervention
        )
        vol = dataclasses.replace(levers.voluntary, enabled=bool(voluntary))
        months = None if approval == TYPOLOGY_DEFAULT else float(str(approval).split()[0])
        levers = dataclasses.replace(
            levers,
            failure_regime=fr,
            voluntary=vol,
            collaborative_duty=dataclasses.replace(levers.collaborative_duty, enabled=bool(collaborative_duty)),
            approval=dataclasses.replace(levers.approval, months=months),
            support_fund=dataclasses.replace(levers.support_fund, share=float(support_fund_share)),
        )
        unc = dataclasses.replace(
            unc,
            workforce_shock=dataclasses.replace(unc.workforce_shock, size=float(workforce_shock)),
            financial_squeeze=dataclasses.replace(unc.financial_squeeze, size=float(financial_squeeze)),
        )
        edits = {**dict(theory_edits or {}), **{k: float(v) for k, v in effect_sizes.items()}}
        theory = theory_for(scen, edits)
        super().__init__(
            theory,
            spec.population if spec else None,
            levers,
            unc,
            horizon=spec.horizon if spec else 120,
            n_providers=spec.n_providers if spec else None,
            n_ics=spec.n_ics if spec else None,
            rng=int(seed),
        )
        self.scenario_name = scen.name if scen is not None else "default"
        self.start = spec.start if spec is not None else "2022-07"
        self.edits = edits


def PartnershipModel_defaults() -> tuple[Levers, Uncertainties]:  # noqa: N802 - reads like the class it describes
    """Default (all off) levers and uncertainties."""
    return Levers(), Uncertainties()


def _approval_choice(months: float | None) -> tuple[str, tuple[str, ...]]:
    if months is None:
        return TYPOLOGY_DEFAULT, APPROVAL_CHOICES
    label = f"{months:g} months"
    return label, APPROVAL_CHOICES if label in APPROVAL_CHOICES else (*APPROVAL_CHOICES, label)


def watch_controls(scen: Scenario, edits: Mapping[str, float] | None = None) -> dict[str, Any]:
    """SolaraViz ``model_params`` for a scenario: its settings as the controls' starting values.

    Fixed entries (the scenario file, the session's theory edits) are passed to every model
    as they are; the others become inputs (selects, checkboxes, sliders).
    """
    lv = scen.spec.levers
    un = scen.spec.uncertainties
    theory = theory_for(scen, edits)
    types = theory.type_names
    approval, approval_values = _approval_choice(lv.approval.months)
    params: dict[str, Any] = {
        "scenario_file": str(scen.path),
        "theory_edits": dict(edits or {}),
        "failure_regime": {
            "type": "Select",
            "label": "Failing trusts get a mandated partner",
            "value": lv.failure_regime.intervention if lv.failure_regime.enabled else OFF,
            "values": [OFF, *types],
        },
        "collaborative_duty": {
            "type": "Checkbox",
            "label": "Duty to join a provider collaborative",
            "value": bool(lv.collaborative_duty.enabled),
        },
        "voluntary": {
            "type": "Checkbox",
            "label": "Voluntary partnering under pressure",
            "value": bool(lv.voluntary.enabled),
        },
        "approval": {
            "type": "Select",
            "label": "Approval time for mergers and acquisitions",
            "value": approval,
            "values": list(approval_values),
        },
        "support_fund_share": {
            "type": "SliderFloat",
            "label": "Support fund: share of transition costs met",
            "value": float(lv.support_fund.share),
            "min": 0.0,
            "max": 1.0,
            "step": 0.05,
        },
        "workforce_shock": {
            "type": "SliderFloat",
            "label": "Workforce shock (fall in workforce level)",
            "value": float(un.workforce_shock.size),
            "min": 0.0,
            "max": 0.2,
            "step": 0.01,
        },
        "financial_squeeze": {
            "type": "SliderFloat",
            "label": "Financial squeeze (fall in finances)",
            "value": float(un.financial_squeeze.size),
            "min": 0.0,
            "max": 0.2,
            "step": 0.01,
        },
        "seed": {
            "type": "SliderInt",
            "label": "Random seed (another draw of chance events)",
            "value": 1,
            "min": 1,
            "max": 50,
            "step": 1,
        },
    }
    for ctl in KEY_EFFECTS:
        p = theory.params[ctl.param]
        step = _nice_step(p.high - p.low)
        params[ctl.param] = {
            "type": "SliderFloat",
            "label": ctl.label,
            "value": float(theory.v(ctl.param)),
            "min": float(p.low),
            "max": float(p.high),
            "step": step,
        }
    return params


def _nice_step(span: float) -> float:
    """A slider step giving about 20-50 positions over ``span``."""
    for step in (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0):
        if span / step <= 50:
            return step
    return span / 50


def initial_values(params: Mapping[str, Any]) -> dict[str, Any]:
    """The keyword arguments a control set starts with (fixed values and inputs' values)."""
    return {k: (v["value"] if isinstance(v, dict) and "type" in v else v) for k, v in params.items()}


def snapshot(model: PartnershipModel) -> dict[str, float]:
    """This month's headline numbers (for the dashboard's summary line)."""
    s = model.summary
    return {
        "month": float(model.month),
        **{
            k: float(s[k])
            for k in (
                "share_good_or_outstanding",
                "share_in_deficit",
                "share_special_measures",
                "mean_quality",
                "mean_efficiency",
                "mean_access",
                "partnerships_active",
            )
        },
    }
