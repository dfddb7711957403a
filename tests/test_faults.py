"""Fault injection: kills at random moments, concurrent writers, a full disk, orphaned workers, an empty cluster.

Every interrupted experiment is resumed and compared exactly with an uninterrupted one (same
tables, no run lost, duplicated or different), and every test checks that no process it
started is left behind.

* Random kill points inside the store's commit protocol: a forked child runs the experiment
  and ``os._exit``s (no clean-up, like ``kill -9``) at a random call of the writer's steps
  (stage a part, rename it into place, sync a folder).
* Random kill times of the real command: ``partnersim run`` is sent SIGKILL at a random moment.
* Concurrent resumes: two ``--resume`` of one folder at once; the lock lets one write.
* A full disk: a small tmpfs (in a private mount namespace, or as root) where the machine
  allows it; else skipped, saying why.
* Orphans: SIGKILL and SIGTERM of a command with pool workers; the workers end within seconds.
* Dask: a cluster with no worker stops with a resumable error within the stated timeout.

``PARTNERSIM_FAULT_SEED`` changes the random kill points (default: a new seed per session,
printed, so a failure can be replayed).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_store import KEYS, assert_no_duplicates, assert_same_tables

from analysis.cli import main
from analysis.executors import WATCHDOG_SECONDS, DaskExecutor, NoWorkers, SerialExecutor
from analysis.plan import plan_from_scenarios
from analysis.runner import run_experiment
from analysis.scenario import load_scenario
from analysis.store import committed_batches, load_experiment, read_runs

ROOT = Path(__file__).resolve().parents[1]
SEED = int(os.environ.get("PARTNERSIM_FAULT_SEED", str(int(time.time()) % 100_000)))
REPS = 12


def setup_module() -> None:
    print(f"\nfault injection seed: PARTNERSIM_FAULT_SEED={SEED}")


def scenario_file(folder: Path, name: str = "voluntary_partnering", horizon: int = 12, n: int = 20) -> Path:
    text = (ROOT / "scenarios" / f"{name}.toml").read_text().replace("horizon = 120", f"horizon = {horizon}")
    path = folder / f"{name}.toml"
    path.write_text(text + f"\n[population]\nn_providers = {n}\n")
    return path


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "analysis.cli", *args]


def run_args(scenario: Path, out: Path, *extra: str) -> list[str]:
    return [
        "run",
        str(scenario),
        "--reps",
        str(REPS),
        "--workers",
        "1",
        "--batch-size",
        "1",
        "--no-figures",
        "--no-progress",
        "--out",
        str(out),
        *extra,
    ]


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A scenario file and the uninterrupted reference experiment (``ref``) made from it."""
    tmp = tmp_path_factory.mktemp("faults")
    scenario = scenario_file(tmp)
    assert main(run_args(scenario, tmp / "ref")) == 0
    return tmp


def children(pid: int) -> list[int]:
    """Child processes of ``pid`` (from /proc), excluding zombies."""
    kids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            kids.append(int(stat.parent.name))
    return kids


def alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie, waiting to be reaped, has ended)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def wait_gone(pids: list[int], seconds: float) -> list[int]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        left = [p for p in pids if alive(p)]
        if not left:
            return []
        time.sleep(0.05)
    return [p for p in pids if alive(p)]


def check_resumed(folder: Path, ref: Path, reps: int = REPS) -> None:
    exp = load_experiment(folder)
    assert exp.manifest["status"] == "complete", exp.manifest["status"]
    assert len(exp.runs) == reps and (exp.runs["status"] == "ok").all(), "a run was lost"
    assert not exp.problems, exp.problems
    assert_no_duplicates(exp)
    assert_same_tables(folder, ref)
    assert not list(folder.rglob("*.tmp")), "a temporary file was left behind"
    direct = pd.read_parquet(folder / "series")  # the folder is a plain Parquet dataset again
    assert len(direct) == len(exp.series)


# -- random kill points inside the commit protocol ----------------------------------------------
def _count_steps(plan, folder: Path) -> int:  # type: ignore[no-untyped-def]
    import analysis.store.writer as store_mod

    calls = {"n": 0}
    real = {name: getattr(store_mod, name) for name in ("stage_bytes", "publish", "sync_folder")}

    def counted(name):  # type: ignore[no-untyped-def]
        def step(*a):  # type: ignore[no-untyped-def]
            calls["n"] += 1
            return real[name](*a)

        return step

    try:
        for name in real:
            setattr(store_mod, name, counted(name))
        run_experiment(plan, folder, executor=SerialExecutor(), batch_size=2)
    finally:
        for name, fn in real.items():
            setattr(store_mod, name, fn)
    return calls["n"]


def _die_at(plan, folder: Path, k: int) -> int:  # type: ignore[no-untyped-def]
    """Run ``plan`` in a forked child that dies (``os._exit``, no clean-up) at writer step ``k``; its status."""
    pid = os.fork()
    if pid == 0:  # the child: no pytest clean-up, no finally blocks at the kill point
        try:
            import analysis.store.writer as store_mod

            calls = {"n": 0}
            for name in ("stage_bytes", "publish", "sync_folder"):
                real = getattr(store_mod, name)

                def step(*a, _real=real):  # type: ignore[no-untyped-def]
                    calls["n"] += 1
                    if calls["n"] == k:
                        os._exit(9)
                    return _real(*a)

                setattr(store_mod, name, step)
            run_experiment(plan, folder, executor=SerialExecutor(), batch_size=2)
        finally:
            os._exit(0)
    return os.waitpid(pid, 0)[1]


@pytest.mark.filterwarnings("ignore:.*use of fork\\(\\) may lead to deadlocks:DeprecationWarning")
def test_random_kill_points_in_the_commit_protocol_then_resume(sandbox: Path) -> None:
    """Die at random steps of writing (staging, renaming, syncing); resume; same tables as never killed."""
    scen = load_scenario(sandbox / "voluntary_partnering.toml")
    plan = plan_from_scenarios([scen], replicates=REPS, master_seed=scen.seed)
    straight = sandbox / "straight"
    steps = _count_steps(plan, straight)
    rng = np.random.default_rng(SEED)
    points = sorted(rng.choice(np.arange(1, steps + 1), size=6, replace=False).tolist())
    for k in points:
        folder = sandbox / f"killed-step-{k}"
        status = _die_at(plan, folder, k)
        assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 9, f"the child was not killed at step {k}"
        run_experiment(plan, folder, executor=SerialExecutor(), batch_size=2, resume=True)
        exp = load_experiment(folder)
        assert len(exp.runs) == REPS and not exp.problems, (k, exp.problems)
        assert_no_duplicates(exp)
        assert_same_tables(folder, straight)
        assert not list(folder.rglob("*.tmp")), f"a temporary file was left behind (step {k})"


# -- random kill times of the real command --------------------------------------------------------
KILL_REPS = 24


@pytest.fixture(scope="module")
def heavier(sandbox: Path) -> tuple[Path, Path]:
    """A scenario whose runs take long enough to be killed in the middle (100 trusts, 36 months), and its reference."""
    folder = sandbox / "heavier"
    folder.mkdir()
    scenario = scenario_file(folder, horizon=36, n=100)
    assert main([*run_args(scenario, folder / "ref"), "--reps", str(KILL_REPS)]) == 0
    return scenario, folder / "ref"


def _kill_and_resume(scenario: Path, folder: Path, rng: np.random.Generator, *extra: str) -> tuple[float, int]:
    """Start ``partnersim run``, SIGKILL it at a random moment of its work, resume in-process.

    The moment is uniform over the work: from the first stored batch to about the end of the run.
    Returns the delay after the first batch and the number of runs stored at the kill.
    """
    args = [*run_args(scenario, folder, *extra), "--reps", str(KILL_REPS)]
    proc = subprocess.Popen(cli(*args), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not committed_batches(folder) and proc.poll() is None:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    delay = float(rng.uniform(0.0, 1.2))
    time.sleep(delay)
    workers = children(proc.pid)
    proc.kill()
    proc.wait()
    assert not wait_gone(workers, 5 * WATCHDOG_SECONDS + 3), "a pool worker outlived its killed parent"
    stored = len(read_runs(folder)) if (folder / "runs").is_dir() else 0
    assert main([*args, "--resume"]) == 0
    return delay, stored


@pytest.mark.slow  # about 5 s: the fork-based random kill points above stay in the quick suite
def test_sigkill_at_a_random_moment_then_resume_equals_uninterrupted(heavier: tuple[Path, Path]) -> None:
    """``kill -9`` of the command at a random moment of its work; resume; nothing lost, doubled or different."""
    scenario, ref = heavier
    delay, stored = _kill_and_resume(scenario, scenario.parent / "sigkill", np.random.default_rng(SEED + 1))
    check_resumed(scenario.parent / "sigkill", ref, KILL_REPS)
    print(f"  kill -9 {delay:.2f} s after the first batch: {stored} of {KILL_REPS} runs stored, resumed exactly")


@pytest.mark.slow
def test_ten_sigkills_at_random_moments(heavier: tuple[Path, Path]) -> None:
    """The issue's probe, as a test: ten kills at random moments (serial and pool), each resumed and compared."""
    scenario, ref = heavier
    rng = np.random.default_rng(SEED + 2)
    for i in range(10):
        folder = scenario.parent / f"sigkill-slow-{i}"
        extra = ("--workers", "2") if i % 2 else ()
        delay, stored = _kill_and_resume(scenario, folder, rng, *extra)
        check_resumed(folder, ref, KILL_REPS)
        kind = "pool" if extra else "serial"
        print(f"  kill -9 #{i + 1} ({kind}) {delay:.2f} s after the first batch: {stored} of {KILL_REPS} stored")


# -- one writer per folder ----------------------------------------------------------------------
@pytest.mark.slow  # about 5 s: the deterministic lock test below stays in the quick suite
def test_concurrent_resumes_one_writes_the_other_is_refused(sandbox: Path) -> None:
    scenario = sandbox / "voluntary_partnering.toml"
    folder = sandbox / "concurrent"
    assert main([*run_args(scenario, folder), "--reps", "2"]) == 0
    procs = [
        subprocess.Popen(
            cli(*run_args(scenario, folder), "--resume"),
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    results = [(p.wait(timeout=120), p.stderr.read() if p.stderr else "") for p in procs]
    codes = sorted(code for code, _ in results)
    refused = [err for code, err in results if code == 2]
    assert codes == [0, 2] or codes == [0, 0], results
    if codes == [0, 2]:  # they overlapped: the second was refused, clearly
        assert "is being written by process" in refused[0] and "Traceback" not in refused[0]
    check_resumed(folder, sandbox / "ref")


def test_a_resume_while_another_process_writes_is_refused(sandbox: Path, capsys: pytest.CaptureFixture) -> None:
    scenario = sandbox / "voluntary_partnering.toml"
    folder = sandbox / "locked"
    assert main([*run_args(scenario, folder), "--reps", "3"]) == 0
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from analysis.store.lock import FolderLock; "
            "lk = FolderLock(sys.argv[1]); lk.acquire(['partnersim', 'run', '…']); "
            "print('locked', flush=True); time.sleep(60)",
            str(folder),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        assert main([*run_args(scenario, folder), "--resume"]) == 2
        err = capsys.readouterr().err
        assert f"being written by process {holder.pid}" in err and "partnersim run" in err and "--resume" in err
        assert "Traceback" not in err
        with pytest.warns(Warning, match="being written right now"):
            load_experiment(folder)
    finally:
        holder.kill()
        holder.wait()
    assert main([*run_args(scenario, folder), "--resume"]) == 0  # the lock died with its holder
    check_resumed(folder, sandbox / "ref")


# -- a full disk ------------------------------------------------------------------------------------
def _tmpfs_prefix(mountpoint: Path, size: str) -> list[str] | None:
    """A command prefix that runs its command with a small tmpfs on ``mountpoint``, or None if not allowed."""
    script = f'mount -t tmpfs -o size={size} partnersim-test "{mountpoint}" && exec "$@"'
    unshare = shutil.which("unshare")
    if unshare:
        prefix = [unshare, "-rm", "sh", "-c", script, "sh"]
        if subprocess.run([*prefix, "true"], capture_output=True).returncode == 0:
            return prefix
    if os.geteuid() == 0 and shutil.which("unshare"):
        prefix = ["unshare", "-m", "sh", "-c", script, "sh"]
        if subprocess.run([*prefix, "true"], capture_output=True).returncode == 0:
            return prefix
    return None


def test_a_full_disk_gives_a_clear_error_and_the_stored_batches_resume(sandbox: Path) -> None:
    scenario = sandbox / "voluntary_partnering.toml"
    mount = sandbox / "small-disk"
    mount.mkdir()
    prefix = _tmpfs_prefix(mount, "400k")
    if prefix is None:
        pytest.skip("cannot mount a small tmpfs here (needs user namespaces, `unshare -rm`, or root)")
    saved = sandbox / "saved-from-full-disk"
    # inside the private mount namespace: run until the disk is full, then copy what was stored out of it
    script = f'"$@"; code=$?; cp -a "{mount}/e" "{saved}"; exit $code'
    proc = subprocess.run(
        [*prefix, "sh", "-c", script, "sh", *cli(*run_args(scenario, mount / "e"))],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and "disk is full" in proc.stderr and "--resume" in proc.stderr
    stored = read_runs(saved)
    assert 0 < len(stored) < REPS
    assert not list(saved.rglob("*.tmp")), "a temporary file was left on the full disk"
    assert main([*run_args(scenario, saved), "--resume"]) == 0
    check_resumed(saved, sandbox / "ref")


def test_disk_full_while_writing_a_batch_is_explained(
    sandbox: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same, on any machine: the writer raises ENOSPC at a random batch; the message is one paragraph."""
    import errno

    import analysis.store.writer as store_mod

    real = store_mod.stage_bytes
    fail_at = int(np.random.default_rng(SEED + 3).integers(2, 3 * REPS))
    calls = {"n": 0}

    def full(target: Path, data: bytes) -> Path:
        calls["n"] += 1
        if calls["n"] >= fail_at:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(target))
        return real(target, data)

    monkeypatch.setattr(store_mod, "stage_bytes", full)
    folder = sandbox / "enospc"
    scenario = sandbox / "voluntary_partnering.toml"
    assert main(run_args(scenario, folder)) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("partnersim: error: No space left on device") and "disk is full" in err, err
    monkeypatch.setattr(store_mod, "stage_bytes", real)
    assert main([*run_args(scenario, folder), "--resume"]) == 0
    check_resumed(folder, sandbox / "ref")


# -- orphans ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_pool_workers_exit_when_their_parent_dies(sandbox: Path, sig: signal.Signals) -> None:
    scenario = scenario_file(sandbox, "baseline", horizon=120, n=217)
    folder = sandbox / f"orphans-{sig.name}"
    proc = subprocess.Popen(
        cli(
            "run",
            str(scenario),
            "--reps",
            "4000",  # about a minute of work: it cannot end on its own before the signal, however slow the test is
            "--workers",
            "2",
            "--batch-size",
            "1",
            "--no-figures",
            "--no-progress",
            "--out",
            str(folder),
        ),
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while len(children(proc.pid)) < 2 or not committed_batches(folder):
            assert proc.poll() is None and time.monotonic() < deadline, "the run ended before the test"
            time.sleep(0.05)
        workers = children(proc.pid)
        proc.send_signal(sig)
        code = proc.wait(timeout=60)
        left = wait_gone(workers, 5 * WATCHDOG_SECONDS + 3)
        assert not left, f"pool workers {left} outlived their parent ({sig.name})"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    if sig == signal.SIGTERM:  # a clean stop: resumable, said so, no traceback
        err = proc.stderr.read() if proc.stderr else ""
        assert code == 128 + 15 and "--resume" in err and "Traceback" not in err, err
        manifest = json.loads((folder / "manifest.json").read_text())
        assert manifest["status"] == "interrupted" and manifest["counts"]["not_run"] > 0, manifest.get("counts")


# -- Dask: a cluster with no live worker ---------------------------------------------------------------
def test_dask_without_live_workers_stops_with_a_resumable_error(sandbox: Path) -> None:
    from distributed import LocalCluster

    scen = load_scenario(sandbox / "voluntary_partnering.toml")
    plan = plan_from_scenarios([scen], replicates=4, master_seed=scen.seed)
    with LocalCluster(n_workers=0, processes=False, dashboard_address=None) as cluster:
        ex = DaskExecutor(cluster.scheduler_address, no_worker_timeout=1.5, poll=0.25)
        try:
            t0 = time.monotonic()
            with pytest.raises(NoWorkers, match="--resume"):
                run_experiment(plan, sandbox / "dask-empty", executor=ex)
            assert time.monotonic() - t0 < 15
        finally:
            ex.close()
    assert json.loads((sandbox / "dask-empty" / "manifest.json").read_text())["status"] == "interrupted"
    out = run_experiment(plan, sandbox / "dask-empty", executor=SerialExecutor(), resume=True)
    assert out.ok and out.ran == 4
    assert set(load_experiment(sandbox / "dask-empty").runs.set_index(KEYS).index) == {
        (scen.name, 0, r) for r in range(4)
    }
