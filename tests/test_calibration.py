"""Calibration (analysis/calibration.py): ABC rejection recovers a known parameter on a toy target."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.studies.calibration import (
    calibrate,
    latin_hypercube,
    locate,
    rewrite,
    select_params,
    write_record,
    write_theory,
)
from analysis.studies.validation import Check, run_evidence, seeds_for
from sim import ConfigError, load_theory

TRUE = 0.57
NUISANCE = "domain.access.init_mean"


def mean_quality_at_start(ev) -> float:
    """Toy statistic: population mean quality at month 0 (moves one for one with its init_mean)."""
    return float(np.mean([ev.run("baseline", s).series["mean_quality"].iloc[0] for s in ev.seeds]))


def toy_target(observed: float) -> Check:
    return Check(
        "toy_mean_quality",
        "toy",
        "test",
        "test",
        f"{observed:.4f}",
        observed,
        observed - 0.002,
        observed + 0.002,
        "range",
        "index",
        "mean quality at month 0",
        ("baseline",),
        mean_quality_at_start,
    )


def test_calibration_recovers_a_known_parameter(tmp_path):
    theory = load_theory()
    seeds = seeds_for(2, 11)
    truth = theory.with_values({"domain.quality.init_mean": TRUE})
    observed = mean_quality_at_start(run_evidence(truth, ["baseline"], seeds, workers=1, horizon=1))
    res = calibrate(
        theory,
        targets=[toy_target(observed)],
        params=["domain.quality.init_mean", NUISANCE],
        budget=40,
        reps=2,
        seed=11,
        horizon=1,
        workers=1,
        refine_reps=2,
    )
    row = res.params.set_index("param")
    q = row.loc["domain.quality.init_mean"]
    assert q["narrowed"]
    assert q["low"] <= TRUE <= q["high"] and q["high"] - q["low"] < 0.02
    assert abs(q["default"] - TRUE) < 0.01 and q["low"] <= q["default"] <= q["high"]
    assert not row.loc[NUISANCE, "narrowed"]  # the target says nothing about access
    assert res.n_accepted >= 5
    acc = res.samples[res.samples["accepted"]]
    assert acc["distance"].max() == pytest.approx(res.epsilon)
    assert acc["refined_distance"].notna().all()  # accepted points re-run on fresh replicates
    assert res.samples.loc[~res.samples["accepted"], "refined_distance"].isna().all()
    # the calibrated theory file round-trips, records how it was found, and loads with its typology
    out = write_theory(res, tmp_path / "toy_calibrated.toml", record=tmp_path / "rec", command="test")
    text = out.read_text()
    assert "# Method: approximate Bayesian computation by rejection" in text
    assert "# Targets (1): toy_mean_quality" in text and "# Budget: 40 design points" in text
    th = load_theory(out)
    p = th.params["domain.quality.init_mean"]
    assert (p.low, p.high) == pytest.approx((q["low"], q["high"]), rel=1e-5)
    assert th.v("domain.quality.init_mean") == pytest.approx(q["default"], rel=1e-5)
    assert th.params[NUISANCE].low == theory.params[NUISANCE].low
    assert th.type_names == theory.type_names and th.meta["name"].endswith("-calibrated")
    paths = write_record(res, tmp_path / "rec")
    assert all(p.exists() for p in paths)


def test_latin_hypercube_respects_ranges_and_whole_numbers(theory):
    names = ["regulation.sm_exit_months", "type.merger.transition_months", "partnering.synergy"]
    d = latin_hypercube(theory, names, 50, 3)
    for n in names:
        p = theory.params[n]
        assert d[n].between(p.low, p.high).all()
    assert (d["regulation.sm_exit_months"] % 1 == 0).all() and (d["type.merger.transition_months"] % 1 == 0).all()
    # one point per stratum: every tenth of the range of a continuous parameter holds 5 points
    p = theory.params["partnering.synergy"]
    counts = np.histogram(d["partnering.synergy"], bins=10, range=(p.low, p.high))[0]
    assert (counts == 5).all()


def test_rewrite_changes_only_the_named_entries():
    text = (
        '[domains.quality]\ntier = "outcome"\nrate = {default = 0.15, low = 0.08, high = 0.30, source = "a"}\n'
        '[[edges]]\nsource = "governance"\ntarget = "culture"\nweight = {default = 0.35, low = 0.1, high = 0.6, '
        'source = "b"}\n[[edges]]\nsource = "leadership"\ntarget = "culture"\n'
        'weight = {default = 0.45, low = 0.15, high = 0.7, source = "c", unit = "u"}\n'
    )
    new, done = rewrite(
        text,
        {
            ("domains.quality", "rate"): {"default": 0.1, "low": 0.09, "high": 0.12},
            ("edge:leadership->culture", "weight"): {"default": 0.5, "low": 0.5, "high": 0.5},
        },
        "calibrated",
    )
    assert done == {("domains.quality", "rate"), ("edge:leadership->culture", "weight")}
    assert 'rate = {default = 0.1, low = 0.09, high = 0.12, source = "a; calibrated"}' in new
    assert 'weight = {default = 0.35, low = 0.1, high = 0.6, source = "b"}' in new
    assert 'weight = {value = 0.5, unit = "u", source = "c; calibrated"}' in new
    assert locate("edge.governance->culture.lag") == ("theory", "edge:governance->culture", "lag")
    assert locate("type.merger.transition_months") == ("typology", "types.merger", "transition_months")
    assert locate("mechanism.trust_build") == ("theory", "mechanisms", "trust_build")


def test_unknown_parameter_pattern_is_a_config_error(theory):
    with pytest.raises(ConfigError, match="matches no uncertain parameter"):
        select_params(theory, ["regulation.sm_exit_month"])
    assert "partnering.synergy" in select_params(theory, ["partnering.syn*"])
