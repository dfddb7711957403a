"""Scenario files for the tooling: the loader of :mod:`sim.scenario`, population checks, JSON Schema export.

Scenario files are read and validated by :mod:`sim.scenario` (so ``sim.run(path, seed)``
takes one too); this module re-exports its loader for ``analysis``, checks that a resized
population can be built, and writes the JSON Schema for editors' autocompletion.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from typing import Any

from analysis.limits import PROVIDERS, within
from sim import RunSpec
from sim.policy import Levers, Uncertainties
from sim.population import check_ics_count
from sim.scenario import BOUNDS, DESCRIPTIONS, SCENARIO_KEYS, Scenario, load_scenario, scenario_from_dict
from sim.theory import Theory, load_theory
from sim.world import START_PARTNERSHIPS

__all__ = [
    "DESCRIPTIONS",
    "SCENARIO_KEYS",
    "Scenario",
    "check_population",
    "dumps_schema",
    "json_schema",
    "load_scenario",
    "scenario_from_dict",
]


def check_population(spec: RunSpec, *, key: str) -> None:
    """Check that the population ``spec`` asks for can be built (``key`` names the option that resized it).

    Raises:
        ConfigError: too few or too many providers, or more ICSs than providers.
    """
    n = spec.n_providers or (spec.population.n_providers if spec.population is not None else None)
    if n is None:
        return
    within(n, PROVIDERS, key=key)
    if spec.n_ics is not None:
        check_ics_count(spec.n_ics, n, file=spec.population.path if spec.population else "<scenario>", key=key)


# -- JSON Schema -----------------------------------------------------------------
def json_schema(theory: Theory | None = None) -> dict[str, Any]:
    """A JSON Schema (draft 2020-12) of scenario files, for editors' autocompletion."""
    theory = theory or load_theory()

    def of(default: Any, prefix: str) -> dict[str, Any]:
        hints = typing.get_type_hints(type(default))
        props: dict[str, Any] = {}
        for f in dataclasses.fields(default):
            if f.name == "role":
                continue
            key = f"{prefix}.{f.name}"
            current = getattr(default, f.name)
            if dataclasses.is_dataclass(current):
                props[f.name] = of(current, key)
            else:
                props[f.name] = _json_type(hints[f.name], key, theory)
                if not isinstance(current, dict | tuple) and current is not None:
                    props[f.name]["default"] = current
                if isinstance(current, tuple):
                    props[f.name]["default"] = list(current)
            if key in DESCRIPTIONS:
                props[f.name]["description"] = DESCRIPTIONS[key]
        return {"type": "object", "properties": props, "additionalProperties": False}

    levers = of(Levers(), "levers")
    unc = of(Uncertainties(), "uncertainties")
    unc["properties"]["effect_overrides"] = {
        "type": "object",
        "description": DESCRIPTIONS["uncertainties.effect_overrides"],
        "properties": {
            p.name: {"type": "number", "minimum": p.low, "maximum": p.high} for p in theory.uncertain_params()
        },
        "additionalProperties": False,
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "partnersim scenario",
        "type": "object",
        "required": ["name", "description"],
        "additionalProperties": False,
        "properties": {
            "name": {"type": "string"},
            "description": {"type": "string", "description": "Plain-language description"},
            "rationale": {"type": "string"},
            "sources": {"type": "array", "items": {"type": "string"}},
            "theory": {"type": "string", "default": "theory/irt.toml"},
            "population": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "file": {"type": "string"},
                    "n_providers": {"type": "integer", "minimum": 2},
                    "n_ics": {"type": "integer", "minimum": 1},
                },
            },
            "start_partnerships": {
                "type": "string",
                "enum": list(START_PARTNERSHIPS),
                "default": "2022",
                "description": DESCRIPTIONS["start_partnerships"],
            },
            "levers": levers,
            "uncertainties": unc,
            "horizon": {"type": "integer", "minimum": 1, "default": 120},
            "start": {"type": "string", "pattern": "^[0-9]{4}-(0[1-9]|1[0-2])$", "default": "2022-07"},
            "replications": {"type": "integer", "minimum": 1, "default": 20},
            "seed": {"type": "integer", "minimum": 0},
        },
    }


def _json_type(hint: Any, key: str, theory: Theory) -> dict[str, Any]:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (types.UnionType, typing.Union):
        inner = [a for a in args if a is not type(None)]
        return _json_type(inner[0], key, theory)
    type_keys = ("levers.failure_regime.intervention", "levers.collaborative_duty.type")
    if key in type_keys:
        return {"type": "string", "enum": theory.type_names}
    if origin is tuple:
        return {"type": "array", "items": _json_type(args[0], key, theory)}
    if origin is dict:
        return {
            "type": "object",
            "propertyNames": {"enum": theory.type_names},
            "additionalProperties": {"type": "number", "minimum": 0},
        }
    out: dict[str, Any] = {
        bool: {"type": "boolean"},
        int: {"type": "integer"},
        float: {"type": "number"},
        str: {"type": "string"},
    }[hint].copy()
    if key in BOUNDS:
        out["minimum"], out["maximum"] = BOUNDS[key]
    return out


def dumps_schema() -> str:
    """The JSON Schema as text."""
    return json.dumps(json_schema(), indent=2)
