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
   and P holds the month's pressures (transition disruption, scale effects, external
   shocks).
3. ``X += rate * (T - X) + noise``, then clip to [0, 1].

With no partnerships, no pressures and zero-mean noise, E[X] stays at X0: the baseline does
not drift by construction.
"""

from __future__ import annotations

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

    src: np.ndarray      # (E,) int: source domain of each edge
    tgt: np.ndarray      # (E,) int: target domain of each edge
    weight: np.ndarray   # (E,)
    alpha: np.ndarray    # (E,) share of the gap closed per month by the edge's delay
    w_matrix: np.ndarray  # (E, D): weight of edge e into domain d
    rate: np.ndarray     # (D,) relaxation per month
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


def update_domains(levels: np.ndarray, start: np.ndarray, anchor: np.ndarray, signals: np.ndarray,
                   pressure: np.ndarray, shocks: np.ndarray, web: WebArrays) -> None:
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
        target = anchor + signals @ web.w_matrix + pressure
    else:
        target = anchor + pressure
    levels += web.rate * (target - levels) + shocks
    np.clip(levels, 0.0, 1.0, out=levels)


@dataclass(frozen=True)
class PartneringArrays:
    """How partnerships act on members' domains, from ``partnering.*`` parameters."""

    convergence_rate: float
    synergy: float
    best_practice_share: float
    disruption: np.ndarray   # (D,) dip per unit of organisational change, during transition
    scale: np.ndarray        # (D,) gain per unit of integration, for types sharing back office


def partnering_arrays(theory: Theory) -> PartneringArrays:
    """Arrays of the partnership input with the values in force."""
    names = theory.domain_names
    disruption = np.zeros(len(names))
    for d in theory.disruption_domains:
        disruption[names.index(d)] = theory.v(f"partnering.disruption.{d}")
    scale = np.zeros(len(names))
    for d in theory.scale_domains:
        scale[names.index(d)] = theory.v(f"partnering.scale.{d}")
    return PartneringArrays(theory.v("partnering.convergence_rate"), theory.v("partnering.synergy"),
                            theory.v("partnering.best_practice_share"), disruption, scale)


def scatter_add(out: np.ndarray, rows: np.ndarray, values: np.ndarray) -> None:
    """``out[rows] += values`` with repeated rows summed (a fast ``np.add.at`` for 2-D)."""
    n, d = out.shape
    flat = (rows[:, None] * d + np.arange(d)).ravel()
    out += np.bincount(flat, weights=values.ravel(), minlength=n * d).reshape(n, d)


def transition_pressure(ledger: Ledger, types: TypeArrays, pa: PartneringArrays, n: int,
                        cost_share: np.ndarray) -> np.ndarray:
    """Offsets to members' targets from transitions (disruption) and shared back office.

    Scale effects apply from the start of transition on.

    Args:
        ledger: the partnership ledger.
        types: per-type arrays.
        pa: partnering parameters.
        n: number of providers.
        cost_share: (D,) share of each domain's disruption that members bear (1 − support fund
            share for the efficiency column, 1 elsewhere).
    """
    out = np.zeros((n, pa.disruption.shape[0]))
    mem = ledger.memberships()
    if not len(mem):
        return out
    phase = ledger.phase[mem.mp]
    k = ledger.type[mem.mp]
    in_transition = (phase == TRANSITION)[:, None]
    live = ((phase == TRANSITION) | (phase == OPERATING))[:, None]
    dip = in_transition * types.org_change[k][:, None] * (pa.disruption * cost_share)
    gain = live * (types.shares_back_office[k] * types.integration[k])[:, None] * pa.scale
    scatter_add(out, mem.mi, gain - dip)
    return out


def convergence(ledger: Ledger, types: TypeArrays, pa: PartneringArrays, anchor: np.ndarray,
                turnover: np.ndarray) -> None:
    """Move members' anchors toward their partnership's target level, in place.

    The target is the lead's level (led types), a point between the members' mean and the
    best member's level (``best_practice_share`` of the way), or the turnover-weighted mean
    (mergers). The rate is scaled by the type's effect on each
    domain, its integration and the partnership's collaborative behaviour. In ``best`` mode
    members only move up (adopting better practice never degrades a member). Convergence
    never raises a partnership's target by itself (the lead has no gap; the weighted mean is
    conserved; the best member is above the target), so it cannot run away.
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
    if (mode == 0).any():   # lead
        target[mode == 0] = anchor[ledger.lead[ids[mode == 0]]]
    if (mode == 1).any():   # best: part of the way from the members' mean to the best member
        mean = mem.seg_mean(level)
        best = mean + pa.best_practice_share * (mem.seg_max(level) - mean)
        target[mode == 1] = best[mode == 1]
    if (mode == 2).any():   # size-weighted
        w = turnover[mem.mi]
        target[mode == 2] = (mem.seg_sum(level * w[:, None]) / mem.seg_sum(w)[:, None])[mode == 2]
    seg = mem.seg
    keep = live[seg]
    behaviour = ledger.behaviour[ids][seg]
    effect = types.effects[k_seg][seg]
    rate = pa.convergence_rate * effect * (types.integration[k_seg][seg] * behaviour * keep)[:, None]
    gap = target[seg] - level
    adopt_only = (mode == 1)[seg]   # adopting better practice never degrades a member
    gap[adopt_only] = np.maximum(gap[adopt_only], 0.0)
    scatter_add(anchor, mem.mi, rate * gap)
    np.clip(anchor, 0.0, 1.0, out=anchor)


def synergy_pressure(ledger: Ledger, types: TypeArrays, pa: PartneringArrays, out: np.ndarray) -> None:
    """Add the synergy of live partnerships to members' targets, in place.

    Effectiveness through collaboration (innovation, less duplication) raises the domains a
    type acts on by ``synergy × effect × behaviour`` while the partnership lives. It is an
    offset to the target, not a change of the anchor, so it cannot ratchet levels upward.
    """
    mem = ledger.memberships()
    if not len(mem) or pa.synergy == 0.0:
        return
    phase = ledger.phase[mem.mp]
    live = (phase == TRANSITION) | (phase == OPERATING)
    k = ledger.type[mem.mp]
    scatter_add(out, mem.mi, pa.synergy * types.effects[k] * (ledger.behaviour[mem.mp] * live)[:, None])
