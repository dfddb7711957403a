"""The compiled failure regime and endings (``sim.event_kernels``, as the ensemble runs them) are the
readable rules (``formation.apply_failure_regime``, ``PartnershipModel.end_partnership``), bit for bit:
the same partners in the same order, the same ledger rows and memory, the same draws."""

from __future__ import annotations

import numpy as np
import pytest

from sim import PartnershipModel, event_kernels, load_theory, pcg
from sim.ensemble import Ensemble
from sim.formation import apply_failure_regime
from sim.registry import BOOL_INDEX, FLOAT_INDEX, INT_INDEX

THEORY = load_theory()
WIDE = THEORY.with_values({"partnering.realisation_mean": 0.3, "partnering.realisation_sd": 0.3})  # Beta(0.4, 0.93)
N = 80
CASES = [
    {"failure_regime_intervention": "buddying", "failure_regime_partner_capacity": 1},
    {"failure_regime_intervention": "merger", "failure_regime_partner_capacity": 2, "approval_months": 3},
    {
        "failure_regime_intervention": "management_contract",
        "failure_regime_partner_capacity": 3,
        "failure_regime_same_ics_first": False,
    },
]


def model(levers: dict, *, agents: bool) -> PartnershipModel:
    """A run with agents (the ensemble runs the rule for it) or without (it runs the compiled regime)."""
    m = PartnershipModel(
        THEORY, n_providers=N, rng=5, start_partnerships="2022", failure_regime_enabled=True, agents=agents, **levers
    )
    return m if agents else Ensemble([m]).models[0]


def set_random_state(m: PartnershipModel, states: np.random.Generator, k: int, month: int) -> None:
    """Special measures, quality (few values: ties), partnerships held and supports led, drawn at random."""
    m.month = month
    if m.ensemble is not None:
        m.ensemble.month = month
    m.sm.active[:] = states.random(N) < 0.3
    m.levels[:, m.quality_col] = states.choice([0.3, 0.55, 0.6, 0.7, 0.8], N)
    led = m.ledger
    led.type_count[:, k] = states.integers(0, 2, N)
    led.n_exclusive[:] = states.integers(0, 2, N) * (states.random(N) < 0.2)
    led.mandated_led[:] = states.integers(0, 3, N)
    led.supported[:] = states.random(N) < 0.2


@pytest.mark.parametrize("levers", CASES, ids=lambda x: x["failure_regime_intervention"])
def test_the_compiled_failure_regime_is_the_rule_on_random_states(levers):
    rule, engine = model(levers, agents=True), model(levers, agents=False)
    k = THEORY.type_index(levers["failure_regime_intervention"])
    formed = 0
    for trial in range(60):
        for m in (rule, engine):
            set_random_state(m, np.random.default_rng(trial), k, trial)
        before = rule.ledger.count
        apply_failure_regime(rule)
        engine.ensemble.apply_failure_regime()  # type: ignore[union-attr]
        formed += rule.ledger.count - before
        a, b = rule.ledger, engine.ledger
        n = a.count
        assert b.count == n, trial
        for name in (*FLOAT_INDEX, *INT_INDEX, *BOOL_INDEX):
            assert np.array_equal(getattr(a, name)[:n], getattr(b, name)[:n]), (trial, name)
        for name in ("type_count", "n_exclusive", "mandated_led", "supported"):
            assert np.array_equal(getattr(a, name), getattr(b, name)), (trial, name)
        assert all(np.array_equal(x, y) for x, y in zip(a.members, b.members, strict=True))
        assert all(np.array_equal(x, y) for x, y in zip(a.member_start, b.member_start, strict=True))
        assert a.end_reason == b.end_reason
        assert rule.events["formations"] == engine.events["formations"]
        for stream in ("failure", "realisation"):
            assert rule.streams[stream].bit_generator.state == engine.streams[stream].bit_generator.state
        rule.events["formations"] = engine.events["formations"] = 0
    assert formed > 60  # the states gave the rule plenty to do


LEVERS = {
    "buddying": {"failure_regime_enabled": True, "failure_regime_partner_capacity": 2},
    # a Beta shape below 1: the realisations are drawn through numpy (the compiled draw is for shapes above 1)
    "buddying_wide_realisation": {"failure_regime_enabled": True, "failure_regime_partner_capacity": 2},
    "mergers": {"failure_regime_enabled": True, "failure_regime_intervention": "merger", "approval_months": 6},
    "contracts_and_voluntary": {
        "failure_regime_enabled": True,
        "failure_regime_intervention": "management_contract",
        "voluntary_enabled": True,
        "voluntary_type_mix": {"network": 2.0, "group": 1.0, "contractual_jv": 1.0},
    },
}


@pytest.mark.parametrize("name", list(LEVERS))
def test_a_run_without_agents_is_the_run_with_agents(name):
    """Formations and endings compiled (no agents) are the model's own (with agents), month by month."""
    kw = {"n_providers": 120, "rng": 2, "horizon": 48, **LEVERS[name]}
    theory = WIDE if name.endswith("wide_realisation") else THEORY
    rule = PartnershipModel(theory, agents=True, **kw)
    engine = Ensemble([PartnershipModel(theory, agents=False, **kw)]).models[0]
    ended = 0
    while rule.running:
        rule.step()
        engine.step()
        assert rule.events.items() == engine.events.items(), rule.month
        assert np.array_equal(rule.levels, engine.levels), rule.month
        ended += rule.events["dissolutions"] + rule.events["completions"]
    a, b = rule.ledger, engine.ledger
    n = a.count
    assert b.count == n
    for field in (*FLOAT_INDEX, *INT_INDEX, *BOOL_INDEX):
        assert np.array_equal(getattr(a, field)[:n], getattr(b, field)[:n]), field
    for field in ("type_count", "n_exclusive", "mandated_led", "supported"):
        assert np.array_equal(getattr(a, field), getattr(b, field)), field
    assert list(a.pair_trust.items()) == list(b.pair_trust.items())
    assert a.end_reason == b.end_reason
    assert a.end_levels.keys() == b.end_levels.keys()
    assert all(np.array_equal(a.end_levels[p], b.end_levels[p]) for p in a.end_levels)
    assert all(np.array_equal(x, y) for x, y in zip(a.members, b.members, strict=True))
    for stream in ("failure", "realisation"):
        assert rule.streams[stream].bit_generator.state == engine.streams[stream].bit_generator.state
    assert ended > 10  # endings of both kinds were compared


def test_the_compiled_draws_are_numpys():
    """The failure regime's order (``permutation``) and realisations (``beta``), drawn compiled, are numpy's,
    bit for bit, and leave the generator as numpy does (its state and buffered half-word), however interleaved."""
    for seed in range(40):
        alone, compiled = np.random.default_rng(seed), np.random.default_rng(seed)
        streams = np.array([[pcg.state_view(compiled).ctypes.data, pcg.half_word_view(compiled).ctypes.data]])
        for n in (1, 2, 3, 7, 16, 17, 60, 217):
            waiting = np.arange(n, dtype=np.int64) * 3 + 1
            order = np.zeros((1, n), dtype=np.int64)
            event_kernels.failure_order(waiting[None, :], np.array([n]), streams, order)
            assert order[0].tolist() == alone.permutation(waiting).tolist(), (seed, n)
            for a, b in ((5.06, 5.06), (1.2, 9.5), (30.0, 1.01)):
                drawn = np.zeros(3)
                event_kernels.fill_beta(pcg.state_view(compiled), a, b, drawn)
                assert drawn.tolist() == alone.beta(a, b, size=3).tolist(), (seed, a, b)
        assert compiled.bit_generator.state == alone.bit_generator.state


def test_numpy_draws_an_array_of_bounded_integers_as_it_draws_each_alone():
    """``seed_start_partnerships`` draws the collaboratives' ages at once on this premise (numpy's
    bounded integers take their 32-bit words from the generator's own buffer, one element at a time)."""
    for n in (0, 1, 7, 40, 41):
        alone, at_once = np.random.default_rng(n), np.random.default_rng(n)
        assert [int(alone.integers(0, 13)) for _ in range(n)] == at_once.integers(0, 13, size=n).tolist()
        assert alone.bit_generator.state == at_once.bit_generator.state
        assert alone.integers(5) == at_once.integers(
            5
        )  # the streams go on alike (an odd count leaves a word half used)
