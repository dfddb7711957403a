"""Writing an experiment folder: create or reopen it, write batches atomically, close the session.

One writer at a time: :class:`ExperimentStore` holds the folder's lock
(:class:`~analysis.store.lock.FolderLock`) from :meth:`~ExperimentStore.begin` to
:meth:`~ExperimentStore.end`, so a second command writing the same folder gets a clear error.

A batch is written atomically: every part first goes to a temporary file whose name starts
with a dot (pyarrow and pandas skip those when they read a folder) and is flushed to disk
(fsync); then the parts are renamed into place, the ``runs`` part last: it is the commit
marker. A batch whose runs part is missing (the process was killed in the last milliseconds
of a commit) never happened: :func:`~analysis.store.load_experiment` ignores its other parts,
warns about them, and a resumed experiment deletes them and runs the batch again. The
manifest is written the same way (temporary file, fsync, rename, fsync of the folder), so a
power cut leaves the old manifest or the new one, never half of one.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from analysis.errors import StoreError
from analysis.plan import Plan
from analysis.store.format import RUN_COLUMNS, BatchResult, RunStatus, parquet_bytes
from analysis.store.lock import LOCK_NAME, FolderLock
from analysis.store.manifest import design_frame, git_info, manifest_json, new_manifest, now, read_manifest, run_entry
from analysis.store.reader import PART, committed_batches, latest_runs, part_id, read_runs, series_parts

if TYPE_CHECKING:
    import pandas as pd

TABLES = ("series", "partnerships", "runs")  # write order: runs last (the commit marker)


class ExperimentStore:
    """An experiment folder being written."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.manifest: dict[str, Any] = {}
        self.lock = FolderLock(self.path)
        self._written: list[RunStatus] | None = None  # a new experiment's runs, as stored (resumed: None)
        self.is_open = False  # from the manifest written "running" by begin() until end()

    @property
    def manifest_path(self) -> Path:
        """``manifest.json`` of the folder."""
        return self.path / "manifest.json"

    # ---- lifecycle ----
    def begin(
        self, plan: Plan, *, resume: bool, command: Sequence[str] | None = None, executor: str = "", workers: int = 1
    ) -> None:
        """Create the folder and manifest, or reopen it to resume (after checking it is the same plan)."""
        session = {
            "started": now(),
            "ended": None,
            "executor": executor,
            "workers": workers,
            "command": list(command) if command is not None else None,
            "git": git_info(),
        }
        check_folder(self.path, resume=resume)
        self.path.mkdir(parents=True, exist_ok=True)
        self.lock.acquire(command)
        try:
            self._open(plan, resume=resume, session=session)
            with held_interrupts():  # the manifest says "running" exactly when the store is open, so end() follows
                self.write_manifest()
                self.is_open = True
        except BaseException:
            if not self.is_open:
                self.lock.release()
            raise

    def _open(self, plan: Plan, *, resume: bool, session: dict[str, Any]) -> None:
        if self.manifest_path.exists():
            if not resume:  # another command created it between the checks and the lock
                raise StoreError(f"{self.path} already holds an experiment; add --resume to continue it")
            self.manifest = read_manifest(self.path)
            self._check_same(plan)
            self.clean()
            self.manifest["replicates"] = plan.replicates
            self.manifest["seeds"] = plan.seeds
            self.manifest["sessions"].append(session)
        else:
            self.clean()  # what a writer killed before its first manifest left
            self.manifest = new_manifest(plan, self.path, session)
            self._written = []
            if any(plan.points[i] for i in range(len(plan.points))):  # (stops at the first point that sets a value)
                atomic_bytes(
                    self.path / "design.parquet",
                    parquet_bytes(pa.Table.from_pandas(design_frame(plan.points), preserve_index=False)),
                )
                self.manifest["design"] = {
                    "file": "design.parquet",
                    "n_points": len(plan.points),
                    "digest": plan.design_digest,
                }
        self.manifest["status"] = "running"
        for table in TABLES:
            (self.path / table).mkdir(exist_ok=True)

    def end(self, *, complete: bool) -> None:
        """Record the end of a session, the per-run status and timing, and the final status.

        A new experiment's runs are the statuses of the batches this session stored, kept as they
        were written; a resumed one's are read back from its ``runs`` table (earlier sessions' too).
        Ctrl-C or SIGTERM while it runs is held until it has written the manifest (a second one
        goes through at once): an experiment that finished as the signal came is recorded as such.
        """
        with held_interrupts():
            try:
                entries = self._entries_written() if self._written is not None else self._entries_stored()
                self.manifest["sessions"][-1]["ended"] = now()
                n_ok = sum(e["status"] == "ok" for e in entries)
                n_failed = len(entries) - n_ok
                total = (
                    len(self.manifest["scenarios"]) * self.manifest["design"]["n_points"] * self.manifest["replicates"]
                )
                self.manifest["counts"] = {
                    "total": total,
                    "ok": n_ok,
                    "failed": n_failed,
                    "not_run": total - n_ok - n_failed,
                }
                self.manifest["status"] = "complete" if complete and n_ok + n_failed == total else "interrupted"
                self.manifest["finished"] = now()
                self.manifest["runs"] = entries
                self.write_manifest()
            finally:
                self.is_open = False
                self.lock.release()

    def _entries_stored(self) -> list[dict[str, Any]]:
        """The latest attempt of every run in the ``runs`` table, as the manifest lists them."""
        runs = latest_runs(self._read_runs(columns=RUN_COLUMNS))
        return [run_entry(r) for r in runs.to_dict("records")]

    def _entries_written(self) -> list[dict[str, Any]]:
        """What :meth:`_entries_stored` would read back of the batches this session wrote, without reading.

        Batches in id order (a batch's runs in their order), each run's last attempt where its last
        attempt is: the order ``latest_runs`` gives.
        """
        latest: dict[tuple[str, int, int], RunStatus] = {}
        for run in sorted(self._written or [], key=lambda r: r.batch):
            latest.pop(run.key, None)
            latest[run.key] = run
        return [run_entry(vars(run)) for run in latest.values()]

    def write_manifest(self) -> None:
        """Write ``manifest.json`` atomically."""
        atomic_bytes(self.manifest_path, manifest_json(self.manifest).encode())

    def _check_same(self, plan: Plan) -> None:
        old = self.manifest
        stored = int(old.get("replicates", 0))
        if plan.replicates < stored:
            raise StoreError(
                f"cannot resume {self.path} with {plan.replicates} replicate(s): it holds {stored} per scenario, "
                f"and fewer would leave stored runs out of its manifest and tables. Resume with --reps {stored} "
                "(or leave --reps out) to finish it, or with more to extend it"
            )
        if old.get("fingerprint") == plan.fingerprint():
            return
        diffs = []
        old_names = [s["name"] for s in old.get("scenarios", [])]
        new_names = [s.name for s in plan.scenarios]
        if old_names != new_names:
            diffs.append(f"scenarios {old_names} vs now {new_names}")
        if old.get("master_seed") != plan.master_seed:
            diffs.append(f"seed {old.get('master_seed')} vs now {plan.master_seed}")
        if not diffs:
            diffs.append("the scenario settings, theory, horizon or design points changed")
        raise StoreError(
            f"cannot resume {self.path}: it was started with different settings ("
            + "; ".join(diffs)
            + "). Resume with the same files and options, or start a new "
            "experiment with another --out."
        )

    # ---- batches ----
    def write_batch(self, result: BatchResult) -> None:
        """Write a finished batch atomically: every part staged and synced, then renamed, the runs part last."""
        staged = []
        try:
            for table in TABLES:
                data = result.files.get(table)
                if data is not None:
                    final = self.part_path(table, result.id)
                    staged.append((stage_bytes(final, data), final))
            for tmp, final in staged:
                publish(tmp, final)
            # committed: its runs part, published last, is in place
            if self._written is not None and "runs" in result.files:
                self._written += result.runs
        finally:
            for tmp, _ in staged:
                if tmp.exists():
                    tmp.unlink()
        for folder in {final.parent for _, final in staged}:
            sync_folder(folder)

    def part_path(self, table: str, batch: int) -> Path:
        """Where batch ``batch`` of ``table`` lives."""
        return self.path / table / f"part-{batch:06d}.parquet"

    def committed(self) -> list[int]:
        """Batch ids whose runs part exists (fully written batches), ascending."""
        return committed_batches(self.path)

    def next_batch_id(self) -> int:
        """A batch id not used by any part in the folder."""
        ids = [part_id(p) for t in TABLES for p in (self.path / t).glob("part-*.parquet")]
        return max(ids, default=-1) + 1

    def done_keys(self) -> set[tuple[str, int, int]]:
        """Keys of runs stored successfully (not to be redone; a run whose series part was lost is redone).

        A new experiment has none, known without reading a table (and so without importing pandas).
        """
        if not self.committed():
            return set()
        runs = latest_runs(self._read_runs(columns=RUN_COLUMNS))
        ok = runs[(runs["status"] == "ok") & runs["batch"].isin(series_parts(self.path))]
        return set(zip(ok["scenario"].astype(str), ok["point"].astype(int), ok["replicate"].astype(int), strict=True))

    def clean(self) -> None:
        """Delete temporary files (of the manifest, design and parts) and parts of batches never committed."""
        committed = set(self.committed())
        for p in self.path.glob(".*.tmp"):
            p.unlink()
        for table in TABLES:
            folder = self.path / table
            if not folder.is_dir():
                continue
            for p in folder.iterdir():
                if p.name.endswith(".tmp") or (PART.match(p.name) and part_id(p) not in committed):
                    p.unlink()

    def _read_runs(self, columns: Sequence[str] | None = None) -> pd.DataFrame:
        return read_runs(self.path, columns)


def check_folder(path: str | Path, *, resume: bool) -> None:
    """Check that ``path`` can hold a new experiment (or, with ``resume``, holds one to continue).

    Raises:
        StoreError: ``path`` is a file; holds an experiment already (without ``resume``); or holds
            other files (it is not an experiment folder).
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise StoreError(f"{path} is a file, not a folder; choose an experiment folder with --out")
    manifest = path / "manifest.json"
    if manifest.exists() and not resume:
        raise StoreError(
            f"{path} already holds an experiment; add --resume to continue it, or choose another folder with --out"
        )
    if not manifest.exists() and path.exists() and any(not _debris(p) for p in path.iterdir()):
        raise StoreError(
            f"{path} exists and is not an experiment folder (no manifest.json); "
            "choose an empty or new folder with --out"
        )


def _debris(p: Path) -> bool:
    """What a writer killed before its first manifest leaves: the lock, staged files, empty table folders."""
    if p.name == LOCK_NAME or (p.name.startswith(".") and p.name.endswith(".tmp")):
        return True
    return p.name in TABLES and p.is_dir() and not any(p.iterdir())


@contextlib.contextmanager
def held_interrupts() -> Iterator[None]:
    """Hold Ctrl-C (SIGINT) and SIGTERM until the block ends; a second one goes through at once.

    For the few lines whose half-done state is worse than a short wait: the manifest written
    "running" and the store marked open (so that :meth:`ExperimentStore.end` follows), and the
    session's end recorded. The signal held is delivered, to the handler it was meant for, as the
    block ends. Outside the main thread (where Python runs no signal handler) it holds nothing.
    """
    watched = (signal.SIGINT, signal.SIGTERM)
    previous = {s: signal.getsignal(s) for s in watched}
    if threading.current_thread() is not threading.main_thread() or any(h is None for h in previous.values()):
        yield
        return
    held: list[int] = []

    def restore() -> None:
        for s, handler in previous.items():
            signal.signal(s, handler)

    def hold(signum: int, frame: FrameType | None) -> None:
        if held:  # asked again: stop now
            held.clear()
            restore()
            signal.raise_signal(signum)
        else:
            held.append(signum)

    for s in watched:
        signal.signal(s, hold)
    try:
        yield
    finally:
        restore()
        if held:
            signal.raise_signal(held[0])


def atomic_bytes(target: Path, data: bytes) -> None:
    """Write ``data`` to ``target`` durably: a dot-named temporary file, fsync, rename, fsync of the folder."""
    tmp = stage_bytes(target, data)
    try:
        publish(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()
    sync_folder(target.parent)


def stage_bytes(target: Path, data: bytes) -> Path:
    """Write ``data`` to a dot-named temporary file beside ``target`` and flush it to disk; return its path."""
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        if tmp.exists():
            tmp.unlink()
        raise
    return tmp


def publish(tmp: Path, target: Path) -> None:
    """Rename a staged file into place (atomic on one file system)."""
    os.replace(tmp, target)


def sync_folder(folder: Path) -> None:
    """Flush a folder's entries (renames) to disk, where the platform allows it."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
