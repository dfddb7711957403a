"""The dashboard's settings without a browser: controls, theory edits, saved scenario files, results folders."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from analysis.faces.dashboard import jobs
from analysis.faces.dashboard.editing import CONFLICT, DELAYS, OTHER, STRENGTHS, editables, edited_rows, grouped
from analysis.faces.dashboard.model import (
    DashboardModel,
    initial_values,
    library_scenarios,
    scenario_library,
    watch_controls,
    watch_spec,
    with_edits,
)
from analysis.faces.dashboard.saving import SaveError, changes, save_scenario, toml_text
from analysis.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]
LAG = "edge.governance->culture.lag"
MECHANISM = "mechanism.conflict_rate"


@pytest.fixture(scope="module")
def lib():
    return library_scenarios()


def test_controls_left_where_they_start_run_the_scenario_unchanged(lib):
    for scen in lib.values():
        assert watch_spec(scen, initial_values(watch_controls(scen))) == scen.spec, scen.name


def test_each_control_changes_what_it_names(lib):
    scen = lib["baseline"]
    values = initial_values(watch_controls(scen))
    spec = watch_spec(
        scen,
        {
            **values,
            "failure_regime": "merger",
            "voluntary": True,
            "approval": "24 months",
            "support_fund_share": 0.5,
            "workforce_shock": 0.1,
            "partnering.synergy": 0.05,
        },
    )
    lv, un = spec.levers, spec.uncertainties
    assert (lv.failure_regime.enabled, lv.failure_regime.intervention) == (True, "merger")
    assert lv.voluntary.enabled and lv.approval.months == 24.0 and lv.support_fund.share == 0.5
    assert un.workforce_shock.size == 0.1 and un.financial_squeeze.size == 0.0
    assert un.effect_overrides == {"partnering.synergy": 0.05}
    assert not lv.collaborative_duty.enabled


def test_theory_edits_reach_the_watched_model_and_win_over_the_scenarios_own(lib):
    scen = lib["baseline"]
    own = dataclasses.replace(
        scen,
        spec=dataclasses.replace(
            scen.spec,
            uncertainties=dataclasses.replace(scen.spec.uncertainties, effect_overrides={LAG: 9.0, MECHANISM: 0.1}),
        ),
    )
    edited = with_edits(own, {LAG: 20.0})
    assert edited.spec.uncertainties.effect_overrides == {LAG: 20.0, MECHANISM: 0.1}
    model = DashboardModel(str(scen.path), theory_edits={LAG: 20.0, MECHANISM: 0.2})
    assert model.theory.v(LAG) == 20.0 and model.theory.v(MECHANISM) == 0.2
    assert DashboardModel(str(scen.path)).theory.v(LAG) == model.spec.theory.v(LAG) != 20.0


def test_a_saved_scenario_validates_and_loads_back_as_what_ran(lib, tmp_path):
    scen = lib["mandated_buddying"]
    values = {**initial_values(watch_controls(scen)), "voluntary": True, "workforce_shock": 0.05}
    spec = watch_spec(scen, {**values, "theory_edits": {LAG: 18.0, MECHANISM: 0.25}})
    path = save_scenario(scen, spec, name="buddying_plus", description="", folder=tmp_path, taken=lib)
    assert path == tmp_path / "buddying_plus.toml"
    back = load_scenario(path)
    assert (back.spec.levers, back.spec.uncertainties) == (spec.levers, spec.uncertainties)
    assert (back.spec.horizon, back.spec.start, back.spec.population) == (spec.horizon, spec.start, spec.population)
    assert "voluntary partnering under pressure" in back.description and back.name == "buddying_plus"
    model = DashboardModel(str(path))
    assert model.theory.v(LAG) == 18.0 and model.theory.v(MECHANISM) == 0.25
    cli = subprocess.run(
        [sys.executable, "-m", "analysis.cli", "validate", str(path)], capture_output=True, text=True, cwd=ROOT
    )
    assert cli.returncode == 0 and "ok" in cli.stdout, cli.stdout + cli.stderr


def test_saving_never_replaces_a_file_unasked_and_rejects_bad_or_library_names(lib, tmp_path):
    scen = lib["baseline"]
    kw = {"description": "first", "folder": tmp_path, "taken": lib}
    path = save_scenario(scen, scen.spec, name="mine", **kw)
    with pytest.raises(FileExistsError):
        save_scenario(scen, scen.spec, name="mine", **{**kw, "description": "second"})
    assert load_scenario(path).description == "first"
    save_scenario(scen, scen.spec, name="mine", overwrite=True, **{**kw, "description": "second"})
    assert load_scenario(path).description == "second"
    for bad in ("", "Has Spaces", "../escape", "a" * 65, "baseline"):
        with pytest.raises(SaveError):
            save_scenario(scen, scen.spec, name=bad, **kw)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine.toml"]


def test_paths_in_a_saved_scenario_are_relative_to_where_it_is_saved(lib, tmp_path):
    theories = tmp_path / "theories"
    theories.mkdir()
    for name in ("irt.toml", "typology.toml"):
        (theories / name).write_text((ROOT / "scenarios" / "theory" / name).read_text())
    source = tmp_path / "library"
    source.mkdir()
    text = (
        (ROOT / "scenarios" / "mandated_mergers.toml")
        .read_text()
        .replace('name = "mandated_mergers"', 'name = "custom"\ntheory = "../theories/irt.toml"')
    )
    (source / "custom.toml").write_text(text)
    scen = load_scenario(source / "custom.toml")
    saved = save_scenario(scen, scen.spec, name="copy", description="", folder=tmp_path / "a" / "b", taken=lib)
    raw = tomllib.loads(saved.read_text())
    assert raw["theory"] == "../../theories/irt.toml"
    assert load_scenario(saved).spec.theory.digest() == scen.spec.theory.digest()
    assert Path(load_scenario(saved).theory_path) == (theories / "irt.toml").resolve()


def test_saved_scenarios_join_the_library_offered_by_every_page(lib, tmp_path, monkeypatch):
    monkeypatch.setenv("PARTNERSIM_DASHBOARD_RESULTS", str(tmp_path))
    assert "mine" not in scenario_library()
    save_scenario(
        lib["baseline"], lib["baseline"].spec, name="mine", description="d", folder=tmp_path / "scenarios", taken=lib
    )
    offered = scenario_library()
    assert list(offered)[: len(lib)] == ["baseline", *sorted(n for n in lib if n != "baseline")]
    assert list(offered)[-1] == "mine"


def test_changes_are_described_in_words(lib):
    scen = lib["baseline"]
    assert changes(scen, scen.spec) == []
    spec = watch_spec(scen, {"failure_regime": "buddying", "support_fund_share": 0.4, "theory_edits": {LAG: 12.0}})
    words = changes(scen, spec)
    assert words[0] == "failing trusts get a mandated buddying"
    assert "a support fund meets 40% of transition costs" in words
    assert words[-1] == "1 theory value(s) changed (Delay of Governance → Culture 12)"


def test_toml_quotes_keys_that_need_it_and_reads_back():
    data = {"a": 1, "t": {"x": True, "edge.a->b.lag": 2.5, "s": 'say "hi"', "l": ["p", "q"]}, "u": {"v": {"w": 0.1}}}
    assert tomllib.loads(toml_text(data, "header")) == data


def test_every_lag_and_mechanism_parameter_is_editable_in_plain_words(theory):
    items = editables(theory)
    by_param = {e.param: e for e in items}
    for name, p in theory.params.items():
        editable = p.uncertain and (name.startswith("mechanism.") or name.startswith("edge."))
        assert (name in by_param) == editable, name
        if editable:
            e = by_param[name]
            assert (e.low, e.high) == (p.low, p.high) and e.low <= e.snap(p.default) <= e.high
            assert e.group != OTHER and "_" not in e.label, f"{name}: give it a plain label in editing.MECHANISMS"
    assert all(e.unit == "months" for e in items if e.group == DELAYS)
    assert {STRENGTHS, DELAYS, CONFLICT} <= set(grouped(items))
    assert by_param[LAG].snap(99) == by_param[LAG].high and by_param["mechanism.inertia_months"].step == 1.0
    rows = edited_rows({MECHANISM: 0.2, LAG: 12.0}, theory)
    assert rows[0][0] == "Delay of Governance → Culture" and rows[1][1:3] == (0.15, 0.2)


def test_comparisons_are_kept_under_results_dashboard(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PARTNERSIM_DASHBOARD_RESULTS", raising=False)
    req = jobs.CompareRequest("baseline", ("mandated_mergers",))
    first = jobs.new_folder(req)
    assert first.parent == Path("results") / "dashboard" / "compare" and first.name.endswith(
        "_baseline_vs_mandated_mergers"
    )
    first.mkdir()
    assert jobs.new_folder(req) != first


def test_the_comparison_panel_shows_units_first_with_verdicts_and_the_headline(tmp_path):
    from analysis.faces.report import comparison_html_table, horizon_html
    from analysis.studies.compare import UNIT_METRICS

    req = jobs.CompareRequest("baseline", ("mandated_mergers",), replicates=3, horizon=36)
    result = jobs.run_comparison(req, out=tmp_path / "exp")
    outcomes = list(dict.fromkeys(result.table["outcome"]))
    assert outcomes[: len(UNIT_METRICS)] == list(UNIT_METRICS)  # units people use first, indices after
    policy = result.table[result.table["scenario"] == "mandated_mergers"]
    assert policy["verdict"].isin(["better", "worse", "no material difference"]).all()
    assert policy.loc[policy["outcome"] == "sector_surplus_gbp_m", "mean"].notna().all()
    page = comparison_html_table(result.table, month=36)
    assert page.index('data-outcome="share_inadequate"') < page.index('data-outcome="mean_quality"')
    assert "a difference matters from £100m" in page and "verdict</th>" in page
    assert horizon_html(result.table).startswith('<ul class="horizons"><li data-policy="mandated_mergers">')
