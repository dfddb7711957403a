"""The pure entry point: ``run(spec, seed, horizon) -> RunResult``.

Everything in ``analysis/`` runs the model through this function, so a run is a pure
function of (spec, seed): the same spec and seed give identical results in any process.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from sim.model import DEFAULT_HORIZON, PartnershipModel
from sim.policy import Levers, Uncertainties
from sim.population import PopulationSpec
from sim.regulation import CAUSE_NAMES
from sim.theory import Theory

DEFAULT_START = "2022-07"


@dataclass(frozen=True)
class RunSpec:
    """Everything a run depends on except its seed."""

    name: str = "baseline"
    theory: Theory | None = None
    population: PopulationSpec | None = None
    levers: Levers = field(default_factory=Levers)
    uncertainties: Uncertainties = field(default_factory=Uncertainties)
    horizon: int = DEFAULT_HORIZON
    start: str = DEFAULT_START
    n_providers: int | None = None
    n_ics: int | None = None
    start_partnerships: str = "2022"


@dataclass
class RunResult:
    """Outputs of one run."""

    name: str
    seed: int
    series: pd.DataFrame         # one row per month (step 0 = start), one column per metric
    partnerships: pd.DataFrame   # the partnership log, one row per partnership
    sm_spells: pd.DataFrame      # completed special-measures spells: provider, entered, left, months
    panel: pd.DataFrame | None = None  # provider-level panel, when requested


def build_model(spec: RunSpec | Mapping[str, Any], seed: int, horizon: int | None = None,
                *, agent_panel: bool = False) -> PartnershipModel:
    """A model for ``spec`` (a RunSpec, or flat keyword parameters as batch_run passes)."""
    if isinstance(spec, RunSpec):
        return PartnershipModel(spec.theory, spec.population, spec.levers, spec.uncertainties,
                                horizon=spec.horizon if horizon is None else horizon,
                                n_providers=spec.n_providers, n_ics=spec.n_ics,
                                start_partnerships=spec.start_partnerships, agent_panel=agent_panel, rng=seed)
    params = dict(spec)
    params.pop("name", None)
    params.pop("start", None)
    if horizon is not None:
        params["horizon"] = horizon
    return PartnershipModel(agent_panel=agent_panel, rng=seed, **params)


def run(spec: RunSpec | Mapping[str, Any], seed: int, horizon: int | None = None,
        *, agent_panel: bool = False) -> RunResult:
    """Run one replicate and return its time series and partnership log."""
    model = build_model(spec, seed, horizon, agent_panel=agent_panel)
    while model.running:
        model.step()
    start = spec.start if isinstance(spec, RunSpec) else str(spec.get("start", DEFAULT_START))
    name = spec.name if isinstance(spec, RunSpec) else str(spec.get("name", "run"))
    series = model.datacollector.get_model_vars_dataframe().reset_index(drop=True)
    series.insert(0, "step", np.arange(len(series)))
    series.insert(1, "date", month_labels(start, len(series)))
    spells = sm_spells_frame(model)
    panel = None
    if agent_panel:
        from sim.agents import Provider

        panel = model.datacollector.get_agenttype_vars_dataframe(Provider).reset_index()
    return RunResult(name=name, seed=model.seed, series=series,
                     partnerships=pd.DataFrame(model.partnership_log(), columns=LOG_COLUMNS),
                     sm_spells=spells, panel=panel)


def sm_spells_frame(model: PartnershipModel) -> pd.DataFrame:
    """Completed special-measures spells: provider, entered, left, months, cause (quality, finance, both)."""
    spells = pd.DataFrame(model.sm_spells, columns=["provider", "entered", "left", "cause"])
    spells["months"] = spells["left"] - spells["entered"]
    spells["cause"] = spells["cause"].map(CAUSE_NAMES)
    return spells[["provider", "entered", "left", "months", "cause"]]


def month_labels(start: str, n: int) -> list[str]:
    """``YYYY-MM`` labels for ``n`` months from ``start`` (``YYYY-MM``)."""
    year, month = (int(x) for x in start.split("-")[:2])
    base = year * 12 + month - 1
    return [f"{(base + i) // 12:04d}-{(base + i) % 12 + 1:02d}" for i in range(n)]


LOG_COLUMNS = [
    "partnership_id", "type", "mandated", "start_month", "completion_month", "end_month", "ended", "dissolved",
    "end_reason", "final_phase", "n_members", "members", "lead", "same_ics", "culture_gap", "asymmetry",
    "prior_trust", "initial_trust", "ambition", "realisation",
    "mean_trust", "min_trust", "mean_confidence", "mean_faith", "mean_behaviour", "mean_conflict", "months_in_inertia",
    "final_trust", "final_confidence", "final_faith", "final_behaviour", "final_conflict",
    "start_quality", "delta_quality", "start_efficiency", "delta_efficiency", "start_access", "delta_access",
]
