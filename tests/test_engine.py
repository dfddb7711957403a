"""The ensemble engine: a run in a batch is the run alone, bit for bit; the compiled loops are the
numpy functions, bit for bit."""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from batches import flat_spec, identical

import sim
from sim import formation, numeric
from sim.dynamics import convergence
from sim.ensemble import Ensemble
from sim.outcomes import summarise
from sim.registry import OPERATING, TRANSITION
from sim.regulation import standard_support
from sim.relations import advance_mechanisms
from sim.typology import TARGET_MODES

SPECS = {
    "baseline": {},
    "buddying": {"failure_regime_enabled": True, "failure_regime_partner_capacity": 2},
    "mergers": {"failure_regime_enabled": True, "failure_regime_intervention": "merger", "approval_months": 12},
    "duty_voluntary": {
        "collaborative_duty_enabled": True,
        "collaborative_duty_start_month": 6,
        "voluntary_enabled": True,
        "voluntary_type_mix": {"network": 2.0, "group": 1.0, "contractual_jv": 1.0},
    },
    "shocks_fund": {
        "voluntary_enabled": True,
        "voluntary_type_mix": {"merger": 1.0, "corporate_jv": 1.0, "individual_partnering": 1.0},
        "workforce_shock_size": 0.05,
        "workforce_shock_start_month": 6,
        "financial_squeeze_size": 0.04,
        "support_fund_share": 0.5,
    },
    "contracts_from_none": {
        "failure_regime_enabled": True,
        "failure_regime_intervention": "management_contract",
        "start_partnerships": "none",
    },
}
POINTS = [
    {},
    {"partnering.synergy": 0.06, "mechanism.trust_build": 0.05, "regulation.support_fade": 0.1},
    {"partnering.convergence_rate": 0.2, "mechanism.inertia_threshold": 0.45, "edge.governance->culture.weight": 0.3},
]
HORIZON = 48


def spec(name: str, point: dict, settings: dict | None = None) -> sim.RunSpec:
    return flat_spec(SPECS[name] if settings is None else settings, point, HORIZON, name)


@pytest.fixture(scope="module")
def mixed_batch():
    """Replicates and design points of several lever settings, shuffled into one batch."""
    runs = [(spec(name, point), seed) for name in SPECS for point in POINTS[:2] for seed in (3, 4)]
    runs += [(spec("buddying", POINTS[2]), 5), (spec("duty_voluntary", POINTS[2]), 5)]
    order = np.random.default_rng(0).permutation(len(runs))
    runs = [runs[i] for i in order]
    return runs, sim.run_many(runs)


def test_each_run_in_a_mixed_batch_is_the_run_alone(mixed_batch):
    runs, batch = mixed_batch
    assert len(batch) == len(runs)
    for (s, seed), got in zip(runs, batch, strict=True):
        alone = sim.run(s, seed)
        identical(got.series, alone.series)
        identical(got.partnerships, alone.partnerships)
        identical(got.sm_spells, alone.sm_spells)
        assert len(alone.partnerships) > 0 and got.seed == seed


def test_a_batch_does_not_depend_on_its_order_or_size(mixed_batch):
    runs, batch = mixed_batch
    again = sim.run_many(runs[::-1], batch_size=3)[::-1]
    for a, b in zip(batch, again, strict=True):
        identical(a.series, b.series)
        identical(a.partnerships, b.partnerships)


def test_keep_selects_months_and_metrics_of_the_same_numbers(mixed_batch):
    runs, batch = mixed_batch
    keep = sim.Keep(months=(0, 12, HORIZON), metrics=("mean_quality", "partnerships_active"), tables=False)
    few = sim.run_many(runs[:4], keep=keep)
    for full, part in zip(batch[:4], few, strict=True):
        want = full.series.set_index("step").loc[[0, 12, HORIZON], ["mean_quality", "partnerships_active"]]
        assert (part.series.set_index("step")[list(want.columns)].to_numpy() == want.to_numpy()).all()
        assert part.partnerships.empty


def test_observers_read_every_months_summary_when_the_series_keeps_a_few(mixed_batch):
    """With few months kept the summary is skipped in the others, but not for a run an observer watches."""
    runs, batch = mixed_batch
    keep = sim.Keep(months=(0, HORIZON), metrics=("mean_quality",), tables=False)
    months = list(range(1, HORIZON))
    watched = sim.run_many(
        runs[:2], keep=keep, observers=[[sim.api.MetricsAt(months, ("mean_quality",))] for _ in range(2)]
    )
    for full, part in zip(batch[:2], watched, strict=True):
        want = full.series.set_index("step").loc[months, "mean_quality"].to_numpy()
        assert (part.observed[0][:, 0] == want).all()


def test_ensembles_are_sized_by_the_trusts_they_hold_and_split_evenly():
    assert sim.api.ensemble_size(217, 40) == 14  # 16 default runs at most: 14 + 14 + 12
    assert sim.api.ensemble_size(217, 10) == 10
    assert sim.api.ensemble_size(217, 40, most=3) == 3
    assert sim.api.ensemble_size(217 // 2, 64) == 32
    assert sim.api.ensemble_size(20_000, 5) == 1


def test_run_many_advances_cache_sized_ensembles_of_the_same_numbers(mixed_batch, monkeypatch):
    runs, batch = mixed_batch
    sizes = []

    class Counted(Ensemble):
        def __init__(self, models):
            sizes.append(len(models))
            super().__init__(models)

    monkeypatch.setattr(sim.api, "Ensemble", Counted)
    monkeypatch.setattr(sim.api, "ENSEMBLE_TRUSTS", 5 * 217)
    again = sim.run_many(runs)
    assert sizes and max(sizes) == sim.api.ensemble_size(217, len(runs)) < len(runs)
    for a, b in zip(batch, again, strict=True):
        identical(a.series, b.series)
        identical(a.partnerships, b.partnerships)


def test_runs_of_different_structures_are_batched_apart():
    runs = [(spec("baseline", {}), 1), (dataclasses.replace(spec("baseline", {}), n_providers=60), 1)]
    both = sim.run_many(runs)
    for (s, seed), got in zip(runs, both, strict=True):
        identical(got.series, sim.run(s, seed).series)


def test_an_ensemble_refuses_runs_of_another_structure():
    a = sim.build_model(spec("baseline", {}), 1, agents=False)
    b = sim.build_model(dataclasses.replace(spec("baseline", {}), n_providers=60), 1, agents=False)
    with pytest.raises(ValueError, match="structure"):
        Ensemble([a, b])


# -- the compiled loops are the numpy functions ----------------------------------------------------------
def numpy_step(model: sim.PartnershipModel) -> None:
    """The month as the readable numpy functions compute it (the oracle for the compiled loops)."""
    model.month += 1
    for key in model.events:
        model.events[key] = 0
    model.regulate()
    formation.apply_failure_regime(model)
    formation.apply_collaborative_duty(model)
    formation.voluntary_search(model)
    formation.advance_phases(model)
    formation.dissolutions(model)
    advance_mechanisms(model.ledger, model.types, model.mechanisms, model.levels, model.mechanism_cols)
    convergence(model.ledger, model.types, model.partnering, model.anchor, model.pop.turnover)
    standard_support(model.anchor, model.support_shift, model.sm.active, model.regulation)
    shocks = model.streams["noise"].standard_normal(model.levels.shape) * model.web.noise_sd
    model.update_domains(
        model.levels, model.start_levels, model.anchor, model.signals, model.pressure(), shocks, model.web
    )


@pytest.mark.parametrize("name", list(SPECS))
def test_the_compiled_month_is_the_numpy_month(name):
    point = POINTS[1] if name in ("buddying", "shocks_fund") else {}
    fast = sim.build_model(spec(name, point), 7)
    slow = sim.build_model(spec(name, point), 7)
    assert_same_months(fast, slow, HORIZON)


def test_a_partnership_of_one_member_moves_as_numpy_moves_it():
    """Lone members (numpy's one-element segments) in every target mode: the kernels' short paths for them.

    No rule leaves a partnership with one member, so one is made after two years of voluntary
    partnerships: in each type with live pairs, one pair's second membership is moved to another
    partnership.
    """
    mix = {"network": 1.0, "contractual_jv": 1.0, "corporate_jv": 1.0}  # the target modes best, lead, size-weighted
    s = spec("lone", {}, {"voluntary_enabled": True, "voluntary_type_mix": mix})
    fast, slow = sim.build_model(s, 7), sim.build_model(s, 7)
    assert_same_months(fast, slow, 24)
    for model in (fast, slow):
        ledger = model.ledger
        mem = ledger.memberships()
        live = (ledger.phase[mem.ids] == TRANSITION) | (ledger.phase[mem.ids] == OPERATING)
        pairs, big = mem.ids[live & (mem.size == 2)], mem.ids[mem.size > 2][0]
        lone = [pairs[ledger.type[pairs] == k][0] for k in np.unique(ledger.type[pairs]).tolist()]
        assert {TARGET_MODES[model.types.target_mode[ledger.type[p]]] for p in lone} == set(TARGET_MODES)
        for p in lone:
            row = np.flatnonzero(ledger._m_p[: ledger._m_count] == p)[1]
            ledger._m_p[row] = big
        ledger.version += 1
    assert_same_months(fast, slow, 6)


def assert_same_months(fast: sim.PartnershipModel, slow: sim.PartnershipModel, months: int) -> None:
    """``fast`` stepped (compiled) and ``slow`` stepped by the numpy functions stay equal, bit for bit."""
    for _ in range(months):
        fast.step()
        numpy_step(slow)
        want = summarise(slow)
        for key, value in want.items():
            got = fast.summary[key]
            assert got == value or (np.isnan(got) and np.isnan(value)), (fast.month, key, got, value)
        assert (fast.levels == slow.levels).all(), fast.month
        assert (fast.anchor == slow.anchor).all(), fast.month
        assert (fast.signals == slow.signals).all(), fast.month
        assert (fast.support_shift == slow.support_shift).all(), fast.month
        n = fast.ledger.count
        assert n == slow.ledger.count
        for field in ("trust", "conflict", "faith", "confidence", "behaviour", "progress", "trust_sum", "trust_min"):
            assert (getattr(fast.ledger, field)[:n] == getattr(slow.ledger, field)[:n]).all(), (fast.month, field)
        assert (fast.ledger.inertia_run[:n] == slow.ledger.inertia_run[:n]).all()
    assert fast.sm.spells == slow.sm.spells and fast.sm.entries == slow.sm.entries


def test_a_domain_hook_gets_the_same_numbers_as_the_compiled_update():
    """A run with its domain update replaced by the numpy function (as a hook would wrap it) is unchanged."""
    from sim import dynamics

    def hooked(*args):  # noqa: ANN002 - the update's own signature
        dynamics.update_domains(*args)

    s = spec("buddying", {})
    model = sim.build_model(s, 2)
    model.update_domains = hooked
    while model.running:
        model.step()
    alone = sim.run(s, 2)
    series = model.datacollector.get_model_vars_dataframe().reset_index(drop=True)
    assert (series.to_numpy() == alone.series.drop(columns=["step", "date"]).to_numpy())[
        ~series.isna().to_numpy()
    ].all()


def test_the_compiled_normal_draws_are_numpys_and_move_the_generator_on():
    """The noise the compiled update draws (sim.pcg) is numpy's standard_normal, bit for bit, tails included."""
    from sim import pcg

    for seed in range(5):
        gen = np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(3,))))
        twin = np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(3,))))
        state = pcg.state_view(gen)
        assert state is not None
        out = np.empty(2_000_000)
        pcg.fill_standard_normal(state, out)
        want = twin.standard_normal(len(out))
        assert (out.view(np.uint64) == want.view(np.uint64)).all()
        assert gen.standard_normal() == twin.standard_normal()  # the Generator itself moved on with the draws
    assert pcg.state_view(np.random.Generator(np.random.MT19937(1))) is None  # other bit generators: numpy draws


@pytest.mark.parametrize("columns", [None, 3])
def test_segment_means_are_numpys_means_of_each_segment_and_column(columns):
    """Members' means in the log (``numeric.segment_means``): short, long and over-128 segments, 1-D or per column."""
    rng = np.random.default_rng(5)
    sizes = np.array([1, 2, 7, 8, 9, 15, 16, 17, 130, 3, 1], dtype=np.int64)
    first = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    shape = (int(sizes.sum()),) if columns is None else (int(sizes.sum()), columns)
    a = rng.standard_normal(shape) * 10.0 ** rng.integers(-8, 8, shape)
    got = numeric.segment_means(a, first, sizes)
    columns_of = (lambda seg: [seg]) if columns is None else (lambda seg: list(seg.T.copy()))  # contiguous copies
    means = [[np.mean(c) for c in columns_of(a[f : f + s])] for f, s in zip(first, sizes, strict=True)]
    want = np.array(means).reshape(got.shape)
    assert got.shape == want.shape
    assert got.tobytes() == want.tobytes()


def test_warm_up_loads_every_kernel_the_python_code_calls() -> None:
    """After ``sim.warm_up`` every compiled kernel called from the engine's Python code is loaded.

    A kernel left out would be loaded (from the disk cache, or compiled) in each worker's first
    batch that needs it. The kernels are found in the source as ``kernels.NAME(`` calls; a fresh
    interpreter tells which of them hold a compiled signature after the warm-up.
    """
    root = Path(__file__).resolve().parents[1]
    modules = ("kernels", "event_kernels", "start_kernels")
    calls = set()
    for path in (root / "sim").glob("*.py"):
        if path.stem in modules:
            continue
        calls |= set(re.findall(r"\b((?:event_|start_)?kernels)\.(\w+)\(", path.read_text()))
    assert {m for m, _ in calls} == set(modules)
    script = (
        "import sim, sys\n"
        "from sim import kernels, event_kernels, start_kernels\n"
        "sim.warm_up()\n"
        f"calls = {sorted(calls)!r}\n"
        "mods = {'kernels': kernels, 'event_kernels': event_kernels, 'start_kernels': start_kernels}\n"
        "kernels_called = [(m, getattr(mods[m], n)) for m, n in calls if hasattr(getattr(mods[m], n), 'signatures')]\n"
        "print(len(kernels_called), sorted(f'{m}.{k.__name__}' for m, k in kernels_called if not k.signatures))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], cwd=root, capture_output=True, text=True, check=True)
    count, missing = out.stdout.strip().splitlines()[-1].split(" ", 1)
    assert int(count) >= 15  # the monthly stages, the failure regime, endings and the start
    assert missing == "[]"
