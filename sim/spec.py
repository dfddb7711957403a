"""What a run depends on except its seed: :class:`RunSpec` (built from a scenario file by :mod:`sim.scenario`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sim.policy import Levers, Uncertainties
from sim.population import PopulationSpec
from sim.theory import Theory
from sim.world import DEFAULT_HORIZON

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
