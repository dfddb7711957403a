"""The HTML report: same numbers as `partnersim compare`, self-contained, clear errors on bad folders."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from html import unescape
from pathlib import Path

import pytest

from analysis.cli import main
from analysis.studies.compare import OUTCOME_METRICS

ROOT = Path(__file__).resolve().parents[1]
SMALL = """
[population]
n_providers = 48
n_ics = 8
"""


def small_scenarios(folder: Path) -> list[Path]:
    """Baseline and mandated mergers on a small population (fast), 24 months."""
    out = []
    for name in ("baseline", "mandated_mergers"):
        text = (ROOT / "scenarios" / f"{name}.toml").read_text()
        text = text.replace("horizon = 120", "horizon = 24")
        path = folder / f"{name}.toml"
        path.write_text(_with_population(text))
        out.append(path)
    return out


def _with_population(text: str) -> str:
    """Insert the small [population] table before the first table of a scenario file."""
    i = text.find("\n[")
    return text + SMALL if i < 0 else text[:i] + "\n" + SMALL + text[i:]


@pytest.fixture(scope="module")
def compared(tmp_path_factory):
    """A two-scenario experiment made by `partnersim compare`, and what it printed."""
    tmp = tmp_path_factory.mktemp("report")
    files = small_scenarios(tmp)
    out = tmp / "exp"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "analysis.cli",
            "compare",
            *map(str, files),
            "--reps",
            "4",
            "--horizons",
            "12,24",
            "--out",
            str(out),
            "--workers",
            "1",
            "--no-figures",
            "--report",
            "--xlsx",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return out, proc.stdout


@pytest.fixture(scope="module")
def report(compared):
    """The report `compare --report` wrote beside the data (the main job's path)."""
    exp, printed = compared
    assert "report:  report.html" in printed
    return exp / "report.html"


def compare_rows(text: str) -> set[tuple[str, ...]]:
    """(outcome, month, scenario, mean, interval, difference, interval) from compare's printed table."""
    rows: set[tuple[str, ...]] = set()
    outcome, month = "", ""
    for line in text.splitlines():
        if re.match(r"^\S.*\((index|share|%|count|£m)", line):
            outcome = line.strip()
            continue
        cells = re.split(r"\s{2,}", line.strip())
        if not outcome or len(cells) < 4 or cells[0] in ("month", "-----") or set(cells[0]) == {"-"}:
            continue
        if cells[0].isdigit() and not line.startswith("         "):
            month, cells = cells[0], cells[1:]
        scenario, mean, ci, *rest = cells
        diff, dci = (rest[0], rest[1]) if len(rest) >= 3 else ("", "")
        rows.add((outcome, month, scenario, mean, ci, diff, dci))
    return rows


def report_rows(html_text: str) -> set[tuple[str, ...]]:
    """The same tuples from the report's comparison tables."""
    rows: set[tuple[str, ...]] = set()
    for table in re.findall(r'<table class="partnersim-table" data-outcome="[^"]+">(.*?)</table>', html_text, re.S):
        caption = unescape(re.search(r"<caption>(.*?)</caption>", table, re.S).group(1)).strip()
        for tr in re.findall(r"<tr>(.*?)</tr>", table, re.S):
            cells = [unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", tr, re.S)]
            if cells:
                diff, dci = (cells[4], cells[5]) if len(cells) == 8 else ("", "")
                rows.add((caption, cells[0], cells[1], cells[2], cells[3], diff, dci))
    return rows


def test_report_states_the_numbers_compare_printed(compared, report):
    _, printed = compared
    text = report.read_text()
    expected = compare_rows(printed)
    assert len(expected) == len(OUTCOME_METRICS) * 2 * 2  # outcomes × months × scenarios
    assert {r[0].split(" (")[0] for r in expected} >= {"Trusts rated inadequate", "Staff vacancy rate"}
    got = report_rows(text)
    assert expected <= got, sorted(expected - got)[:5]
    # the summary speaks about the last month with the paired differences as printed
    policy = [r for r in expected if r[1] == "24" and r[2] == "mandated_mergers"]
    summary = unescape(re.sub(r"<[^>]+>", "", text.split('id="assumptions"')[0]))
    for _, _, _, mean, _, diff, dci in policy:
        assert f"{mean} vs" in summary and diff in summary and dci in summary


def test_xlsx_holds_the_printed_numbers_one_sheet_per_outcome(compared, tmp_path):
    import openpyxl

    exp, printed = compared
    assert "comparison.xlsx" in printed
    book = openpyxl.load_workbook(exp / "comparison.xlsx")
    assert book.sheetnames[0] == "Headline" and book.sheetnames[-1] == "Units and MIDs"
    ws = book["Trusts in deficit"]
    head = [c.value for c in ws[1]]
    assert head[:3] == ["Month", "Scenario", "Mean (% of trusts)"] and "Verdict" in head
    rows = {(r[0], r[1]): r for r in ws.iter_rows(min_row=2, values_only=True)}
    printed_mean = next(
        r[3]
        for r in compare_rows(printed)
        if r[0].startswith("Trusts in deficit") and r[1] == "24" and r[2] == "mandated_mergers"
    )
    assert f"{rows[(24, 'mandated_mergers')][2]:.1f}%" == printed_mean
    # `partnersim report --xlsx` writes the workbook beside the HTML file
    out = tmp_path / "r.html"
    assert main(["report", str(exp), "-o", str(out), "--xlsx"]) == 0
    assert openpyxl.load_workbook(tmp_path / "r.xlsx").sheetnames == book.sheetnames


def test_report_is_self_contained(compared, report):
    exp, _ = compared
    text = report.read_text()
    srcs = re.findall(r'(?:src|href)="([^"#][^"]*)"', text)
    assert srcs and all(s.startswith("data:image/png;base64,") for s in srcs), [s[:40] for s in srcs][:5]
    assert "<link" not in text and "<script" not in text and "@import" not in text and "url(" not in text
    assert "<h1>NHS provider partnerships: mandated_mergers vs baseline</h1>" in text
    for section in ("summary", "assumptions", "trajectories", "differences", "partnerships", "web", "provenance"):
        assert f'id="{section}"' in text
    for words in ("rated good or outstanding", "in deficit", "in special measures", "Quality"):
        assert words in text
    manifest = json.loads((exp / "manifest.json").read_text())
    assert str(manifest["master_seed"]) in text and manifest["git"]["commit"][:12] in text


@pytest.mark.parametrize("case", ["missing", "empty", "not-experiment", "bad-json", "no-runs"])
def test_bad_folders_exit_2_with_a_clear_message(case, compared, tmp_path, capsys):
    exp, _ = compared
    folder = tmp_path / "x"
    expect = {
        "missing": "no such experiment folder",
        "empty": "is empty",
        "not-experiment": "has no manifest.json",
        "bad-json": "is not valid JSON",
        "no-runs": "holds no finished runs",
    }[case]
    if case != "missing":
        folder.mkdir()
    if case == "not-experiment":
        (folder / "notes.txt").write_text("hello")
    if case == "bad-json":
        (folder / "manifest.json").write_text("{ not json")
    if case == "no-runs":  # interrupted before its first batch: the manifest but no stored runs
        shutil.copy(exp / "manifest.json", folder / "manifest.json")
    assert main(["report", str(folder), "-o", str(tmp_path / "r.html")]) == 2
    err = capsys.readouterr().err
    assert expect in err and str(folder) in err and "Traceback" not in err
    assert not (tmp_path / "r.html").exists()


def flaky_run(spec, seed, horizon=None):  # type: ignore[no-untyped-def]
    """sim.run, except that replicate seeds of the policy ending in an odd digit… fail (one run here)."""
    import sim

    if spec.name == "mandated_mergers" and seed == FAIL_SEED[0]:
        raise RuntimeError("forced failure for the test")
    return sim.run(spec, seed, horizon)


FAIL_SEED: list[int] = [0]


def test_failed_runs_are_counted_and_the_rest_used(tmp_path):
    from analysis.executors import SerialExecutor
    from analysis.plan import plan_from_scenarios
    from analysis.runner import run_experiment
    from analysis.scenario import load_scenario

    scen = [load_scenario(p) for p in small_scenarios(tmp_path)]
    plan = plan_from_scenarios(scen, replicates=3, master_seed=7, run_fn=flaky_run)
    FAIL_SEED[0] = plan.seeds[1]
    outcome = run_experiment(plan, tmp_path / "exp", executor=SerialExecutor(), progress=False)
    assert outcome.failed == 1
    out = tmp_path / "r.html"
    assert main(["report", str(tmp_path / "exp"), "-o", str(out)]) == 0
    text = unescape(re.sub(r"<[^>]+>", "", out.read_text()))
    assert "1 of 6 runs failed and are left out; the results use the other 5" in text
    assert "forced failure for the test" in text
    rows = report_rows(out.read_text())
    n_policy = {r for r in rows if r[2] == "mandated_mergers"}
    assert n_policy, "the failed scenario's other replicates are still reported"
    html_text = out.read_text()
    # the policy's intervals rest on the 2 runs that worked (pairs with the baseline: 2 as well)
    policy_rows = re.findall(r"<tr><td>\d+</td><td>mandated_mergers</td>.*?<td>(\d+)</td></tr>", html_text)
    assert policy_rows and set(policy_rows) == {"2"}


def test_single_scenario_experiment(tmp_path):
    from analysis.executors import SerialExecutor
    from analysis.plan import plan_from_scenarios
    from analysis.runner import run_experiment
    from analysis.scenario import load_scenario

    scen = [load_scenario(small_scenarios(tmp_path)[0])]
    run_experiment(
        plan_from_scenarios(scen, replicates=2, master_seed=3),
        tmp_path / "exp",
        executor=SerialExecutor(),
        progress=False,
    )
    out = tmp_path / "r.html"
    assert main(["report", str(tmp_path / "exp"), "-o", str(out)]) == 0
    text = out.read_text()
    assert "Ran 1 scenario" in text and "vs baseline" not in text and 'id="differences"' in text


def test_extra_folder_without_its_outputs_is_a_clear_error(compared, tmp_path, capsys):
    exp, _ = compared
    assert main(["report", str(exp), "-o", str(tmp_path / "r.html"), "--validation", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "no validation.csv there" in err and "partnersim validate-theory" in err


def test_discovery_section_states_a_uniform_result_and_the_box_stability(tmp_path: Path) -> None:
    from types import SimpleNamespace

    from analysis.faces.report.data import Extras
    from analysis.faces.report.studies import section_discovery

    folder = tmp_path / "discovery"
    folder.mkdir()
    info = {"criterion_words": "quality at month 60 below the baseline", "failures": 40, "points": 40}
    info |= {"result": "fails everywhere", "result_words": "The policy fails at every one of the 40 points."}
    (folder / "discovery.json").write_text(json.dumps(info))
    html_text = section_discovery(SimpleNamespace(extras=Extras(discovery=folder)))  # type: ignore[arg-type]
    assert "The policy fails at every one of the 40 points." in html_text
    assert "Stability" not in html_text  # no resamples: nothing claimed

    info = {"criterion_words": "x", "failures": 12, "points": 40, "resamples": 20, "comparable_box_share": 0.35}
    (folder / "discovery.json").write_text(json.dumps(info))
    html_text = section_discovery(SimpleNamespace(extras=Extras(discovery=folder)))  # type: ignore[arg-type]
    assert "comparable PRIM box was found in 35% of 20 bootstrap resamples" in html_text
