"""Outcomes in units people use: the mapping file, the counting inside runs, verdicts, clipping, headline, Excel."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

import sim
from analysis.faces.excel import comparison_sheets, sheet_names, write_xlsx
from analysis.studies.compare import clip_interval, comparison_table, format_interval, verdict
from analysis.studies.headline import format_headline, headline, horizons, sentence
from analysis.studies.realist import cmoc_html, wilson
from analysis.studies.units import DEFAULT_UNITS, UnitsRun, load_units, rtt_pct, vacancy_pct, with_units
from sim import ConfigError, load_theory
from sim.outcomes import BAND_METRICS, RatingBands, rating_bands
from sim.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]


# -- the mapping file ------------------------------------------------------------------------------
def _units_file(tmp_path: Path, old: str, new: str) -> Path:
    text = DEFAULT_UNITS.read_text()
    assert old in text
    path = tmp_path / "units.toml"
    path.write_text(text.replace(old, new, 1))
    return path


def test_the_shipped_mapping_loads_with_a_source_for_every_number():
    units = load_units()
    assert {"rtt.pct_at_reference", "vacancy.pct_per_unit"} <= set(units.numbers)
    assert {"share_inadequate", "sector_surplus_gbp_m", "rtt_18_weeks_pct"} <= set(units.mids)
    for key, n in units.rows():
        assert n.low <= n.default <= n.high, key
        assert "evidence.md#" in n.source or "assumption" in n.source or "definition" in n.source, key


@pytest.mark.parametrize(
    ("old", "new", "words"),
    [
        ("pct_at_reference = {default = 60.0, low = 55.0", "pct_at_reference = {default = 60.0, low = 65.5", "low <="),
        ("pct_at_reference = {default = 9.7,", "pct_at_reference = {default = 170.0,", "outside"),
        (
            'vacancy_pct = {default = 0.5, low = 0.25, high = 1.0, unit = "percentage points", source = ',
            "vacancy_pct = {default = 0.5, low = 0.25, high = 1.0, source2 = ",
            "unknown",
        ),
        (
            "[mid]\n",
            '[mid]\nshare_of_happy_trusts = {default = 1.0, low = 0.5, high = 2.0, source = "assumption"}\n',
            "share_of_happy_trusts",
        ),
        (
            'source = "evidence.md#nhsdigital2022: 132,139',
            'source = "  ", note = "evidence.md#nhsdigital2022: 132,139',
            "unknown",
        ),
    ],
    ids=["low-above-default", "percent-above-100", "unknown-field", "unknown-outcome", "empty-source"],
)
def test_a_bad_mapping_is_refused_naming_file_key_and_value(tmp_path, old, new, words):
    path = _units_file(tmp_path, old, new)
    with pytest.raises(ConfigError) as err:
        load_units(path)
    text = str(err.value)
    assert str(path) in text and words in text, text


def test_a_known_index_maps_to_a_known_percentage():
    units = load_units()
    ref, pct, slope = (units.v(f"rtt.{k}") for k in ("index_at_reference", "pct_at_reference", "pct_per_unit"))
    assert rtt_pct(ref, units) == pytest.approx(pct)
    assert rtt_pct(ref + 0.1, units) == pytest.approx(pct + 0.1 * slope)
    assert rtt_pct(5.0, units) == 100.0  # clipped to what a percentage can be
    assert vacancy_pct(units.v("vacancy.index_at_reference"), units) == pytest.approx(9.7)  # NHS Digital, June 2022
    assert vacancy_pct(0.6, units) == pytest.approx(9.7 - 0.1 * units.v("vacancy.pct_per_unit"))


# -- counted inside each run -----------------------------------------------------------------------
def test_rating_bands_count_trusts_and_weight_money_by_turnover():
    theory = load_theory()
    q, e = theory.role_index("quality"), theory.role_index("efficiency")
    levels = np.full((4, len(theory.domains)), 0.5)
    levels[:, q] = [0.80, 0.60, 0.45, 0.30]  # outstanding, good, requires improvement, inadequate
    levels[:, e] = [0.60, 0.50, 0.40, 0.50]  # surplus +2%, break-even, deficit -2%, break-even
    turnover = np.array([100.0, 200.0, 300.0, 400.0])
    out = dict(zip(BAND_METRICS, rating_bands(levels, turnover, theory), strict=True))
    assert out["share_outstanding"] == 0.25 and out["share_inadequate"] == 0.25
    assert out["sector_surplus_gbp_m"] == pytest.approx(100 * 0.02 - 300 * 0.02)  # -£4m
    assert out["sector_surplus_pct"] == pytest.approx(-4.0 / 1000.0 * 100)


class OneByOne:
    """Reference observer: :func:`rating_bands` of its own run, called every month (the unbatched way)."""

    def __init__(self) -> None:
        self.rows: list[tuple[float, ...]] = []

    def attach(self, model) -> None:
        self.on_step(model)

    def on_step(self, model) -> None:
        self.rows.append(rating_bands(model.levels, np.asarray(model.pop.turnover, dtype=float), model.theory))

    def result(self) -> np.ndarray:
        return np.asarray(self.rows)


def test_shared_rating_bands_count_each_run_of_a_batch_exactly_as_one_by_one(tmp_path):
    """One pass per month over a batch gives each run's own numbers, with each run's own rating lines."""
    spec = dataclasses.replace(load_scenario(str(ROOT / "scenarios/mandated_buddying.toml")).spec, horizon=14)
    text = (ROOT / "scenarios/theory/irt.toml").read_text()
    for old, new in (
        ("outstanding_quality = {value = 0.75", "outstanding_quality = {value = 0.60"),
        ("deficit_efficiency = {value = 0.50", "deficit_efficiency = {value = 0.55"),
    ):
        assert old in text
        text = text.replace(old, new)
    (tmp_path / "irt.toml").write_text(text)
    (tmp_path / "typology.toml").write_text((ROOT / "scenarios/theory/typology.toml").read_text())
    strict = load_theory(tmp_path / "irt.toml")
    runs = [(spec, 1), (dataclasses.replace(spec, theory=strict), 2), (spec, 3)]
    shared = RatingBands.batch(len(runs))
    reference = [OneByOne() for _ in runs]
    out = sim.run_many(runs, observers=[[a, b] for a, b in zip(shared, reference, strict=True)])
    for r in out:
        got, want = r.observed
        assert got.shape == (15, len(BAND_METRICS))
        np.testing.assert_array_equal(got, want)
    assert not np.array_equal(out[0].observed[0][:, 0], out[1].observed[0][:, 0])  # its own lines count
    alone = sim.run(runs[1][0], 2, observers=[RatingBands()]).observed[0]
    np.testing.assert_array_equal(alone, out[1].observed[0])


def test_the_theory_refuses_rating_lines_out_of_order(tmp_path):
    text = (ROOT / "scenarios/theory/irt.toml").read_text()
    bad = tmp_path / "irt.toml"
    bad.write_text(text.replace("outstanding_quality = {value = 0.75", "outstanding_quality = {value = 0.50"))
    (tmp_path / "typology.toml").write_text((ROOT / "scenarios/theory/typology.toml").read_text())
    with pytest.raises(ConfigError, match=r"ordered inadequate_quality < good_quality <= outstanding_quality"):
        load_theory(bad)


def test_one_run_and_the_batched_path_count_the_same_and_bands_add_up():
    spec = dataclasses.replace(load_scenario(str(ROOT / "scenarios/mandated_mergers.toml")).spec, horizon=18)
    fn = UnitsRun()
    alone = [fn(spec, seed) for seed in (1, 2)]
    together = fn.many([(spec, 1), (spec, 2)])
    for a, b in zip(alone, together, strict=True):
        for name in BAND_METRICS:
            np.testing.assert_array_equal(a.series[name].to_numpy(), b.series[name].to_numpy())
        assert a.series["share_outstanding"].between(0, 1).all()
        assert a.series["sector_surplus_gbp_m"].abs().gt(0).all()
    long = together[0].series.melt(id_vars=["step", "date"], var_name="metric", value_name="value")
    long = long.assign(scenario="s", point=0, replicate=0, seed=1)
    wide = with_units(long).pivot_table(index="step", columns="metric", values="value")
    bands = wide[["share_outstanding", "share_good", "share_requires_improvement", "share_inadequate"]]
    np.testing.assert_allclose(bands.sum(axis=1), 1.0)
    assert (wide["share_good"] + wide["share_outstanding"]).to_numpy() == pytest.approx(
        wide["share_good_or_outstanding"].to_numpy()
    )


# -- verdicts and clipping -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("outcome", "diff", "low", "high", "mid", "expected"),
    [
        ("share_in_deficit", -0.03, -0.05, -0.01, 0.01, "better"),  # lower is better, excludes zero, >= MID
        ("share_in_deficit", 0.03, 0.01, 0.05, 0.01, "worse"),
        ("share_in_deficit", -0.005, -0.008, -0.002, 0.01, "no material difference"),  # excludes zero, < MID
        ("share_in_deficit", -0.03, -0.07, 0.01, 0.01, "no material difference"),  # interval includes zero
        ("sector_surplus_gbp_m", 150.0, 60.0, 240.0, 100.0, "better"),
        ("sector_surplus_gbp_m", 90.0, 60.0, 120.0, 100.0, "no material difference"),
        ("partnerships_active", 3.0, 1.0, 5.0, 0.0, "higher"),  # neither good nor bad
    ],
)
def test_verdict_needs_an_interval_excluding_zero_and_a_difference_of_at_least_the_mid(
    outcome, diff, low, high, mid, expected
):
    row = {"outcome": outcome, "diff": diff, "diff_low": low, "diff_high": high, "mid": mid}
    assert verdict(row) == expected


def test_intervals_are_clipped_to_what_is_possible():
    assert clip_interval("share_in_deficit", -0.002, 0.01) == (0.0, 0.01)
    assert clip_interval("rtt_18_weeks_pct", 95.0, 101.0) == (95.0, 100.0)
    assert clip_interval("sector_surplus_gbp_m", -500.0, 100.0) == (-500.0, 100.0)  # money may be negative
    rows = []
    for r in range(6):  # a share that is almost always 0: the t interval reaches below 0
        for scen in ("baseline", "policy"):
            rows.append((scen, 0, r, r, 12, "m12", "share_special_measures", 0.01 if r == 0 else 0.0))
    series = pd.DataFrame(rows, columns=["scenario", "point", "replicate", "seed", "step", "date", "metric", "value"])
    table = comparison_table(series, outcomes=["share_special_measures"], horizons=[12])
    assert (table["low"] >= 0).all()
    assert "-" not in format_interval("share_special_measures", table["low"].iloc[0], table["high"].iloc[0])


def test_cmoc_shares_never_print_a_negative_interval():
    for n in (7, 9, 14, 40):  # unclipped, rounding puts the low end of 0 of 7 at -2.8e-17
        low, high = wilson(0, n)
        assert low == 0.0 and 0 < high < 0.4
    assert wilson(7, 7)[1] <= 1.0
    tables = type(
        "T",
        (),
        {
            "configurations": pd.DataFrame(
                {
                    "ctx_mandate": ["voluntary"],
                    "n": [40],
                    "dissolved": [0.0],
                    "dissolved_lo": [-1e-17],
                    "dissolved_hi": [0.0876],
                    "demi_regularity": [""],
                }
            ),
            "one_way": pd.DataFrame(),
            "paired": False,
            "n": 40,
            "statements": [],
        },
    )()
    text = cmoc_html(tables)  # type: ignore[arg-type]
    assert "-0.000" not in text and "[0.000, 0.088]" in text


# -- the headline across horizons ------------------------------------------------------------------
def _table(rows):
    base = {"baseline": "baseline", "level": 0.95, "n": 20, "n_pairs": 20, "mean": 0.5, "low": 0.4, "high": 0.6}
    return pd.DataFrame([{**base, **r} for r in rows])


def test_horizons_use_the_months_available():
    assert horizons([0, 12, 36, 60, 120]) == [
        (36, "in the short run (year 3)"),
        (60, "by year 5"),
        (120, "by year 10"),
    ]
    assert horizons([0, 12, 24]) == [(24, "in the short run (year 2)")]
    assert horizons([6]) == [(6, "by month 6")]


def test_the_headline_names_only_material_differences_per_horizon():
    rows = []
    for month, d, lo, hi, word in (
        (36, 0.041, 0.02, 0.06, "worse"),
        (60, 0.004, 0.001, 0.007, "no material difference"),
        (120, 0.0, -0.01, 0.01, "no material difference"),
    ):
        rows.append(
            {
                "outcome": "share_in_deficit",
                "month": month,
                "scenario": "mandated_mergers",
                "diff": d,
                "diff_low": lo,
                "diff_high": hi,
                "verdict": word,
            }
        )
        rows.append(
            {
                "outcome": "share_in_deficit",
                "month": month,
                "scenario": "baseline",
                "diff": np.nan,
                "diff_low": np.nan,
                "diff_high": np.nan,
                "verdict": "",
            }
        )
    table = _table(rows)
    [(scen, spans)] = headline(table)
    text = sentence(scen, spans)
    assert text == (
        "Mandated mergers: in the short run (year 3), more trusts in deficit (+4.10 pp [+2.00, +6.00]); "
        "by year 5, no material difference in the outcomes in units people use; "
        "by year 10, no material difference in the outcomes in units people use."
    )
    assert "Headline (against baseline" in format_headline(table)


# -- Excel -----------------------------------------------------------------------------------------
def test_sheet_names_are_valid_and_unique():
    names = sheet_names(
        ["Trusts rated good or outstanding (CQC)", "Trusts rated good or outstanding (CQC) too", "a/b:c*d?[e]"]
    )
    assert all(len(n) <= 31 for n in names) and len({n.lower() for n in names}) == 3
    assert not re.search(r"[\[\]:*?/\\]", "".join(names))


def test_the_workbook_has_a_sheet_per_outcome_with_units_in_the_headers(tmp_path):
    rows = []
    for scen, diff in (("baseline", np.nan), ("policy", -0.0300)):
        rows.append(
            {
                "outcome": "share_in_deficit",
                "month": 36,
                "scenario": scen,
                "mean": 0.55,
                "low": 0.5,
                "high": 0.6,
                "diff": diff,
                "diff_low": diff - 0.01,
                "diff_high": diff + 0.01,
                "mid": 0.01,
                "verdict": "" if scen == "baseline" else "better",
                "n_pairs": np.nan if scen == "baseline" else 20,
            }
        )
        rows.append(
            {
                "outcome": "sector_surplus_gbp_m",
                "month": 36,
                "scenario": scen,
                "mean": -700.0,
                "low": -800.0,
                "high": -600.0,
                "diff": diff * 1e4,
                "diff_low": np.nan,
                "diff_high": np.nan,
                "mid": 100.0,
                "verdict": "",
                "n_pairs": np.nan if scen == "baseline" else 20,
            }
        )
    path = write_xlsx(tmp_path / "t.xlsx", comparison_sheets(_table(rows)))
    book = openpyxl.load_workbook(path)
    assert book.sheetnames[0] == "Headline" and "Trusts in deficit" in book.sheetnames
    assert "Units and MIDs" in book.sheetnames
    ws = book["Trusts in deficit"]
    head = [c.value for c in ws[1]]
    assert "Mean (% of trusts)" in head and "Difference vs baseline (pp)" in head and "Verdict" in head
    assert ws[1][0].font.bold and ws.freeze_panes == "A2"
    policy = [c.value for c in ws[3]]
    assert policy[head.index("Difference vs baseline (pp)")] == pytest.approx(-3.0)
    assert policy[head.index("Mean (% of trusts)")] == pytest.approx(55.0)
    money = [c.value for c in book[book.sheetnames[2]][1]]
    assert "Mean (£m a year)" in money
