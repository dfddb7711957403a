"""Scenario discovery: a planted failure box is found by PRIM and CART and said in plain words."""

from __future__ import annotations

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
    assert c.describe(paired=True, negate=True) == "quality at month 60 not above the paired baseline"
    assert dv.parse_criterion("share_in_deficit@12 <= 0.4", theory).holds(np.array([0.4]))[0]
    for bad in ("quality 60 > 0", "qualty@60 > 0", "quality@60 => 0"):
        with pytest.raises(ConfigError):
            dv.parse_criterion(bad, theory)


def test_nothing_to_discover_is_an_error():
    x, _ = planted(100)
    with pytest.raises(ConfigError, match="nothing to discover"):
        dv.prim(x, np.zeros(100, dtype=bool))


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
    ):
        assert (tmp_path / "d" / name).exists(), name


def test_cli_discover_runs_the_model(tmp_path, capsys):
    """A small live sweep: the baseline paired against itself (the default baseline) never beats
    itself, so it always 'fails': nothing to discover. An absolute criterion in the middle of the
    spread of starting quality splits the sample."""
    common = [
        "--params",
        "domain.quality.init_mean,domain.quality.rate",
        "-N",
        "24",
        "--n-providers",
        "20",
        "--workers",
        "1",
    ]
    code = main(
        [
            "discover",
            str(BASELINE),
            "--criterion",
            "quality@6 > 0",  # default: paired with the baseline
            "--out",
            str(tmp_path / "a"),
            *common,
        ]
    )
    assert code == 2 and "nothing to discover" in capsys.readouterr().err
    code = main(
        [
            "discover",
            str(BASELINE),
            "--absolute",
            "--criterion",
            "quality@6 > 0.55",
            "--out",
            str(tmp_path / "b"),
            "--no-figures",
            *common,
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "starting quality level (domain.quality.init_mean)" in out
