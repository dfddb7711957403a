"""Directional tests, one per arrow family of the theory.

Each compares two runs that differ in one parameter, with the same seed (common random
numbers: the population and every provider's noise are identical, so the difference between
the runs is the arrow's doing), or calls the mechanism functions directly in a controlled
setup. Where a test removes an arrow (an effect or weight of 0, outside its declared range),
it uses :func:`force`, which sets values without the range check; ``with_values`` is used for
values inside the declared ranges.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from sim import PartnershipModel, Theory, load_theory
from sim.relations import (
    MechanismColumns,
    MechanismParams,
    advance_mechanisms,
    confidence_target,
    conflict_target,
    update_trust,
)

THEORY = load_theory()
ZERO = np.zeros(500)  # members' leadership at the sector's typical level


def force(theory: Theory, values: dict[str, float]) -> Theory:
    """``theory`` with ``values`` set as given (no range check: for removing an arrow in a test)."""
    merged = dict(theory.values)
    for name, value in values.items():
        assert name in theory.params, name
        merged[name] = float(value)
    return dataclasses.replace(theory, values=merged)


def half_rise_month(delta: np.ndarray) -> int:
    """First month a (rising) difference reaches half its final value."""
    return int(np.argmax(delta >= 0.5 * delta[-1]))


# -- partnership effect -> governance -> culture -> quality -------------------------------
def buddied_clients(theory: Theory, months: int = 120, n: int = 60, pairs: int = 5, seed: int = 1) -> np.ndarray:
    """Mean levels (month × domain) of the ``pairs`` lowest-governance providers, each buddied
    from month 0 by one of the highest-governance providers (mandated, so it never dissolves)."""
    model = PartnershipModel(theory, n_providers=n, horizon=months, rng=seed, start_partnerships="none")
    order = np.argsort(model.levels[:, theory.domain_index("governance")])
    clients, leads = order[:pairs], order[::-1][:pairs]
    k = theory.type_index("buddying")
    for client, lead in zip(clients, leads, strict=True):
        model.form(k, np.array([lead, client]), lead=int(lead), client=-1, mandated=True)
    out = [model.levels[clients].mean(axis=0)]
    while model.running:
        model.step()
        out.append(model.levels[clients].mean(axis=0))
    return np.stack(out)


def governance_effect_response(theory: Theory, share: float = 0.0) -> np.ndarray:
    """Clients' levels with the buddying effect on governance, minus the same run with ``share``
    of that effect (0: without it)."""
    name = "type.buddying.effect.governance"
    return buddied_clients(theory) - buddied_clients(force(theory, {name: share * theory.v(name)}))


def test_governance_effect_raises_governance_then_culture_then_quality():
    """The IRT's three tiers: partnering -> governance (structural) -> culture (relational) ->
    quality (outcome). The default theory also has a direct governance -> quality edge (lag 3);
    it is set to its declared low (0) here so that quality can only respond through the tiers."""
    th = THEORY.with_values({"edge.governance->quality.weight": 0.0})
    gov, cult, qual = (th.domain_index(d) for d in ("governance", "culture", "quality"))
    delta = governance_effect_response(th)

    assert delta[-1, gov] > 0.2, "members' governance should rise with the type's effect on it"
    assert delta[-1, cult] > 0.05, "culture should follow governance"
    assert delta[-1, qual] > 0.03, "quality should follow culture"
    assert np.all(delta[:, gov] >= -1e-12), "a stronger effect never lowers governance"
    t_gov, t_cult, t_qual = (half_rise_month(delta[:, j]) for j in (gov, cult, qual))
    assert t_gov < t_cult < t_qual, f"half-rise months: governance {t_gov}, culture {t_cult}, quality {t_qual}"

    # quality's rise runs through culture: without the culture -> quality edge it is much smaller
    no_culture_edge = governance_effect_response(force(th, {"edge.culture->quality.weight": 0.0}))
    assert delta[-1, qual] > 2 * no_culture_edge[-1, qual]


def test_governance_effect_raises_quality_in_the_default_theory():
    """Doubling the effect (half -> full) speeds the convergence of governance, so governance,
    culture and quality are higher all along. Both runs converge to the lead's level, so the
    difference peaks and fades; it peaks first in governance. (With the direct governance ->
    quality edge, quality's peak need not come after culture's.)"""
    th = THEORY
    gov, cult, qual = (th.domain_index(d) for d in ("governance", "culture", "quality"))
    delta = governance_effect_response(th, share=0.5)
    assert np.all(delta[:, [gov, cult, qual]] >= -1e-12), "a stronger effect never lowers these domains"
    assert delta[:, gov].max() > 0.05 and delta[:, cult].max() > 0.01 and delta[:, qual].max() > 0.01
    assert delta[:, gov].argmax() < min(delta[:, cult].argmax(), delta[:, qual].argmax())


# -- conflict -> trust -----------------------------------------------------------------------
def test_conflict_lowers_trust_pure_functions():
    """update_trust falls with conflict; conflict_target rises with gap, asymmetry, mandate, slow
    progress and organisational change, and falls with accountability."""
    m = MechanismParams.from_theory(THEORY)
    rng = np.random.default_rng(0)
    trust, progress = rng.uniform(0.05, 0.95, 500), rng.uniform(0, 1, 500)
    low, high = np.sort(rng.uniform(0, 1, (2, 500)), axis=0)
    high = high + 0.01
    assert np.all(update_trust(trust, progress, high, ZERO, m) < update_trust(trust, progress, low, ZERO, m))
    # both channels: conflict slows the building of trust (seen from zero trust, where nothing
    # can erode) and erodes what there is (seen without progress, where nothing builds)
    zero, none = np.zeros(500), np.zeros(500)
    assert np.all(
        update_trust(zero, progress + 0.01, high, ZERO, m) < update_trust(zero, progress + 0.01, low, ZERO, m)
    )
    assert np.all(update_trust(trust, none, high, ZERO, m) < update_trust(trust, none, low, ZERO, m))

    base = {"gap": 0.1, "asymmetry": 0.1, "mandated": 0.0, "progress": 0.6, "org_change": 0.1, "accountability": 0.6}

    def target(**kw: float) -> float:
        args = {k: np.array([v]) for k, v in {**base, **kw}.items()}
        return float(
            conflict_target(
                args["gap"],
                args["asymmetry"],
                args["mandated"],
                args["progress"],
                args["org_change"],
                args["accountability"],
                m,
            )[0]
        )

    ref = target()
    assert target(gap=0.4) > ref
    assert target(asymmetry=0.8) > ref
    assert target(mandated=1.0) > ref
    assert target(progress=0.1) > ref
    assert target(org_change=0.9) > ref
    assert target(accountability=0.1) > ref


def test_conflict_lowers_trust_in_the_mechanisms():
    """Two partnerships alike except for the cultural gap between members: the wider gap brings
    more conflict, and trust falls below where it started, while the other's grows."""
    model = PartnershipModel(THEORY, n_providers=20, horizon=1, rng=0, start_partnerships="none")
    th = model.theory
    a, b = np.array([0, 1]), np.array([2, 3])
    rows = np.r_[a, b]
    model.levels[rows] = 0.5
    model.levels[b, th.role_index("culture")] = [0.25, 0.75]
    model.pop.turnover[rows] = 500.0
    model.pop.ics[rows] = 0
    k = th.type_index("network")
    pa = model.form(k, a, lead=0, client=-1, mandated=False)
    pb = model.form(k, b, lead=2, client=-1, mandated=False)
    ledger = model.ledger
    start_trust = ledger.trust[[pa, pb]].copy()
    assert start_trust[0] == start_trust[1]
    cols = MechanismColumns.from_theory(th)
    for _ in range(36):
        advance_mechanisms(ledger, model.types, model.mechanisms, model.levels, cols)
        assert ledger.conflict[pb] > ledger.conflict[pa]
        assert ledger.trust[pb] < ledger.trust[pa]
    assert ledger.trust[pb] < start_trust[1] - 0.05, "sustained conflict should erode trust"
    assert ledger.trust[pa] > start_trust[0], "with little conflict trust should build"


# -- contract strength -> confidence -> behaviour (mandated) -----------------------------
def mandated_contracts(theory: Theory, months: int = 60, pairs: int = 5, seed: int = 3) -> tuple[np.ndarray, ...]:
    """Confidence and behaviour (month × partnership) of mandated management contracts formed at
    month 0 (approval lever 0, so they start at once)."""
    model = PartnershipModel(
        theory, n_providers=60, horizon=months, rng=seed, approval_months=0, start_partnerships="none"
    )
    q = model.levels[:, model.quality_col]
    order = np.argsort(q)
    k = theory.type_index("management_contract")
    ids = [
        model.form(k, np.array([lead, client]), lead=int(lead), client=int(client), mandated=True)
        for client, lead in zip(order[:pairs], order[::-1][:pairs], strict=True)
    ]
    conf, beh = [], []
    while model.running:
        model.step()
        conf.append(model.ledger.confidence[ids].copy())
        beh.append(model.ledger.behaviour[ids].copy())
    return np.array(conf), np.array(beh)


def test_contract_strength_raises_confidence_and_behaviour_in_mandated_partnerships():
    name = "type.management_contract.contract_strength"
    p = THEORY.params[name]
    conf_lo, beh_lo = mandated_contracts(THEORY.with_values({name: p.low}))
    conf_hi, beh_hi = mandated_contracts(THEORY.with_values({name: p.high}))
    assert np.all(conf_hi > conf_lo)
    assert np.all(beh_hi > beh_lo)
    # confidence settles on its target (contract and mandate, below the ceiling): by month 60 most of
    # the difference between the two targets shows
    targets = confidence_target(np.array([p.low, p.high]), np.ones(2), MechanismParams.from_theory(THEORY))
    assert targets[1] > targets[0]
    assert np.all(conf_hi[-1] - conf_lo[-1] > 0.8 * (targets[1] - targets[0]))


# -- transition length -> early efficiency dip (merger) --------------------------------------
def merger_efficiency(theory: Theory, months: int = 60, pairs: int = 6, seed: int = 1) -> np.ndarray:
    """Members' mean efficiency change from the start, per month, for mergers formed at month 0."""
    model = PartnershipModel(
        theory, n_providers=60, horizon=months, rng=seed, approval_months=0, start_partnerships="none"
    )
    k = theory.type_index("merger")
    members = np.arange(2 * pairs).reshape(pairs, 2)
    for a, b in members:
        model.form(k, np.array([a, b]), lead=int(a), client=-1, mandated=False)
    col = model.efficiency_col
    out = [model.levels[members.ravel(), col].copy()]
    while model.running:
        model.step()
        out.append(model.levels[members.ravel(), col].copy())
    eff = np.stack(out)
    return (eff - eff[0]).mean(axis=1)


@pytest.mark.parametrize("seed", [1, 2])
def test_longer_transition_deepens_the_early_efficiency_dip(seed):
    name = "type.merger.transition_months"
    p = THEORY.params[name]
    short = merger_efficiency(THEORY.with_values({name: p.low}), seed=seed)
    long = merger_efficiency(THEORY.with_values({name: p.high}), seed=seed)
    assert short.min() < -0.02, "a merger should show an early efficiency dip"
    assert long.min() < short.min() - 0.01, (
        f"dip: {p.high:.0f}-month transition {long.min():.3f}, {p.low:.0f}-month {short.min():.3f}"
    )
    # the dip lasts about as long as the transition: at the end of the short one the long one is lower
    assert long[int(p.low) + 6] < short[int(p.low) + 6]
