"""The synthetic population, the pure entry point and Mesa idioms."""

from __future__ import annotations

import mesa
import numpy as np
import pytest

import sim
import sim.agents
import sim.api
import sim.outcomes
from sim.population import build_population, describe, kind_counts, load_population_spec

# Starting-share targets (docs/evidence.md: hsj2016ratings, cqc2023): CQC 2016 trust-level 33% good/outstanding,
# acute locations 2023 57% -> 40-60%; 44-66% of trusts in deficit 2015-18, sector deficit since
# 2022/23 -> 40-65%; "about 10% in segment 4 or inadequate" -> 6-16%.
TARGETS = {
    "share_good_or_outstanding": (0.40, 0.60),
    "share_in_deficit": (0.40, 0.65),
    "share_special_measures": (0.06, 0.16),
}


@pytest.mark.parametrize("n", [20, 217, 2000, 20000])
def test_population_size_is_a_parameter(n):
    theory = sim.load_theory()
    spec = load_population_spec().resized(n)
    pop = build_population(spec, theory, np.random.default_rng(1))
    assert pop.n == n
    assert pop.levels.shape == (n, len(theory.domains))
    assert np.all((pop.levels >= 0) & (pop.levels <= 1))
    base = np.array([k.count for k in spec.kinds]) / 217
    assert np.all(np.abs(kind_counts(spec) - base * n) <= 1), "kind mix not preserved"
    assert pop.ics.max() < spec.n_ics
    if n >= spec.n_ics:
        assert len(np.unique(pop.ics)) == spec.n_ics, "an ICS has no provider"


def test_england_population_matches_starting_targets():
    theory = sim.load_theory()
    spec = load_population_spec()
    assert spec.n_providers == 217 and spec.n_ics == 42
    shares = np.array(
        [
            [describe(build_population(spec, theory, np.random.default_rng(s)), theory)[k] for k in TARGETS]
            for s in range(30)
        ]
    )
    for j, (key, (lo, hi)) in enumerate(TARGETS.items()):
        assert lo <= shares[:, j].mean() <= hi, (key, shares[:, j].mean())
    # domains are positively correlated through the common factor (well-led, safe, finances)
    pop = build_population(spec.resized(5000), theory, np.random.default_rng(2))
    corr = np.corrcoef(pop.levels.T)
    assert corr[np.triu_indices_from(corr, 1)].min() > 0.1


def test_run_returns_series_and_log():
    result = sim.run({"failure_regime_enabled": True}, seed=5, horizon=24)
    assert list(result.series["step"]) == list(range(25))
    assert result.series["date"].iloc[0] == "2022-07" and result.series["date"].iloc[-1] == "2024-07"
    names = [m.name for m in sim.outcomes.metric_catalogue(sim.load_theory())]
    assert set(names) <= set(result.series.columns)
    assert len(result.partnerships) > 0
    assert set(sim.api.LOG_COLUMNS) == set(result.partnerships.columns)
    assert result.panel is None


def test_agent_panel_is_optional():
    result = sim.run({}, seed=1, horizon=3, agent_panel=True)
    assert result.panel is not None
    assert len(result.panel) == 4 * 217
    assert {"quality", "efficiency", "access", "special_measures"} <= set(result.panel.columns)


def test_batch_run_with_plain_keyword_parameters():
    out = mesa.batch_run(
        sim.PartnershipModel,
        parameters={
            "failure_regime_enabled": [False, True],
            "n_providers": 60,
            "horizon": 6,
            "start_partnerships": "none",
        },
        rng=[3, 4],
        max_steps=6,
        data_collection_period=-1,
        display_progress=False,
    )
    assert len(out) == 4
    by = {(row["failure_regime_enabled"], row["rng"]): row for row in out}
    assert by[(True, 3)]["partnerships_active"] > 0
    assert by[(False, 3)]["partnerships_active"] == 0
    again = mesa.batch_run(
        sim.PartnershipModel,
        parameters={"failure_regime_enabled": [True], "n_providers": 60, "horizon": 6, "start_partnerships": "none"},
        rng=[3],
        max_steps=6,
        display_progress=False,
    )
    assert again[0]["mean_quality"] == by[(True, 3)]["mean_quality"]


def test_unknown_keyword_is_rejected_with_suggestion():
    with pytest.raises(sim.ConfigError, match="failure_regime_enabled"):
        sim.PartnershipModel(rng=1, failure_regime_enable=True)
    with pytest.raises(sim.ConfigError, match="merger"):
        sim.PartnershipModel(rng=1, failure_regime_intervention="mergr")


def test_agents_are_thin_handles_over_arrays():
    model = sim.PartnershipModel(rng=2, failure_regime_enabled=True, horizon=2, start_partnerships="none")
    model.step()
    providers = model.agents_by_type[sim.agents.Provider]
    assert len(providers) == model.n
    p = next(iter(providers))
    assert p.levels["quality"] == model.levels[p.index, model.quality_col]
    partnerships = model.agents_by_type[sim.agents.Partnership]
    assert len(partnerships) == model.ledger.count
    one = next(iter(partnerships))
    assert one.type == "buddying" and one.mandated and one.active
    assert one.trust == model.ledger.trust[one.pid]


def test_submodules_are_attributes_of_sim_in_a_fresh_interpreter() -> None:
    """``sim.policy`` works without importing it first (the package loads its names lazily)."""
    import subprocess
    import sys

    code = "import sim; print(sim.policy.__name__); print(hasattr(sim, 'no_such_module'))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["sim.policy", "False"]


def test_observe_and_a_batch_of_worlds_give_the_mesa_models_numbers():
    """``observe`` (a World through the engine, no Mesa) reads what ``run`` (a Mesa model) records."""
    spec = {"failure_regime_enabled": True, "voluntary_enabled": True}
    months, metrics = (0, 5, 12), ("mean_quality", "share_special_measures", "partnerships_active")
    alone = sim.run(spec, 11, 12)
    seen = sim.observe(spec, 11, 12, observers=[sim.MetricsAt(months, metrics)])[0]
    assert np.array_equal(seen, alone.series.loc[list(months), list(metrics)].to_numpy())
    world = sim.build_model(spec, 11, 12, agents=False)
    assert isinstance(world, sim.World) and not isinstance(world, mesa.Model)


def test_a_batch_steps_with_the_cycle_collector_paused_and_restores_it():
    """The collector is off while the runs step (it cost a fifth of a batch) and as it was afterwards."""
    import gc

    class Watch:
        def __init__(self) -> None:
            self.seen: list[bool] = []

        def attach(self, model: sim.World) -> None:
            self.seen.append(gc.isenabled())

        def on_step(self, model: sim.World) -> None:
            self.seen.append(gc.isenabled())

        def result(self) -> list[bool]:
            return self.seen

    was_on = gc.isenabled()
    try:
        for state in (True, False):
            (gc.enable if state else gc.disable)()
            res = sim.run_many([({}, 1), ({}, 2)], 3, observers=[[Watch()], [Watch()]])
            assert [r.observed[0] for r in res] == [[False] * 4] * 2
            assert gc.isenabled() is state
        gc.enable()
        with pytest.raises(sim.ConfigError):
            sim.run_many([({"failure_regime_intervention": "nonsense", "failure_regime_enabled": True}, 1)], 3)
        assert gc.isenabled()
    finally:
        (gc.enable if was_on else gc.disable)()


def test_batched_runs_import_pandas_only_for_a_table() -> None:
    """``sim`` and a batch of runs kept as arrays never import pandas (0.4 s of a process's start);
    reading a run's series as a table does, and gives the months and metrics kept."""
    import subprocess
    import sys

    code = (
        "import sys, sim; "
        "keep = sim.Keep(months=(0, 3), metrics=('mean_quality',), tables=False); "
        "res = sim.run_many([({'failure_regime_enabled': True}, 1), ({}, 2)], 3, keep=keep); "
        "print('pandas' in sys.modules); "
        "print(res[0].values(['mean_quality']).shape, res[1].series.shape, 'pandas' in sys.modules)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split("\n")[:2] == ["False", "(2, 1) (2, 3) True"]


def test_values_of_a_batched_run_are_a_new_array_of_the_metrics_asked_for() -> None:
    """``values`` gives the series' numbers for every metric (in order) or some (in any order), as a new array."""
    spec = {"failure_regime_enabled": True}
    table = sim.run_many([(spec, 4)], 3)[0].series
    names = [str(c) for c in table.columns if c not in ("step", "date")]
    run = sim.run_many([(spec, 4)], 3)[0]
    every = run.values(names)
    assert np.array_equal(every, table[names].to_numpy(dtype=float))
    some = run.values([names[3], names[0]])
    assert np.array_equal(some, table[[names[3], names[0]]].to_numpy(dtype=float))
    every[:] = -1.0
    assert np.array_equal(run.values(names), table[names].to_numpy(dtype=float))  # the run's own copy is untouched
