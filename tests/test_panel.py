"""``partnersim panel``: the trust and ICS panels of one run agree with the model's own metrics."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.cli import main
from analysis.jobs.panel import ics_panel, trust_panel
from analysis.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]
MERGERS = ROOT / "scenarios" / "mandated_mergers.toml"
MONTHS = [0, 6, 30]


@pytest.fixture(scope="module")
def panels():
    scen = load_scenario(MERGERS)
    spec = replace(scen.spec, n_providers=60, horizon=30)
    trusts, series = trust_panel(spec, 11, MONTHS)
    return scen.spec.theory, trusts, series.set_index("step")


def test_trust_panel_means_are_the_models_reported_metrics(panels):
    theory, trusts, series = panels
    assert sorted(trusts["month"].unique()) == MONTHS and (trusts.groupby("month").size() == 60).all()
    assert trusts["special_measures"].any() and (trusts["partnerships"] > 0).any()  # not a vacuous check
    for month, rows in trusts.groupby("month"):
        model = series.loc[month]
        assert rows["date"].iloc[0] == model["date"]
        for d in theory.domain_names:
            assert rows[d].mean() == pytest.approx(model[f"mean_{d}"], rel=1e-9, abs=1e-12), (month, d)
        assert rows["special_measures"].mean() == pytest.approx(model["share_special_measures"])
        assert rows["in_deficit"].mean() == pytest.approx(model["share_in_deficit"])
        assert rows["good_or_outstanding"].mean() == pytest.approx(model["share_good_or_outstanding"])
        assert rows["surplus_pct"].mean() == pytest.approx(model["mean_surplus_pct"], rel=1e-9)
        assert (rows["partnerships"] > 0).mean() == pytest.approx(model["share_partnered"])
        ids = {i for s in rows["partnership_ids"] for i in s.split(";") if i}
        assert len(ids) == model["partnerships_active"]
        for t in theory.type_names:
            has = rows["partnership_types"].map(lambda s, t=t: t in s.split(";"))
            assert has.mean() == pytest.approx(model[f"share_in_{t}"]), (month, t)


def test_ics_panel_aggregates_the_trusts(panels):
    _, trusts, series = panels
    ics = ics_panel(trusts)
    for month, rows in ics.groupby("month"):
        model = series.loc[month]
        assert rows["n_trusts"].sum() == 60
        weighted = (rows["quality"] * rows["n_trusts"]).sum() / rows["n_trusts"].sum()
        assert weighted == pytest.approx(model["mean_quality"], rel=1e-9)
        assert rows["quality"].std(ddof=0) == pytest.approx(model["ics_quality_sd"], rel=1e-9)
        sm = (rows["share_special_measures"] * rows["n_trusts"]).sum() / 60
        assert sm == pytest.approx(model["share_special_measures"])
        assert rows["partnerships"].sum() >= model["partnerships_active"]  # a partnership may span ICSs


def test_panel_command_writes_each_format(tmp_path, capsys):
    common = ["panel", str(MERGERS), "--n-providers", "30", "--horizon", "12", "--seed", "4"]
    assert main([*common, "--months", "0,12", "-o", str(tmp_path / "p.csv")]) == 0
    csv = pd.read_csv(tmp_path / "p.csv")
    assert sorted(csv["month"].unique()) == [0, 12] and len(csv) == 60
    assert main([*common, "--months", "all", "--by", "ics", "-o", str(tmp_path / "p.parquet")]) == 0
    pq = pd.read_parquet(tmp_path / "p.parquet")
    assert sorted(pq["month"].unique()) == list(range(13)) and "n_trusts" in pq and "trust" not in pq
    assert main([*common, "-o", str(tmp_path / "p.xlsx")]) == 0
    xl = pd.read_excel(tmp_path / "p.xlsx")
    assert sorted(xl["month"].unique()) == [0, 12]  # default months within a 12-month horizon
    np.testing.assert_allclose(xl.loc[xl["month"] == 12, "quality"], csv.loc[csv["month"] == 12, "quality"])
    assert "wrote 60 rows (30 trusts)" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--months", "0,x"], "--months"),
        (["--months", "0,24"], "beyond the 12-month horizon"),
        (["--by", "county"], "Valid choices: ics, trust"),
        (["-o", "{tmp}/p.txt"], ".csv, .parquet, .xlsx"),
        (["-o", "{tmp}/missing/p.csv"], "does not exist"),
        (["-o", "{tmp}/old.csv"], "--force"),
    ],
)
def test_panel_command_refuses_bad_options(tmp_path, capsys, args, words):
    (tmp_path / "old.csv").write_text("month\n0\n")
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    out = [] if "-o" in args else ["-o", str(tmp_path / "p.csv")]
    code = main(["panel", str(MERGERS), "--n-providers", "30", "--horizon", "12", *args, *out])
    err = capsys.readouterr().err
    assert code == 2 and words in err and "Traceback" not in err
    assert not (tmp_path / "p.csv").exists()


def test_panel_horizon_uses_the_shared_bounds(tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:
        main(["panel", str(MERGERS), "--horizon", "0", "-o", str(tmp_path / "p.csv")])
    assert stop.value.code == 2 and "months to simulate (1 to" in capsys.readouterr().err


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_panel_command_refuses_a_read_only_folder(tmp_path, capsys):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        code = main(["panel", str(MERGERS), "--n-providers", "30", "--horizon", "12", "-o", str(folder / "p.csv")])
    finally:
        folder.chmod(0o700)
    assert code == 2 and "not writable" in capsys.readouterr().err
