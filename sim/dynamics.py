"""Vectorised domain dynamics (design.md §4).

State per provider (rows) and domain (columns):

* ``levels``  X — current level in [0, 1];
* ``start``   X0 — level at month 0;
* ``anchor``  A — the level a domain relaxes to before signals and pressures. Equal to X0
  except for domains that partnerships have moved (convergence is a lasting change);
* ``signals`` Y — one column per edge of the causal web: the source's deviation from its
  starting level, passed through a first-order delay with the edge's lag.

One month:

1. ``Y += alpha * (X[:, src] - X0[:, src] - Y)`` with ``alpha = 1 - exp(-1/lag)`` (lag 0 →
   alpha 1: the previous month's deviation passes at once). Signals read the levels at the
   start of the month, so every edge carries at least the one-month step delay.
2. target ``T = A + Y @ W + P`` where W places each edge's weight in its target's column
   (summed edge by edge, in edge order)
   and P holds the month's pressures (transition disruption, scale effects, external
   shocks).
3. ``X += rate * (T - X) + noise``, then clip to [0, 1].

With no partnerships, no pressures and zero-mean noise, E[X] stays at X0: the baseline does
not drift by construction.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from sim.registry import OPERATING, TRANSITION
from sim.theory import Theory

if TYPE_CHECKING:
    from sim.registry import Ledger, TypeArrays


@dataclass(frozen=True)
class WebArrays:
    """The causal web and domain rates as arrays (built once per theory)."""

    src: np.ndarray  # (E,) int: source domain of each edge
    tgt: np.ndarray  # (E,) int: target domain of each edge
    weight: np.ndarray  # (E,)
    alpha: np.ndarray  # (E,) share of the gap closed per month by the edge's delay
    w_matrix: np.ndarray  # (E, D): weight of edge e into domain d
    rate: np.ndarray  # (D,) relaxation per month
    noise_sd: np.ndarray  # (D,)


def web_arrays(theory: Theory) -> WebArrays:
    """Arrays of the theory's causal web with the parameter values in force."""
    names = theory.domain_names
    idx = {n: i for i, n in enumerate(names)}
    src = np.array([idx[e.source] for e in theory.edges], dtype=np.intp)
    tgt = np.array([idx[e.target] for e in theory.edges], dtype=np.intp)
    weight = np.array([theory.v(f"edge.{e.name}.weight") for e in theory.edges], dtype=float)
    lag = np.array([theory.v(f"edge.{e.name}.lag") for e in theory.edges], dtype=float)
    with np.errstate(divide="ignore"):
        alpha = np.where(lag > 0, -np.expm1(-1.0 / np.where(lag > 0, lag, 1.0)), 1.0)
    w_matrix = np.zeros((len(theory.edges), len(names)))
    w_matrix[np.arange(len(theory.edges)), tgt] = weight
    rate = np.array([theory.v(f"domain.{d}.rate") for d in names], dtype=float)
    noise_sd = np.array([theory.v(f"domain.{d}.noise") for d in names], dtype=float)
    return WebArrays(src.reshape(-1), tgt.reshape(-1), weight, alpha, w_matrix, rate, noise_sd)


def update_domains(
    levels: np.ndarray,
    start: np.ndarray,
    anchor: np.ndarray,
    signals: np.ndarray,
    pressure: np.ndarray,
    shocks: np.ndarray,
    web: WebArrays,
) -> None:
    """Advance every provider's domains by one month, in place.

    Args:
        levels: X, providers × domains, updated in place.
        start: X0, providers × domains.
        anchor: A, providers × domains.
        signals: Y, providers × edges, updated in place.
        pressure: P, providers × domains (this month's offsets to the targets).
        shocks: providers × domains, this month's noise (already scaled by its s.d.).
        web: arrays of the causal web.
    """
    if signals.shape[1]:
        signals += web.alpha * (levels[:, web.src] - start[:, web.src] - signals)
        inflow = np.zeros_like(levels)
        for e, d in enumerate(web.tgt):  # edge by edge (a matrix product's rounding varies with BLAS and size)
            inflow[:, d] += signals[:, e] * web.weight[e]
        target = anchor + inflow + pressure
    else:
        target = anchor + pressure
    levels += web.rate * (target - levels) + shocks
    np.clip(levels, 0.0, 1.0, out=levels)


_expm1 = np.frompyfunc(math.expm1, 1, 1)

CHANNELS = ("synergy", "disruption", "scale", "lead_cost")  # offsets to members' targets (convergence moves anchors)


@dataclass(frozen=True)
class PartneringArrays:
    """How partnerships act on members' domains, from ``partnering.*`` parameters."""

    convergence_rate: float
    synergy: float
    best_practice_share: float
    disruption: np.ndarray  # (D,) dip per unit of organisational change, during transition
    disruption_w_conflict: float  # transition dip grows by this share per unit of conflict
    disruption_persistence: float  # once operating, this share of the dip persists per unit of conflict
    scale: np.ndarray  # (D,) potential gain per unit of integration, for types sharing back office
    savings_lag: float  # months: time constant of the savings' ramp from completion
    lead_cost: np.ndarray  # (D,) cost to the lead of a mandated support (management attention)
    realisation_mean: float  # mean of the per-partnership realisation draw (Beta)
    realisation_sd: float  # its standard deviation


def partnering_arrays(theory: Theory) -> PartneringArrays:
    """Arrays of the partnership input with the values in force."""
    names = theory.domain_names

    def per_domain(table: str, domains: tuple[str, ...]) -> np.ndarray:
        out = np.zeros(len(names))
        for d in domains:
            out[names.index(d)] = theory.v(f"partnering.{table}.{d}")
        return out

    return PartneringArrays(
        convergence_rate=theory.v("partnering.convergence_rate"),
        synergy=theory.v("partnering.synergy"),
        best_practice_share=theory.v("partnering.best_practice_share"),
        disruption=per_domain("disruption", theory.disruption_domains),
        disruption_w_conflict=theory.v("partnering.disruption_w_conflict"),
        disruption_persistence=theory.v("partnering.disruption_persistence"),
        scale=per_domain("scale", theory.scale_domains),
        savings_lag=theory.v("partnering.savings_lag"),
        lead_cost=per_domain("lead_cost", theory.lead_cost_domains),
        realisation_mean=theory.v("partnering.realisation_mean"),
        realisation_sd=theory.v("partnering.realisation_sd"),
    )


def realisation_draw(pa: PartneringArrays, rng: np.random.Generator) -> float:
    """One partnership's realisation: a Beta draw with the declared mean and standard deviation."""
    return float(rng.beta(*beta_shape(pa)))


def realisation_draws(pa: PartneringArrays, rng: np.random.Generator, n: int) -> list[float]:
    """``n`` partnerships' realisations in one call: the numbers ``n`` calls of :func:`realisation_draw` give."""
    return rng.beta(*beta_shape(pa), size=n).tolist() if n else []


def beta_shape(pa: PartneringArrays) -> tuple[float, float]:
    """The Beta distribution's shapes for the declared realisation mean and standard deviation (moments)."""
    mean, sd = pa.realisation_mean, pa.realisation_sd
    concentration = mean * (1.0 - mean) / (sd * sd) - 1.0
    return mean * concentration, (1.0 - mean) * concentration


def scatter_add(out: np.ndarray, rows: np.ndarray, values: np.ndarray) -> None:
    """``out[rows] += values`` with repeated rows summed (a fast ``np.add.at`` for 2-D)."""
    n, d = out.shape
    flat = (rows[:, None] * d + np.arange(d)).ravel()
    out += np.bincount(flat, weights=values.ravel(), minlength=n * d).reshape(n, d)


def savings_ramp(months_since_completion: np.ndarray, lag: float) -> np.ndarray:
    """Share of the eventual saving reached: 0 before completion, then ``1 - exp(-t / lag)``."""
    t = np.maximum(months_since_completion, 0.0)
    if lag <= 0:
        return (months_since_completion >= 0).astype(float)
    # the C library's expm1, element by element: numpy's vectorised expm1 may round the last bit
    # differently, and the compiled engine (sim/kernels.py) calls the C library's
    return -_expm1(-t / lag).astype(float)


def partnership_offsets(
    ledger: Ledger, types: TypeArrays, pa: PartneringArrays, n: int, cost_share: np.ndarray, month: int
) -> dict[str, np.ndarray]:
    """This month's offsets to members' targets, by channel (each providers × domains).

    * ``synergy``: effectiveness through collaboration on the domains a type acts on,
      ``synergy × effect × behaviour × realisation`` while the partnership lives;
    * ``disruption``: ``-org_change × disruption × cost_share``, times ``1 + w·conflict`` in
      transition and ``persistence × conflict`` once operating (unresolved conflict keeps
      costing management attention);
    * ``scale``: shared back office, ``scale × integration × behaviour × realisation ×
      ramp(months since completion)``, for types that share it;
    * ``lead_cost``: the lead of a mandated support (a reversible type: buddying, a management
      contract, a group) pays ``-lead_cost`` (its management's attention) while the support
      lives; consolidations pay through disruption instead.

    Args:
        ledger: the partnership ledger.
        types: per-type arrays.
        pa: partnering parameters.
        n: number of providers.
        cost_share: (D,) share of each domain's disruption that members bear (1 − support fund
            share for the efficiency column, 1 elsewhere).
        month: this month (for the savings' ramp).
    """
    d = pa.disruption.shape[0]
    out = {c: np.zeros((n, d)) for c in CHANNELS}
    mem = ledger.memberships()
    if not len(mem):
        return out
    mp, mi = mem.mp, mem.mi
    phase = ledger.phase[mp]
    k = ledger.type[mp]
    transition = phase == TRANSITION
    operating = phase == OPERATING
    live = transition | operating
    realised = ledger.behaviour[mp] * ledger.realisation[mp] * live
    if pa.synergy:
        scatter_add(out["synergy"], mi, pa.synergy * types.effects[k] * realised[:, None])
    conflict = ledger.conflict[mp]
    factor = np.where(
        transition,
        1.0 + pa.disruption_w_conflict * conflict,
        np.where(operating, pa.disruption_persistence * conflict, 0.0),
    )
    scatter_add(out["disruption"], mi, -(types.org_change[k] * factor)[:, None] * (pa.disruption * cost_share))
    shares = types.shares_back_office[k]
    if shares.any():
        ramp = savings_ramp((month - ledger.completion[mp]).astype(float), pa.savings_lag)
        scatter_add(out["scale"], mi, (shares * types.integration[k] * realised * ramp)[:, None] * pa.scale)
    lead = live & (ledger.client[mp] >= 0) & (mi == ledger.lead[mp]) & ledger.mandated[mp] & types.reversible[k]
    if lead.any():
        scatter_add(out["lead_cost"], mi[lead], -np.broadcast_to(pa.lead_cost, (int(lead.sum()), d)))
    return out


def convergence(
    ledger: Ledger, types: TypeArrays, pa: PartneringArrays, anchor: np.ndarray, turnover: np.ndarray
) -> None:
    """Move members' anchors toward their partnership's target level, in place.

    The target is the lead's level (led types), a point between the members' mean and the
    best member's level (``best_practice_share`` of the way), or the turnover-weighted mean.
    The rate is scaled by the type's effect on each domain, its integration, and what the
    partnership realises: its collaborative behaviour times its realisation draw. In ``best``
    mode members only move up (adopting better practice never degrades a member).
    Convergence never raises a partnership's target by itself (the lead has no gap; the
    weighted mean is conserved; the best member is above the target), so it cannot run away.
    """
    mem = ledger.memberships()
    if not len(mem):
        return
    ids = mem.ids
    phase = ledger.phase[ids]
    live = (phase == TRANSITION) | (phase == OPERATING)
    if not live.any():
        return
    k_seg = ledger.type[ids]
    mode = types.target_mode[k_seg]
    level = anchor[mem.mi]
    target = np.zeros((len(ids), anchor.shape[1]))
    if (mode == 0).any():  # lead
        target[mode == 0] = anchor[ledger.lead[ids[mode == 0]]]
    if (mode == 1).any():  # best: part of the way from the members' mean to the best member
        mean = mem.seg_mean(level)
        best = mean + pa.best_practice_share * (mem.seg_max(level) - mean)
        target[mode == 1] = best[mode == 1]
    if (mode == 2).any():  # size-weighted
        w = turnover[mem.mi]
        target[mode == 2] = (mem.seg_sum(level * w[:, None]) / mem.seg_sum(w)[:, None])[mode == 2]
    seg = mem.seg
    realised = (ledger.behaviour[ids] * ledger.realisation[ids] * live)[seg]
    effect = types.effects[k_seg][seg]
    rate = pa.convergence_rate * effect * (types.integration[k_seg][seg] * realised)[:, None]
    gap = target[seg] - level
    adopt_only = (mode == 1)[seg]  # adopting better practice never degrades a member
    gap[adopt_only] = np.maximum(gap[adopt_only], 0.0)
    scatter_add(anchor, mem.mi, rate * gap)
    np.clip(anchor, 0.0, 1.0, out=anchor)
