"""Scenario discovery: a planted failure box is found by PRIM and CART and said in plain words."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.cli import main
from analysis.studies import discovery as dv
from sim import ConfigError

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.toml"
COLS = [
    "mechanism.trust_build",
    "partnering.disruption.efficiency",
    "formation.w_size",
    "mechanism.ambition_w_trust",
    "edge.culture->quality.weight",
]


def planted(n: int = 1000, noise: float = 0.02, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """Failures where trust builds slowly (< 0.3) and disruption is high (> 0.6), plus label noise."""
    rng = np.random.default_rng(seed)
    x = pd.DataFrame(rng.uniform(size=(n, len(COLS))), columns=COLS)
    fails = ((x[COLS[0]] < 0.3) & (x[COLS[1]] > 0.6)).to_numpy() | (rng.uniform(size=n) < noise)
    return x, fails


@pytest.fixture(scope="module")
def prim_result():
    x, fails = planted()
    return dv.prim(x, fails), x, fails


def test_prim_finds_the_planted_box(prim_result):
    pr, _, _ = prim_result
    box = pr.box
    assert set(box.limits.index) == {COLS[0], COLS[1]}
    assert box.limits.loc[COLS[0], "max"] == pytest.approx(0.3, abs=0.05)
    assert box.limits.loc[COLS[1], "min"] == pytest.approx(0.6, abs=0.05)
    assert not box.limits.loc[COLS[0], "restrict_low"] and not box.limits.loc[COLS[1], "restrict_high"]
    assert box.density > 0.9 and box.coverage > 0.7
    traj = pr.trajectory
    assert traj["coverage"].iloc[0] == 1.0 and traj["mass"].is_monotonic_decreasing


def test_user_picks_a_box_on_the_trajectory(prim_result):
    _, x, fails = prim_result
    first = dv.prim(x, fails, box=0)
    assert first.chosen == 0 and first.box.res_dim == 0 and first.box.coverage == 1.0
    assert (
        dv.choose_box(pd.DataFrame({"box": [0, 1, 2], "coverage": [1, 0.8, 0.3], "density": [0.2, 0.7, 1.0]}), 0.5) == 1
    )
    with pytest.raises(ConfigError, match="no such box"):
        dv.prim(x, fails, box=999)


def test_cart_finds_the_planted_box():
    x, fails = planted()
    boxes = dv.cart(x, fails, max_depth=2)
    best = boxes[0]
    assert set(best.limits.index) == {COLS[0], COLS[1]}
    assert best.limits.loc[COLS[0], "max"] == pytest.approx(0.3, abs=0.05)
    assert best.limits.loc[COLS[1], "min"] == pytest.approx(0.6, abs=0.05)
    assert best.density > 0.9


def test_boxes_in_plain_words(prim_result):
    pr, _, _ = prim_result
    text = dv.describe_box(pr.box, "quality at month 60 not above the paired baseline", {c: (0.0, 1.0) for c in COLS})
    assert re.search(r"how fast trust builds \(mechanism.trust_build\) is below 0\.(2[5-9]|3[0-5])", text)
    assert re.search(r"disruption to efficiency \(partnering.disruption.efficiency\) exceeds 0\.(5[5-9]|6[0-5])", text)
    assert "of all failures" in text
    both = dv.describe_limit(
        "mechanism.ambition_w_trust", {"min": 0.1, "max": 0.2, "restrict_low": True, "restrict_high": True}
    )
    assert "lies between 0.1 and 0.2" in both


def test_criterion_parsing_and_failures(theory):
    c = dv.parse_criterion("quality@60 > 0", theory)
    assert (c.metric, c.month, c.op, c.threshold) == ("mean_quality", 60, ">", 0.0)
    assert list(c.fails(np.array([0.1, 0.0, -0.1, np.nan]))) == [False, True, True, True]
    assert c.describe(paired=True, negate=True) == "quality index at month 60 not above the paired baseline"
    assert dv.parse_criterion("share_in_deficit@12 <= 0.4", theory).holds(np.array([0.4]))[0]
    for bad in ("quality 60 > 0", "qualty@60 > 0", "quality@60 => 0"):
        with pytest.raises(ConfigError):
            dv.parse_criterion(bad, theory)


def test_nothing_to_discover_is_a_result_in_words():
    """PRIM itself still refuses one class; the job reports it as a finding through uniform_result."""
    x, _ = planted(100)
    with pytest.raises(ConfigError, match="nothing to discover"):
        dv.prim(x, np.zeros(100, dtype=bool))
    crit = "quality at month 60 not above the paired baseline"
    everywhere = dv.uniform_result(np.ones(30, dtype=bool), crit, identical=True)
    assert everywhere.startswith(f"The policy fails ({crit}) at every one of the 30 points")
    assert "baseline itself" in everywhere
    assert "baseline itself" not in dv.uniform_result(np.ones(30, dtype=bool), crit)
    assert dv.uniform_result(np.zeros(30, dtype=bool), crit).startswith("The policy never fails")
    assert dv.uniform_result(np.r_[True, np.zeros(29, dtype=bool)], crit) is None


def test_quasi_p_values_are_printed_with_each_prim_limit(prim_result):
    pr, _, _ = prim_result
    qp = pr.box.limits.loc[COLS[0], "qp_high"]
    assert 0 <= qp < 1e-4  # the planted limit is far from noise
    text = dv.describe_box(pr.box, "quality not above the baseline")
    assert text.count("(quasi-p <0.0001)") == 2 and "one-sided binomial test" in text
    row = {"min": 0.1, "max": 0.2, "restrict_low": True, "restrict_high": False, "qp_low": 0.2, "qp_high": np.nan}
    assert dv.describe_limit("mechanism.trust_build", row).endswith("exceeds 0.1 (quasi-p 0.2)")


def test_resampling_stability_separates_a_real_box_from_noise():
    x, fails = planted(400)
    pr = dv.prim(x, fails)
    st = dv.resample_stability(x, fails, pr.box, resamples=8, seed=3)
    assert st.resamples == 8 and st.comparable >= 0.75
    top = st.dimensions[st.dimensions["in_box"]].set_index("parameter")["share_restricted"]
    assert set(top.index) == {COLS[0], COLS[1]} and (top >= 0.75).all()
    again = dv.resample_stability(x, fails, pr.box, resamples=8, seed=3)
    pd.testing.assert_frame_equal(st.dimensions, again.dimensions)  # seeded by a named stream
    rng = np.random.default_rng(5)
    noise = rng.uniform(size=400) < 0.2  # failures unrelated to the parameters
    pn = dv.prim(x, noise)
    sn = dv.resample_stability(x, noise, pn.box, resamples=8, seed=3)
    assert sn.comparable <= 0.25
    assert "bootstrap resamples" in dv.describe_stability(st)


def test_few_points_per_parameter_draw_a_warning():
    text = dv.sparse_warning(40, 158)
    assert "40 points for 158 parameters" in text and "at least 1580 points" in text
    assert dv.sparse_warning(158 * dv.MIN_POINTS_PER_PARAMETER, 158) is None
    assert dv.sparse_warning(158 * dv.MIN_POINTS_PER_PARAMETER - 1, 158) is not None


def test_figures(prim_result):
    from matplotlib.figure import Figure

    pr, _, _ = prim_result
    assert isinstance(dv.plot_tradeoff(pr.trajectory, chosen=pr.chosen), Figure)
    assert isinstance(dv.plot_box(pr.box, {c: (0.0, 1.0) for c in COLS}), Figure)


def test_cli_discover_on_an_existing_sweep(tmp_path, capsys, theory):
    x, fails = planted(600)
    lows = {c: theory.params[c].low for c in COLS}
    highs = {c: theory.params[c].high for c in COLS}
    values = pd.DataFrame({c: lows[c] + x[c] * (highs[c] - lows[c]) for c in COLS})
    values["mean_quality"] = np.where(fails, -0.01, 0.01)
    table = tmp_path / "sweep.csv"
    values.to_csv(table, index=False)
    code = main(["discover", "--from", str(table), "--criterion", "quality@0 > 0", "--out", str(tmp_path / "d")])
    assert code == 0
    out = capsys.readouterr().out
    assert "how fast trust builds (mechanism.trust_build) is below" in out
    for name in (
        "prim_trajectory.csv",
        "prim_box.parquet",
        "cart_boxes.csv",
        "sweep.parquet",
        "figures/prim_tradeoff.png",
        "figures/prim_box.png",
        "prim_stability.csv",
    ):
        assert (tmp_path / "d" / name).exists(), name
    assert "bootstrap resamples PRIM finds a comparable box" in out and "quasi-p" in out
    # every point fails: a result, said in words and written; the rerun into the folder needs --force
    values["mean_quality"] = -0.01
    values.to_csv(table, index=False)
    args = ["discover", "--from", str(table), "--criterion", "quality@0 > 0", "--out", str(tmp_path / "d")]
    assert main(args) == 2 and "--force" in capsys.readouterr().err
    assert main([*args, "--force"]) == 0
    out = capsys.readouterr().out
    assert "at every one of the 600 points" in out
    record = json.loads((tmp_path / "d" / "discovery.json").read_text())
    assert record["result"] == "fails everywhere" and "every one of the 600 points" in record["result_words"]
    assert not (tmp_path / "d" / "prim_box.csv").exists()  # the earlier run's boxes are not left to mislead
    # the folder's own sweep, analysed again into the same folder: read before the folder is cleared
    again = ["discover", "--from", str(tmp_path / "d" / "sweep.parquet"), "--criterion", "quality@0 > 0"]
    assert main([*again, "--out", str(tmp_path / "d"), "--force", "--no-figures"]) == 0
    assert "at every one of the 600 points" in capsys.readouterr().out


def test_cli_discover_runs_the_model(tmp_path, capsys):
    """A small live sweep: the baseline paired against itself (the default baseline) never beats
    itself, so it always 'fails': a result, exit 0. The folder of that attempt does not block the
    next run: --resume reuses the stored sweep, --force replaces it (here by an absolute criterion
    in the middle of the spread of starting quality, which splits the sample)."""
    common = [
        "--params",
        "domain.quality.init_mean,domain.quality.rate",
        "-N",
        "24",
        "--n-providers",
        "20",
        "--workers",
        "1",
        "--out",
        str(tmp_path / "a"),
    ]
    paired = ["discover", str(BASELINE), "--criterion", "quality@6 > 0", *common]  # paired with the baseline
    assert main(paired) == 0
    out = capsys.readouterr().out
    assert "fails (quality index at month 6 not above the paired baseline) at every one of the 24 points" in out
    assert "baseline itself" in out
    assert json.loads((tmp_path / "a" / "discovery.json").read_text())["result"] == "fails everywhere"
    assert main(paired) == 2 and "--resume" in capsys.readouterr().err
    assert main([*paired, "--resume"]) == 0
    assert "every one of the 24 points" in capsys.readouterr().out
    code = main(
        ["discover", str(BASELINE), "--absolute", "--criterion", "quality@6 > 0.55", "--no-figures", "--force", *common]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "replacing the sweep stored in" in out
    assert "starting quality level (domain.quality.init_mean)" in out
    assert json.loads((tmp_path / "a" / "discovery.json").read_text())["result"] == "boxes"
