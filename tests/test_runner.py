"""The experiment runner: seeds, batching, executor equivalence, design points, failure isolation."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import sim
from analysis.batching import run_batch
from analysis.cli import main
from analysis.executors import DaskExecutor, PoolExecutor, SerialExecutor, WorkerLost
from analysis.jobs import experiment
from analysis.plan import plan_from_scenarios, replicate_seeds
from analysis.runner import Progress, auto_batch_size, execute_batch, make_batches, run_experiment
from analysis.scenario import load_scenario, scenario_from_dict
from analysis.store import ExperimentStore, StoreError, StoreWarning, load_experiment

ROOT = Path(__file__).resolve().parents[1]
TIMING = ["seconds", "cpu_seconds", "worker", "batch"]


def small(name: str, horizon: int = 12, n: int = 30):  # type: ignore[no-untyped-def]
    scen = load_scenario(ROOT / "scenarios" / f"{name}.toml")
    return dataclasses.replace(scen, spec=dataclasses.replace(scen.spec, horizon=horizon, n_providers=n))


@pytest.fixture(scope="module")
def plan():  # type: ignore[no-untyped-def]
    return plan_from_scenarios([small("baseline"), small("voluntary_partnering")], replicates=3, master_seed=11)


def tables(path: Path) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    exp = load_experiment(path)
    return exp.series, exp.runs.drop(columns=TIMING), exp.partnerships


def assert_same(a: Path, b: Path) -> None:
    for x, y in zip(tables(a), tables(b), strict=True):
        pd.testing.assert_frame_equal(x, y, check_exact=True)


# -- seeds ---------------------------------------------------------------------------------------
def test_seeds_come_from_one_master_seed_and_are_prefix_stable() -> None:
    seeds = replicate_seeds(7, 5)
    assert len(set(seeds)) == 5 and all(0 <= s < 2**63 for s in seeds)
    assert replicate_seeds(7, 8)[:5] == seeds  # adding replicates keeps earlier seeds
    assert replicate_seeds(8, 5) != seeds
    child = np.random.SeedSequence(7).spawn(5)[2]
    assert seeds[2] == int(child.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))


def test_replicate_r_of_every_scenario_gets_the_same_seed(plan) -> None:  # type: ignore[no-untyped-def]
    by_rep: dict[int, set[int]] = {}
    for t in plan.tasks():
        by_rep.setdefault(t.replicate, set()).add(t.seed)
    assert all(len(s) == 1 for s in by_rep.values())
    assert [by_rep[r].pop() for r in range(3)] == plan.seeds


# -- batching ------------------------------------------------------------------------------------
def test_batches_cover_every_task_once(plan) -> None:  # type: ignore[no-untyped-def]
    tasks = list(plan.tasks())
    batches = list(make_batches(plan, tasks, 4, first_id=5))
    assert [b.id for b in batches] == [5, 6]
    assert [t for b in batches for t in b.tasks] == tasks
    assert all(set(b.specs) == {t.scenario for t in b.tasks} for b in batches)


def test_auto_batch_size_targets_a_second_of_work_and_balances_load() -> None:
    full = plan_from_scenarios([load_scenario(ROOT / "scenarios" / "baseline.toml")], replicates=200, master_seed=1)
    assert auto_batch_size(full, 2000, 2) == 83  # ~0.012 s per default run in a batch -> ~1 s per task
    assert auto_batch_size(full, 200, 2) == 25  # but at least 4 tasks per worker
    assert auto_batch_size(full, 8, 2) == 1  # few runs: at least 4 tasks per worker
    tiny = plan_from_scenarios([small("baseline", horizon=12, n=20)], replicates=2000, master_seed=1)
    assert auto_batch_size(tiny, 2000, 2) > 10  # cheap runs are batched more


# -- executors -----------------------------------------------------------------------------------
def test_serial_pool_and_dask_give_bit_identical_tables(plan, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    run_experiment(plan, tmp_path / "serial", executor=SerialExecutor(), batch_size=2)
    pool = PoolExecutor(2)
    try:
        run_experiment(plan, tmp_path / "pool", executor=pool, batch_size=1)
    finally:
        pool.close()
    dask = DaskExecutor("local", 2)
    try:
        assert dask.workers == 2
        run_experiment(plan, tmp_path / "dask", executor=dask, batch_size=3)
    finally:
        dask.close()
    series, runs, logs = tables(tmp_path / "serial")
    assert len(series) and len(logs) and set(runs["status"]) == {"ok"}
    assert_same(tmp_path / "serial", tmp_path / "pool")
    assert_same(tmp_path / "serial", tmp_path / "dask")
    workers = set(load_experiment(tmp_path / "pool").runs["worker"])
    assert len(workers) == 2  # really ran in two processes


def test_a_local_dask_worker_keeps_glibcs_adaptive_malloc() -> None:
    dask = DaskExecutor("local", 1)
    try:
        trim = dask._client.run(os.environ.get, "MALLOC_TRIM_THRESHOLD_")
        threads = dask._client.run(os.environ.get, "OMP_NUM_THREADS")
    finally:
        dask.close()
    assert list(trim.values()) == [None]  # the nanny's default (65536) tripled a batch's page faults
    assert list(threads.values()) == ["1"]  # the nanny's other settings stay


def events_of(executor, folder: Path, plan, batch_size: int) -> list[str]:  # type: ignore[no-untyped-def]
    """The batches stored and the ``on_running`` call of ``plan`` run on ``executor``, in the order they came."""
    events: list[str] = []
    run_experiment(
        plan,
        folder,
        executor=executor,
        batch_size=batch_size,
        on_batch=lambda result: events.append(f"batch {result.id}"),
        on_running=lambda: events.append("running"),
    )
    return events


def test_on_running_is_called_once_after_the_first_batch_is_stored(plan, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # six batches: called once, right after the first is stored, while the rest run
    six = events_of(SerialExecutor(), tmp_path / "six", plan, batch_size=1)
    assert six == ["batch 0", "running", "batch 1", "batch 2", "batch 3", "batch 4", "batch 5"]
    # one batch: after it
    one = events_of(SerialExecutor(), tmp_path / "one", plan, batch_size=6)
    assert one == ["batch 0", "running"]


def test_on_running_is_called_when_nothing_is_left_to_run(plan, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "exp"
    run_experiment(plan, folder, executor=SerialExecutor(), batch_size=2)
    events: list[str] = []
    run_experiment(plan, folder, executor=SerialExecutor(), resume=True, on_running=lambda: events.append("running"))
    assert events == ["running"]  # the report that follows still finds what it loads ready


def test_the_reports_imports_load_in_a_thread_that_ends_before_the_report(plan, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    seen: list[str] = []
    runs_over = threading.Event()
    run = experiment.run_experiment

    def run_then_say(*args, **kwargs):  # type: ignore[no-untyped-def]
        try:
            return run(*args, **kwargs)
        finally:
            runs_over.set()

    def slow_prepare() -> None:
        seen.append(threading.current_thread().name)
        runs_over.wait(30)  # still loading when the last batch is stored
        time.sleep(0.1)
        seen.append("loaded")

    monkeypatch.setattr(experiment, "run_experiment", run_then_say)
    monkeypatch.setattr(experiment, "prepare_report", slow_prepare)
    outcome = execute_plan(plan, tmp_path / "exp")
    assert outcome is not None and outcome.ok
    assert seen == ["partnersim-report-imports", "loaded"]  # in its own thread, and waited for


def test_a_failing_import_in_the_thread_is_left_to_the_report(plan, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    def broken_prepare() -> None:
        raise ImportError("No module named 'pandas'")

    escaped: list[BaseException | None] = []
    monkeypatch.setattr(threading, "excepthook", lambda args: escaped.append(args.exc_value))
    monkeypatch.setattr(experiment, "prepare_report", broken_prepare)
    outcome = execute_plan(plan, tmp_path / "exp")
    assert outcome is not None and outcome.ok
    assert escaped == []  # no traceback from the thread: the report's own import says it, in the main thread


def execute_plan(plan, folder: Path):  # type: ignore[no-untyped-def]
    """``plan`` through :func:`analysis.jobs.experiment.execute` (as ``run`` does) on the serial executor."""
    return experiment.execute(
        plan, folder, SerialExecutor(), resume=False, batch_size=2, progress=False, command=[], out=str(folder)
    )


def test_a_batch_carries_when_its_worker_began_and_finished_it(plan) -> None:  # type: ignore[no-untyped-def]
    first, second = make_batches(plan, list(plan.tasks())[:4], 2)
    before = time.time()
    a = execute_batch(first)
    b = execute_batch(second)
    after = time.time()
    assert before <= a.started < a.finished <= b.started < b.finished <= after
    assert a.finished - a.started >= a.cpu_seconds * 0.5  # wall clock around the runs, not a constant


WARM_UPS: list[int] = []  # the processes that loaded the engine (a stand-in for sim.warm_up records them)


def _recorded_warm_up() -> None:
    WARM_UPS.append(os.getpid())


def _warm_ups_seen(_: int) -> list[int]:
    return list(WARM_UPS)


def test_forked_workers_inherit_the_engine_and_do_not_load_it_again(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sim, "warm_up", _recorded_warm_up)
    WARM_UPS.clear()
    pool = PoolExecutor(2, start_method="fork")
    try:
        seen = [result for _, result in pool.map_unordered(_warm_ups_seen, [0, 1, 2, 3])]
    finally:
        pool.close()
    assert seen == [[os.getpid()]] * 4  # the parent's warm-up, before forking; none in the workers


class HandsOutAll(SerialExecutor):
    """Two workers that are handed every batch at once (as a pool hands out its window), then run them in turn."""

    workers = 2

    def __init__(self, events: list[str]) -> None:
        self.events = events

    def map_unordered(self, fn, items):  # type: ignore[no-untyped-def]
        handed = []
        for item in items:
            self.events.append(f"hand out {item.id}")
            handed.append(item)
        yield from super().map_unordered(fn, handed)


def test_a_new_experiment_opens_its_folder_once_every_worker_has_a_batch(
    plan, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    events: list[str] = []
    begin, write = ExperimentStore.begin, ExperimentStore.write_batch
    monkeypatch.setattr(ExperimentStore, "begin", lambda self, *a, **k: (events.append("open"), begin(self, *a, **k)))
    monkeypatch.setattr(
        ExperimentStore, "write_batch", lambda self, r: (events.append(f"write {r.id}"), write(self, r))
    )
    run_experiment(plan, tmp_path / "new", executor=HandsOutAll(events), batch_size=1)
    # the workers start while the folder is opened; nothing is written before it is open
    assert events[:3] == ["hand out 0", "hand out 1", "open"]
    assert events.index("write 0") > events.index("open") and events.count("open") == 1
    assert set(load_experiment(tmp_path / "new").runs["status"]) == {"ok"}
    assert_same(tmp_path / "new", _serial_copy(plan, tmp_path / "serial"))
    events.clear()  # resuming: the folder is opened first (what it holds decides what runs)
    run_experiment(plan, tmp_path / "resumed", executor=HandsOutAll(events), batch_size=1, resume=True)
    assert events[0] == "open" and events[1] == "hand out 0"
    events.clear()  # a folder that already holds an experiment is refused before any batch is handed out
    with pytest.raises(StoreError, match="already holds an experiment"):
        run_experiment(plan, tmp_path / "new", executor=HandsOutAll(events), batch_size=1)
    assert events == []


def _serial_copy(plan, path: Path) -> Path:  # type: ignore[no-untyped-def]
    run_experiment(plan, path, executor=SerialExecutor(), batch_size=2)
    return path


def test_run_and_compare_load_the_reports_modules_in_the_tail(
    plan, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    calls: list[int] = []
    monkeypatch.setattr(experiment, "prepare_report", lambda: calls.append(1))
    outcome = experiment.execute(
        plan, tmp_path / "exp", SerialExecutor(), resume=False, batch_size=2, progress=False, command=[], out=None
    )
    assert outcome is not None and outcome.ran == 6 and calls == [1]
    fresh = (  # in a fresh interpreter: neither is loaded by importing the job, both are after prepare_report
        "import sys; from analysis.jobs.experiment import prepare_report; "
        "was = {m for m in ('scipy.special', 'pyarrow.dataset') if m in sys.modules}; prepare_report(); "
        "print(sorted(was), 'scipy.special' in sys.modules, 'pyarrow.dataset' in sys.modules)"
    )
    res = subprocess.run([sys.executable, "-c", fresh], capture_output=True, text=True, check=True, cwd=ROOT)
    assert res.stdout.split() == ["[]", "True", "True"]


def test_stored_series_equals_a_direct_run(plan, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    run_experiment(plan, tmp_path / "e", executor=SerialExecutor())
    exp = load_experiment(tmp_path / "e")
    seed = plan.seeds[1]
    direct = sim.run(plan.spec("voluntary_partnering"), seed).series
    got = exp.series[(exp.series["scenario"] == "voluntary_partnering") & (exp.series["replicate"] == 1)]
    wide = got.pivot(index="step", columns="metric", values="value")
    for metric in ["mean_quality", "share_in_deficit", "partnerships_active"]:
        np.testing.assert_array_equal(wide[metric].to_numpy(), direct[metric].to_numpy())
    assert (got["seed"] == seed).all()
    assert list(got["date"].astype(str).iloc[:1]) == ["2022-07"]
    final = exp.runs.set_index(["scenario", "replicate"]).loc[("voluntary_partnering", 1), "mean_quality"]
    assert final == direct["mean_quality"].iloc[-1]


# -- design points (sensitivity) ------------------------------------------------------------------
def test_design_points_apply_theory_overrides(tmp_path: Path) -> None:
    points = ({}, {"partnering.synergy": 0.0}, {"partnering.synergy": 0.06})
    plan = plan_from_scenarios([small("voluntary_partnering", horizon=24)], replicates=2, master_seed=3, points=points)
    out = run_experiment(plan, tmp_path / "d", executor=SerialExecutor())
    assert out.total == 6 and out.failed == 0
    exp = load_experiment(tmp_path / "d", metrics=["mean_quality"])
    assert set(exp.series["point"]) == {0, 1, 2}
    assert list(exp.design.columns) == ["point", "partnering.synergy"]
    last = exp.series[exp.series["step"] == 24].set_index(["point", "replicate"])["value"]
    assert not np.array_equal(last.loc[1].to_numpy(), last.loc[2].to_numpy())
    # common random numbers across design points too
    assert exp.series.groupby("replicate")["seed"].nunique().eq(1).all()


# -- failure isolation ----------------------------------------------------------------------------
def test_a_raising_run_is_recorded_and_the_others_complete(tmp_path: Path) -> None:
    points = ({}, {"partnering.synergy": 99.0}, {})  # point 1 is out of range: the model raises in the worker
    plan = plan_from_scenarios([small("baseline")], replicates=2, master_seed=3, points=points)
    pool = PoolExecutor(2)
    try:
        out = run_experiment(plan, tmp_path / "f", executor=pool, batch_size=3)  # batches mix good and bad runs
    finally:
        pool.close()
    assert out.failed == 2 and not out.ok
    exp = load_experiment(tmp_path / "f")
    failed = exp.failed
    assert set(failed["point"]) == {1} and len(failed) == 2
    assert all("Traceback" in e and "partnering.synergy" in e for e in failed["error"])
    assert set(exp.series["point"]) == {0, 2}
    assert exp.manifest["counts"] == {"total": 6, "ok": 4, "failed": 2, "not_run": 0}
    assert sum(r["status"] == "failed" and "Traceback" in r["error"] for r in exp.manifest["runs"]) == 2


def test_cli_exits_non_zero_and_says_how_many_failed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    files = []
    for name in ("baseline", "mandated_buddying"):
        text = (ROOT / "scenarios" / f"{name}.toml").read_text().replace("horizon = 120", "horizon = 12")
        (tmp_path / f"{name}.toml").write_text(text + "\n[population]\nn_providers = 30\n")
        files.append(str(tmp_path / f"{name}.toml"))
    real = sim.run
    bad_seed = replicate_seeds(20220701, 3)[1]

    def flaky(spec, seed, horizon=None, **kw):  # type: ignore[no-untyped-def]
        if spec.name == "mandated_buddying" and seed == bad_seed:
            raise RuntimeError("forced failure for the test")
        return real(spec, seed, horizon, **kw)

    def flaky_many(runs, *a, observers=None, **k):  # type: ignore[no-untyped-def]  # batches too
        observers = observers or [[] for _ in runs]
        return [flaky(s, seed, observers=obs) for (s, seed), obs in zip(runs, observers, strict=True)]

    monkeypatch.setattr(sim, "run", flaky)
    monkeypatch.setattr(sim, "run_many", flaky_many)
    code = main(
        [
            "compare",
            *files,
            "--reps",
            "3",
            "--workers",
            "1",
            "--out",
            str(tmp_path / "x"),
            "--horizons",
            "12",
            "--no-figures",
        ]
    )
    captured = capsys.readouterr()
    assert code == 1
    assert "1 of 6 run(s) failed" in captured.err and "forced failure for the test" in captured.err
    assert "mandated_buddying" in captured.out  # the table still prints from the other runs
    table = pd.read_csv(tmp_path / "x" / "comparison.csv")
    row = table[(table["scenario"] == "mandated_buddying") & (table["outcome"] == "mean_quality")].iloc[0]
    assert row["n"] == 2 and row["n_pairs"] == 2


def die_in_worker(spec, seed, horizon=None):  # type: ignore[no-untyped-def]
    """A run function whose worker process dies on one seed while PARTNERSIM_TEST_DIE_SEED names it."""
    if str(seed) == os.environ.get("PARTNERSIM_TEST_DIE_SEED"):
        os._exit(3)
    return sim.run(spec, seed, horizon)


def test_a_dying_worker_stops_cleanly_and_the_experiment_resumes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan = dataclasses.replace(
        plan_from_scenarios([small("baseline")], replicates=6, master_seed=9), run_fn=die_in_worker
    )
    monkeypatch.setenv("PARTNERSIM_TEST_DIE_SEED", str(plan.seeds[4]))
    pool = PoolExecutor(2)
    try:
        with pytest.raises(WorkerLost, match="--resume"):
            run_experiment(plan, tmp_path / "e", executor=pool, batch_size=1)
    finally:
        pool.close()
    with pytest.warns(StoreWarning, match="never stored"):
        assert load_experiment(tmp_path / "e").manifest["status"] == "interrupted"
    monkeypatch.delenv("PARTNERSIM_TEST_DIE_SEED")
    out = run_experiment(plan, tmp_path / "e", executor=SerialExecutor(), resume=True)
    assert out.ok and out.skipped + out.ran == 6 and out.ran >= 1
    assert len(load_experiment(tmp_path / "e").runs) == 6


# -- progress ------------------------------------------------------------------------------------
class FakeStream:
    def __init__(self, tty: bool) -> None:
        self.text = ""
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty

    def write(self, s: str) -> None:
        self.text += s

    def flush(self) -> None:
        pass


def test_progress_is_quiet_off_a_terminal_unless_asked() -> None:
    quiet = FakeStream(tty=False)
    p = Progress(10, stream=quiet)
    p.update(9, 1)
    p.close()
    assert quiet.text == ""
    asked = FakeStream(tty=False)
    p = Progress(10, stream=asked, enabled=True)
    p.update(8, 2)
    p.close()
    assert "10/10 runs" in asked.text and "2 failed" in asked.text and "runs/s" in asked.text
    assert "ETA" in asked.text and asked.text.count("\n") == 1


def test_progress_redraws_in_place_on_a_terminal() -> None:
    tty = FakeStream(tty=True)
    p = Progress(4, done=1, stream=tty)
    assert "1/4" in p.line()
    p.update(3, 0)
    p.close()
    assert tty.text.startswith("\r") and "4/4 runs" in tty.text and tty.text.endswith("\n")


def test_scenario_from_dict_runs_through_the_runner(tmp_path: Path) -> None:
    scen = scenario_from_dict({"name": "tiny", "description": "d", "horizon": 3, "population": {"n_providers": 10}})
    plan = plan_from_scenarios([scen], replicates=1, master_seed=0)
    out = run_experiment(plan, tmp_path / "t", executor=SerialExecutor())
    assert out.ok and out.total == 1
    assert load_experiment(tmp_path / "t").manifest["scenarios"][0]["content"] is None


def test_failures_exit_names_the_first_failure_and_the_sweep_future(capsys: pytest.CaptureFixture[str]) -> None:
    from types import SimpleNamespace

    from analysis.jobs.experiment import failures_exit

    first = SimpleNamespace(scenario="mergers", point=3, replicate=1, error="Traceback...\nValueError: boom\n")
    outcome = SimpleNamespace(failed=1, total=8, failures=[first], path="EXP")
    assert failures_exit(SimpleNamespace(failed=0)) == 0  # type: ignore[arg-type]
    assert failures_exit(outcome, point="future") == 1  # type: ignore[arg-type]
    err = capsys.readouterr().err
    assert "1 of 8 run(s) failed" in err and "(mergers, future 3, replicate 1): ValueError: boom" in err
    failures_exit(outcome)  # type: ignore[arg-type]
    assert "(mergers, replicate 1): ValueError: boom" in capsys.readouterr().err


def test_a_task_of_one_run_goes_through_the_engine_too():
    """A batch of one run is run by the run function's ``many`` (the engine, no Mesa model), not one by one."""
    seen: list[int] = []

    class Fn:
        def __call__(self, spec, seed, horizon=None):
            raise AssertionError("run one by one")

        def many(self, runs):
            seen.append(len(runs))
            return [("ran", seed) for _, seed in runs]

    out = run_batch(Fn(), [({}, 7)])
    assert seen == [1] and [o.output for o in out] == [("ran", 7)] and out[0].error == ""
