"""Partnership mechanisms of the refined realist theory (design.md §5; docs/evidence.md).

Pure, vectorised functions over arrays of partnerships. Each reads like one arrow of the
"web of causality" (BMC HSR 2021; Aunger et al. 2021 Systematic Reviews; PLOS ONE 2022):

* conflict-resolution approach, cultural gap, asymmetry, mandate, slow progress and
  organisational change → conflict → (erodes) trust;
* prior successful collaboration, legal agreements, a shared ICS → initial trust → ambition;
* contract (and the regulator's backing) → confidence, which stays below 1;
* trust and confidence → risk threshold (a weighted mean: a contract substitutes for trust
  only in part, so trust matters at any confidence);
* improvement, ambition and conflict → perceived progress → faith; workforce instability and
  absent partners lower faith; members' leadership behaviour raises trust and faith;
* risk threshold and faith → collaborative behaviour; sustained low behaviour is
  collaborative inertia.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

import numpy as np

from sim.theory import Theory

if TYPE_CHECKING:
    from sim.registry import Ledger, TypeArrays


Values = np.ndarray | float
"""A function of the theory here takes arrays (a partnership per element) or plain numbers."""


@dataclass(frozen=True)
class MechanismParams:
    """Values of the ``mechanism.*`` parameters in force (meanings and sources in irt.toml)."""

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
    trust_w_legal: float
    trust_w_same_ics: float
    trust_build: float
    trust_erosion: float
    trust_w_leadership: float
    dissolution_trust_penalty: float
    confidence_init: float
    confidence_rate: float
    confidence_w_mandate: float
    confidence_ceiling: float
    faith_init: float
    faith_w_mandate: float
    faith_rate: float
    faith_w_instability: float
    faith_w_absence: float
    faith_w_leadership: float
    instability_scale: float
    absence_per_commitment: float
    progress_rate: float
    progress_scale: float
    progress_neutral: float
    progress_w_ambition: float
    progress_w_conflict: float
    ambition_w_integration: float
    ambition_w_trust: float
    risk_w_trust: float
    behaviour_w_risk: float
    inertia_threshold: float
    inertia_months: float

    @classmethod
    def from_theory(cls, theory: Theory) -> MechanismParams:
        """Read every field from ``mechanism.<field>``."""
        return cls(**{f.name: theory.v(f"mechanism.{f.name}") for f in fields(cls)})


def unit(x: Values) -> Any:
    """Clip to [0, 1] (cheaper than ``np.clip`` on the small arrays used here; a float stays a float)."""
    if isinstance(x, float):
        return min(max(x, 0.0), 1.0)
    return np.minimum(np.maximum(x, 0.0), 1.0)


def unit_scalar(x: float) -> float:
    """:func:`unit` of one number (what the compiled engine calls)."""
    return min(max(x, 0.0), 1.0)


def smooth(stock: np.ndarray, target: np.ndarray, rate: float) -> np.ndarray:
    """First-order adjustment of a stock toward a target."""
    return stock + rate * (target - stock)


# -- at formation ---------------------------------------------------------------------------
def initial_trust(prior: Values, legal: Values, same_ics: Values, m: MechanismParams) -> Values:
    """Starting trust.

    Higher with a history of successful collaboration (``prior``: remembered trust relative
    to ``trust_init``, negative after a bad ending), with legal agreements (``legal``: the
    type's contract strength) and a shared ICS. A mandate does not lower it directly: it
    acts through conflict, so that mandated forms come to lean on confidence over time.
    """
    return unit(m.trust_init + m.trust_w_prior * prior + m.trust_w_legal * legal + m.trust_w_same_ics * same_ics)


def initial_confidence(count: int, m: MechanismParams) -> np.ndarray:
    """Starting confidence: the same for every partnership (the contract binds over months)."""
    return np.full(count, m.confidence_init)


def initial_faith(mandated: Values, m: MechanismParams) -> Values:
    """Starting faith, lower where the need to change is imposed rather than accepted."""
    return unit(m.faith_init - m.faith_w_mandate * mandated)


def ambition(integration: Values, trust0: Values, m: MechanismParams) -> Values:
    """How ambitious the partnership's objectives are, in [0, 1].

    More integrated forms set bigger aims; higher initial trust (prior collaboration, legal
    agreements) leads to more ambitious objectives.
    """
    return unit(m.ambition_w_integration * integration + m.ambition_w_trust * (trust0 - m.trust_init))


# -- monthly ----------------------------------------------------------------------------------
def progress_signal(
    improvement: np.ndarray, ambition: np.ndarray, conflict: np.ndarray, m: MechanismParams
) -> np.ndarray:
    """How members perceive progress, in [0, 1].

    Rises with the members' improvement since joining (``progress_scale`` of improvement
    reads as clear progress) and with ambitious aims (unambitious aims lower perceived
    progress); conflict slows it.
    """
    return unit(
        m.progress_neutral
        + improvement / m.progress_scale
        + m.progress_w_ambition * ambition
        - m.progress_w_conflict * conflict
    )


def conflict_target(
    gap: np.ndarray,
    asymmetry: np.ndarray,
    mandated: np.ndarray,
    progress: np.ndarray,
    org_change: np.ndarray,
    accountability: np.ndarray,
    m: MechanismParams,
) -> np.ndarray:
    """Level conflict tends to.

    Cultural gap, power asymmetry, mandate, slow progress and organisational change raise it;
    members' accountability arrangements lower it.
    """
    raw = (
        m.conflict_base
        + m.conflict_w_gap * gap
        + m.conflict_w_asymmetry * asymmetry
        + m.conflict_w_mandate * mandated
        + m.conflict_w_slow * (1.0 - progress)
        + m.conflict_w_change * org_change
        - m.conflict_w_accountability * accountability
    )
    return unit(raw)


def update_trust(
    trust: np.ndarray, progress: np.ndarray, conflict: np.ndarray, leadership: np.ndarray, m: MechanismParams
) -> np.ndarray:
    """Trust builds slowly with perceived progress and erodes fast with conflict.

    Members' leadership behaviour (``leadership``: their level relative to the sector's
    typical level) speeds the build-up or slows it.
    """
    build = (
        m.trust_build
        * np.maximum(1.0 + m.trust_w_leadership * leadership, 0.0)
        * (1.0 - trust)
        * progress
        * (1.0 - conflict)
    )
    erode = m.trust_erosion * conflict * trust
    return unit(trust + build - erode)


def confidence_target(contract: np.ndarray, mandated: np.ndarray, m: MechanismParams) -> np.ndarray:
    """Confidence comes from the contract and the regulator's backing; it stays below ``confidence_ceiling``."""
    return m.confidence_ceiling * unit(contract + m.confidence_w_mandate * mandated)


def faith_target(
    progress: np.ndarray, instability: np.ndarray, absence: np.ndarray, leadership: np.ndarray, m: MechanismParams
) -> np.ndarray:
    """Faith follows perceived progress; workforce instability and absent partners lower it; leadership raises it."""
    return unit(
        progress * (1.0 - m.faith_w_instability * instability) * (1.0 - m.faith_w_absence * absence)
        + m.faith_w_leadership * leadership
    )


def risk_threshold(trust: Values, confidence: Values, m: MechanismParams) -> Values:
    """Risk the partners will accept: a weighted mean, so a contract substitutes for trust only in part."""
    return m.risk_w_trust * trust + (1.0 - m.risk_w_trust) * confidence


def collaborative_behaviour(risk: Values, faith: Values, m: MechanismParams) -> Values:
    """Collaborative (vs competitive) behaviour from risk threshold and faith."""
    return m.behaviour_w_risk * risk + (1.0 - m.behaviour_w_risk) * faith


def instability(start_workforce: np.ndarray, workforce: np.ndarray, m: MechanismParams) -> np.ndarray:
    """Workforce instability in [0, 1]: the fall in workforce, relative to ``instability_scale``."""
    return unit((start_workforce - workforce) / m.instability_scale)


def cultural_gap(culture: np.ndarray, seg_mean: Callable[[np.ndarray], np.ndarray], seg: np.ndarray) -> np.ndarray:
    """Cultural gap between a partnership's members: twice their mean distance from the members' mean.

    For two members it is the distance between them; unlike the range, it does not grow just
    because a partnership has more members.
    """
    centre = seg_mean(culture)
    return 2.0 * seg_mean(np.abs(culture - centre[seg]))


def absence(other_commitments: np.ndarray, m: MechanismParams) -> np.ndarray:
    """How absent a member is, in [0, 1]: its attention is spread over its other partnerships."""
    return unit(other_commitments * m.absence_per_commitment)


def advance_mechanisms(
    ledger: Ledger, types: TypeArrays, m: MechanismParams, levels: np.ndarray, cols: MechanismColumns
) -> None:
    """One month of every active partnership's mechanisms, vectorised over partnerships."""
    mem = ledger.memberships()
    if not len(mem):
        return
    ids = mem.ids
    lv = levels[mem.mi]
    improvement = mem.seg_mean((lv[:, cols.progress] - mem.start[:, cols.progress]).sum(axis=1) / len(cols.progress))
    gap = cultural_gap(lv[:, cols.culture], mem.seg_mean, mem.seg)
    accountability = mem.seg_mean(lv[:, cols.accountability])
    unstable = mem.seg_mean(instability(mem.start[:, cols.workforce], lv[:, cols.workforce], m))
    commitments = ledger.type_count.sum(axis=1)[mem.mi] - 1
    absent = mem.seg_mean(absence(commitments, m))
    leadership = mem.seg_mean(lv[:, cols.leadership]) - cols.leadership_ref

    k = ledger.type[ids]
    mandated = ledger.mandated[ids].astype(float)
    signal = progress_signal(improvement, ledger.ambition[ids], ledger.conflict[ids], m)
    progress = smooth(ledger.progress[ids], signal, m.progress_rate)
    c_target = conflict_target(gap, ledger.asymmetry[ids], mandated, progress, types.org_change[k], accountability, m)
    conflict = smooth(ledger.conflict[ids], c_target, m.conflict_rate)
    trust = update_trust(ledger.trust[ids], progress, conflict, leadership, m)
    confidence = smooth(ledger.confidence[ids], confidence_target(types.contract[k], mandated, m), m.confidence_rate)
    faith = smooth(ledger.faith[ids], faith_target(progress, unstable, absent, leadership, m), m.faith_rate)
    risk = risk_threshold(trust, confidence, m)
    behaviour = collaborative_behaviour(risk, faith, m)
    below = behaviour < m.inertia_threshold

    ledger.progress[ids] = progress
    ledger.conflict[ids] = conflict
    ledger.trust[ids] = trust
    ledger.confidence[ids] = confidence
    ledger.faith[ids] = faith
    ledger.risk[ids] = risk
    ledger.behaviour[ids] = behaviour
    ledger.absence[ids] = absent
    ledger.inertia_run[ids] = np.where(below, ledger.inertia_run[ids] + 1, 0)
    ledger.inertia_total[ids] += below
    ledger.months[ids] += 1
    ledger.trust_sum[ids] += trust
    ledger.trust_min[ids] = np.minimum(ledger.trust_min[ids], trust)
    ledger.confidence_sum[ids] += confidence
    ledger.faith_sum[ids] += faith
    ledger.behaviour_sum[ids] += behaviour
    ledger.conflict_sum[ids] += conflict


@dataclass(frozen=True)
class MechanismColumns:
    """Which domain columns the mechanisms read (from the theory's [roles])."""

    progress: np.ndarray
    culture: int
    accountability: int
    workforce: int
    leadership: int
    leadership_ref: float  # the sector's typical leadership level (the domain's init_mean)

    @classmethod
    def from_theory(cls, theory: Theory) -> MechanismColumns:
        """Columns named by the theory's roles."""
        lead = theory.roles["leadership"]
        return cls(
            progress=np.array([theory.domain_index(d) for d in theory.progress_domains]),
            culture=theory.role_index("culture"),
            accountability=theory.role_index("accountability"),
            workforce=theory.role_index("workforce"),
            leadership=theory.role_index("leadership"),
            leadership_ref=theory.v(f"domain.{lead}.init_mean"),
        )
