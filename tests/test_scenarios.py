"""Scenario files: validation messages for each class of error, and the scenario library.

Every file in ``scenarios/*.toml`` must validate, cite its sources and smoke-run.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from analysis.cli import main
from analysis.scenario import json_schema, load_scenario, scenario_from_dict
from sim import ConfigError, run

ROOT = Path(__file__).resolve().parents[1]
LIBRARY = sorted((ROOT / "scenarios").glob("*.toml"))
REQUIRED = {  # the policy scenarios of docs/evidence.md#policy-scenarios
    "baseline",
    "mandated_mergers",
    "mandated_buddying",
    "group_model",
    "management_contracts",
    "provider_collaboratives",
    "voluntary_partnering",
    "fast_approvals",
    "slow_approvals",
    "workforce_shock",
}


def base(**extra: object) -> dict:
    return {"name": "t", "description": "a test scenario", **extra}


# -- validation messages ---------------------------------------------------------------------
def test_unknown_key_names_file_path_and_suggests() -> None:
    with pytest.raises(ConfigError) as err:
        scenario_from_dict(base(levers={"failure_regime": {"interventon": "merger"}}), path="x.toml")
    msg = str(err.value)
    assert "x.toml" in msg and "levers.failure_regime.interventon" in msg
    assert "did you mean 'intervention'" in msg and "Valid choices:" in msg


def test_unknown_section_suggests() -> None:
    with pytest.raises(ConfigError) as err:
        scenario_from_dict(base(lever={}), path="x.toml")
    assert "did you mean 'levers'" in str(err.value)


def test_wrong_type_names_expected_type() -> None:
    with pytest.raises(ConfigError) as err:
        scenario_from_dict(base(levers={"failure_regime": {"enabled": "yes"}}), path="x.toml")
    msg = str(err.value)
    assert "levers.failure_regime.enabled" in msg and "expected true or false" in msg and "'yes'" in msg
    with pytest.raises(ConfigError, match="expected a whole number"):
        scenario_from_dict(base(horizon=12.5), path="x.toml")


def test_out_of_range_names_bounds() -> None:
    with pytest.raises(ConfigError) as err:
        scenario_from_dict(base(levers={"support_fund": {"share": 1.5}}), path="x.toml")
    msg = str(err.value)
    assert "levers.support_fund.share" in msg and "out of range [0.0, 1.0]" in msg and "1.5" in msg
    with pytest.raises(ConfigError, match="outside the declared range"):
        scenario_from_dict(base(uncertainties={"effect_overrides": {"partnering.synergy": 99.0}}), path="x.toml")


def test_unknown_partnership_type_lists_types() -> None:
    with pytest.raises(ConfigError) as err:
        scenario_from_dict(base(levers={"failure_regime": {"enabled": True, "intervention": "mergr"}}), path="x.toml")
    msg = str(err.value)
    assert "unknown partnership type" in msg and "did you mean 'merger'" in msg and "buddying" in msg
    with pytest.raises(ConfigError, match="unknown partnership type"):
        scenario_from_dict(base(levers={"voluntary": {"type_mix": {"alliance": 1.0}}}), path="x.toml")


def test_cli_validate_reports_bad_file_with_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "b"\ndescription = "d"\n[levers.approval]\nmonths = "soon"\n')
    assert main(["validate", str(ROOT / "scenarios" / "baseline.toml"), str(bad)]) == 2
    err = capsys.readouterr().err
    assert "levers.approval.months" in err and "Traceback" not in err


def test_schema_is_json_and_lists_levers(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema == json_schema()
    assert (
        "merger" in schema["properties"]["levers"]["properties"]["failure_regime"]["properties"]["intervention"]["enum"]
    )


def test_start_partnerships_is_a_scenario_key() -> None:
    assert load_scenario(ROOT / "scenarios" / "baseline.toml").spec.start_partnerships == "2022"
    assert scenario_from_dict(base(start_partnerships="none"), path="x.toml").spec.start_partnerships == "none"
    with pytest.raises(ConfigError) as err:
        scenario_from_dict(base(start_partnerships="2020"), path="x.toml")
    msg = str(err.value)
    assert "x.toml" in msg and "start_partnerships" in msg and "'2020'" in msg and "none" in msg
    with pytest.raises(ConfigError, match="expected a string"):
        scenario_from_dict(base(start_partnerships=2022), path="x.toml")
    prop = json_schema()["properties"]["start_partnerships"]
    assert prop["enum"] == ["2022", "none"] and prop["default"] == "2022"
    # a run from an empty start has no partnership at month 0; the default start has the July 2022 ones
    empty = run(scenario_from_dict(base(start_partnerships="none", horizon=1)).spec, 3)
    full = run(scenario_from_dict(base(horizon=1)).spec, 3)
    assert empty.series["partnerships_active"].iloc[0] == 0 < full.series["partnerships_active"].iloc[0]


def test_the_plan_tells_an_empty_start_from_the_2022_one() -> None:
    from analysis.plan import spec_digest

    default = scenario_from_dict(base()).spec
    assert spec_digest(default) != spec_digest(dataclasses.replace(default, start_partnerships="none"))


def test_sim_run_takes_a_scenario_path() -> None:
    path = ROOT / "scenarios" / "mandated_mergers.toml"
    by_path = run(str(path), 5, 6)
    by_spec = run(load_scenario(path).spec, 5, 6)
    assert by_path.name == "mandated_mergers"
    assert by_path.series.equals(by_spec.series)
    assert run(path, 5, 6).series.equals(by_spec.series)  # a Path too
    with pytest.raises(ConfigError, match="file not found"):
        run("scenarios/no_such_file.toml", 1, 1)


# -- the library -------------------------------------------------------------------------------
def test_library_has_the_issue_scenarios() -> None:
    assert REQUIRED <= {p.stem for p in LIBRARY}


@pytest.mark.parametrize("path", LIBRARY, ids=[p.stem for p in LIBRARY])
def test_scenario_file_validates_and_smoke_runs(path: Path) -> None:
    scen = load_scenario(path)
    assert scen.name == path.stem
    assert scen.description and scen.rationale and scen.sources
    assert any("evidence.md#" in s or "design.md" in s for s in scen.sources)
    spec = dataclasses.replace(scen.spec, horizon=6, n_providers=40)
    result = run(spec, seed=1)
    assert len(result.series) == 7
    values = result.series[["mean_quality", "mean_efficiency", "mean_access"]].to_numpy()
    assert np.isfinite(values).all() and ((values >= 0) & (values <= 1)).all()


def test_policy_files_differ_from_baseline_only_in_their_levers() -> None:
    baseline = load_scenario(ROOT / "scenarios" / "baseline.toml")
    for path in LIBRARY:
        scen = load_scenario(path)
        assert scen.spec.horizon == baseline.spec.horizon and scen.spec.start == baseline.spec.start
        if scen.name == "workforce_shock":  # an uncertainty, not a lever
            assert scen.spec.levers == baseline.spec.levers
            assert scen.spec.uncertainties.workforce_shock.size > 0
        elif scen.name != "baseline":
            assert scen.spec.levers != baseline.spec.levers
            assert scen.spec.uncertainties == baseline.spec.uncertainties


def test_approval_files_bracket_the_range() -> None:
    fast = load_scenario(ROOT / "scenarios" / "fast_approvals.toml").spec.levers
    slow = load_scenario(ROOT / "scenarios" / "slow_approvals.toml").spec.levers
    assert fast.approval.months == 12 and 48 <= (slow.approval.months or 0) <= 60
    assert fast.failure_regime == slow.failure_regime and fast.failure_regime.intervention == "merger"
