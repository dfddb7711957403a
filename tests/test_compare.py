"""Paired comparisons: interval correctness on synthetic data with a known difference, and the table."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis.studies.compare import (
    comparison_table,
    format_comparison,
    format_interval,
    format_intervals,
    format_value,
    mean_interval,
    outcome_for,
    paired_interval,
    verdict,
)


def synthetic_series(
    rng: np.random.Generator,
    n_reps: int,
    delta: float,
    *,
    shared_sd: float = 0.05,
    noise_sd: float = 0.005,
    steps: tuple[int, ...] = (0, 12, 36),
) -> pd.DataFrame:
    """Two scenarios whose replicate r shares a common draw (common random numbers): policy = base + delta + noise."""
    rows = []
    for r in range(n_reps):
        common = rng.normal(0.5, shared_sd)
        for step in steps:
            base = common
            policy = common + (delta + rng.normal(0, noise_sd)) * (step > 0)
            for scen, value in (("baseline", base), ("policy", policy)):
                rows.append((scen, 0, r, r, step, f"m{step}", "mean_quality", value))
                rows.append((scen, 0, r, r, step, f"m{step}", "share_in_deficit", 1 - value))
    return pd.DataFrame(rows, columns=["scenario", "point", "replicate", "seed", "step", "date", "metric", "value"])


def test_paired_interval_matches_scipy_paired_t() -> None:
    rng = np.random.default_rng(0)
    a = rng.normal(1.0, 1.0, 12)
    b = a + rng.normal(0.3, 0.2, 12)
    diff, lo, hi, n = paired_interval(b, a, 0.9)
    ci = stats.ttest_rel(b, a).confidence_interval(0.9)
    assert n == 12 and diff == pytest.approx(np.mean(b - a))
    assert (lo, hi) == pytest.approx((ci.low, ci.high))


def test_paired_interval_is_much_narrower_than_unpaired_under_common_random_numbers() -> None:
    rng = np.random.default_rng(1)
    common = rng.normal(0, 1.0, 20)
    a, b = common, common + 0.1 + rng.normal(0, 0.01, 20)
    _, lo, hi, _ = paired_interval(b, a)
    _, alo, ahi, _ = mean_interval(a)
    assert lo > 0.09 and hi < 0.11
    assert (hi - lo) < (ahi - alo) / 20


def test_paired_interval_covers_a_known_difference_95_percent_of_the_time() -> None:
    rng = np.random.default_rng(2)
    delta, trials, n = 0.02, 4000, 8
    hits = 0
    for _ in range(trials):
        common = rng.normal(0.5, 0.1, n)
        _, lo, hi, _ = paired_interval(common + delta + rng.normal(0, 0.01, n), common)
        hits += lo <= delta <= hi
    coverage = hits / trials
    assert abs(coverage - 0.95) < 3 * np.sqrt(0.95 * 0.05 / trials)


def test_intervals_drop_missing_pairs_and_handle_tiny_samples() -> None:
    d, lo, hi, n = paired_interval([1.0, np.nan, 3.0], [0.5, 1.0, np.nan])
    assert (d, n) == (0.5, 1) and np.isnan(lo) and np.isnan(hi)
    assert mean_interval([])[3] == 0
    with pytest.raises(ValueError):
        paired_interval([1.0, 2.0], [1.0])


def test_comparison_table_recovers_the_known_difference() -> None:
    series = synthetic_series(np.random.default_rng(3), 30, delta=0.01)
    table = comparison_table(series, outcomes=["mean_quality", "share_in_deficit"], horizons=[0, 12, 36, 120])
    assert set(table["month"]) == {0, 12, 36}  # 120 is beyond the data
    row = table[(table.scenario == "policy") & (table.outcome == "mean_quality") & (table.month == 36)].iloc[0]
    assert row["diff_low"] < 0.01 < row["diff_high"] and row["diff_high"] - row["diff_low"] < 0.006
    assert row["n"] == 30 and row["n_pairs"] == 30 and row["baseline"] == "baseline"
    assert verdict(row, mid=0.005) == "better"  # the interval excludes zero and the difference passes the MID
    assert verdict(row, mid=0.05) == "no material difference"  # excludes zero, but smaller than the MID
    deficit = table[(table.scenario == "policy") & (table.outcome == "share_in_deficit") & (table.month == 36)]
    assert verdict(deficit.iloc[0], mid=0.005) == "better"  # lower deficit is better
    base = table[(table.scenario == "baseline") & (table.month == 0) & (table.outcome == "mean_quality")].iloc[0]
    assert np.isnan(base["diff"])
    start = table[(table.scenario == "policy") & (table.month == 0) & (table.outcome == "mean_quality")].iloc[0]
    assert start["diff"] == 0 and verdict(start) == "no material difference"
    assert verdict(base) == ""  # the baseline itself has no verdict


def test_comparison_table_pairs_by_replicate_not_by_row_order() -> None:
    series = synthetic_series(np.random.default_rng(4), 12, delta=0.01)
    shuffled = series.sample(frac=1.0, random_state=5)
    a = comparison_table(series, outcomes=["mean_quality"], horizons=[36])
    b = comparison_table(shuffled, outcomes=["mean_quality"], horizons=[36], scenarios=["baseline", "policy"])
    pd.testing.assert_frame_equal(a, b)


def test_text_table_is_aligned_and_warns_about_few_replicates() -> None:
    few = comparison_table(
        synthetic_series(np.random.default_rng(6), 5, delta=0.01),
        horizons=[12, 36],
        outcomes=["mean_quality", "share_in_deficit"],
    )
    text = format_comparison(few)
    assert "WARNING" in text and "only 5 replicate" in text and "--reps" in text
    assert "Quality" in text and "Trusts in deficit" in text and "vs baseline" in text and "pp" in text
    block = [
        ln for ln in text.splitlines() if ln.startswith("  ") and ("baseline " in ln or "policy " in ln) and "[" in ln
    ]
    assert len(block) == 8
    assert len({ln.index("[") for ln in block}) == 1  # the interval columns line up
    many = comparison_table(synthetic_series(np.random.default_rng(7), 12, delta=0.01), horizons=[12])
    assert "WARNING" not in format_comparison(many)
    one = many[many["scenario"] == "baseline"]
    assert "month 12" in format_intervals(one)


def test_interval_table_shows_each_outcome_and_month_of_its_own_row() -> None:
    table = comparison_table(
        synthetic_series(np.random.default_rng(8), 12, delta=0.01),
        horizons=[12, 36],
        outcomes=["mean_quality", "share_in_deficit"],
    )
    one = table[table["scenario"] == "baseline"]
    one = one[~((one["outcome"] == "share_in_deficit") & (one["month"] == 12))]  # a cell with no row
    lines = format_intervals(one).splitlines()
    assert lines[0] == "Mean and 95% interval over 12 replicate(s)" and lines[1].split()[-2:] == ["month", "36"]
    for metric in ("mean_quality", "share_in_deficit"):
        out = outcome_for(metric)
        (line,) = [ln for ln in lines if ln.startswith(f"{out.label} ({out.units})")]
        cells = []
        for month in (12, 36):
            row = one[(one["outcome"] == metric) & (one["month"] == month)]
            if len(row):
                r = row.iloc[0]
                cells.append(f"{format_value(metric, r['mean'])} {format_interval(metric, r['low'], r['high'])}")
        assert re.split(r"\s{2,}", line.strip()) == [f"{out.label} ({out.units})", *cells]  # the empty cell: spaces
    assert len([ln for ln in lines if ln.startswith("Trusts in deficit")][0]) == len(lines[1])  # still aligned
