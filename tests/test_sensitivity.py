"""Sensitivity pipeline: known answers (Ishigami), null parameters, theory-driven parameter
space, replicate noise, convergence, determinism across executors, and the CLI."""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.cli import main
from analysis.plan import replicate_seeds
from analysis.scenario import load_scenario
from analysis.studies import sensitivity as sa
from sim import ConfigError, load_theory

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.toml"
ISHIGAMI_S1 = {"x1": 0.3139, "x2": 0.4424, "x3": 0.0}
ISHIGAMI_ST = {"x1": 0.5576, "x2": 0.4424, "x3": 0.2437}


def ishigami(values, seed):
    """Ishigami function (a = 7, b = 0.1) in place of the model; ``dummy`` has no influence."""
    x1, x2, x3 = values["x1"], values["x2"], values["x3"]
    return np.sin(x1) + 7.0 * np.sin(x2) ** 2 + 0.1 * x3**4 * np.sin(x1)


def noisy_linear(values, seed):
    """x1 matters; ``null`` does not; replicate noise depends on the seed (and interacts with x1)."""
    eps = np.random.default_rng(seed).normal()
    return values["x1"] + 0.0 * values["null"] + 0.2 * eps + 0.1 * eps * values["x1"]


def chaotic(values, seed):
    """Like an agent-based model: any change of a parameter sends the run down another path, so
    replicate noise is not shared between points even with common random numbers."""
    eps = np.random.default_rng([seed, int(values["x1"] * 1e12)]).normal()
    return values["x1"] + eps


def ishigami_space(dummy: bool = False) -> sa.ParameterSpace:
    factors = [sa.Factor(f"x{i}", -np.pi, np.pi, 0.0, group="g") for i in (1, 2, 3)]
    if dummy:
        factors.append(sa.Factor("dummy", 0.0, 1.0, 0.5, group="h"))
    return sa.ParameterSpace(tuple(factors))


def small_spec(n: int = 24):
    scen = load_scenario(BASELINE)
    return dataclasses.replace(scen.spec, n_providers=n), scen.theory


# -- known answers -------------------------------------------------------------------
def check_ishigami(a: sa.Analysis) -> None:
    t = a.result.indices.set_index("parameter")
    for name in ISHIGAMI_S1:
        assert t.loc[name, "S1"] == pytest.approx(ISHIGAMI_S1[name], abs=0.03)
        assert t.loc[name, "ST"] == pytest.approx(ISHIGAMI_ST[name], abs=0.03)
    assert list(t.sort_values("rank").index) == ["x1", "x2", "x3"]
    conv = a.result.convergence.iloc[0]
    assert conv["stable"] and conv["N_half"] == 2048


def test_sobol_recovers_ishigami_indices():
    """Tolerance: 0.03 on S1 and ST at N = 4096 (SALib's own spread across seeds is ~0.01).

    The plain function runs through the same plan, run-function adapter, design points and seeds
    as the model, in process (``backend="memory"``); test_memory_backend_is_the_runner shows that
    path gives the runner's arrays bit for bit, and the slow test below runs this one through the
    runner itself."""
    check_ishigami(
        sa.run_analysis(
            sa.FunctionTask(ishigami),
            ishigami_space(),
            "sobol",
            4096,
            months=[0],
            metrics=["y"],
            backend="memory",
            seed=11,
        )
    )


@pytest.mark.slow
def test_sobol_recovers_ishigami_indices_through_the_runner(tmp_path):
    check_ishigami(
        sa.run_analysis(
            sa.FunctionTask(ishigami),
            ishigami_space(),
            "sobol",
            4096,
            months=[0],
            metrics=["y"],
            executor="pool",
            workers=2,
            folder=tmp_path,
            seed=11,
        )
    )


def test_memory_backend_is_the_runner():
    space = ishigami_space(dummy=True)
    d = sa.make_design(space, "morris", 3, seed=1)
    kw = dict(seed=4, reps=2)
    assert np.array_equal(
        sa.evaluate_design(sa.FunctionTask(ishigami), d.values, space.names, backend="memory", **kw),
        sa.evaluate_design(sa.FunctionTask(ishigami), d.values, space.names, executor="serial", **kw),
    )
    spec, theory = small_spec(20)
    spec = dataclasses.replace(spec, horizon=12)
    policy = dataclasses.replace(
        spec,
        name="policy",
        levers=dataclasses.replace(
            spec.levers, failure_regime=dataclasses.replace(spec.levers.failure_regime, enabled=True)
        ),
    )
    mspace = sa.parameter_space(theory, "mechanism.trust_build,domain.quality.init_mean")
    md = sa.make_design(mspace, "morris", 2, seed=1)
    task = sa.ModelTask(policy, (6, 12), ("mean_quality", "partnerships_active"), contrast=spec)
    mem = sa.evaluate_design(task, md.values, mspace.names, backend="memory", **kw)
    run = sa.evaluate_design(task, md.values, mspace.names, executor="pool", workers=2, **kw)
    assert np.array_equal(mem, run) and mem.shape == (md.n_points, 2, 2, 2)
    direct = task(dict(zip(mspace.names, md.values[1], strict=True)), replicate_seeds(4, 2)[1])
    assert np.array_equal(mem[1, 1], direct)


def test_morris_ranks_ishigami():
    """By total order x1 > x2 > x3. Morris on the usual 4-level grid screens x3 as least influential,
    with σ > μ* (it acts only through its interaction with x1), and the dummy as inert."""
    a = sa.run_analysis(
        sa.FunctionTask(ishigami),
        ishigami_space(dummy=True),
        "morris",
        100,
        months=[0],
        metrics=["y"],
        backend="memory",
        seed=5,
    )
    t = a.result.indices.set_index("parameter")
    assert set(t.sort_values("rank").index[:2]) == {"x1", "x2"}
    assert t.sort_values("rank").index[2] == "x3"
    assert t.loc["dummy", "mu_star"] == 0.0 and t.loc["dummy", "rank"] == 4
    assert t.loc["x3", "sigma"] > t.loc["x3", "mu_star"]
    assert (t.loc[["x1", "x2", "x3"], "mu_star"] > 1.0).all()


def test_given_sample_delta_and_pawn_on_ishigami():
    space = ishigami_space(dummy=True)
    design = sa.make_design(space, "delta", 400, seed=2)
    y = np.array([ishigami(dict(zip(space.names, row, strict=True)), 0) for row in design.values])
    x = pd.DataFrame(design.values, columns=space.names)
    for method, col in (("delta", "delta"), ("pawn", "median")):
        res = sa.given_sample(x, pd.DataFrame({"y": y}), method, space, seed=1, num_resamples=4)
        t = res.indices.set_index("parameter")[col]
        assert t.idxmin() == "dummy"
        assert t["x2"] > t["x3"] and t["x1"] > t["dummy"] + 0.05


# -- no influence, replicate noise ----------------------------------------------------
def test_null_parameter_gets_zero_indices_under_common_random_numbers():
    space = sa.ParameterSpace((sa.Factor("x1", 0, 1, 0.5), sa.Factor("null", 0, 1, 0.5)))
    a = sa.run_analysis(
        sa.FunctionTask(noisy_linear), space, "sobol", 256, months=[0], metrics=["y"], reps=3, backend="memory", seed=3
    )
    t = a.result.indices.set_index("parameter")
    assert t.loc["null", "ST"] == pytest.approx(0.0, abs=1e-12)  # same seed → identical output
    assert abs(t.loc["null", "S1"]) <= t.loc["null", "S1_conf"] + 0.02
    assert t.loc["x1", "ST"] > 0.9


def test_null_parameter_in_the_model_is_zero():
    """In the baseline no partnership forms, so a merger rating cannot matter."""
    spec, theory = small_spec()
    space = sa.parameter_space(theory, "domain.quality.init_mean,type.merger.integration")
    task = sa.ModelTask(dataclasses.replace(spec, horizon=12), (12,), ("mean_quality",))
    a = sa.run_analysis(
        task, space, "sobol", 8, months=[12], metrics=["mean_quality"], executor="serial", seed=1, noise_probe=(0, 0)
    )
    t = a.result.indices.set_index("parameter")
    assert t.loc["type.merger.integration", "ST"] == 0.0
    assert t.loc["type.merger.integration", "S1"] == 0.0
    assert t.loc["domain.quality.init_mean", "ST"] > 0.5


def test_noise_share_counts_only_what_common_random_numbers_leave():
    rng = np.random.default_rng(0)
    signal = rng.normal(size=(400, 1, 1, 1))
    common = rng.normal(size=(1, 4, 1, 1))  # same for every point: cancels under CRN
    Y = signal + common
    assert sa.noise_table(Y, [0], ["y"])["noise_share"].iloc[0] == pytest.approx(0.0, abs=1e-12)
    noise = 0.5 * rng.normal(size=(400, 4, 1, 1))  # point × replicate noise: var 0.25, /R in the mean
    row = sa.noise_table(signal + common + noise, [0], ["y"]).iloc[0]
    expected = (0.25 / 4) / (1.0 + 0.25 / 4)
    assert row["noise_share"] == pytest.approx(expected, rel=0.25)
    assert row["reliable"]
    very = sa.noise_table(signal + 4 * noise, [0], ["y"]).iloc[0]
    assert not very["reliable"]


def test_noise_probe_measures_noise_with_one_replicate():
    space = sa.ParameterSpace((sa.Factor("x1", 0, 1, 0.5), sa.Factor("null", 0, 1, 0.5)))
    a = sa.run_analysis(
        sa.FunctionTask(noisy_linear),
        space,
        "morris",
        20,
        months=[0],
        metrics=["y"],
        reps=1,
        backend="memory",
        seed=4,
        noise_probe=(8, 4),
    )
    share = a.result.noise["noise_share"].iloc[0]
    assert 0 < share < 1
    assert a.timings["runs"] == 20 * 3 + 8 * 4 and a.probe.shape == (8, 4, 1, 1)


def test_unreliable_indices_are_warned_about():
    space = sa.ParameterSpace((sa.Factor("x1", 0, 1, 0.5), sa.Factor("null", 0, 1, 0.5)))
    kw = dict(months=[0], metrics=["y"], reps=2, backend="memory", seed=4)
    a = sa.run_analysis(sa.FunctionTask(chaotic), space, "sobol", 32, **kw)
    assert any("replicate noise" in w for w in a.result.warnings)
    assert not a.result.noise["reliable"].iloc[0]
    b = sa.run_analysis(sa.FunctionTask(noisy_linear), space, "sobol", 32, **kw)  # noise mostly shared: fine
    assert b.result.noise["reliable"].iloc[0] and not any("replicate noise" in w for w in b.result.warnings)


# -- the parameter space comes from the theory ----------------------------------------
def test_every_uncertain_parameter_is_a_factor_with_its_bounds(theory):
    space = sa.parameter_space(theory)
    assert space.names == [p.name for p in theory.uncertain_params()]
    f = {x.name: x for x in space.factors}["edge.governance->culture.weight"]
    p = theory.params["edge.governance->culture.weight"]
    assert (f.low, f.high, f.group) == (p.low, p.high, "structural")
    groups = dict(zip(space.names, space.groups, strict=True))
    assert groups["mechanism.trust_build"] == "mechanisms"
    assert groups["edge.culture->quality.weight"] == "relational"
    assert groups["edge.efficiency->workforce.weight"] == "outcome"
    assert groups["type.merger.org_change"] == "typology"
    assert sa.pathway_group(theory, "type.merger.effect.governance") == "structural"
    assert groups["partnering.disruption.efficiency"] == "structural"
    assert set(space.groups) <= set(sa.GROUPS)


def test_parameter_added_to_the_theory_file_appears_without_code_changes(tmp_path):
    src = ROOT / "scenarios" / "theory"
    for f in ("irt.toml", "typology.toml"):
        shutil.copy(src / f, tmp_path / f)
    with open(tmp_path / "irt.toml", "a") as fh:
        fh.write(
            '\n[[edges]]\nsource = "access"\ntarget = "culture"\n'
            'weight = {default = 0.1, low = 0.0, high = 0.6, source = "test"}\n'
            'lag = {default = 6, low = 3, high = 12, source = "test"}\n'
        )
    theory = load_theory(tmp_path / "irt.toml")
    space = sa.parameter_space(theory, "edge.access->culture.*")
    assert space.names == ["edge.access->culture.weight", "edge.access->culture.lag"]
    assert space.groups == ["outcome", "outcome"]
    assert "edge.access->culture.weight" not in sa.parameter_space(load_theory()).names
    spec, _ = small_spec()
    spec = dataclasses.replace(spec, theory=theory, horizon=24)
    task = sa.ModelTask(spec, (24,), ("mean_culture",))
    a = sa.run_analysis(
        task, space, "morris", 3, months=[24], metrics=["mean_culture"], executor="serial", seed=2, noise_probe=(0, 0)
    )
    t = a.result.indices.set_index("parameter")
    assert t.loc["edge.access->culture.weight", "mu_star"] > 0


def test_patterns_groups_exclusions_and_pins(theory):
    space = sa.parameter_space(theory, "mechanism.trust_*,formation")
    assert all(n.startswith(("mechanism.trust_", "formation.")) for n in space.names)
    assert "formation.w_culture" in space.names
    space = sa.parameter_space(theory, "mechanisms", exclude="mechanism.conflict_*")
    assert space.names and not any(n.startswith("mechanism.conflict_") for n in space.names)
    pinned = sa.parameter_space(theory, "mechanisms", pinned={"mechanism.trust_build": 0.05})
    assert "mechanism.trust_build" not in pinned.names
    with pytest.raises(ConfigError, match="no uncertain theory parameter matches"):
        sa.parameter_space(theory, "mechanism.trust_buidl")
    with pytest.raises(ConfigError, match="no uncertain parameter"):
        sa.parameter_space(theory, "mechanisms", exclude="mechanisms")


def test_distributions_stay_in_range_and_integers_are_whole():
    u = np.linspace(0, 1, 2001)
    for dist in ("uniform", "triangular", "normal", "lognormal"):
        f = sa.Factor("p", 0.02, 0.3, 0.08, dist=dist)
        x = f.ppf(u)
        assert x.min() >= 0.02 and x.max() <= 0.3 and np.all(np.diff(x) >= 0)
    assert sa.Factor("p", 0.0, 1.0, 0.5, dist="normal").ppf(np.array([0.5]))[0] == pytest.approx(0.5, abs=1e-9)
    assert sa.Factor("p", 0.02, 0.5, 0.1, dist="lognormal").ppf(np.array([0.5]))[0] == pytest.approx(0.1, rel=1e-9)
    assert sa.Factor("p", 0.0, 1.0, 0.2, dist="triangular").ppf(np.array([0.2]))[0] == pytest.approx(0.2, abs=1e-9)
    k = sa.Factor("m", 6, 24, 12, integer=True).ppf(np.random.default_rng(0).uniform(size=19000))
    assert set(np.unique(k)) == set(range(6, 25))
    counts = np.bincount(k.astype(int))[6:]
    assert counts.min() > 0.8 * counts.mean()  # every whole number about equally likely


def test_outputs_resolve_aliases_and_metric_names(theory):
    assert sa.resolve_outputs("quality,efficiency,share_in_deficit", theory) == [
        "mean_quality",
        "mean_efficiency",
        "share_in_deficit",
    ]
    with pytest.raises(ConfigError, match="unknown output"):
        sa.resolve_outputs("qualty", theory)


# -- designs ---------------------------------------------------------------------------
def test_sobol_needs_a_power_of_two():
    with pytest.raises(ConfigError, match="power of two"):
        sa.make_design(ishigami_space(), "sobol", 100)


def test_half_of_a_sobol_design_is_the_design_at_half_n():
    space = ishigami_space(dummy=True)
    for second in (False, True):
        full = sa.make_design(space, "sobol", 64, seed=9, second_order=second)
        half, rows = sa.half_design(full, space)
        alone = sa.make_design(space, "sobol", 32, seed=9, second_order=second)
        assert np.array_equal(half.unit, alone.unit) and len(rows) == len(alone.unit)
    grouped = sa.make_design(space, "sobol", 16, seed=1, grouped=True)
    assert grouped.n_points == 16 * (2 + 2)  # two groups, not four factors


def test_grouped_sobol_gives_one_index_per_group():
    space = ishigami_space(dummy=True)
    a = sa.run_analysis(
        sa.FunctionTask(ishigami),
        space,
        "sobol",
        1024,
        months=[0],
        metrics=["y"],
        backend="memory",
        grouped=True,
        seed=1,
    )
    t = a.result.indices.set_index("parameter")
    assert list(t.index) == ["g", "h"]
    assert t.loc["g", "ST"] == pytest.approx(1.0, abs=0.05) and t.loc["h", "ST"] == 0.0


# -- evaluation: determinism and resume --------------------------------------------------
def test_same_seed_same_indices_serial_or_pool():
    spec, theory = small_spec(20)
    space = sa.parameter_space(theory, "domain.quality.init_mean,domain.quality.rate,edge.workforce->quality.weight")
    task = sa.ModelTask(dataclasses.replace(spec, horizon=12), (6, 12), ("mean_quality", "mean_efficiency"))
    kw = dict(months=[6, 12], metrics=list(task.metrics), reps=2, seed=7)
    serial = sa.run_analysis(task, space, "sobol", 8, executor="serial", **kw)
    pool = sa.run_analysis(task, space, "sobol", 8, executor="pool", workers=2, **kw)
    assert np.array_equal(serial.Y, pool.Y)
    pd.testing.assert_frame_equal(serial.result.indices, pool.result.indices)
    other = sa.run_analysis(task, space, "sobol", 8, executor="serial", **{**kw, "seed": 8})
    assert not np.array_equal(serial.Y, other.Y)


def test_function_task_through_the_pool_matches_serial():
    space = ishigami_space(dummy=True)
    d = sa.make_design(space, "sobol", 32, seed=1)
    s = sa.evaluate_design(sa.FunctionTask(ishigami), d.values, space.names, seed=1, reps=2, executor="serial")
    p = sa.evaluate_design(sa.FunctionTask(ishigami), d.values, space.names, seed=1, reps=2, executor="pool", workers=2)
    assert np.array_equal(s, p) and s.shape == (d.n_points, 2, 1, 1)
    direct = [ishigami(dict(zip(space.names, row, strict=True)), 0) for row in d.values]
    assert np.allclose(s[:, 0, 0, 0], direct)


def _explode(values, seed):
    raise AssertionError("a finished run was run again")


def test_resume_reuses_finished_runs(tmp_path):
    space = ishigami_space()
    d = sa.make_design(space, "sobol", 16, seed=1)
    store = tmp_path / "experiment"
    first = sa.evaluate_design(
        sa.FunctionTask(ishigami), d.values, space.names, seed=0, executor="serial", folder=store
    )
    assert (store / "manifest.json").exists() and (store / "design.parquet").exists()
    again = sa.evaluate_design(
        sa.FunctionTask(ishigami), d.values, space.names, seed=0, executor="serial", folder=store, resume=True
    )
    assert np.array_equal(first, again)
    # another run function is another experiment: the store refuses to mix them
    with pytest.raises(Exception, match="cannot resume"):
        sa.evaluate_design(
            sa.FunctionTask(_explode), d.values, space.names, seed=0, executor="serial", folder=store, resume=True
        )


def test_failing_runs_are_reported():
    space = ishigami_space()
    d = sa.make_design(space, "sobol", 2, seed=1)
    with pytest.raises(sa.RunFailure, match="runs failed"):
        sa.evaluate_design(sa.FunctionTask(_explode), d.values, space.names, seed=0, executor="serial")


def test_model_task_contrast_is_the_paired_difference():
    spec, theory = small_spec(20)
    spec = dataclasses.replace(spec, horizon=12)
    policy = dataclasses.replace(
        spec,
        name="policy",
        levers=dataclasses.replace(spec.levers, support_fund=dataclasses.replace(spec.levers.support_fund, share=0.5)),
    )
    over = {"domain.quality.rate": 0.2}
    diff = sa.ModelTask(policy, (12,), ("mean_efficiency",), contrast=spec)(over, 3)
    a = sa.ModelTask(policy, (12,), ("mean_efficiency",))(over, 3)
    b = sa.ModelTask(spec, (12,), ("mean_efficiency",))(over, 3)
    assert diff[0, 0] == pytest.approx(a[0, 0] - b[0, 0])


# -- figures ---------------------------------------------------------------------------
def test_figures_take_tables_and_return_figures():
    from matplotlib.figure import Figure

    space = ishigami_space(dummy=True)
    fn = sa.FunctionTask(lambda v, s: [ishigami(v, s) * k for k in (0.5, 1.0, 2.0)], months=(6, 12, 18))
    sob = sa.run_analysis(fn, space, "sobol", 64, months=[6, 12, 18], metrics=["y"], backend="memory")
    mor = sa.run_analysis(fn, space, "morris", 10, months=[6, 12, 18], metrics=["y"], backend="memory")
    t = sob.result.indices
    assert isinstance(sa.plot_sobol(t[t["month"] == 12]), Figure)
    assert isinstance(sa.plot_timeline(t, "y"), Figure)
    m = mor.result.indices
    assert isinstance(sa.plot_morris(m[m["month"] == 12]), Figure)
    assert isinstance(sa.plot_convergence(sob.result.convergence, "y"), Figure)


# -- command line ----------------------------------------------------------------------
def test_cli_sensitivity_writes_tables_and_figures(tmp_path, capsys):
    out = tmp_path / "sens"
    first = [
        "sensitivity",
        str(BASELINE),
        "--method",
        "morris",
        "-N",
        "4",
        "--params",
        "domain.quality.*",
        "--outputs",
        "quality,good",
        "--at",
        "6,12",
        "--every",
        "6",
        "--n-providers",
        "20",
        "--workers",
        "1",
        "--out",
        str(out),
    ]
    # --dry-run counts what runs: the design's points, and the noise probe with one replicate
    assert main([*first, "--dry-run"]) == 0
    planned = int(re.search(r"(\d+) runs of", capsys.readouterr().out).group(1))
    code = main(first)
    assert code == 0
    text = capsys.readouterr().out
    ran = int(re.search(r"(\d+) runs in", text).group(1))
    assert ran == planned
    assert "mean_quality at month 12" in text
    manifest = json.loads((out / "experiment" / "manifest.json").read_text())
    probe = json.loads((out / "probe" / "manifest.json").read_text())
    assert len(manifest["runs"]) + len(probe["runs"]) == planned
    for name in (
        "indices.parquet",
        "indices.csv",
        "noise.csv",
        "convergence.csv",
        "params.csv",
        "design.parquet",
        "runs.parquet",
        "manifest.json",
        "summary.txt",
        "figures/morris_quality_m12.png",
        "figures/morris_quality_timeline.png",
    ):
        assert (out / name).exists(), name
    idx = pd.read_parquet(out / "indices.parquet")
    assert set(idx["metric"]) == {"mean_quality", "share_good_or_outstanding"} and set(idx["month"]) == {6, 12}
    # the folder is not overwritten by accident; --resume continues it (nothing left to run here)
    argv = [
        "sensitivity",
        str(BASELINE),
        "--method",
        "morris",
        "-N",
        "4",
        "--params",
        "domain.quality.*",
        "--outputs",
        "quality,good",
        "--at",
        "6,12",
        "--every",
        "6",
        "--n-providers",
        "20",
        "--workers",
        "1",
        "--out",
        str(out),
        "--no-figures",
    ]
    assert main(argv) == 2 and "--resume" in capsys.readouterr().err
    assert main([*argv, "--resume"]) == 0
    pd.testing.assert_frame_equal(pd.read_parquet(out / "indices.parquet"), idx)
    # the given-sample methods run on that sample
    code = main(
        [
            "sensitivity",
            "--method",
            "delta",
            "--from",
            str(out),
            "--outputs",
            "quality",
            "--at",
            "12",
            "--out",
            str(tmp_path / "delta"),
            "--no-figures",
        ]
    )
    assert code == 0 and (tmp_path / "delta" / "indices.csv").exists()


@pytest.mark.parametrize(
    "argv, needle",
    [
        (["--method", "sobol", "-N", "100"], "power of two"),
        (["--method", "sobl"], "unknown sensitivity method"),
        (["--params", "edge.nothing*"], "no uncertain theory parameter"),
        (["--outputs", "qualty"], "unknown output"),
        (["--method", "efast", "--groups"], "grouped indices"),
        (["--at", "12,x"], "whole months"),
    ],
)
def test_cli_sensitivity_rejects_bad_input(argv, needle, capsys, tmp_path):
    code = main(["sensitivity", str(BASELINE), "--out", str(tmp_path / "o"), "--dry-run", *argv])
    assert code == 2
    assert needle in capsys.readouterr().err


def test_cli_dry_run_counts_runs(capsys):
    assert (
        main(
            [
                "sensitivity",
                str(BASELINE),
                "--method",
                "sobol",
                "-N",
                "512",
                "--groups",
                "--dry-run",
                "--contrast",
                str(BASELINE),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    n_groups = len(sa.parameter_space(load_theory()).group_names)
    assert f"{(512 * (n_groups + 2) + 8 * 4) * 2} runs" in out  # the noise probe too (one replicate)


def test_second_order_finds_the_x1_x3_interaction():
    """Ishigami's only interaction is x1·x3: S13 = ST3 − S3 ≈ 0.244; S12 = S23 = 0."""
    a = sa.run_analysis(
        sa.FunctionTask(ishigami),
        ishigami_space(),
        "sobol",
        1024,
        months=[0],
        metrics=["y"],
        backend="memory",
        second_order=True,
        seed=2,
    )
    s2 = a.result.second_order.set_index(["parameter", "parameter_2"])["S2"]
    assert s2[("x1", "x3")] == pytest.approx(0.244, abs=0.08)
    assert abs(s2[("x1", "x2")]) < 0.08 and abs(s2[("x2", "x3")]) < 0.08
    assert a.design.n_points == 1024 * (2 * 3 + 2)


def test_efast_recovers_ishigami_first_order():
    """eFAST at 1000 points per factor: tolerance 0.05 on S1, 0.08 on ST (its ST is biased low)."""
    a = sa.run_analysis(
        sa.FunctionTask(ishigami), ishigami_space(), "efast", 1000, months=[0], metrics=["y"], backend="memory", seed=3
    )
    t = a.result.indices.set_index("parameter")
    for name in ISHIGAMI_S1:
        assert t.loc[name, "S1"] == pytest.approx(ISHIGAMI_S1[name], abs=0.05)
        assert t.loc[name, "ST"] == pytest.approx(ISHIGAMI_ST[name], abs=0.08)
    assert a.result.convergence is None  # eFAST has no nested half


def test_convergence_flags_an_unstable_ranking():
    """Ten nearly equal factors at N = 8: the top 3 at N/2 and N disagree, and a warning says so."""
    space = sa.ParameterSpace(tuple(sa.Factor(f"x{i}", 0, 1, 0.5) for i in range(10)))
    fn = sa.FunctionTask(lambda v, s: sum((1 + 0.01 * i) * np.sin(6 * v[f"x{i}"]) for i in range(10)))
    a = sa.run_analysis(fn, space, "sobol", 8, months=[0], metrics=["y"], backend="memory", seed=1, top_k=3)
    conv = a.result.convergence.iloc[0]
    assert not conv["stable"] and any("differ between N/2" in w for w in a.result.warnings)


def test_params_from_a_file(tmp_path, theory):
    f = tmp_path / "params.txt"
    f.write_text("# the trust mechanism\nmechanism.trust_*\n\nedge.culture->quality.weight  # and one edge\n")
    space = sa.parameter_space(theory, sa.read_patterns(f"@{f}"))
    assert "edge.culture->quality.weight" in space.names and "mechanism.trust_build" in space.names
    assert len(space) == 1 + sum(n.startswith("mechanism.trust_") for n in sa.parameter_space(theory).names)


def test_a_study_output_that_fails_while_written_leaves_the_previous_file_whole(tmp_path, monkeypatch):
    """Tables, design, runs, summary and manifest are written whole or not at all (``outputs.write_atomic``)."""
    from analysis.studies.sensitivity import outputs

    old = pd.DataFrame({"a": [1, 2, 3]})
    outputs.write_table(old, tmp_path / "indices")
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}

    def half_then_fail(self, buffer, *args, **kwargs):
        buffer.write(b"PAR1 half a file")
        raise OSError("disk full")

    monkeypatch.setattr(pd.DataFrame, "to_parquet", half_then_fail)
    with pytest.raises(OSError, match="disk full"):
        outputs.write_table(pd.DataFrame({"a": [9]}), tmp_path / "indices")
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before  # no half file, no temporary left
    with pytest.raises(OSError, match="disk full"):
        outputs.write_atomic(tmp_path / "runs.parquet", lambda p: pd.DataFrame({"a": [1]}).to_parquet(p))
    assert not (tmp_path / "runs.parquet").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(before)
