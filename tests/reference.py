"""A readable per-agent reference of the domain update (a tests-only oracle).

Written from the docstring of :mod:`sim.dynamics`, not from its vectorised code: one
provider at a time, one edge at a time, one domain at a time, in plain Python floats.

One month, for every provider ``i``:

1. every edge ``e = (s -> t)`` moves its signal toward the source's deviation from its
   starting level: ``Y[i, e] += alpha_e * (X[i, s] - X0[i, s] - Y[i, e])``, with
   ``alpha_e = 1 - exp(-1 / lag_e)`` (``alpha_e = 1`` for a lag of 0). Signals read the
   levels at the start of the month;
2. every domain ``d`` gets a target: its anchor, plus ``w_e * Y[i, e]`` for every edge
   into ``d``, plus this month's pressure;
3. every domain relaxes toward its target by its rate, takes its shock, and is clipped
   to [0, 1].

``update_domains`` has the signature of :func:`sim.dynamics.update_domains`, so a model
runs its dynamics through the reference after ``use_reference(model)`` (the benchmark
compares the two).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from sim.theory import Theory


@dataclass(frozen=True)
class RefEdge:
    """One arrow of the causal web, as plain Python values."""

    source: int
    target: int
    weight: float
    alpha: float


def delay_share(lag: float) -> float:
    """Share of the gap a first-order delay with time constant ``lag`` closes per month."""
    return 1.0 if lag == 0 else 1.0 - math.exp(-1.0 / lag)


def reference_edges(theory: Theory) -> list[RefEdge]:
    """The theory's edges with the values in force, read one by one from the parameters."""
    names = theory.domain_names
    return [
        RefEdge(
            source=names.index(e.source),
            target=names.index(e.target),
            weight=theory.v(f"edge.{e.name}.weight"),
            alpha=delay_share(theory.v(f"edge.{e.name}.lag")),
        )
        for e in theory.edges
    ]


def edges_of(web: Any) -> list[RefEdge]:
    """The edges of a :class:`sim.dynamics.WebArrays` (source, target, weight, delay share)."""
    return [
        RefEdge(int(web.src[e]), int(web.tgt[e]), float(web.weight[e]), float(web.alpha[e]))
        for e in range(len(web.src))
    ]


def update_provider(
    x: list[float],
    x0: list[float],
    anchor: list[float],
    y: list[float],
    pressure: list[float],
    shock: list[float],
    edges: list[RefEdge],
    rate: list[float],
) -> tuple[list[float], list[float]]:
    """One month of one provider's domains; returns (new levels, new signals)."""
    new_y = list(y)
    for e, edge in enumerate(edges):
        deviation = x[edge.source] - x0[edge.source]
        new_y[e] = y[e] + edge.alpha * (deviation - y[e])

    new_x = []
    for d in range(len(x)):
        target = anchor[d]
        for e, edge in enumerate(edges):
            if edge.target == d:
                target += edge.weight * new_y[e]
        target += pressure[d]
        level = x[d] + rate[d] * (target - x[d]) + shock[d]
        new_x.append(min(max(level, 0.0), 1.0))
    return new_x, new_y


def update_domains(
    levels: np.ndarray,
    start: np.ndarray,
    anchor: np.ndarray,
    signals: np.ndarray,
    pressure: np.ndarray,
    shocks: np.ndarray,
    web: Any,
) -> None:
    """Per-agent version of :func:`sim.dynamics.update_domains` (same signature, in place)."""
    edges = edges_of(web)
    rate = [float(r) for r in web.rate]
    for i in range(levels.shape[0]):
        new_x, new_y = update_provider(
            levels[i].tolist(),
            start[i].tolist(),
            anchor[i].tolist(),
            signals[i].tolist(),
            pressure[i].tolist(),
            shocks[i].tolist(),
            edges,
            rate,
        )
        for d, value in enumerate(new_x):
            levels[i, d] = value
        for e, value in enumerate(new_y):
            signals[i, e] = value


def use_reference(model: Any) -> Any:
    """Make ``model`` run its domain dynamics through the per-agent reference; return it."""
    model.update_domains = update_domains
    return model


def reference_step(model: Any) -> None:
    """One month of ``model`` with the domain update done by the per-agent reference."""
    use_reference(model)
    model.step()
