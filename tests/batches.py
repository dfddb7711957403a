"""Helpers for the tests of runs in batches (tests/test_engine.py, tests/test_batch_isolation.py).

:func:`flat_spec` builds a run from flat settings and a design point; :func:`identical` holds two
tables equal bit for bit: the engine's promise that a run in a batch is the run alone.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

import sim

LEVERS = set(sim.policy.flat_names(sim.Levers))


def flat_spec(settings: Mapping[str, Any], point: Mapping[str, float], horizon: int, name: str) -> sim.RunSpec:
    """A run of flat ``settings`` (levers, uncertainties and ``start_partnerships``) at the design ``point``."""
    flat = dict(settings)
    start = flat.pop("start_partnerships", "2022")
    levers = sim.policy.from_flat(sim.Levers, sim.Levers(), {k: v for k, v in flat.items() if k in LEVERS})
    unc = sim.policy.from_flat(
        sim.Uncertainties, sim.Uncertainties(), {k: v for k, v in flat.items() if k not in LEVERS}
    )
    unc = dataclasses.replace(unc, effect_overrides=dict(point))
    return sim.RunSpec(name=name, levers=levers, uncertainties=unc, horizon=horizon, start_partnerships=start)


def identical(a: pd.DataFrame, b: pd.DataFrame) -> None:
    """``a`` and ``b`` hold the same columns and values, bit for bit: NaN equal to NaN, and the sign of zero kept."""
    assert list(a.columns) == list(b.columns)
    assert len(a) == len(b)
    for col in a.columns:
        x, y = a[col].to_numpy(), b[col].to_numpy()
        if x.dtype.kind == "f" or y.dtype.kind == "f":
            x, y = x.astype(float), y.astype(float)
            same = (x == y) | (np.isnan(x) & np.isnan(y))
            assert same.all(), f"column {col} differs"
            assert (np.signbit(x) == np.signbit(y)).all(), f"column {col}: signs of zero differ"
        else:
            assert (x == y).all(), f"column {col} differs"
