"""CMOC tables (analysis/studies/realist.py): planted demi-regularities are found, noise is not flagged."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import sim
from analysis.paired import SimTask, make_spec, simulate
from analysis.studies.realist import (
    add_context_bins,
    benjamini_hochberg,
    cmoc_html,
    cmoc_tables,
    paired_logs,
    wilson,
)

HIGH = ["management_contract", "group", "vertical_ico", "acquisition", "merger"]  # integration >= 2/3
OTHER = ["individual_partnering", "network", "buddying", "contractual_jv", "corporate_jv"]


def synthetic_log(n: int, seed: int, *, plant: bool) -> pd.DataFrame:
    """Partnership logs with random contexts and noise outcomes; with ``plant``, mandated
    high-integration partnerships with a culture gap in the top third lose one s.d. of quality
    and have lower trust."""
    rng = np.random.default_rng(seed)
    types = rng.choice(HIGH + OTHER, size=n)
    mandated = rng.random(n) < 0.5
    gap = rng.uniform(0.0, 0.4, size=n)
    log = pd.DataFrame(
        {
            "type": types,
            "mandated": mandated,
            "culture_gap": gap,
            "asymmetry": rng.uniform(0, 0.8, n),
            "prior_trust": np.where(rng.random(n) < 0.1, rng.normal(0, 0.1, n), 0.0),
            "same_ics": rng.random(n) < 0.5,
            "start_quality": rng.normal(0.55, 0.08, n),
            "mean_trust": rng.normal(0.4, 0.1, n),
            "mean_confidence": rng.normal(0.5, 0.1, n),
            "mean_faith": rng.normal(0.5, 0.1, n),
            "mean_behaviour": rng.normal(0.55, 0.1, n),
            "months_in_inertia": rng.integers(0, 10, n),
            "dissolved": rng.random(n) < 0.1,
            "paired_delta_quality": rng.normal(0.0, 0.02, n),
            "paired_delta_efficiency": rng.normal(0.0, 0.02, n),
            "paired_delta_access": rng.normal(0.0, 0.02, n),
        }
    )
    if plant:
        hit = mandated & np.isin(types, HIGH) & (gap >= np.quantile(gap, 2 / 3))
        log.loc[hit, "paired_delta_quality"] -= 0.02
        log.loc[hit, "mean_trust"] -= 0.15
    return log


def flagged(table: pd.DataFrame) -> pd.DataFrame:
    return table[table["demi_regularity"] != ""]


def test_planted_regularity_is_flagged_and_nothing_else(theory):
    tables = cmoc_tables(synthetic_log(900, 1, plant=True), theory)
    hits = flagged(tables.configurations)
    assert len(hits) == 1, hits[["ctx_mandate", "ctx_integration", "ctx_culture_gap", "demi_regularity"]]
    row = hits.iloc[0]
    assert (row["ctx_mandate"], row["ctx_integration"]) == ("mandated", "high")
    assert row["ctx_culture_gap"].startswith("high")
    assert row["paired_delta_quality_flag"] == "lower"
    assert row["paired_delta_efficiency_flag"] == row["paired_delta_access_flag"] == ""
    assert row["mean_trust"] < tables.configurations["mean_trust"].median() - 0.1
    assert len(tables.statements) == 1 and "quality" in tables.statements[0]
    page = cmoc_html(tables)  # outcomes by their labels, never the column names
    assert (
        "<th>Δ quality index</th>" in page
        and "<th>Δ efficiency (finances) index</th>" in page
        and "paired_delta" not in page
    )


@pytest.mark.parametrize("seed", [2, 3, 4])
def test_no_regularity_is_not_flagged(theory, seed):
    tables = cmoc_tables(synthetic_log(900, seed, plant=False), theory)
    assert flagged(tables.configurations).empty
    assert flagged(tables.one_way).empty
    assert tables.statements == []


def test_small_configurations_are_never_flagged(theory):
    log = synthetic_log(900, 1, plant=True)
    tables = cmoc_tables(log, theory, min_count=10_000)
    assert flagged(tables.configurations).empty


def test_effect_size_floor_blocks_trivial_differences(theory):
    log = synthetic_log(20_000, 5, plant=False)
    hit = log["mandated"].to_numpy()
    log.loc[hit, "paired_delta_quality"] += 0.002  # d = 0.1: significant at this n, but trivial
    tables = cmoc_tables(log, theory, contexts=("mandate",))
    assert flagged(tables.configurations).empty
    assert tables.configurations["paired_delta_quality_q"].min() < 0.05
    assert not flagged(cmoc_tables(log, theory, contexts=("mandate",), min_effect=0.05).configurations).empty


def test_context_bins_follow_the_theory(theory):
    log = synthetic_log(300, 1, plant=False)
    binned = add_context_bins(log, theory)
    for t, band in (("merger", "high"), ("network", "low"), ("contractual_jv", "medium")):
        assert set(binned.loc[binned["type"] == t, "ctx_integration"]) <= {band}
    sm = theory.v("regulation.sm_entry_quality")
    below = binned["start_quality"] < sm
    assert (binned.loc[below, "ctx_start_quality"] == "below special-measures line").all()
    assert set(binned["ctx_culture_gap"].str.split().str[0]) == {"low", "medium", "high"}


def test_benjamini_hochberg_and_wilson():
    np.testing.assert_allclose(
        benjamini_hochberg(np.array([0.01, 0.04, 0.03, 0.2])), [0.04, 0.04 * 4 / 3, 0.04 * 4 / 3, 0.2]
    )
    lo, hi = wilson(5, 27)
    assert lo == pytest.approx(0.0818, abs=1e-3) and hi == pytest.approx(0.3671, abs=1e-3)


def test_paired_outcomes_subtract_the_baseline_run():
    base = make_spec(name="baseline", horizon=60, n_providers=80)
    policy = make_spec(name="buddying", horizon=60, n_providers=80, failure_regime_enabled=True)
    log = paired_logs({"buddying": policy}, base, [7], workers=1)
    assert len(log) >= 3
    p = simulate(SimTask("p", policy, 7, history=True))
    b = simulate(SimTask("b", base, 7, history=True))
    q = list(p.domains).index("quality")
    for _, row in log.head(3).iterrows():
        members = [int(x) for x in row["members"].split()]
        s, e = int(row["start_month"]), int(row["end_month"])
        expected = np.mean(
            (p.levels[e, members, q] - p.levels[s, members, q]) - (b.levels[e, members, q] - b.levels[s, members, q])
        )
        assert row["paired_delta_quality"] == pytest.approx(expected, abs=1e-6)
        assert row["paired_delta_quality"] != pytest.approx(row["delta_quality"], abs=1e-4)
    html = cmoc_html(cmoc_tables(log, sim.load_theory(), min_count=2))
    assert "<table>" in html and "paired against the baseline" in html


def test_cmoc_command_from_scenarios_and_from_an_experiment(tmp_path, capsys):
    from analysis.cli import main
    from analysis.executors import SerialExecutor
    from analysis.plan import plan_from_scenarios
    from analysis.runner import run_experiment
    from analysis.scenario import load_scenario

    out = tmp_path / "cmoc"
    assert (
        main(
            [
                "cmoc",
                "scenarios/mandated_buddying.toml",
                "--reps",
                "1",
                "--horizon",
                "48",
                "--workers",
                "1",
                "--min-count",
                "2",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    assert "paired" in capsys.readouterr().out
    conf = pd.read_csv(out / "cmoc_configurations.csv")
    assert "mandated" in set(conf["ctx_mandate"]) and conf["n"].sum() >= 3
    assert (out / "cmoc.html").exists() and (out / "partnerships.csv").exists()
    from analysis.studies.realist import load_cmoc  # the report reads saved results back

    saved = load_cmoc(out)
    assert saved.paired and saved.n == conf["n"].sum() and "<table>" in cmoc_html(saved)
    # an experiment folder: the first scenario is the baseline; --stored reads its logs as they are
    exp = tmp_path / "exp"
    scens = [load_scenario("scenarios/baseline.toml"), load_scenario("scenarios/mandated_buddying.toml")]
    plan = plan_from_scenarios(scens, replicates=1, master_seed=5, horizon=48)
    run_experiment(plan, exp, executor=SerialExecutor(), progress=False)
    assert main(["cmoc", str(exp), "--stored", "--min-count", "2", "--out", str(tmp_path / "stored")]) == 0
    assert "NOT paired" in capsys.readouterr().out
    assert main(["cmoc", str(exp), "--workers", "1", "--min-count", "2", "--out", str(tmp_path / "rerun")]) == 0
    rerun = pd.read_csv(tmp_path / "rerun" / "partnerships.csv")
    stored = pd.read_csv(tmp_path / "stored" / "partnerships.csv")
    assert len(rerun) == len(stored)  # the re-run reproduces the experiment's runs
    assert main(["cmoc", "scenarios/mandated_buddying.toml", "--contexts", "culture"]) == 2
