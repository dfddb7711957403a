"""A run's results do not depend on the runs beside it in a batch.

Each test puts runs that differ in one thing the ensemble keeps per run (a theory value, a
lever, the horizon, the observers, the months kept) into one :func:`sim.run_many` call and holds
every run equal, bit for bit, to the same run alone (:func:`sim.run`). Those of parameters and
levers run the batch in both orders (a mistake that reads the first run's value for every run
shows only in the runs after the first) and check that the runs alone really differ, so that
equality is not vacuous. They were written against the mutations of ``scripts/mutations.py``
that the rest of the suite let survive (docs/mutation.md, round 4).
"""

from __future__ import annotations

from typing import Any

from batches import flat_spec, identical

import sim

HORIZON = 30


def spec(
    settings: dict[str, Any] | None = None,
    point: dict[str, float] | None = None,
    horizon: int = HORIZON,
    start: str = "2022",
) -> sim.RunSpec:
    """A run of ``settings`` (flat levers and uncertainties) at the design ``point`` (theory overrides)."""
    return flat_spec({**(settings or {}), "start_partnerships": start}, point or {}, horizon, "isolation")


def batched_as_alone(runs: list[tuple[sim.RunSpec, int]]) -> list[sim.RunResult]:
    """Run ``runs`` as one batch and in reverse order; hold each equal to the run alone; return the alone results."""
    alone = [sim.run(s, seed) for s, seed in runs]
    forward = sim.run_many(runs)
    backward = sim.run_many(runs[::-1])[::-1]
    for want, a, b in zip(alone, forward, backward, strict=True):
        for got in (a, b):
            assert got.seed == want.seed
            identical(got.series, want.series)
            identical(got.partnerships, want.partnerships)
            identical(got.sm_spells, want.sm_spells)
    return alone


def test_each_runs_special_measures_thresholds_hold_in_a_batch():
    """Design points that differ in the exit rule of special measures, one seed: each run its own rule."""
    points = [{}, {"regulation.sm_exit_months": 3, "regulation.sm_exit_margin": 0.0}]
    points.append({"regulation.sm_exit_months": 12, "regulation.sm_exit_margin": 0.05})
    alone = batched_as_alone([(spec(point=p), 1) for p in points])
    exits = [int(r.series["sm_exits"].sum()) for r in alone]
    assert len(set(exits)) == len(exits), exits  # the points' rules really differ within the horizon


def test_each_runs_failure_regime_levers_and_realisation_hold_in_a_batch():
    """Failure-regime runs that differ in the partner-quality lever and in the realisation draw's shape."""
    regime = {"failure_regime_enabled": True, "failure_regime_partner_capacity": 2}
    runs = [
        (spec(regime), 2),
        (spec({**regime, "failure_regime_partner_min_quality": 0.45}), 2),
        (spec(regime, {"partnering.realisation_mean": 0.7, "partnering.realisation_sd": 0.1}), 2),
    ]
    alone = batched_as_alone(runs)
    supports = [r.partnerships[r.partnerships["mandated"].astype(bool)] for r in alone]
    assert all(len(s) > 0 for s in supports)
    # the lever picks other partners, and the other shape draws other realisations, than the first run's
    assert list(supports[0]["lead"]) != list(supports[1]["lead"])
    assert supports[2]["realisation"].mean() > supports[0]["realisation"].mean() + 0.1


def test_each_runs_months_of_inertia_hold_in_a_batch():
    """Design points that differ in how long collaborative inertia lasts before a dissolution."""
    voluntary = {"voluntary_enabled": True, "voluntary_type_mix": {"network": 1.0, "contractual_jv": 1.0}}
    points = [{"mechanism.inertia_months": 24}, {"mechanism.inertia_months": 6}]
    alone = batched_as_alone([(spec(voluntary, p), 3) for p in points])
    assert [int(r.series["dissolutions"].sum()) for r in alone][0] < int(alone[1].series["dissolutions"].sum())


def test_each_runs_collaborative_duty_starts_in_its_own_month_in_a_batch():
    """Duty runs starting in different months: a duty that starts before the first run's is not held back."""
    duty = [{"collaborative_duty_enabled": True, "collaborative_duty_start_month": m} for m in (12, 2)]
    runs = [(spec(d, start="none"), 4) for d in duty]  # no 2022 collaboratives: the duty forms them
    alone = batched_as_alone(runs)
    early = [r.series.set_index("step").loc[2:11, "share_in_network"].to_numpy() for r in alone]
    assert (early[1] > early[0]).all()  # the early duty puts trusts in collaboratives before the late one starts


def test_runs_of_different_horizons_each_run_their_own():
    runs = [(spec(horizon=12), 1), (spec(horizon=20), 2), (spec(horizon=12), 3)]
    got = sim.run_many(runs)
    for (s, seed), result in zip(runs, got, strict=True):
        assert list(result.series["step"]) == list(range(s.horizon + 1))
        identical(result.series, sim.run(s, seed).series)


def test_an_observer_of_any_run_reads_every_months_summary():
    """Only some runs watched, few months kept: each watcher still reads the summary of every month."""
    runs = [(spec(), 1), (spec({"failure_regime_enabled": True}), 2), (spec(), 3)]
    months, metrics = list(range(1, HORIZON)), ("mean_quality", "partnerships_active", "sm_entries")
    keep = sim.Keep(months=(0, HORIZON), metrics=("mean_quality",), tables=False)
    for watched in (1, 2):
        observers = [[sim.api.MetricsAt(months, metrics)] if r == watched else [] for r in range(len(runs))]
        got = sim.run_many(runs, keep=keep, observers=observers)
        s, seed = runs[watched]
        want = sim.run(s, seed).series.set_index("step").loc[months, list(metrics)].to_numpy()
        assert (got[watched].observed[0] == want).all()


def test_kept_months_and_metrics_are_the_full_series_at_those_months():
    runs = [(spec(), 1), (spec({"failure_regime_enabled": True}), 2), (spec({"voluntary_enabled": True}), 3)]
    months, metrics = (0, 1, 2, 7, 13, HORIZON - 1, HORIZON), ("sm_entries", "partnerships_active", "mean_quality")
    kept = sim.run_many(runs, keep=sim.Keep(months=months, metrics=metrics, tables=False))
    for (s, seed), part in zip(runs, kept, strict=True):
        full = sim.run(s, seed).series.set_index("step")
        assert list(part.series["step"]) == list(months)
        assert (part.values(metrics) == full.loc[list(months), list(metrics)].to_numpy()).all()
        assert list(part.series["date"]) == list(full.loc[list(months), "date"])
