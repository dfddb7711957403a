"""The mechanisms of the refined theory, one test per arrow (issue 9).

Each test either calls a mechanism function directly in a controlled setup, or compares two
runs that differ in one thing, with the same seed (common random numbers). Where a test removes
an arrow (a weight of 0 outside its declared range) it uses :func:`force`, which sets values
without the range check.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from sim import PartnershipModel, Theory, load_theory
from sim.dynamics import partnership_offsets, savings_ramp
from sim.registry import OPERATING, TRANSITION
from sim.regulation import FINANCE, QUALITY, RegulationParams, SpecialMeasures
from sim.relations import (
    MechanismParams,
    ambition,
    confidence_target,
    faith_target,
    initial_trust,
    progress_signal,
    risk_threshold,
    update_trust,
)

THEORY = load_theory()
M = MechanismParams.from_theory(THEORY)


def force(theory: Theory, values: dict[str, float]) -> Theory:
    """``theory`` with ``values`` set as given (no range check: for removing an arrow in a test)."""
    merged = dict(theory.values)
    for name, value in values.items():
        assert name in theory.params, name
        merged[name] = float(value)
    return dataclasses.replace(theory, values=merged)


def one(x: float) -> np.ndarray:
    return np.array([float(x)])


# -- risk threshold, confidence ----------------------------------------------------------------
def test_risk_threshold_responds_to_trust_when_confidence_is_high():
    high_confidence = one(confidence_target(one(1.0), one(1.0), M)[0])
    low, high = risk_threshold(one(0.2), high_confidence, M)[0], risk_threshold(one(0.8), high_confidence, M)[0]
    assert high - low >= 0.3 * 0.6, "trust must still move the risk threshold when confidence is at its ceiling"
    assert low < high_confidence[0] and high > low


def test_confidence_stays_below_one():
    top = confidence_target(np.linspace(0, 1, 11), np.ones(11), M)
    assert top.max() <= M.confidence_ceiling < 1.0


# -- initial trust and ambition ----------------------------------------------------------------
def test_legal_agreements_raise_initial_trust():
    loose, contract = initial_trust(one(0), one(0.1), one(0), M)[0], initial_trust(one(0), one(0.9), one(0), M)[0]
    assert contract > loose + 0.05
    removed = dataclasses.replace(M, trust_w_legal=0.0)
    assert initial_trust(one(0), one(0.9), one(0), removed)[0] == initial_trust(one(0), one(0.1), one(0), removed)[0]


def test_prior_collaboration_raises_initial_trust_and_ambition():
    fresh = initial_trust(one(0.0), one(0.3), one(0), M)
    remembered = initial_trust(one(0.2), one(0.3), one(0), M)
    assert remembered[0] > fresh[0]
    assert ambition(one(0.5), remembered, M)[0] > ambition(one(0.5), fresh, M)[0]


def test_mandate_does_not_set_initial_trust():
    """Fact 5 (mandated forms lean on confidence) must come from the dynamics, not from a start value."""
    model = PartnershipModel(THEORY, n_providers=30, horizon=1, rng=3, start_partnerships="none")
    k = THEORY.type_index("merger")
    a = model.form(k, np.array([0, 1]), lead=0, client=-1, mandated=True)
    b = model.form(k, np.array([2, 3]), lead=2, client=-1, mandated=False)
    ledger = model.ledger
    assert ledger.trust[a] == ledger.trust[b] or ledger.same_ics[a] != ledger.same_ics[b]
    assert ledger.confidence[a] == ledger.confidence[b] == M.confidence_init


# -- perceived progress and faith -------------------------------------------------------------
def test_ambitious_aims_raise_perceived_progress():
    """Unambitious aims -> less perceived progress (the sign the realist review gives)."""
    assert progress_signal(one(0), one(0.8), one(0), M)[0] > progress_signal(one(0), one(0.1), one(0), M)[0]


def test_conflict_slows_perceived_progress():
    assert progress_signal(one(0.01), one(0.3), one(0.6), M)[0] < progress_signal(one(0.01), one(0.3), one(0.0), M)[0]


def test_absent_partners_lower_faith():
    present = faith_target(one(0.6), one(0), one(0.0), one(0), M)[0]
    absent = faith_target(one(0.6), one(0), one(1.0), one(0), M)[0]
    assert absent < present - 0.1
    removed = dataclasses.replace(M, faith_w_absence=0.0)
    assert faith_target(one(0.6), one(0), one(1.0), one(0), removed)[0] == present


def test_absent_partners_lower_faith_in_the_model():
    """Members busy in other partnerships (absent) give a partnership less faith than free members."""

    def faith_after(extra: bool, theory: Theory) -> float:
        model = PartnershipModel(theory, n_providers=40, horizon=24, rng=5, start_partnerships="none")
        k = theory.type_index("network")
        p = model.form(k, np.array([0, 1, 2]), lead=0, client=-1, mandated=True)
        if extra:  # the same members also committed to two other partnerships each (which do nothing)
            model.ledger.type_count[[0, 1, 2], theory.type_index("individual_partnering")] += 2
        for _ in range(24):
            model.step()
        return float(model.ledger.faith[p])

    assert faith_after(True, THEORY) < faith_after(False, THEORY) - 0.02
    removed = force(THEORY, {"mechanism.faith_w_absence": 0.0})
    assert abs(faith_after(True, removed) - faith_after(False, removed)) < 0.02


def test_leadership_raises_trust_and_faith():
    weak = update_trust(one(0.5), one(0.7), one(0.1), one(-0.15), M)[0]
    strong = update_trust(one(0.5), one(0.7), one(0.1), one(0.15), M)[0]
    assert strong > weak
    assert (
        faith_target(one(0.5), one(0), one(0), one(0.15), M)[0]
        > faith_target(one(0.5), one(0), one(0), one(-0.15), M)[0]
    )


# -- benefits: realisation, savings, disruption ---------------------------------------------------
def merger_model(theory: Theory, seed: int = 11) -> tuple[PartnershipModel, int]:
    model = PartnershipModel(theory, n_providers=40, horizon=120, rng=seed, start_partnerships="none")
    p = model.form(theory.type_index("merger"), np.array([0, 1]), lead=0, client=-1, mandated=True)
    return model, p


def test_savings_start_at_completion_and_ramp():
    model, p = merger_model(THEORY)
    eff = THEORY.role_index("efficiency")
    ledger = model.ledger
    seen = []
    while model.running:
        model.step()
        scale = partnership_offsets(ledger, model.types, model.partnering, model.n, model.cost_share, model.month)[
            "scale"
        ][[0, 1], eff].mean()
        realised = ledger.behaviour[p] * ledger.realisation[p]
        seen.append((ledger.phase[p], scale, scale / realised if realised else 0.0))
    before = [v for ph, v, _ in seen if ph not in (TRANSITION, OPERATING)]
    ramp = [r for ph, _, r in seen if ph in (TRANSITION, OPERATING)]
    assert before and all(v == 0 for v in before), "no saving before the transaction completes"
    assert ramp[0] < ramp[12] < ramp[36] < ramp[-1], "per unit realised, savings ramp up after completion"
    lag = THEORY.v("partnering.savings_lag")
    assert ramp[0] < 1.5 * (1 - np.exp(-1 / lag)) * ramp[-1], "the ramp starts at completion, not at formation"
    assert savings_ramp(np.array([0.0]), 12)[0] == 0.0 and savings_ramp(np.array([1e6]), 12)[0] == pytest.approx(1)


def test_realisation_is_a_per_partnership_draw_from_its_own_stream():
    model = PartnershipModel(THEORY, n_providers=60, horizon=1, rng=2, start_partnerships="none")
    k = THEORY.type_index("merger")
    draws = [
        model.ledger.realisation[model.form(k, np.array([2 * i, 2 * i + 1]), lead=2 * i, client=-1, mandated=True)]
        for i in range(20)
    ]
    assert len(set(np.round(draws, 9))) == 20 and 0 < min(draws) and max(draws) < 1
    assert abs(np.mean(draws) - THEORY.v("partnering.realisation_mean")) < 0.15
    other = PartnershipModel(THEORY, n_providers=60, horizon=1, rng=2, start_partnerships="none")
    assert (
        other.ledger.count == 0
        and other.streams["realisation"].random()
        == PartnershipModel(THEORY, n_providers=60, horizon=1, rng=2, start_partnerships="none")
        .streams["realisation"]
        .random()
    )


def test_disruption_grows_with_conflict():
    model, p = merger_model(THEORY)
    while model.ledger.phase[p] != TRANSITION:
        model.step()
    ledger = model.ledger
    eff = THEORY.role_index("efficiency")

    def dip(conflict: float) -> float:
        ledger.conflict[p] = conflict
        return float(
            partnership_offsets(ledger, model.types, model.partnering, model.n, model.cost_share, model.month)[
                "disruption"
            ][[0, 1], eff].mean()
        )

    assert dip(0.8) < dip(0.1) < 0
    ledger.phase[p] = OPERATING
    assert dip(0.8) < dip(0.1) <= 0, "unresolved conflict keeps part of the dip once operating"


def merger_effect(theory: Theory, culture_gap: float, months: int = 84) -> np.ndarray:
    """Members' mean levels with a mandated merger minus without it (same seed), months × domains.

    The two members' culture is set ``culture_gap`` apart at the start (start, anchor and level
    alike, so nothing drifts); everything else is the population's own.
    """
    cult = theory.role_index("culture")

    def run(merge: bool) -> np.ndarray:
        model = PartnershipModel(theory, n_providers=40, horizon=months, rng=21, start_partnerships="none")
        centre = model.levels[[0, 1], cult].mean()
        for i, sign in ((0, -0.5), (1, 0.5)):
            value = centre + sign * culture_gap
            model.start_levels.setflags(write=True)
            model.start_levels[i, cult] = model.levels[i, cult] = model.anchor[i, cult] = value
            model.start_levels.setflags(write=False)
        if merge:
            model.form(theory.type_index("merger"), np.array([0, 1]), lead=0, client=-1, mandated=True)
        out = [model.levels[[0, 1]].mean(axis=0)]
        while model.running:
            model.step()
            out.append(model.levels[[0, 1]].mean(axis=0))
        return np.array(out)

    return run(True) - run(False)


def test_culture_gap_lowers_merger_gains():
    q, e = THEORY.role_index("quality"), THEORY.role_index("efficiency")
    close, wide = merger_effect(THEORY, 0.02), merger_effect(THEORY, 0.35)
    assert wide[-24:, e].mean() < close[-24:, e].mean() - 0.005
    assert wide[-24:, q].mean() < close[-24:, q].mean()


def test_culture_gap_does_nothing_without_the_conflict_arrow():
    th = force(THEORY, {"mechanism.conflict_w_gap": 0.0})
    e = th.role_index("efficiency")
    close, wide = merger_effect(th, 0.02), merger_effect(th, 0.35)
    assert abs(wide[-24:, e].mean() - close[-24:, e].mean()) < 0.005


# -- the lead's capacity cost ---------------------------------------------------------------------
def buddy_levels(theory: Theory, months: int = 36) -> np.ndarray:
    """The buddy's (lead's) levels over a mandated buddying of the lowest-quality provider."""
    model = PartnershipModel(theory, n_providers=40, horizon=months, rng=8, start_partnerships="none")
    q = model.levels[:, theory.role_index("quality")]
    client, lead = int(np.argmin(q)), int(np.argmax(q))
    model.form(theory.type_index("buddying"), np.array([lead, client]), lead=lead, client=client, mandated=True)
    out = [model.levels[lead].copy()]
    while model.running:
        model.step()
        out.append(model.levels[lead].copy())
    return np.array(out)


def test_a_buddys_capacity_cost_lowers_its_own_outcomes():
    free = force(THEORY, {"partnering.lead_cost.governance": 0.0, "partnering.lead_cost.leadership": 0.0})
    with_cost, without = buddy_levels(THEORY), buddy_levels(free)
    gov, lead, qual = (THEORY.domain_index(d) for d in ("governance", "leadership", "quality"))
    assert with_cost[-1, gov] < without[-1, gov] - 0.01
    assert with_cost[-1, lead] < without[-1, lead] - 0.01
    assert with_cost[-1, qual] < without[-1, qual]


def test_the_capacity_limit_binds_when_partners_are_scarce():
    """With one mandated support per partner and few capable partners, some failing trusts wait."""

    def waiting(capacity: int) -> float:
        model = PartnershipModel(
            THEORY,
            n_providers=217,
            horizon=24,
            rng=4,
            failure_regime_enabled=True,
            failure_regime_partner_capacity=capacity,
            failure_regime_partner_min_quality=0.7,
            start_partnerships="none",
        )
        total = 0.0
        while model.running:
            model.step()
            total += model.summary["sm_without_partner"]
        return total

    assert waiting(1) > waiting(10) >= 0


# -- regulation -------------------------------------------------------------------------------------
def test_special_measures_entered_on_quality_finance_or_both():
    rules = RegulationParams.from_theory(THEORY)
    q, e = rules.quality_col, rules.efficiency_col
    levels = np.full((3, len(THEORY.domains)), 0.6)
    sm = SpecialMeasures.at_start(levels, rules)
    levels[0, q] = rules.entry_quality - 0.05
    levels[1, e] = rules.entry_efficiency - 0.05
    levels[2, [q, e]] = [rules.entry_quality - 0.05, rules.entry_efficiency - 0.05]
    for month in range(1, rules.entry_months + 1):
        sm.update(levels, month)
    assert sm.active.all()
    assert [c for _, _, c in sm.entries] == [QUALITY, FINANCE, QUALITY | FINANCE]
    levels[0, q] = levels[1, e] = 0.6  # 0 and 1 recover; 2 recovers on quality only
    levels[2, q] = 0.6
    for month in range(10, 10 + rules.exit_months):
        sm.update(levels, month)
    assert sm.active.tolist() == [False, False, True], "exit needs recovery on every count entered on"


def cohort_exit_share(theory: Theory, seeds: range = range(6), months: int = 48) -> float:
    left = total = 0
    for seed in seeds:
        model = PartnershipModel(theory, horizon=months, rng=seed)
        cohort = model.in_sm.copy()
        ever_out = np.zeros_like(cohort)
        while model.running:
            model.step()
            ever_out |= cohort & ~model.in_sm
        left += int(ever_out.sum())
        total += int(cohort.sum())
    return left / total


def test_baseline_special_measures_exits():
    """Without any partner, the regime's standard support takes most trusts out within 4 years."""
    assert cohort_exit_share(THEORY) > 0.5
    removed = force(THEORY, {f"regulation.support.{d}": 0.0 for d in THEORY.support_domains})
    assert cohort_exit_share(removed) < 0.35


# -- heterogeneity -----------------------------------------------------------------------------------
def test_similar_mergers_end_very_differently():
    """The spread of merger gains is wide and both signs occur (year 4 after completion, paired)."""
    from analysis.studies.validation import Evidence, run_evidence, seeds_for

    ev: Evidence = run_evidence(THEORY, ["baseline", "mergers"], seeds_for(3), workers=1)
    paths = ev.member_paths("mergers", "efficiency", types=["merger"])
    year4 = np.nanmean(paths[:, 37:49], axis=1) * THEORY.v("band.surplus_pct_per_unit")
    assert len(year4) >= 30
    assert (year4 > 0).mean() > 0.02 and (year4 <= 0).mean() > 0.6, "both signs, mostly no gain"
    assert year4.std() > 0.4, "% of turnover: similar mergers end very differently"


def test_a_higher_realisation_draw_brings_more_benefit():
    """The same merger (same seed) with its realisation draw set low or high: high realises more."""

    def members(realisation: float) -> np.ndarray:
        model, p = merger_model(THEORY)
        model.ledger.realisation[p] = realisation
        while model.running:
            model.step()
        return model.levels[[0, 1]].mean(axis=0)

    low, high = members(0.1), members(0.9)
    eff, care = THEORY.role_index("efficiency"), THEORY.domain_index("care_model")
    assert high[eff] > low[eff] + 0.02
    assert high[care] > low[care]


# -- the July 2022 start ------------------------------------------------------------------------------
def test_start_2022_includes_collaboratives_groups_and_histories():
    model = PartnershipModel(THEORY, horizon=0, rng=1)
    s = model.summary
    kinds = [model.pop.kind_names.index(k) for k in model.levers.collaborative_duty.kinds]
    duty = np.isin(model.pop.kind, kinds)
    net = THEORY.type_index(model.levers.collaborative_duty.type)
    assert (model.ledger.type_count[duty, net] > 0).all(), "every acute and mental-health trust in a collaborative"
    assert abs(s[f"share_in_{THEORY.start_group_type}"] - THEORY.v("start.group_share")) < 0.03
    assert len(model.ledger.pair_trust) > 0.3 * model.n
    none = PartnershipModel(THEORY, horizon=0, rng=1, start_partnerships="none")
    assert none.ledger.count == 0 and not none.ledger.pair_trust
    assert (none.levels == model.levels).all(), "the start state draws from its own stream"


def test_start_partnerships_are_checked():
    from sim import ConfigError

    with pytest.raises(ConfigError, match="start_partnerships"):
        PartnershipModel(THEORY, horizon=0, rng=1, start_partnerships="2019")


def test_the_compiled_regulation_enters_exactly_after_the_declared_months():
    """The kernel the engine runs (``kernels.regulate``), not only the reference: entry after entry_months."""
    from sim import kernels
    from sim.ensemble import REGULATION_DTYPE

    rules = RegulationParams.from_theory(THEORY)
    q, e = rules.quality_col, rules.efficiency_col
    levels = np.full((1, 3, len(THEORY.domains)), 0.6)
    levels[0, 0, q] = rules.entry_quality - 0.05
    levels[0, 1, e] = rules.entry_efficiency - 0.05
    levels[0, 2, [q, e]] = [rules.entry_quality - 0.05, rules.entry_efficiency - 0.05]
    reg = np.array(
        [(rules.entry_quality, rules.entry_efficiency, rules.exit_margin, rules.entry_months, rules.exit_months)],
        REGULATION_DTYPE,
    )
    active = np.zeros((1, 3), dtype=bool)
    cause, since, below_q, below_e, above = (np.zeros((1, 3), dtype=np.int64) for _ in range(5))
    since[...] = -1
    ev_leave, ev_enter = np.zeros((1, 3, 3), dtype=np.int64), np.zeros((1, 3, 2), dtype=np.int64)
    entered_at = {}
    for month in range(1, rules.entry_months + 3):
        kernels.regulate(levels, active, cause, since, below_q, below_e, above, reg, q, e, month, ev_leave, ev_enter)
        for i in np.flatnonzero(active[0]):
            entered_at.setdefault(int(i), month)
    assert entered_at == {0: rules.entry_months, 1: rules.entry_months, 2: rules.entry_months}
    assert cause[0].tolist() == [QUALITY, FINANCE, QUALITY | FINANCE]
