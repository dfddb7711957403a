"""Partnership mechanisms of the refined realist theory (design.md §5; domain.md §3).

Pure, vectorised functions over arrays of partnerships. Each reads like one arrow of the
"web of causality": conflict-resolution approach → conflict → trust → risk threshold →
collaborative behaviour; contract → confidence → risk threshold; perceived progress →
faith → collaborative behaviour.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import TYPE_CHECKING

import numpy as np

from sim.theory import Theory

if TYPE_CHECKING:
    from sim.registry import Ledger, TypeArrays


@dataclass(frozen=True)
class MechanismParams:
    """Values of the ``mechanism.*`` parameters in force (see irt.toml for meanings)."""

    conflict_rate: float
    conflict_base: float
    conflict_w_gap: float
    conflict_w_asymmetry: float
    conflict_w_mandate: float
    conflict_w_slow: float
    conflict_w_change: float
    conflict_w_accountability: float
    trust_init: float
    trust_w_prior: float
    trust_w_same_ics: float
    trust_w_mandate: float
    trust_build: float
    trust_erosion: float
    dissolution_trust_penalty: float
    confidence_rate: float
    confidence_w_mandate: float
    faith_init: float
    faith_w_mandate: float
    faith_rate: float
    faith_w_instability: float
    instability_scale: float
    progress_rate: float
    progress_scale: float
    ambition: float
    behaviour_w_risk: float
    inertia_threshold: float
    inertia_months: float

    @classmethod
    def from_theory(cls, theory: Theory) -> MechanismParams:
        """Read every field from ``mechanism.<field>``."""
        return cls(**{f.name: theory.v(f"mechanism.{f.name}") for f in fields(cls)})


def unit(x: np.ndarray) -> np.ndarray:
    """Clip to [0, 1] (cheaper than ``np.clip`` on the small arrays used here)."""
    return np.minimum(np.maximum(x, 0.0), 1.0)


def progress_signal(improvement: np.ndarray, ambition: np.ndarray, scale: float) -> np.ndarray:
    """How members perceive progress: 0.5 when improvement meets the ambition, in [0, 1]."""
    return unit(0.5 + (improvement - ambition) / scale)


def smooth(stock: np.ndarray, target: np.ndarray, rate: float) -> np.ndarray:
    """First-order adjustment of a stock toward a target."""
    return stock + rate * (target - stock)


def conflict_target(gap: np.ndarray, asymmetry: np.ndarray, mandated: np.ndarray, progress: np.ndarray,
                    org_change: np.ndarray, accountability: np.ndarray, m: MechanismParams) -> np.ndarray:
    """Level conflict tends to.

    Cultural gap, power asymmetry, mandate, slow progress and organisational change raise it;
    members' accountability arrangements lower it.
    """
    raw = (m.conflict_base + m.conflict_w_gap * gap + m.conflict_w_asymmetry * asymmetry
           + m.conflict_w_mandate * mandated + m.conflict_w_slow * (1.0 - progress)
           + m.conflict_w_change * org_change - m.conflict_w_accountability * accountability)
    return unit(raw)


def update_trust(trust: np.ndarray, progress: np.ndarray, conflict: np.ndarray,
                 m: MechanismParams) -> np.ndarray:
    """Trust builds slowly with perceived progress and erodes fast with conflict."""
    build = m.trust_build * (1.0 - trust) * progress * (1.0 - conflict)
    erode = m.trust_erosion * conflict * trust
    return unit(trust + build - erode)


def initial_trust(prior: np.ndarray, same_ics: np.ndarray, mandated: np.ndarray,
                  m: MechanismParams) -> np.ndarray:
    """Starting trust.

    Higher with a history of successful collaboration and a shared ICS, lower when imposed.
    """
    raw = m.trust_init + m.trust_w_prior * prior + m.trust_w_same_ics * same_ics - m.trust_w_mandate * mandated
    return unit(raw)


def confidence_target(contract: np.ndarray, mandated: np.ndarray, m: MechanismParams) -> np.ndarray:
    """Confidence comes from the contract strength of the type, plus the regulator's backing."""
    return unit(contract + m.confidence_w_mandate * mandated)


def faith_target(progress: np.ndarray, instability: np.ndarray, m: MechanismParams) -> np.ndarray:
    """Faith follows perceived progress; workforce instability lowers it."""
    return unit(progress * (1.0 - m.faith_w_instability * instability))


def initial_faith(mandated: np.ndarray, m: MechanismParams) -> np.ndarray:
    """Starting faith, lower where the need to change is imposed rather than accepted."""
    return unit(m.faith_init - m.faith_w_mandate * mandated)


def risk_threshold(trust: np.ndarray, confidence: np.ndarray) -> np.ndarray:
    """Risk the partners will accept: either trust or confidence can carry it."""
    return 1.0 - (1.0 - trust) * (1.0 - confidence)


def collaborative_behaviour(risk: np.ndarray, faith: np.ndarray, m: MechanismParams) -> np.ndarray:
    """Collaborative (vs competitive) behaviour from risk threshold and faith."""
    return m.behaviour_w_risk * risk + (1.0 - m.behaviour_w_risk) * faith


def instability(start_workforce: np.ndarray, workforce: np.ndarray, m: MechanismParams) -> np.ndarray:
    """Workforce instability in [0, 1]: the fall in workforce, relative to ``instability_scale``."""
    return unit((start_workforce - workforce) / m.instability_scale)


def advance_mechanisms(ledger: Ledger, types: TypeArrays, m: MechanismParams, levels: np.ndarray,
                       cols: MechanismColumns) -> None:
    """One month of every active partnership's mechanisms, vectorised over partnerships."""
    mem = ledger.memberships()
    if not len(mem):
        return
    ids = mem.ids
    lv = levels[mem.mi]
    improvement = mem.seg_mean((lv[:, cols.progress] - mem.start[:, cols.progress]).sum(axis=1) / len(cols.progress))
    gap = mem.seg_max(lv[:, cols.culture]) - mem.seg_min(lv[:, cols.culture])
    accountability = mem.seg_mean(lv[:, cols.accountability])
    unstable = mem.seg_mean(instability(mem.start[:, cols.workforce], lv[:, cols.workforce], m))

    k = ledger.type[ids]
    mandated = ledger.mandated[ids].astype(float)
    signal = progress_signal(improvement, ledger.ambition[ids], m.progress_scale)
    progress = smooth(ledger.progress[ids], signal, m.progress_rate)
    c_target = conflict_target(gap, ledger.asymmetry[ids], mandated, progress, types.org_change[k],
                               accountability, m)
    conflict = smooth(ledger.conflict[ids], c_target, m.conflict_rate)
    trust = update_trust(ledger.trust[ids], progress, conflict, m)
    confidence = smooth(ledger.confidence[ids], confidence_target(types.contract[k], mandated, m),
                        m.confidence_rate)
    faith = smooth(ledger.faith[ids], faith_target(progress, unstable, m), m.faith_rate)
    risk = risk_threshold(trust, confidence)
    behaviour = collaborative_behaviour(risk, faith, m)
    below = behaviour < m.inertia_threshold

    ledger.progress[ids] = progress
    ledger.conflict[ids] = conflict
    ledger.trust[ids] = trust
    ledger.confidence[ids] = confidence
    ledger.faith[ids] = faith
    ledger.risk[ids] = risk
    ledger.behaviour[ids] = behaviour
    ledger.inertia_run[ids] = np.where(below, ledger.inertia_run[ids] + 1, 0)
    ledger.inertia_total[ids] += below
    ledger.months[ids] += 1
    ledger.trust_sum[ids] += trust
    ledger.trust_min[ids] = np.minimum(ledger.trust_min[ids], trust)
    ledger.confidence_sum[ids] += confidence
    ledger.faith_sum[ids] += faith
    ledger.behaviour_sum[ids] += behaviour


@dataclass(frozen=True)
class MechanismColumns:
    """Which domain columns the mechanisms read (from the theory's [roles])."""

    progress: np.ndarray
    culture: int
    accountability: int
    workforce: int

    @classmethod
    def from_theory(cls, theory: Theory) -> MechanismColumns:
        """Columns named by the theory's roles."""
        return cls(
            progress=np.array([theory.domain_index(d) for d in theory.progress_domains]),
            culture=theory.role_index("culture"),
            accountability=theory.role_index("accountability"),
            workforce=theory.role_index("workforce"),
        )
