"""partnersim's model: English NHS providers forming partnerships (pure; no I/O, no plots)."""

from sim.api import (
    History,
    Keep,
    LevelHistory,
    MetricsAt,
    Observer,
    RunResult,
    RunSpec,
    build_model,
    observe,
    run,
    run_many,
    warm_up,
)
from sim.errors import ConfigError
from sim.model import PartnershipModel
from sim.policy import (
    Approval,
    CollaborativeDuty,
    FailureRegime,
    Levers,
    Shock,
    SupportFund,
    Uncertainties,
    Voluntary,
)
from sim.population import PopulationSpec, load_population_spec
from sim.theory import Theory, load_theory

__all__ = [
    "Approval",
    "CollaborativeDuty",
    "ConfigError",
    "FailureRegime",
    "History",
    "Keep",
    "LevelHistory",
    "Levers",
    "MetricsAt",
    "Observer",
    "PartnershipModel",
    "PopulationSpec",
    "RunResult",
    "RunSpec",
    "Shock",
    "SupportFund",
    "Theory",
    "Uncertainties",
    "Voluntary",
    "build_model",
    "load_population_spec",
    "load_theory",
    "observe",
    "run",
    "run_many",
    "warm_up",
]
__version__ = "0.1.0"
