"""`partnersim sweep`: the design, the plan (runner, store, common random numbers), the tables and the checks."""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import sim
from analysis.cli import main
from analysis.plan import with_point
from analysis.scenario import load_scenario
from analysis.store import load_experiment
from analysis.studies.compare import mean_interval, paired_interval
from analysis.studies.sweep import (
    SweepDesign,
    make_design,
    n_runs,
    point_table,
    read_sweep,
    regret_table,
    satisficing_table,
    sweep_plan,
)
from analysis.studies.sweep.spec import parse_requirement

ROOT = Path(__file__).resolve().parents[1]
MERGERS = ROOT / "scenarios" / "mandated_mergers.toml"
BASELINE = ROOT / "scenarios" / "baseline.toml"

GRID = f"""
name = "fund_x_approval"
description = "Support fund share against approval time, for mandated mergers"
policy = "{MERGERS}"
baseline = "{BASELINE}"
design = "grid"
replicates = 4
n_providers = 40
months = [12, 24, 36]
outcomes = ["efficiency", "quality", "special_measures"]
criteria = ["efficiency@36 >= baseline", "special_measures@36 < 0.2"]

[levers]
"support_fund.share" = [0.0, 0.5, 1.0]
approval.months = [6, 24]
"""


def write(tmp_path: Path, text: str, name: str = "sweep.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def grid_sweep(tmp_path_factory):  # type: ignore[no-untyped-def]
    """The two-lever grid run end to end by the command, and what it printed."""
    tmp = tmp_path_factory.mktemp("sweep")
    file = write(tmp, GRID)
    out = tmp / "exp"
    dry = _run(["sweep", str(file), "--dry-run"])
    code = main(["sweep", str(file), "--out", str(out), "--workers", "1", "--no-progress", "--xlsx"])
    assert code == 0
    return out, dry


def _run(argv: list[str]) -> str:
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert main(argv) == 0
    return buf.getvalue()


# -- the known monotone lever ------------------------------------------------------------
def test_a_larger_support_fund_never_lowers_efficiency_on_a_two_lever_grid(grid_sweep):
    """support_fund.share is the share of the transition dip in efficiency that a fund meets
    (sim.model: cost_share = 1 - share); the noise draws do not depend on it (common random
    numbers), so raising it can only lift members' efficiency. The curve must rise from 0 to 1
    at every approval time and month once mergers are under way, and never fall."""
    out, _ = grid_sweep
    table = pd.read_csv(out / "sweep.csv")
    eff = table[(table["outcome"] == "mean_efficiency") & table["point"].notna()]
    for (months, month), block in eff.groupby(["approval.months", "month"]):
        curve = block.sort_values("support_fund.share")
        assert curve["support_fund.share"].tolist() == [0.0, 0.5, 1.0]
        assert np.all(np.diff(curve["mean"]) >= 0), (months, month, curve["mean"].tolist())
        assert np.all(np.diff(curve["diff"]) >= 0), (months, month, curve["diff"].tolist())
        assert curve["diff"].iloc[-1] > curve["diff"].iloc[0] + 1e-4, (months, month)
    per_lever = pd.read_csv(out / "levers.csv")
    fund = per_lever[(per_lever["lever"] == "support_fund.share") & (per_lever["outcome"] == "mean_efficiency")]
    for month, block in fund.groupby("month"):
        assert np.all(np.diff(block.sort_values("value")["diff"]) > 0), month


def test_the_sweep_runs_what_the_dry_run_counts_and_writes_its_tables_and_figures(grid_sweep):
    out, dry = grid_sweep
    counted = int(re.search(r"^(\d+) runs = \(1 baseline \+ 6 policies\) × 1 future", dry, re.M).group(1))
    assert counted == (1 + 3 * 2) * 1 * 4 == 28
    assert "(dry run: nothing was run or written)" in dry
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["counts"] == {"total": 28, "ok": 28, "failed": 0, "not_run": 0}
    for name in ("sweep", "levers", "robustness", "satisficing", "policies", "futures", "by_future"):
        assert (out / f"{name}.csv").is_file(), name
    figures = sorted(p.name for p in (out / "figures").glob("*.png"))
    assert figures == [
        "approval_months.png",
        "approval_months_vs_baseline.png",
        "support_fund_share.png",
        "support_fund_share_vs_baseline.png",
    ]
    table = pd.read_csv(out / "sweep.csv")
    assert {
        "policy",
        "point",
        "support_fund.share",
        "approval.months",
        "outcome",
        "month",
        "mean",
        "low",
        "high",
        "diff",
        "diff_low",
        "diff_high",
    } <= set(table.columns)
    assert len(table) == 7 * 3 * 3  # (baseline + 6 policies) × 3 outcomes × 3 months
    assert table["policy"].iloc[0] == "baseline" and pd.isna(table["diff"].iloc[0])


def test_xlsx_writes_every_table_as_a_sheet_of_one_workbook(grid_sweep):
    out, _ = grid_sweep
    book = pd.read_excel(out / "sweep.xlsx", sheet_name=None, engine="openpyxl")
    tables = {p.stem: pd.read_csv(p) for p in out.glob("*.csv")}
    assert list(book) == ["sweep", "levers", "by_future", "robustness", "satisficing", "policies", "futures"]
    assert set(book) == set(tables)
    for name, table in tables.items():
        pd.testing.assert_frame_equal(book[name], table, check_dtype=False, obj=name)


def test_every_policy_is_paired_with_the_baseline_by_seed_and_the_baseline_runs_as_alone(grid_sweep, tmp_path):
    out, _ = grid_sweep
    exp = load_experiment(out, partnerships=False)
    seeds = exp.series.groupby(["scenario", "point", "replicate"], observed=True)["seed"].first().unstack("scenario")
    assert (seeds.nunique(axis=1) == 1).all()  # replicate r of every policy shares the baseline's seed
    # the sweep's baseline runs are the runs `partnersim compare` makes of the same file
    small = tmp_path / "baseline.toml"
    small.write_text(BASELINE.read_text() + "\n[population]\nn_providers = 40\n")
    spec = dataclasses.replace(load_scenario(small).spec, name="baseline", horizon=36)
    seed = int(seeds["baseline"].iloc[1])
    alone = sim.run(spec, seed).series.set_index("step")["mean_efficiency"]
    stored = exp.series[
        (exp.series["scenario"] == "baseline")
        & (exp.series["seed"] == seed)
        & (exp.series["metric"] == "mean_efficiency")
    ].set_index("step")["value"]
    assert np.array_equal(stored.to_numpy(), alone.loc[stored.index].to_numpy())


def test_a_finished_sweep_resumes_with_nothing_to_do_and_refuses_a_second_writer(grid_sweep, capsys):
    out, _ = grid_sweep
    file = out.parent / "sweep.toml"
    assert main(["sweep", str(file), "--out", str(out), "--workers", "1", "--resume", "--no-figures"]) == 0
    assert "28 run(s) were already stored, 0 run now" in capsys.readouterr().err
    assert main(["sweep", str(file), "--out", str(out), "--workers", "1"]) == 2
    assert "already holds an experiment; add --resume" in capsys.readouterr().err


# -- futures: shocks and theory values as the plan's design points -----------------------
def test_a_design_point_sets_shocks_and_theory_values():
    spec = load_scenario(BASELINE).spec
    got = with_point(
        spec, {"workforce_shock.size": 0.05, "workforce_shock.start_month": 12.0, "mechanism.trust_build": 0.03}
    )
    assert got.uncertainties.workforce_shock.size == 0.05
    assert got.uncertainties.workforce_shock.start_month == 12 and isinstance(
        got.uncertainties.workforce_shock.start_month, int
    )
    assert got.uncertainties.workforce_shock.role == "workforce"
    assert got.uncertainties.effect_overrides == {"mechanism.trust_build": 0.03}
    assert got.uncertainties.financial_squeeze == spec.uncertainties.financial_squeeze


def test_futures_are_sampled_by_latin_hypercube_and_crossed_with_every_policy(tmp_path):
    file = write(
        tmp_path,
        f"""
name = "robust"
description = "x"
policy = "{ROOT / "scenarios" / "mandated_buddying.toml"}"
design = "grid"
futures = 5
replicates = 2
months = [12]
[levers]
"failure_regime.intervention" = ["buddying", "merger"]
"failure_regime.partner_capacity" = [1, 3]
[uncertainties]
"financial_squeeze.size" = {{ low = 0.0, high = 0.1 }}
"mechanism.trust_build" = {{}}
""",
    )
    spec = read_sweep(file)
    design = make_design(spec)
    assert len(design.policies) == 4 and len(design.futures) == 5
    assert set(design.policies["failure_regime.intervention"]) == {"buddying", "merger"}
    assert design.policies["failure_regime.partner_capacity"].map(type).eq(int).all()
    trust = spec.policy.theory.params["mechanism.trust_build"]
    assert design.futures["mechanism.trust_build"].between(trust.low, trust.high).all()
    assert design.futures["financial_squeeze.size"].between(0.0, 0.1).all()
    # a Latin hypercube: one draw in each fifth of each range
    for name, low, high in (("financial_squeeze.size", 0.0, 0.1), ("mechanism.trust_build", trust.low, trust.high)):
        bins = np.floor((design.futures[name] - low) / (high - low) * 5).astype(int)
        assert sorted(bins) == [0, 1, 2, 3, 4], name
    assert make_design(spec).futures.equals(design.futures)  # the same seed, the same futures
    plan = sweep_plan(spec, design)
    assert plan.n_runs == n_runs(spec) == (1 + 4) * 5 * 2
    assert plan.points[0]["financial_squeeze.size"] == design.futures["financial_squeeze.size"].iloc[0]
    capacity = {s.name: s.spec.levers.failure_regime.partner_capacity for s in plan.scenarios[1:]}
    assert sorted(capacity.values()) == [1, 1, 3, 3]
    assert plan.scenarios[0].spec.levers == load_scenario(BASELINE).spec.levers


def test_levers_are_sampled_by_latin_hypercube_within_their_ranges_and_choices():
    spec = read_sweep(
        policy=str(MERGERS),
        levers=["support_fund.share=0:1", "approval.months=6:36", "failure_regime.intervention=merger,acquisition"],
        design="lhs",
        n=5,
        replicates=2,
        months=[12],
    )
    design = make_design(spec)
    policies = design.policies
    assert len(policies) == 5 == n_runs(spec) / 2 - 1
    assert set(design.continuous) == {"support_fund.share", "approval.months"}
    assert sorted(np.floor(policies["support_fund.share"] / 0.2).astype(int)) == [0, 1, 2, 3, 4]
    assert sorted(np.floor((policies["approval.months"] - 6) / 6).astype(int)) == [0, 1, 2, 3, 4]
    assert set(policies["failure_regime.intervention"]) <= {"merger", "acquisition"}
    plan = sweep_plan(spec, design)
    shares = [s.spec.levers.support_fund.share for s in plan.scenarios[1:]]
    assert shares == policies["support_fund.share"].tolist()
    assert make_design(spec).policies.equals(policies)


# -- regret, satisficing, intervals: known answers -----------------------------------------
def _design(values: list[float]) -> SweepDesign:
    policies = pd.DataFrame(
        {"policy": [f"p{i}" for i in range(len(values))], "point": range(len(values)), "support_fund.share": values}
    )
    return SweepDesign(policies, pd.DataFrame({"future": [0, 1]}), {})


def test_regret_is_the_shortfall_against_the_best_policy_in_each_future():
    # quality (higher is better) in two futures: the best is p1 in future 0 and the baseline in future 1
    y = {("base", 0): 0.50, ("base", 1): 0.60, ("p0", 0): 0.40, ("p0", 1): 0.55, ("p1", 0): 0.70, ("p1", 1): 0.50}
    sm = {("base", 0): 0.10, ("base", 1): 0.20, ("p0", 0): 0.05, ("p0", 1): 0.30, ("p1", 0): 0.15, ("p1", 1): 0.20}
    rows = [
        {"policy": p, "future": f, "metric": "mean_quality", "month": 60, "value": v, "diff": v - y[("base", f)]}
        for (p, f), v in y.items()
    ]
    rows += [
        {
            "policy": p,
            "future": f,
            "metric": "share_special_measures",
            "month": 60,
            "value": v,
            "diff": v - sm[("base", f)],
        }
        for (p, f), v in sm.items()
    ]
    futures = pd.DataFrame(rows)
    design = _design([0.0, 1.0])
    regret = regret_table(
        futures, design, baseline="base", outcomes=["mean_quality", "share_special_measures"], months=[60]
    ).set_index(["policy", "outcome"])
    q = regret.xs("mean_quality", level="outcome")
    assert q.loc["base", "max_regret"] == pytest.approx(0.20) and q.loc["base", "mean_regret"] == pytest.approx(0.10)
    assert q.loc["p0", "max_regret"] == pytest.approx(0.30) and q.loc["p0", "mean_regret"] == pytest.approx(0.175)
    assert q.loc["p1", "max_regret"] == pytest.approx(0.10) and q.loc["p1", "mean_regret"] == pytest.approx(0.05)
    assert q.loc["p1", "worst"] == pytest.approx(0.50)
    s = regret.xs("share_special_measures", level="outcome")  # lower is better
    assert s.loc["p0", "max_regret"] == pytest.approx(0.10) and s.loc["base", "max_regret"] == pytest.approx(0.05)
    assert s.loc["p0", "worst"] == pytest.approx(0.30)
    theory = load_scenario(BASELINE).theory
    reqs = [
        parse_requirement("quality@60 >= baseline", theory, file=None, key="c"),
        parse_requirement("special_measures@60 < 0.18", theory, file=None, key="c"),
    ]
    assert reqs[0].paired and not reqs[1].paired
    sat = satisficing_table(futures, design, reqs, baseline="base").set_index(["criterion", "policy"])["share"]
    assert sat[("quality@60 >= baseline", "base")] == 1.0
    assert sat[("quality@60 >= baseline", "p0")] == 0.0 and sat[("quality@60 >= baseline", "p1")] == 0.5
    assert sat[("special_measures@60 < 0.18", "base")] == 0.5 and sat[("special_measures@60 < 0.18", "p0")] == 0.5
    assert sat[("special_measures@60 < 0.18", "p1")] == 0.5


def test_the_point_table_gives_comparisons_intervals():
    rng = np.random.default_rng(3)
    base = rng.normal(0.5, 0.05, 8)
    pol = base + rng.normal(0.02, 0.01, 8)
    runs = pd.DataFrame(
        {
            "policy": ["base"] * 8 + ["p0"] * 8,
            "future": 0,
            "replicate": list(range(8)) * 2,
            "metric": "mean_quality",
            "month": 12,
            "value": np.r_[base, pol],
            "diff": np.r_[np.zeros(8), pol - base],
        }
    )
    design = _design([0.5])
    table = point_table(runs, design, baseline="base", outcomes=["mean_quality"], months=[12]).set_index("policy")
    assert table.loc["p0", ["mean", "low", "high"]].tolist() == pytest.approx(list(mean_interval(pol)[:3]))
    assert table.loc["p0", ["diff", "diff_low", "diff_high"]].tolist() == pytest.approx(
        list(paired_interval(pol, base)[:3])
    )
    assert pd.isna(table.loc["base", "diff"]) and table.loc["p0", "support_fund.share"] == 0.5


# -- bad sweeps: the file, the key, the value and the choices; exit 2 ---------------------
BAD = [
    ('[levers]\n"support_fund.shar" = [0, 1]', "levers.support_fund.shar", "did you mean 'support_fund.share'"),
    ('[levers]\n"support_fund.share" = [0, 1.5]', "levers.support_fund.share[1]", "outside [0, 1]"),
    (
        '[levers]\n"failure_regime.intervention" = ["merger", "mergr"]',
        "levers.failure_regime.intervention[1]",
        "did you mean 'merger'",
    ),
    ('[levers]\n"approval.months" = { low = 6, high = 24 }', "levers.approval.months", "needs levels"),
    ('design = "lhs"\n[levers]\n"approval.months" = { low = 6, high = 24 }', "n", "number of policies"),
    ('design = "random"\n[levers]\n"approval.months" = [6, 24]', "design", "Valid choices: grid, lhs"),
    ('replicats = 3\n[levers]\n"approval.months" = [6, 24]', "replicats", "did you mean 'replicates'"),
    ('[levers]\n"voluntary.hazard_scale" = [1, 2]', "levers.voluntary.hazard_scale", "voluntary.enabled is true"),
    (
        'futures = 4\n[uncertainties]\n"mechanism.trust_build" = { low = 0.02, high = 5 }',
        "uncertainties.mechanism.trust_build.high",
        "declared range",
    ),
    (
        'futures = 4\n[uncertainties]\n"workforce_shock.sise" = { low = 0, high = 0.1 }',
        "uncertainties.workforce_shock.sise",
        "did you mean 'workforce_shock.size'",
    ),
    (
        'criteria = ["quality@60 => baseline"]\n[levers]\n"approval.months" = [6, 24]',
        "criteria[0]",
        "OUTPUT@MONTH OP baseline",
    ),
    ('months = [12, 200]\n[levers]\n"approval.months" = [6, 24]', "months", "beyond the 120-month horizon"),
    ('[levers]\n"approval.months" = [6, 6]', "levers.approval.months", "listed twice"),
    ('[levers]\n"support_fund.share" = {}', "levers.support_fund.share", "a lever has no declared range"),
]


@pytest.mark.parametrize("body, key, text", BAD, ids=[b[1] for b in BAD])
def test_a_bad_sweep_file_is_refused_naming_file_key_and_choices(tmp_path, capsys, body, key, text):
    file = write(tmp_path, f'name = "x"\ndescription = "x"\npolicy = "{MERGERS}"\n{body}\n')
    assert main(["sweep", str(file), "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert str(file) in err and f"'{key}'" in err and text in err, err
    assert "Traceback" not in err


def test_options_alone_describe_a_sweep_and_are_checked_as_options(capsys):
    out = _run(
        [
            "sweep",
            "--policy",
            str(MERGERS),
            "--lever",
            "support_fund.share=0:1:5",
            "--lever",
            "failure_regime.intervention=buddying,merger",
            "--reps",
            "2",
            "--months",
            "12",
            "--dry-run",
        ]
    )
    assert "22 runs = (1 baseline + 10 policies) × 1 future(s) × 2 replicate(s)" in out
    assert main(["sweep", "--policy", str(MERGERS), "--lever", "support_fund.share=0,2", "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert "'--lever support_fund.share[1]'" in err and "outside [0, 1]" in err
    assert main(["sweep", "--lever", "support_fund.share=0,1", "--dry-run"]) == 2
    assert "name the policy scenario" in capsys.readouterr().err


def test_the_example_sweep_files_are_valid():
    for path in sorted((ROOT / "scenarios" / "sweeps").glob("*.toml")):
        spec = read_sweep(path)
        assert spec.description and n_runs(spec) > 0, path
