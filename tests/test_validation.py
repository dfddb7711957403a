"""Validation against the evidence (analysis/studies/validation/).

Every check must be able to fail: each is run under its *falsifier* (theory values that
violate the fact it encodes; values outside the declared ranges come from a test-only copy of
the theory with widened ranges) and must fail. Every emergent check must pass under the default
theory (there is no list of exempted checks); checks that hold by construction are reported
apart and never counted.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from analysis.paired import SimOut
from analysis.studies.validation import (
    CHECKS,
    NOT_TESTED,
    Evidence,
    evaluate,
    format_table,
    run_evidence,
    seeds_for,
    select_checks,
    spells_from_history,
    stat_merger_no_gain,
    validate,
    validation_html,
)
from sim import ConfigError, Theory, load_theory

REPS = 2  # falsifier runs: a violated fact shows clearly
TABLE_REPS = 4  # the default theory's table: enough replicates for the count-based bands
# A cross-sectional comparison needs more partnerships to separate a small residual association
# (about -0.001 with the culture arrows removed) from the threshold (-0.005).
FALSIFIER_REPS = {"culture_fit_matters": 8}
BY_CONSTRUCTION = {"start_share_good", "start_share_deficit", "start_share_special_measures", "trust_builds_slowly"}


def widened(theory: Theory, values: dict[str, float]) -> Theory:
    """A test-only copy of ``theory`` whose declared ranges are widened to admit ``values``."""
    params = dict(theory.params)
    for name, v in values.items():
        p = params[name]
        params[name] = dataclasses.replace(p, low=min(p.low, v), high=max(p.high, v))
    return dataclasses.replace(theory, params=params).with_values(values)


def run_check(name: str, values: dict[str, float]) -> pd.Series:
    check = select_checks([name])[0]
    th = widened(load_theory(), values)
    ev = run_evidence(th, check.studies, seeds_for(FALSIFIER_REPS.get(name, REPS)))
    return evaluate([check], ev).iloc[0]


@pytest.fixture(scope="module")
def default_result():
    return validate(reps=TABLE_REPS)


def test_default_theory_table(default_result):
    t = default_result.table
    assert list(t["check"]) == [c.name for c in CHECKS]
    assert set(t["result"]) <= {"pass", "fail"}
    assert t["value"].notna().all()
    failing = [
        (r["check"], r["model"], r["band"]) for _, r in default_result.emergent.iterrows() if r["result"] != "pass"
    ]
    assert not failing, failing
    assert default_result.n_pass == default_result.n_checks == len(CHECKS) - len(BY_CONSTRUCTION)
    assert set(default_result.by_construction["check"]) == BY_CONSTRUCTION
    text = format_table(default_result)
    assert "sm_exit_mean_months" in text and "By construction" in text
    assert default_result.status().startswith(f"{default_result.n_checks} of {default_result.n_checks}")
    html = validation_html(default_result, compare=default_result)
    assert html.count("<tr>") == len(t) + 1 and "Not tested" in html


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.name)
def test_check_fails_when_the_model_violates_it(check):
    row = run_check(check.name, check.falsifier)
    assert row["result"] == "fail", (check.name, row["model"], row["band"])


def test_by_construction_checks_are_not_counted():
    """A failing by-construction check changes neither the count of passes nor of failures."""
    res = validate(reps=1, checks=["trust_builds_slowly", "start_share_deficit"], workers=1)
    assert res.n_checks == 0 and res.n_pass == 0 and res.n_fail == 0
    bad = validate(
        widened(load_theory(), {"mechanism.trust_build": 0.3, "mechanism.trust_erosion": 0.08}),
        reps=1,
        checks=["trust_builds_slowly"],
        workers=1,
    )
    assert bad.table["result"].tolist() == ["fail"] and bad.n_fail == 0 and bad.failing == []


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.name)
def test_falsifier_flags_values_outside_the_declared_ranges_honestly(check):
    th = load_theory()
    outside = any(not (th.params[k].low <= v <= th.params[k].high) for k, v in check.falsifier.items())
    assert check.falsifier, "every check needs a falsifier"
    assert outside == check.falsifier_widens


def _fake_merger_runs(year4: list[float]) -> Evidence:
    """Synthetic runs: one merger per value, members' efficiency shifted by it from completion on."""
    months, n = 121, 2 * len(year4)
    base = np.full((months, n, 1), 0.5, dtype=np.float32)
    pol = base.copy()
    rows = []
    for k, v in enumerate(year4):
        pol[10:, [2 * k, 2 * k + 1], 0] += v
        rows.append(
            {
                "type": "merger",
                "mandated": True,
                "start_month": 0,
                "members": f"{2 * k} {2 * k + 1}",
                "completion_month": 8,
                "operating_month": 20,
            }
        )
    log = pd.DataFrame(rows)

    def out(levels: np.ndarray, lg: pd.DataFrame) -> SimOut:
        return SimOut(
            key="x",
            seed=1,
            series=pd.DataFrame(),
            log=lg,
            spells=pd.DataFrame(),
            levels=levels,
            domains=("efficiency",),
        )

    class Runs:
        def get(self, study: str, seed: int) -> SimOut:
            return out(pol, log) if study == "mergers" else out(base, log.iloc[0:0])

    th = load_theory()
    th = dataclasses.replace(th, roles={**th.roles, "efficiency": "efficiency"})
    return Evidence(th, Runs(), [1])  # type: ignore[arg-type]


def test_merger_no_gain_statistic_counts_mergers_without_gain():
    """The statistic on planted runs: 9 of 10 mergers without gain passes, 0 of 10 fails."""
    ev = _fake_merger_runs([-0.01] * 8 + [0.0] + [0.02])
    check = select_checks(["merger_no_financial_gain"])[0]
    assert stat_merger_no_gain(ev) == pytest.approx(0.9)
    assert check.passes(stat_merger_no_gain(ev))
    assert not check.passes(stat_merger_no_gain(_fake_merger_runs([0.01] * 10)))


def test_spells_from_history():
    in_sm = np.zeros((10, 3), dtype=bool)
    in_sm[0:4, 0] = True  # starts in special measures: not an entry
    in_sm[2:5, 1] = True  # entered month 2, left month 5
    in_sm[7:, 1] = True  # re-entered month 7, still in
    in_sm[6:8, 2] = True
    sp = spells_from_history(in_sm)
    assert sp.values.tolist() == [[1, 2, 5.0], [1, 7, np.nan], [2, 6, 8.0]] or (
        sp.fillna(-1).values.tolist() == [[1, 2, 5.0], [1, 7, -1.0], [2, 6, 8.0]]
    )


def test_unknown_check_is_a_config_error():
    with pytest.raises(ConfigError, match="did you mean"):
        select_checks(["sm_exit_mean_month"])
    assert len(NOT_TESTED) >= 8 and all(reason for _, reason in NOT_TESTED)


def test_validate_theory_command(tmp_path, capsys):
    from analysis.cli import main

    out = tmp_path / "val"
    assert (
        main(
            [
                "validate-theory",
                "--checks",
                "trust_builds_slowly,start_share_deficit",
                "--reps",
                "1",
                "--workers",
                "1",
                "--out",
                str(out),
                "--compare",
                "scenarios/theory/irt.toml",
            ]
        )
        == 0
    )
    text = capsys.readouterr().out
    assert "trust_builds_slowly" in text and "side by side" in text
    table = pd.read_csv(out / "validation.csv")
    assert list(table["check"]) == ["trust_builds_slowly", "start_share_deficit"]
    from analysis.studies.validation import load_validation  # the report reads saved results back

    saved = load_validation(out)
    assert list(saved.table["result"]) == list(table["result"]) and "<table>" in validation_html(saved)
    assert main(["validate-theory", "--checks", "nope"]) == 2


def test_every_check_cites_the_evidence_file():
    """Each check's ``fact`` names entries of docs/evidence.md that exist (no claim outside the repository)."""
    import re
    from pathlib import Path

    keys = set(
        re.findall(r'id="([a-z0-9-]+)"', (Path(__file__).resolve().parents[1] / "docs" / "evidence.md").read_text())
    )
    for c in CHECKS:
        cited = re.findall(r"evidence\.md#([a-z0-9-]+)", c.fact)
        assert cited, (c.name, c.fact)
        assert set(cited) <= keys, (c.name, set(cited) - keys)
