"""The results store: manifest, atomic batches, resume after a kill, retries, loading back."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import sim
from analysis.cli import _sigterm_interrupts, main
from analysis.errors import Terminated
from analysis.executors import SerialExecutor
from analysis.jobs.experiment import format_bands
from analysis.plan import DesignPoints, RunTask, plan_from_scenarios, points_digest, replicate_seeds
from analysis.runner import run_experiment
from analysis.scenario import load_scenario
from analysis.store import (
    SERIES_SCHEMA,
    ExperimentStore,
    StoreError,
    StoreWarning,
    committed_batches,
    load_experiment,
    read_runs,
)
from analysis.store.format import RunTables, numbers_array, run_tables, series_table, texts_array
from analysis.store.manifest import design_frame
from analysis.studies.units import with_units

ROOT = Path(__file__).resolve().parents[1]
KEYS = ["scenario", "point", "replicate"]


def small(name: str, horizon: int = 12, n: int = 30):  # type: ignore[no-untyped-def]
    scen = load_scenario(ROOT / "scenarios" / f"{name}.toml")
    return dataclasses.replace(scen, spec=dataclasses.replace(scen.spec, horizon=horizon, n_providers=n))


def scenario_files(
    folder: Path, names: tuple[str, ...] = ("baseline", "voluntary_partnering"), horizon: int = 24, n: int = 30
) -> list[str]:
    files = []
    for name in names:
        text = (ROOT / "scenarios" / f"{name}.toml").read_text().replace("horizon = 120", f"horizon = {horizon}")
        path = folder / f"{name}.toml"
        path.write_text(text + f"\n[population]\nn_providers = {n}\n")
        files.append(str(path))
    return files


def assert_no_duplicates(exp) -> None:  # type: ignore[no-untyped-def]
    assert not exp.series.duplicated([*KEYS, "step", "metric"]).any()
    assert not exp.runs.duplicated(KEYS).any()
    assert not exp.partnerships.duplicated([*KEYS, "partnership_id"]).any()


def assert_same_tables(a: Path, b: Path) -> None:
    x, y = load_experiment(a), load_experiment(b)
    pd.testing.assert_frame_equal(x.series, y.series, check_exact=True)
    pd.testing.assert_frame_equal(x.partnerships, y.partnerships, check_exact=True)
    drop = ["seconds", "cpu_seconds", "worker", "batch"]
    pd.testing.assert_frame_equal(x.runs.drop(columns=drop), y.runs.drop(columns=drop), check_exact=True)


# -- manifest ------------------------------------------------------------------------------------
def test_manifest_records_content_hashes_seeds_versions_and_runs(tmp_path: Path) -> None:
    plan = plan_from_scenarios([small("baseline"), small("mandated_buddying")], replicates=2, master_seed=5)
    run_experiment(plan, tmp_path / "e", executor=SerialExecutor(), command=["partnersim", "compare"])
    m = json.loads((tmp_path / "e" / "manifest.json").read_text())
    assert m["status"] == "complete" and m["master_seed"] == 5 and m["seeds"] == replicate_seeds(5, 2)
    scen = m["scenarios"][1]
    assert scen["name"] == "mandated_buddying" and "intervention" in scen["content"]
    assert len(scen["sha256"]) == 64 and scen["resolved"]["levers"]["failure_regime"]["intervention"] == "buddying"
    assert scen["resolved"]["n_providers"] == 30 and scen["resolved"]["horizon"] == 12
    theory = m["theories"][scen["resolved"]["theory_digest"]]
    assert any(f.endswith("irt.toml") for f in theory["files"]) and any(
        f.endswith("typology.toml") for f in theory["files"]
    )
    assert all(len(f["sha256"]) == 64 and f["content"] for f in theory["files"].values())
    assert theory["values"]["partnering.synergy"] == plan.spec("baseline").theory.v("partnering.synergy")
    assert m["versions"]["mesa"].startswith("3.") and "numpy" in m["versions"]
    assert "commit" in m["git"]
    assert m["sessions"][0]["started"] and m["sessions"][0]["ended"]
    assert m["sessions"][0]["command"] == ["partnersim", "compare"]
    assert len(m["runs"]) == 4 and all(r["status"] == "ok" and r["seconds"] > 0 for r in m["runs"])


def test_a_new_experiments_manifest_lists_its_runs_as_reading_them_back_would(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from analysis.runner import execute_batch, failed_batch, make_batches

    plan = plan_from_scenarios([small("baseline"), small("mandated_buddying")], replicates=3, master_seed=4)
    batches = list(make_batches(plan, list(plan.tasks()), 2))
    results = [execute_batch(b) for b in batches[:2]] + [failed_batch(batches[2], RuntimeError("lost"), "pool")]
    store = ExperimentStore(tmp_path / "e")
    store.begin(plan, resume=False)
    for result in (results[2], results[0], results[1]):  # finished out of order, as on a pool
        store.write_batch(result)
    monkeypatch.setattr(store, "_read_runs", lambda *a, **k: pytest.fail("a new experiment's runs were read back"))
    store.end(complete=False)
    m = json.loads((tmp_path / "e" / "manifest.json").read_text())
    assert m["runs"] == ExperimentStore(tmp_path / "e")._entries_stored()
    assert [r["batch"] for r in m["runs"]] == [0, 0, 1, 1, 2, 2]
    assert m["counts"] == {"total": 6, "ok": 4, "failed": 2, "not_run": 0}
    assert "lost" in m["runs"][-1]["error"]


@pytest.fixture
def ctrl_c_interrupts() -> Iterator[None]:
    """Ctrl-C raises KeyboardInterrupt, as in a terminal, even where the tests were started with it ignored.

    A process started in the background by a shell without job control inherits SIGINT ignored,
    and Python then leaves it ignored: these tests would see no KeyboardInterrupt at all.
    """
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@pytest.mark.usefixtures("ctrl_c_interrupts")
def test_an_interrupt_is_held_until_the_block_ends_and_a_second_goes_through() -> None:
    from analysis.store.writer import held_interrupts

    before = signal.getsignal(signal.SIGINT)
    reached = []
    with pytest.raises(KeyboardInterrupt):
        with held_interrupts():
            os.kill(os.getpid(), signal.SIGINT)
            reached.append("after the first")
    assert reached == ["after the first"] and signal.getsignal(signal.SIGINT) is before
    with pytest.raises(KeyboardInterrupt):
        with held_interrupts():
            os.kill(os.getpid(), signal.SIGINT)
            os.kill(os.getpid(), signal.SIGINT)
            reached.append("after the second")
    assert reached == ["after the first"] and signal.getsignal(signal.SIGINT) is before
    with _sigterm_interrupts():  # SIGTERM goes to the handler the command line installs
        with pytest.raises(Terminated):
            with held_interrupts():
                os.kill(os.getpid(), signal.SIGTERM)
                reached.append("after SIGTERM")
    assert reached == ["after the first", "after SIGTERM"]


def test_an_experiment_that_ends_as_a_signal_comes_is_recorded_with_its_lock_given_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from analysis.runner import execute_batch, make_batches

    plan = plan_from_scenarios([small("baseline")], replicates=2, master_seed=4)
    store = ExperimentStore(tmp_path / "e")
    store.begin(plan, resume=False)
    for batch in make_batches(plan, list(plan.tasks()), 1):
        store.write_batch(execute_batch(batch))
    entries = store._entries_written

    def signalled() -> list[dict[str, object]]:  # SIGTERM in the middle of end(), before it writes
        os.kill(os.getpid(), signal.SIGTERM)
        return entries()

    monkeypatch.setattr(store, "_entries_written", signalled)
    with _sigterm_interrupts(), pytest.raises(Terminated):
        store.end(complete=True)
    m = json.loads((tmp_path / "e" / "manifest.json").read_text())
    assert m["status"] == "complete" and m["counts"]["ok"] == 2
    assert not store.lock.held and not store.is_open


@pytest.mark.usefixtures("ctrl_c_interrupts")
def test_an_interrupt_as_the_store_opens_still_ends_its_session(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan = plan_from_scenarios([small("baseline")], replicates=3, master_seed=4)
    write = ExperimentStore.write_manifest
    calls = []

    def signalled(self: ExperimentStore) -> None:  # Ctrl-C as the first manifest is written
        calls.append(1)
        if len(calls) == 1:
            os.kill(os.getpid(), signal.SIGINT)
        write(self)

    monkeypatch.setattr(ExperimentStore, "write_manifest", signalled)
    with pytest.raises(KeyboardInterrupt):
        run_experiment(plan, tmp_path / "e", executor=SerialExecutor(), batch_size=1)
    m = json.loads((tmp_path / "e" / "manifest.json").read_text())
    assert m["status"] == "interrupted" and m["sessions"][-1]["ended"] is not None
    monkeypatch.setattr(ExperimentStore, "write_manifest", write)
    run_experiment(plan, tmp_path / "e", executor=SerialExecutor(), batch_size=1, resume=True)
    m = json.loads((tmp_path / "e" / "manifest.json").read_text())
    assert m["status"] == "complete" and m["counts"] == {"total": 3, "ok": 3, "failed": 0, "not_run": 0}


def test_runs_parts_of_an_older_store_without_a_column_read_as_missing(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    plan = plan_from_scenarios([small("baseline")], replicates=4, master_seed=3)
    run_experiment(plan, tmp_path / "e", executor=SerialExecutor(), batch_size=2)
    old = tmp_path / "e" / "runs" / "part-000000.parquet"
    pq.write_table(pq.read_table(old).drop_columns(["cpu_seconds"]), old)  # written before runs kept their CPU time
    runs = read_runs(tmp_path / "e", ["scenario", "replicate", "cpu_seconds"])
    assert list(runs.columns) == ["scenario", "replicate", "cpu_seconds"] and len(runs) == 4
    assert runs["cpu_seconds"][:2].isna().all() and (runs["cpu_seconds"][2:] > 0).all()
    assert list(read_runs(tmp_path / "e", ["replicate"])["replicate"]) == [0, 1, 2, 3]


def test_package_versions_are_those_importlib_metadata_gives() -> None:
    """Each version read from its metadata's header line is ``importlib.metadata.version``'s."""
    from importlib import metadata

    from analysis.store import manifest

    def want(name: str) -> str:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return "not installed"

    versions = manifest.package_versions()
    assert all(versions[name] == want(name) for name in manifest.VERSIONED), versions
    assert all(manifest.package_version(name) == want(name) for name in ("numba", "pytest", "psutil"))
    with pytest.raises(metadata.PackageNotFoundError):
        manifest.package_version("no-such-package-anywhere")


def test_a_folder_holding_an_experiment_is_not_overwritten(tmp_path: Path) -> None:
    plan = plan_from_scenarios([small("baseline")], replicates=1, master_seed=5)
    run_experiment(plan, tmp_path / "e", executor=SerialExecutor())
    with pytest.raises(StoreError, match="--resume"):
        run_experiment(plan, tmp_path / "e", executor=SerialExecutor())
    other = plan_from_scenarios([small("baseline")], replicates=1, master_seed=6)
    with pytest.raises(StoreError, match="different settings"):
        run_experiment(other, tmp_path / "e", executor=SerialExecutor(), resume=True)
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "notes.txt").write_text("mine")
    with pytest.raises(StoreError, match="not an experiment folder"):
        run_experiment(plan, tmp_path / "junk", executor=SerialExecutor())


# -- atomic batches ------------------------------------------------------------------------------
def test_parts_of_an_uncommitted_batch_are_ignored_and_cleaned(tmp_path: Path) -> None:
    plan = plan_from_scenarios([small("baseline")], replicates=2, master_seed=5)
    run_experiment(plan, tmp_path / "e", executor=SerialExecutor(), batch_size=1)
    before = load_experiment(tmp_path / "e")
    store = ExperimentStore(tmp_path / "e")
    # a batch killed between its series part and its runs part (the commit marker):
    orphan = store.part_path("series", 99)
    orphan.write_bytes((tmp_path / "e" / "series" / "part-000000.parquet").read_bytes())
    (tmp_path / "e" / "series" / "part-000100.parquet.tmp").write_bytes(b"half written")
    with pytest.warns(StoreWarning, match="never committed"):
        after = load_experiment(tmp_path / "e")
    pd.testing.assert_frame_equal(before.series, after.series)
    run_experiment(plan, tmp_path / "e", executor=SerialExecutor(), resume=True)
    assert not orphan.exists() and not list((tmp_path / "e" / "series").glob("*.tmp"))
    assert committed_batches(tmp_path / "e") == [0, 1]


def test_a_crash_between_the_parts_of_a_batch_loses_only_that_batch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import analysis.store.writer as store_mod

    plan = plan_from_scenarios([small("voluntary_partnering")], replicates=4, master_seed=5)
    real = store_mod.publish

    def crash_before_commit(tmp: Path, target: Path) -> None:
        if target.parent.name == "runs" and target.name == "part-000001.parquet":  # batch 1's data is in place
            raise KeyboardInterrupt("simulated kill")
        real(tmp, target)

    monkeypatch.setattr(store_mod, "publish", crash_before_commit)
    with pytest.raises(KeyboardInterrupt):
        run_experiment(plan, tmp_path / "e", executor=SerialExecutor(), batch_size=2)
    monkeypatch.setattr(store_mod, "publish", real)
    assert committed_batches(tmp_path / "e") == [0]
    assert (tmp_path / "e" / "series" / "part-000001.parquet").exists()  # visible, but not committed
    assert not list((tmp_path / "e").rglob("*.tmp")), "a staged part was left behind"
    with pytest.warns(StoreWarning, match="never committed"):
        assert len(load_experiment(tmp_path / "e").runs) == 2
    out = run_experiment(plan, tmp_path / "e", executor=SerialExecutor(), batch_size=2, resume=True)
    assert out.skipped == 2 and out.ran == 2
    run_experiment(plan, tmp_path / "straight", executor=SerialExecutor(), batch_size=2)
    assert_same_tables(tmp_path / "e", tmp_path / "straight")


# -- resume --------------------------------------------------------------------------------------
def test_resume_after_a_killed_run_equals_an_uninterrupted_run(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    files = scenario_files(tmp_path)
    # 48 batches: the 45 left after the third one stored take about a second, so the kill comes
    # before the end even when this test is slow to see the third (with 12 batches it was 0.2 s)
    args = [
        "compare",
        *files,
        "--reps",
        "48",
        "--workers",
        "1",
        "--batch-size",
        "2",
        "--horizons",
        "12,24",
        "--no-figures",
    ]
    killed = tmp_path / "killed"
    proc = subprocess.Popen(
        [sys.executable, "-m", "analysis.cli", *args, "--out", str(killed)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=ROOT,
    )
    deadline = time.monotonic() + 120
    while len(committed_batches(killed)) < 3 if killed.exists() else True:
        assert proc.poll() is None, "the experiment finished before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    stored = read_runs(killed)
    assert json.loads((killed / "manifest.json").read_text())["status"] == "running"
    assert 6 <= len(stored) < 96
    capsys.readouterr()

    assert main([*args, "--out", str(killed), "--resume"]) == 0
    err = capsys.readouterr().err
    assert f"resumed: {len(stored)} run(s) were already stored, {96 - len(stored)} run now" in err
    assert main([*args, "--out", str(tmp_path / "straight")]) == 0

    exp = load_experiment(killed)
    assert exp.manifest["status"] == "complete" and len(exp.manifest["sessions"]) == 2
    assert len(exp.runs) == 96 and (exp.runs["status"] == "ok").all()
    assert_no_duplicates(exp)
    assert_same_tables(killed, tmp_path / "straight")
    # runs stored before the kill were not redone: same batch and same (killed) worker process
    again = exp.runs.set_index(KEYS)
    for row in stored.itertuples():
        assert again.loc[(row.scenario, row.point, row.replicate), "batch"] == row.batch
        assert again.loc[(row.scenario, row.point, row.replicate), "worker"].endswith(f":{proc.pid}")


def test_ctrl_c_leaves_a_resumable_experiment(tmp_path: Path) -> None:
    # full-size runs (217 trusts, 120 months), 400 of them: with small ones, or 40, the runs left
    # after the second stored batch could all finish before the interrupt arrived (seen with small
    # ones once the engine got faster; 40 left under a second)
    files = scenario_files(tmp_path, ("baseline",), horizon=120, n=217)
    out = tmp_path / "e"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "analysis.cli",
            "run",
            *files,
            "--reps",
            "400",
            "--workers",
            "2",
            "--batch-size",
            "1",
            "--out",
            str(out),
            "--no-figures",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        # as at a terminal: Ctrl-C not ignored, whatever this test process inherited or was set to
        # (a child started with SIGINT ignored keeps ignoring it, and the run then ends normally)
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 120
    while len(committed_batches(out)) < 2 if out.exists() else True:
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert "--resume" in err and "Traceback" not in err
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "interrupted" and 0 < manifest["counts"]["ok"] < 400


def test_resume_retries_failed_runs_without_duplicating(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    plan = plan_from_scenarios([small("baseline"), small("voluntary_partnering")], replicates=3, master_seed=2)
    bad = plan.seeds[1]
    real = sim.run

    def flaky(spec, seed, horizon=None):  # type: ignore[no-untyped-def]
        if seed == bad:
            raise RuntimeError("transient")
        return real(spec, seed, horizon)

    monkeypatch.setattr(sim, "run", flaky)
    real_many = sim.run_many

    def flaky_many(runs, *a, **k):  # type: ignore[no-untyped-def]
        if any(seed == bad for _, seed in runs):  # a batch holding the bad run fails too
            raise RuntimeError("transient")
        return real_many(runs, *a, **k)

    monkeypatch.setattr(sim, "run_many", flaky_many)
    first = run_experiment(plan, tmp_path / "e", executor=SerialExecutor(), batch_size=2)
    assert first.failed == 2
    monkeypatch.setattr(sim, "run", real)
    monkeypatch.setattr(sim, "run_many", real_many)
    second = run_experiment(plan, tmp_path / "e", executor=SerialExecutor(), resume=True)
    assert second.ran == 2 and second.skipped == 4 and second.ok
    exp = load_experiment(tmp_path / "e")
    assert (exp.runs["status"] == "ok").all() and len(read_runs(tmp_path / "e")) == 8  # 2 attempts kept in the log
    assert_no_duplicates(exp)
    run_experiment(plan, tmp_path / "clean", executor=SerialExecutor())
    assert_same_tables(tmp_path / "e", tmp_path / "clean")


def test_resume_can_add_replicates(tmp_path: Path) -> None:
    two = plan_from_scenarios([small("baseline")], replicates=2, master_seed=4)
    run_experiment(two, tmp_path / "e", executor=SerialExecutor())
    four = dataclasses.replace(two, replicates=4)
    out = run_experiment(four, tmp_path / "e", executor=SerialExecutor(), resume=True)
    assert out.skipped == 2 and out.ran == 2
    run_experiment(four, tmp_path / "straight", executor=SerialExecutor())
    assert_same_tables(tmp_path / "e", tmp_path / "straight")


# -- loading -------------------------------------------------------------------------------------
def test_load_experiment_filters_and_returns_dataframes(tmp_path: Path) -> None:
    plan = plan_from_scenarios([small("baseline"), small("voluntary_partnering")], replicates=2, master_seed=1)
    run_experiment(plan, tmp_path / "e", executor=SerialExecutor())
    exp = load_experiment(tmp_path / "e", metrics=["mean_quality"], steps=[0, 12], scenarios=["voluntary_partnering"])
    assert isinstance(exp.series, pd.DataFrame) and isinstance(exp.runs, pd.DataFrame)
    assert list(exp.series.columns) == ["scenario", "point", "replicate", "seed", "step", "date", "metric", "value"]
    assert set(exp.series["metric"]) == {"mean_quality"} and set(exp.series["step"]) == {0, 12}
    assert set(exp.series["scenario"]) == {"voluntary_partnering"} and len(exp.series) == 4
    assert set(exp.partnerships["scenario"]) == {"voluntary_partnering"}
    everything = load_experiment(tmp_path / "e")
    assert everything.scenarios == ["baseline", "voluntary_partnering"]
    assert len(everything.series) == 2 * 2 * 13 * everything.series["metric"].nunique()
    direct = pd.read_parquet(tmp_path / "e" / "series")  # the folders are plain Parquet datasets
    assert len(direct) == len(everything.series)
    with pytest.raises(StoreError):
        load_experiment(tmp_path)


# -- encoding a batch ----------------------------------------------------------------------------
def test_a_batch_of_array_outputs_is_one_table_with_dates_that_follow_the_months_kept() -> None:
    """Runs kept at some months only (a sensitivity study's) get each row's own date, in one table per batch."""

    class Kept:  # what MetricsRun returns: months, metrics and values, no table
        months, metrics, values = (12, 24), ("a", "b"), np.array([[1.0, 2.0], [3.0, 4.0]])

    one = run_tables(Kept(), "2022-07")
    other = RunTables(np.array([0, 1]), ("b", "c"), np.array([[5.0, 6.0], [7.0, 8.0]]), start="2021-12")
    table = series_table([(RunTask("s", 0, 0, 9), one), (RunTask("t", 1, 2, 8), other)]).to_pandas()
    assert isinstance(table, pd.DataFrame) and table.shape == (8, 8)
    assert table["date"].astype(str).tolist() == ["2023-07"] * 2 + ["2024-07"] * 2 + ["2021-12"] * 2 + ["2022-01"] * 2
    assert table["step"].tolist() == [12, 12, 24, 24, 0, 0, 1, 1]
    assert table["metric"].astype(str).tolist() == ["a", "b", "a", "b", "b", "c", "b", "c"]
    assert table["value"].tolist() == [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]
    assert table["scenario"].astype(str).tolist() == ["s"] * 4 + ["t"] * 4
    assert table["replicate"].tolist() == [0] * 4 + [2] * 4 and table["seed"].tolist() == [9] * 4 + [8] * 4
    assert series_table([]).num_rows == 0 and isinstance(series_table([]), pa.Table)


@pytest.mark.parametrize(
    "values",
    [
        np.array([3, -1, 2**40], dtype=np.int64),
        np.array([7, 0], dtype=np.int32),
        np.array([1.5, np.nan, -np.inf, 0.0]),
        np.array([True, False, True, True, False, False, True, False, True, True, False]),  # 11: a partial byte
        np.zeros(0, dtype=np.float64),
        np.arange(12, dtype=np.float64).reshape(3, 4)[:, 1],  # a column of a table: not contiguous
        np.array([1.25, 2.0], dtype=np.float32),
        np.array([255, 0], dtype=np.uint8),
    ],
)
def test_numbers_array_is_the_array_pa_array_builds(values: np.ndarray) -> None:
    """Built from the buffer, a column is the same Arrow array (type, values, NaN kept, no nulls) as ``pa.array``'s."""
    built, want = numbers_array(values), pa.array(values)
    assert built.type == want.type and built.null_count == want.null_count == 0 and len(built) == len(values)
    np.testing.assert_array_equal(built.to_numpy(zero_copy_only=False), values)  # NaN where NaN


@pytest.mark.parametrize("kind", [pa.string(), pa.large_string()])
@pytest.mark.parametrize(
    "values",
    [["network", "", "buddying"], ["Traceback: é ü", "naïve", "x"], [], ["a", None, "b"], ["1", 2]],
)
def test_texts_array_is_the_array_pa_array_builds(values: list[object], kind: pa.DataType) -> None:
    """Text columns (ASCII, accented, empty; with a None or a number: left to ``pa.array``) are ``pa.array``'s."""
    try:
        want = pa.array(values, kind)
    except (pa.ArrowException, TypeError):
        with pytest.raises((pa.ArrowException, TypeError)):
            texts_array(values, kind)
        return
    built = texts_array(values, kind)
    assert built.type == kind and built.equals(want) and built.to_pylist() == values


def test_a_batch_encodes_to_the_bytes_pyarrow_writes_with_its_defaults() -> None:
    """The batch's Parquet files are, byte for byte, those ``pq.write_table`` writes from tables built
    with ``pa.array`` and its default write batch size: the faster path changes no stored byte."""
    import io

    import pyarrow.parquet as pq

    from analysis.store.format import RunStatus, encode_batch

    log = {c: np.arange(3, dtype=np.int64) for c in sim.api.LOG_COLUMNS}
    log.update(type=["buddying", "network", "é"], mandated=np.array([True, False, True]), culture_gap=np.ones(3) / 3)
    runs = [
        (RunTask("s", 0, r, 9 + r), RunTables(np.arange(4), ("a", "b"), np.arange(8.0).reshape(4, 2) / 7, log))
        for r in range(2)
    ]
    statuses = [RunStatus.of(t, "ok", 0.5, worker="w:1", batch=3) for t, _ in runs]
    statuses.append(RunStatus.of(RunTask("s", 0, 2, 11), "failed", 0.1, "Traceback…", "w:1", 3))
    files = encode_batch(runs, statuses)

    def plain(table: pa.Table, **options: object) -> bytes:
        rebuilt = pa.table(
            {
                name: pa.array(col.to_pylist(), col.type)
                for name, col in zip(table.column_names, table.columns, strict=True)
            }
        )
        buf = io.BytesIO()
        pq.write_table(rebuilt, buf, compression="zstd", **options)  # type: ignore[arg-type]
        return buf.getvalue()

    series = pq.read_table(io.BytesIO(files["series"]))
    assert series.num_rows == 16 and series.schema.equals(pa.schema(SERIES_SCHEMA), check_metadata=False)
    assert files["series"] == plain(
        series,
        use_dictionary=["scenario", "date", "metric"],
        write_statistics=["scenario", "point", "replicate", "step", "metric"],
    )
    logs = pq.read_table(io.BytesIO(files["partnerships"]))
    assert logs.column("type").to_pylist() == ["buddying", "network", "é"] * 2
    assert logs.column("mandated").to_pylist() == [True, False, True] * 2
    assert logs.column("culture_gap").to_pylist() == [1 / 3] * 6 and logs.column("lead").to_pylist() == [0, 1, 2] * 2
    assert series.column("value").to_pylist() == (np.arange(8.0) / 7).tolist() * 2
    assert files["partnerships"] == plain(logs, use_dictionary=["scenario", "type", "end_reason", "final_phase"])
    assert files["runs"] == plain(pq.read_table(io.BytesIO(files["runs"])))


def test_a_batch_run_encoded_and_stored_never_asks_for_pandas(tmp_path: Path) -> None:
    """A batch's runs and encoding (``execute_batch``, in a worker) and the parent's start of a new
    experiment and writing of the batch never import pandas, not even through pyarrow.

    pandas costs 0.4 s of a process's start; only reading the store back needs it. Here pandas is
    hidden once the modules are imported (``analysis.plan`` still imports it), and any attempt to
    import it again is reported.
    """
    code = f"""
import sys
import analysis.runner as R
from analysis.store import ExperimentStore
from analysis.plan import plan_from_scenarios
from analysis.scenario import load_scenario
scen = load_scenario("scenarios/mandated_buddying.toml")
plan = plan_from_scenarios([scen], replicates=2, master_seed=3)
batch = next(R.make_batches(plan, list(plan.tasks()), 2))
asked = []
class Hide:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "pandas":
            asked.append(name)
            raise ImportError("pandas is hidden")
        return None
for name in [m for m in sys.modules if m.split(".")[0] == "pandas"]:
    del sys.modules[name]
sys.meta_path.insert(0, Hide())
result = R.execute_batch(batch)
assert [r.status for r in result.runs] == ["ok", "ok"], [r.error for r in result.runs]
assert sorted(result.files) == ["partnerships", "runs", "series"]
store = ExperimentStore({str(tmp_path / "e")!r})
store.begin(plan, resume=False)
assert store.done_keys() == set()
store.write_batch(result)
print(sorted(set(asked)))
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


# -- reading back for the report -----------------------------------------------------------------
def test_run_bands_read_only_the_shown_months_equal_those_of_every_month(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without figures ``run`` reads back only the months its tables show; its bands are those of the whole series."""
    files = scenario_files(tmp_path, ("baseline",))
    out = tmp_path / "e"
    args = ["run", *files, "--reps", "3", "--workers", "1", "--horizons", "12,24", "--no-figures", "--out", str(out)]
    assert main(args) == 0
    printed = capsys.readouterr().out
    series = with_units(load_experiment(out).series)
    means = series.groupby(["step", "metric"], observed=True)["value"].mean().unstack("metric")
    assert list(means.index) == list(range(25))  # every month was stored
    assert "mean over 3 replicate(s), 24 months from" in printed
    assert format_bands(means, [0, 12, 24]) in printed


def test_design_digests_stay_what_earlier_experiments_recorded():
    """A resumed experiment's fingerprint holds the digest of its design points: it must not change."""
    same = [{"a": 0.1 * i, "b": -1.5 + i, "c": 1e-300 * i} for i in range(5)]
    mixed = [{"a": 0.5}, {"a": 0.25, "b": 2.0}, {"b": 2.0, "a": 0.25}, {}, {"a": 1.0}]
    assert points_digest(same) == "053cf96386baa612"
    assert points_digest(mixed) == "d469d1b6b9de734f"
    plan = plan_from_scenarios(
        [load_scenario(ROOT / "scenarios" / "baseline.toml")], replicates=1, master_seed=1, points=same
    )
    assert plan.design_digest == points_digest(same)


def test_design_points_held_as_an_array_are_the_dicts_they_stand_for():
    """A design as one array gives the same points, digest and design table as its dicts."""
    rng = np.random.default_rng(3)
    names = ("mechanism.trust_build", "domain.quality.init_mean", "type.merger.integration")
    values = rng.random((6, 3))
    dicts = tuple({n: float(v) for n, v in zip(names, row, strict=True)} for row in values)
    points = DesignPoints(names, values)
    assert len(points) == 6 and points == dicts and list(points) == list(dicts)
    assert points[4] == dicts[4] and all(type(v) is float for v in points[4].values())
    assert points[1:3] == dicts[1:3]
    assert points_digest(points) == points_digest(dicts)
    assert points_digest(DesignPoints((), np.zeros((3, 0)))) == points_digest([{}, {}, {}])
    pd.testing.assert_frame_equal(design_frame(points), design_frame(dicts))
    values[0, 0] = -1.0  # the points keep their own copy
    assert points[0] == dicts[0]
    with pytest.raises(ValueError, match="2 columns for 3 parameter names"):
        DesignPoints(names, np.zeros((4, 2)))
