"""One small exact or directional test per mechanism, lever and phase rule of the model.

Each test isolates one rule (a pure function, a ledger event, one formation step) so that a
mistake in that rule fails this test and no other explanation remains; ``scripts/mutate.py``
applies such mistakes one at a time to check that the suite notices (docs/mutation.md).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from sim import PartnershipModel, Theory, World, load_theory, run
from sim.dynamics import convergence, partnership_offsets, update_domains, web_arrays
from sim.ensemble import Ensemble
from sim.formation import advance_phases, apply_collaborative_duty, apply_failure_regime, choose_partners
from sim.registry import APPROVAL, ENDED, OPERATING, TRANSITION
from sim.relations import (
    MechanismParams,
    collaborative_behaviour,
    faith_target,
    initial_faith,
    initial_trust,
)

THEORY = load_theory()
M = MechanismParams.from_theory(THEORY)


def one(x: float) -> np.ndarray:
    return np.array([float(x)])


def force(theory: Theory, values: dict[str, float]) -> Theory:
    """``theory`` with ``values`` set as given (no range check)."""
    return dataclasses.replace(theory, values={**theory.values, **{k: float(v) for k, v in values.items()}})


def empty(
    n: int = 40, seed: int = 1, horizon: int = 120, theory: Theory = THEORY, cls: type[World] = PartnershipModel, **kw
) -> World:
    """A model with no partnerships at the start (``cls=World``: a run as batches have it, no Mesa agents)."""
    return cls(theory, n_providers=n, horizon=horizon, rng=seed, start_partnerships="none", **kw)


# The failure regime runs as the rule of sim.formation for a Mesa model with agents and compiled
# (sim.event_kernels) for the Worlds of a batch: its behavioural tests run on both.
BOTH_PATHS = pytest.mark.parametrize("cls", [PartnershipModel, World], ids=["rule", "compiled"])


# -- pure mechanism functions ---------------------------------------------------------------------
def test_a_shared_ics_raises_initial_trust():
    assert initial_trust(one(0), one(0.3), one(1), M)[0] > initial_trust(one(0), one(0.3), one(0), M)[0]


def test_a_mandate_lowers_initial_faith():
    assert initial_faith(one(1), M)[0] < initial_faith(one(0), M)[0]


def test_workforce_instability_lowers_faith():
    assert (
        faith_target(one(0.6), one(1.0), one(0), one(0), M)[0] < faith_target(one(0.6), one(0.0), one(0), one(0), M)[0]
    )


def test_faith_raises_collaborative_behaviour():
    assert collaborative_behaviour(one(0.5), one(0.9), M)[0] > collaborative_behaviour(one(0.5), one(0.1), M)[0]


# -- phases -----------------------------------------------------------------------------------------
def test_phases_end_exactly_when_due():
    """Approval ends after ``approval_months``, transition ``transition_months`` later, to the month."""
    model = empty()
    k = THEORY.type_index("merger")
    p = model.form(k, np.array([0, 1]), lead=0, client=-1, mandated=True)
    a, t = int(model.types.approval_months[k]), int(model.types.transition_months[k])
    seen = {}
    for _ in range(a + t + 2):
        model.step()
        seen.setdefault(int(model.ledger.phase[p]), model.month)
    assert seen[TRANSITION] == a and seen[OPERATING] == a + t
    assert model.ledger.completion[p] == a


def test_approval_lever_sets_the_approval_time():
    model = empty(approval_months=5)
    k = THEORY.type_index("merger")
    p = model.form(k, np.array([0, 1]), lead=0, client=-1, mandated=True)
    assert model.ledger.phase[p] == APPROVAL and model.ledger.phase_end[p] == 5


# -- the ledger: memory and dissolution --------------------------------------------------------------
def test_dissolution_leaves_a_trust_penalty_and_a_memory():
    model = empty()
    k = THEORY.type_index("network")
    a = model.form(k, np.array([0, 1, 2]), lead=0, client=-1, mandated=False)
    b = model.form(k, np.array([3, 4, 5]), lead=3, client=-1, mandated=False)
    model.ledger.trust[[a, b]] = 0.6
    model.end_partnership(a, "inertia")
    model.end_partnership(b, "recovered")
    pair = model.ledger.pair_trust
    assert pair[(0, 1)] == pytest.approx(0.6 * (1 - M.dissolution_trust_penalty))
    assert pair[(3, 4)] == pytest.approx(0.6)
    again_bad = model.form(k, np.array([0, 1]), lead=0, client=-1, mandated=False)
    again_good = model.form(k, np.array([3, 4]), lead=3, client=-1, mandated=False)
    assert model.ledger.trust[again_bad] < model.ledger.trust[again_good]


def test_inertia_dissolves_only_after_the_declared_months():
    model = empty()
    k = THEORY.type_index("network")
    p = model.form(k, np.array([0, 1, 2]), lead=0, client=-1, mandated=False)
    months = int(M.inertia_months)
    model.ledger.phase[p] = OPERATING
    model.ledger.inertia_run[p] = months - 1
    from sim.formation import dissolutions

    dissolutions(model)
    assert model.ledger.phase[p] != ENDED
    model.ledger.inertia_run[p] = months
    dissolutions(model)
    assert model.ledger.phase[p] == ENDED and model.ledger.end_reason[p] == "inertia"


def test_mandated_support_ends_when_its_client_recovers():
    model = empty()
    k = THEORY.type_index("buddying")
    p = model.form(k, np.array([0, 1]), lead=0, client=1, mandated=True)
    from sim.formation import dissolutions

    model.sm.active[1] = True
    dissolutions(model)
    assert model.ledger.phase[p] != ENDED
    model.sm.active[1] = False
    dissolutions(model)
    assert model.ledger.phase[p] == ENDED and model.ledger.end_reason[p] == "recovered"
    assert not model.ledger.supported[1] and model.ledger.mandated_led[0] == 0


# -- convergence and offsets -----------------------------------------------------------------------
def converged(behaviour: float, realisation: float) -> float:
    """How far the worse member's governance anchor moves in one month of a live merger."""
    model = empty()
    k = THEORY.type_index("merger")
    gov = THEORY.domain_index("governance")
    model.anchor[0, gov], model.anchor[1, gov] = 0.8, 0.3
    p = model.form(k, np.array([0, 1]), lead=0, client=-1, mandated=True)
    ledger = model.ledger
    ledger.phase[p], ledger.behaviour[p], ledger.realisation[p] = OPERATING, behaviour, realisation
    before = model.anchor[1, gov]
    convergence(ledger, model.types, model.partnering, model.anchor, model.pop.turnover)
    return float(model.anchor[1, gov] - before)


def test_convergence_scales_with_behaviour_and_realisation():
    base = converged(0.5, 0.5)
    assert base > 0
    assert converged(1.0, 0.5) == pytest.approx(2 * base)
    assert converged(0.5, 1.0) == pytest.approx(2 * base)
    assert converged(0.0, 0.5) == 0.0


def test_best_practice_convergence_never_pulls_the_better_member_down():
    model = empty()
    k = THEORY.type_index("merger")
    assert model.types.target_mode[k] == 1  # "best"
    gov = THEORY.domain_index("governance")
    model.anchor[0, gov], model.anchor[1, gov] = 0.8, 0.3
    p = model.form(k, np.array([0, 1]), lead=0, client=-1, mandated=True)
    model.ledger.phase[p], model.ledger.behaviour[p], model.ledger.realisation[p] = OPERATING, 1.0, 1.0
    convergence(model.ledger, model.types, model.partnering, model.anchor, model.pop.turnover)
    assert model.anchor[0, gov] == 0.8 and model.anchor[1, gov] > 0.3


def test_synergy_acts_only_on_the_domains_the_type_acts_on():
    model = empty()
    k = THEORY.type_index("individual_partnering")
    p = model.form(k, np.array([0, 1]), lead=0, client=-1, mandated=True)
    model.ledger.phase[p], model.ledger.behaviour[p] = OPERATING, 0.8
    syn = partnership_offsets(model.ledger, model.types, model.partnering, model.n, model.cost_share, model.month)[
        "synergy"
    ][[0, 1]]
    acts = model.types.effects[k] > 0
    assert (syn[:, acts] > 0).all() and (syn[:, ~acts] == 0).all()


def test_the_support_fund_lowers_the_transaction_cost():
    def dip(share: float) -> float:
        model = empty(support_fund_share=share)
        k = THEORY.type_index("merger")
        p = model.form(k, np.array([0, 1]), lead=0, client=-1, mandated=True)
        model.ledger.phase[p] = TRANSITION
        return float(
            partnership_offsets(model.ledger, model.types, model.partnering, model.n, model.cost_share, model.month)[
                "disruption"
            ][[0, 1], model.efficiency_col].mean()
        )

    assert dip(0.0) < dip(0.5) < 0 and dip(1.0) == 0.0


# -- the domain update -------------------------------------------------------------------------------
def test_edges_pass_a_change_through_a_first_order_lag():
    web = web_arrays(THEORY)
    e = next(i for i, edge in enumerate(THEORY.edges) if edge.name == "governance->culture")
    src, tgt = THEORY.domain_index("governance"), THEORY.domain_index("culture")
    start = np.full((1, len(THEORY.domains)), 0.5)
    levels = start.copy()
    levels[0, src] = 0.7  # a step of 0.2 in the source
    anchor, signals = start.copy(), np.zeros((1, len(THEORY.edges)))
    zeros = np.zeros_like(start)
    update_domains(levels, start, anchor, signals, zeros, zeros, web)
    lag = THEORY.v("edge.governance->culture.lag")
    assert signals[0, e] == pytest.approx(0.2 * (1 - np.exp(-1 / lag)))
    assert levels[0, tgt] > 0.5


def test_monthly_noise_has_the_declared_spread():
    th = force(THEORY, {f"regulation.support.{d}": 0.0 for d in THEORY.support_domains})
    model = empty(n=2000, theory=th, horizon=1)
    before = model.levels.copy()
    model.step()
    inside = (before > 0.05) & (before < 0.95)
    change = (model.levels - before)[:, 0][inside[:, 0]]  # governance: nothing else moves it in month 1
    assert change.std() == pytest.approx(THEORY.v("domain.governance.noise"), rel=0.1)


# -- formation and levers ---------------------------------------------------------------------------
@BOTH_PATHS
def test_failure_regime_picks_the_best_capable_partner_in_the_ics(cls):
    model = empty(n=217, cls=cls, failure_regime_enabled=True, failure_regime_intervention="buddying")
    q = model.levels[:, model.quality_col].copy()
    model.sm.active[:] = False
    sector = model.pop.sector
    common = np.flatnonzero(sector == np.bincount(sector).argmax())  # the sector with most trusts
    i = int(common[np.argmin(q[common])])  # its worst-rated trust (it has capable partners)
    model.sm.active[i] = True
    if cls is PartnershipModel:
        apply_failure_regime(model)
    else:
        Ensemble([model]).apply_failure_regime()
    assert model.ledger.count == 1 and model.ledger.client[0] == i
    p = model.ledger.count - 1
    lead = int(model.ledger.lead[p])
    local = model.ics_members[model.pop.ics[i]]
    capable = [
        j
        for j in local
        if j != i and q[j] >= THEORY.v("band.good_quality") and model.pop.sector[j] == model.pop.sector[i]
    ]
    if capable:
        assert lead == max(capable, key=lambda j: q[j]), "the best capable partner of the same ICS"
    else:
        anywhere = [
            j for j in range(model.n) if j != i and q[j] >= THEORY.v("band.good_quality") and sector[j] == sector[i]
        ]
        assert model.pop.ics[lead] != model.pop.ics[i]
        assert lead == max(anywhere, key=lambda j: q[j]), "else the best capable partner of the sector"


@BOTH_PATHS
def test_a_partner_never_leads_more_mandated_supports_than_its_capacity(cls):
    model = empty(
        n=217,
        cls=cls,
        horizon=24,
        failure_regime_enabled=True,
        failure_regime_partner_capacity=1,
        failure_regime_partner_min_quality=0.6,
    )
    while model.running:
        model.step()
        assert model.ledger.mandated_led.max() <= 1


@BOTH_PATHS
def test_without_same_ics_first_partners_come_from_anywhere(cls):
    def local_share(first: bool) -> float:
        hits = total = 0
        for seed in range(4):
            model = cls(
                THEORY,
                horizon=36,
                rng=seed,
                failure_regime_enabled=True,
                failure_regime_same_ics_first=first,
                start_partnerships="none",
            )
            while model.running:
                model.step()
            led = model.ledger
            for p in range(led.count):
                if led.client[p] >= 0:
                    total += 1
                    hits += int(model.pop.ics[led.lead[p]] == model.pop.ics[led.client[p]])
        return hits / total

    assert local_share(True) > local_share(False) + 0.2


def test_the_collaborative_duty_starts_in_its_month():
    model = empty(n=60, collaborative_duty_enabled=True, collaborative_duty_start_month=3)
    formed = []
    for _ in range(4):
        model.step()
        formed.append(model.summary["formations"])
    assert formed[:2] == [0, 0] and formed[2] > 0


def test_the_duty_applies_in_its_start_month_when_called():
    model = empty(n=60, collaborative_duty_enabled=True, collaborative_duty_start_month=0)
    apply_collaborative_duty(model)
    assert model.ledger.count > 0


def test_voluntary_hazard_rises_with_pressure():
    def starts(pressured: bool) -> int:
        total = 0
        for seed in range(3):
            model = empty(n=200, seed=seed, horizon=36, voluntary_enabled=True)
            if pressured:
                model.levels[:, model.quality_col] = 0.35
                model.levels[:, model.efficiency_col] = 0.35
            else:
                model.levels[:, model.quality_col] = 0.75
                model.levels[:, model.efficiency_col] = 0.75
            from sim.formation import voluntary_search

            for _ in range(36):
                model.month += 1
                voluntary_search(model)
            total += model.ledger.count
        return total

    assert starts(True) > 2 * starts(False)


def test_prior_trust_raises_the_partner_score():
    """The runner-up becomes the first choice once the initiator remembers trusting it (same draws)."""
    model = empty(n=40)
    k = THEORY.type_index("network")
    first, second = choose_partners(model, 0, k, 2, np.random.default_rng(0))
    model.ledger.remember(np.array([0, second]), 1.0)
    assert choose_partners(model, 0, k, 1, np.random.default_rng(0))[0] == second
    model.ledger.remember(np.array([0, second]), 0.0)  # a bad memory pushes it back
    assert choose_partners(model, 0, k, 1, np.random.default_rng(0))[0] == first


def test_a_workforce_shock_lowers_workforce():
    def mean_workforce(size: float) -> float:
        model = empty(n=100, horizon=24, workforce_shock_size=size)
        while model.running:
            model.step()
        return float(model.levels[:, THEORY.role_index("workforce")].mean())

    assert mean_workforce(0.08) < mean_workforce(0.0) - 0.03


def test_advance_phases_only_moves_partnerships_that_are_due():
    model = empty()
    k = THEORY.type_index("merger")
    p = model.form(k, np.array([0, 1]), lead=0, client=-1, mandated=True)
    model.month = int(model.ledger.phase_end[p]) - 1
    advance_phases(model)
    assert model.ledger.phase[p] == APPROVAL
    model.month += 1
    advance_phases(model)
    assert model.ledger.phase[p] == TRANSITION


# -- the population -----------------------------------------------------------------------------------
def test_starting_levels_are_correlated_across_domains():
    model = empty(n=2000, horizon=0)
    gov, qual = THEORY.domain_index("governance"), THEORY.domain_index("quality")
    r = np.corrcoef(model.start_levels[:, gov], model.start_levels[:, qual])[0, 1]
    assert r == pytest.approx(THEORY.v("population.common_loading"), abs=0.08)


def test_mandated_supports_end_on_recovery_in_a_run():
    """The engine's own endings (compiled), not only the reference rule above: supports end when clients recover."""
    res = run({"failure_regime_enabled": True, "failure_regime_intervention": "buddying"}, 11, 60)
    log = res.partnerships
    buddying = log[(log["type"] == "buddying") & log["mandated"]]
    assert len(buddying) > 0
    recovered = buddying[buddying["end_reason"] == "recovered"]
    assert len(recovered) > 0  # some clients recovered within five years, and their supports ended
    assert (recovered["end_month"] >= recovered["start_month"]).all()
