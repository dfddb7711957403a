"""partnersim's model: English NHS providers forming partnerships (pure; no I/O, no plots).

The public names below are loaded on first use (PEP 562), so ``import sim.bounds`` or
``import sim.errors`` (which the command line needs to parse its options) does not import
Mesa, numba and pandas; ``sim.run``, ``sim.RunSpec`` and the rest behave as plain attributes.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sim.api import (
        History,
        Keep,
        LevelHistory,
        MetricsAt,
        Observer,
        RunResult,
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
    from sim.scenario import Scenario, load_scenario
    from sim.spec import RunSpec
    from sim.theory import Theory, load_theory
    from sim.world import World

_WHERE = {
    "sim.api": (
        "History",
        "Keep",
        "LevelHistory",
        "MetricsAt",
        "Observer",
        "RunResult",
        "build_model",
        "observe",
        "run",
        "run_many",
        "warm_up",
    ),
    "sim.errors": ("ConfigError",),
    "sim.model": ("PartnershipModel",),
    "sim.policy": (
        "Approval",
        "CollaborativeDuty",
        "FailureRegime",
        "Levers",
        "Shock",
        "SupportFund",
        "Uncertainties",
        "Voluntary",
    ),
    "sim.population": ("PopulationSpec", "load_population_spec"),
    "sim.scenario": ("Scenario", "load_scenario"),
    "sim.spec": ("RunSpec",),
    "sim.theory": ("Theory", "load_theory"),
    "sim.world": ("World",),
}
_MODULE_OF = {name: module for module, names in _WHERE.items() for name in names}

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
    "Scenario",
    "Shock",
    "SupportFund",
    "Theory",
    "Uncertainties",
    "Voluntary",
    "World",
    "build_model",
    "load_population_spec",
    "load_scenario",
    "load_theory",
    "observe",
    "run",
    "run_many",
    "warm_up",
]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    """Load a public name from its module on first use (or a submodule: ``sim.policy``)."""
    module = _MODULE_OF.get(name)
    if module is None:
        try:
            return importlib.import_module(f"sim.{name}")  # binds sim.<name> as any import of it does
        except ModuleNotFoundError as err:
            if err.name != f"sim.{name}":
                raise
            raise AttributeError(f"module 'sim' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
