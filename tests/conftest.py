"""Shared fixtures: the default theory and helpers to draw theory values from declared ranges."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import Phase, settings

from sim import Theory, load_theory

ROOT = Path(__file__).resolve().parents[1]
TESTS = Path(__file__).resolve().parent
if str(TESTS) not in sys.path:  # `import reference` (the per-agent oracle) from any test module
    sys.path.insert(0, str(TESTS))


# HYPOTHESIS_PROFILE=noshrink reports the first failing example at once (for checking that tests
# fail when the code is broken, where shrinking a whole-model example takes minutes).
settings.register_profile("noshrink", phases=[Phase.explicit, Phase.reuse, Phase.generate])
if os.environ.get("HYPOTHESIS_PROFILE"):
    settings.load_profile(os.environ["HYPOTHESIS_PROFILE"])


@pytest.fixture(scope="session")
def theory() -> Theory:
    """The default theory (scenarios/theory/irt.toml + typology.toml)."""
    return load_theory()


@pytest.fixture(scope="session")
def draw_values():
    """``draw_values(theory, rng)``: random values for every uncertain parameter."""
    return random_values


def random_values(theory: Theory, rng: np.random.Generator) -> dict[str, float]:
    """A value for every uncertain parameter, uniform in its declared [low, high] (whole numbers
    for integer parameters)."""
    out: dict[str, float] = {}
    for p in theory.uncertain_params():
        if p.integer:
            out[p.name] = float(rng.integers(int(np.ceil(p.low)), int(np.floor(p.high)) + 1))
        else:
            out[p.name] = float(rng.uniform(p.low, p.high))
    return out
