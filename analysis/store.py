"""The results store: one folder per experiment, tidy Parquet tables and a manifest.

Layout of an experiment folder::

    manifest.json             what ran: scenarios and theory (full content + hashes), seeds,
                              package versions, git commit, sessions, per-run status and timing
    series/part-NNNNNN.parquet       time series, long form: scenario, point, replicate, seed,
                                     step, date, metric, value
    runs/part-NNNNNN.parquet         one row per run attempt: key, status, error (traceback),
                                     seconds, worker, batch, and the final value of every metric
    partnerships/part-NNNNNN.parquet the partnership logs, with the run key in front
    design.parquet            design points (sensitivity sweeps only)

Each directory is a Parquet dataset (``pandas.read_parquet(folder / "series")`` reads it), one
part per batch. A batch is written atomically: each part goes to a temporary name and is
renamed into place, and its ``runs`` part is written last, so it is the commit marker. A batch
whose runs part is missing (the process was killed mid-write) never happened: the loader
ignores its other parts and ``--resume`` deletes them and runs the batch again.

:func:`load_experiment` reads a folder back as pandas DataFrames in one call.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import itertools
import json
import os
import platform
import re
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from analysis.cli import UserError

if TYPE_CHECKING:
    from analysis.runner import BatchResult, Plan, RunStatus
    from sim import RunSpec

FORMAT = "partnersim-experiment/1"
TABLES = ("series", "partnerships", "runs")     # write order: runs last (the commit marker)
KEYS = ["scenario", "point", "replicate"]
_STR = pa.dictionary(pa.int32(), pa.string())
SERIES_SCHEMA = pa.schema([
    ("scenario", _STR), ("point", pa.int32()), ("replicate", pa.int32()), ("seed", pa.int64()),
    ("step", pa.int32()), ("date", _STR), ("metric", _STR), ("value", pa.float64()),
])
RUN_COLUMNS = ["scenario", "point", "replicate", "seed", "status", "error", "seconds", "worker", "batch",
               "cpu_seconds"]
TIMING_COLUMNS = ["seconds", "cpu_seconds", "worker", "batch"]   # how a run ran, not what it gave
PART = re.compile(r"part-(\d+)\.parquet$")
VERSIONED = ("partnersim", "mesa", "numpy", "pandas", "pyarrow", "scipy", "dask", "distributed", "matplotlib")


class StoreError(UserError):
    """A problem with an experiment folder the user can fix (exists already, settings differ…)."""


# -- encoding (runs in workers) --------------------------------------------------------------
def encode_tables(series: Sequence[pa.Table], finals: Sequence[dict[str, float]],
                  logs: Sequence[pa.Table], statuses: Sequence[RunStatus]) -> dict[str, bytes]:
    """A batch's tables as Parquet bytes (``series`` and ``partnerships`` only when non-empty)."""
    out: dict[str, bytes] = {}
    if series:
        out["series"] = _parquet(pa.concat_tables(series), use_dictionary=["scenario", "date", "metric"],
                                 write_statistics=["scenario", "point", "replicate", "step", "metric"])
    if logs:
        out["partnerships"] = _parquet(pa.concat_tables(logs, promote_options="permissive"))
    out["runs"] = _parquet(runs_table(statuses, finals))
    return out


RUN_TYPES = {"scenario": pa.string(), "point": pa.int32(), "replicate": pa.int32(), "seed": pa.int64(),
             "status": pa.string(), "error": pa.string(), "seconds": pa.float64(), "worker": pa.string(),
             "batch": pa.int64(), "cpu_seconds": pa.float64()}


def runs_table(statuses: Sequence[RunStatus], finals: Sequence[dict[str, float]]) -> pa.Table:
    """One row per run: status fields, then the final value of each metric (NaN for failed runs)."""
    columns = {c: pa.array([getattr(s, c) for s in statuses], RUN_TYPES[c]) for c in RUN_COLUMNS}
    metric_names = list(dict.fromkeys(m for f in finals for m in f))
    ok = [i for i, s in enumerate(statuses) if s.status == "ok"]
    values = np.full((len(statuses), len(metric_names)), np.nan)
    for row, fin in zip(ok, finals, strict=True):
        values[row] = [fin.get(m, np.nan) for m in metric_names]
    columns.update({m: pa.array(values[:, j]) for j, m in enumerate(metric_names)})
    return pa.table(columns)


def runs_frame(statuses: Sequence[RunStatus], finals: Sequence[dict[str, float]]) -> pd.DataFrame:
    """:func:`runs_table` as a DataFrame."""
    return runs_table(statuses, finals).to_pandas()


def _parquet(table: pa.Table, **options: Any) -> bytes:
    buf = io.BytesIO()
    pq.write_table(table, buf, compression="zstd", **options)
    return buf.getvalue()


# -- the store (parent side) ---------------------------------------------------------------
class ExperimentStore:
    """An experiment folder being written."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.manifest: dict[str, Any] = {}

    @property
    def manifest_path(self) -> Path:
        """``manifest.json`` of the folder."""
        return self.path / "manifest.json"

    # ---- lifecycle ----
    def begin(self, plan: Plan, *, resume: bool, command: Sequence[str] | None = None, executor: str = "",
              workers: int = 1) -> None:
        """Create the folder and manifest, or reopen it to resume (after checking it is the same plan)."""
        from analysis.runner import points_digest

        now = _now()
        session = {"started": now, "ended": None, "executor": executor, "workers": workers,
                   "command": list(command) if command is not None else None, "git": git_info()}
        if self.manifest_path.exists():
            if not resume:
                raise StoreError(f"{self.path} already holds an experiment; add --resume to continue it, "
                                 f"or choose another folder with --out")
            self.manifest = read_manifest(self.path)
            self._check_same(plan)
            self.clean()
            self.manifest["replicates"] = plan.replicates
            self.manifest["seeds"] = plan.seeds
            self.manifest["sessions"].append(session)
        else:
            if self.path.exists() and any(self.path.iterdir()):
                raise StoreError(f"{self.path} exists and is not an experiment folder (no manifest.json); "
                                 f"choose an empty or new folder with --out")
            self.path.mkdir(parents=True, exist_ok=True)
            self.manifest = new_manifest(plan, self.path, session)
            if any(plan.points[i] for i in range(len(plan.points))):
                _atomic_bytes(self.path / "design.parquet",
                              _parquet(pa.Table.from_pandas(design_frame(plan.points), preserve_index=False)))
                self.manifest["design"] = {"file": "design.parquet", "n_points": len(plan.points),
                                           "digest": points_digest(plan.points)}
        self.manifest["status"] = "running"
        for table in TABLES:
            (self.path / table).mkdir(exist_ok=True)
        self.write_manifest()

    def end(self, *, complete: bool) -> None:
        """Record the end of a session, the per-run status and timing, and the final status."""
        runs = latest_runs(self._read_runs(columns=RUN_COLUMNS))
        self.manifest["sessions"][-1]["ended"] = _now()
        n_ok = int((runs["status"] == "ok").sum()) if len(runs) else 0
        n_failed = int((runs["status"] != "ok").sum()) if len(runs) else 0
        total = len(self.manifest["scenarios"]) * self.manifest["design"]["n_points"] * self.manifest["replicates"]
        self.manifest["counts"] = {"total": total, "ok": n_ok, "failed": n_failed,
                                   "not_run": total - n_ok - n_failed}
        self.manifest["status"] = "complete" if complete and n_ok + n_failed == total else "interrupted"
        self.manifest["finished"] = _now()
        self.manifest["runs"] = [_run_entry(r) for r in runs.to_dict("records")]
        self.write_manifest()

    def write_manifest(self) -> None:
        """Write ``manifest.json`` atomically."""
        text = json.dumps(self.manifest, indent=1, default=_json_default)
        _atomic_bytes(self.manifest_path, text.encode())

    def _check_same(self, plan: Plan) -> None:
        old = self.manifest
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
        raise StoreError(f"cannot resume {self.path}: it was started with different settings ("
                         + "; ".join(diffs) + "). Resume with the same files and options, or start a new "
                         "experiment with another --out.")

    # ---- batches ----
    def write_batch(self, result: BatchResult) -> None:
        """Write a finished batch atomically: data parts first, the runs part (commit marker) last."""
        for table in TABLES:
            data = result.files.get(table)
            if data is not None:
                _atomic_bytes(self.part_path(table, result.id), data)

    def part_path(self, table: str, batch: int) -> Path:
        """Where batch ``batch`` of ``table`` lives."""
        return self.path / table / f"part-{batch:06d}.parquet"

    def committed(self) -> list[int]:
        """Batch ids whose runs part exists (fully written batches), ascending."""
        return committed_batches(self.path)

    def next_batch_id(self) -> int:
        """A batch id not used by any part in the folder."""
        ids = [_part_id(p) for t in TABLES for p in (self.path / t).glob("part-*.parquet")]
        return max(ids, default=-1) + 1

    def done_keys(self) -> set[tuple[str, int, int]]:
        """Keys of runs stored successfully (not to be redone)."""
        runs = latest_runs(self._read_runs(columns=RUN_COLUMNS))
        ok = runs[runs["status"] == "ok"]
        return set(zip(ok["scenario"].astype(str), ok["point"].astype(int), ok["replicate"].astype(int),
                       strict=True))

    def clean(self) -> None:
        """Delete temporary files and parts of batches that were never committed."""
        committed = set(self.committed())
        for table in TABLES:
            folder = self.path / table
            if not folder.is_dir():
                continue
            for p in folder.iterdir():
                if p.name.endswith(".tmp") or (PART.search(p.name) and _part_id(p) not in committed):
                    p.unlink()

    def _read_runs(self, columns: Sequence[str] | None = None) -> pd.DataFrame:
        return read_runs(self.path, columns)


# -- loading ----------------------------------------------------------------------------------
@dataclass
class Experiment:
    """An experiment loaded back: tidy DataFrames and the manifest."""

    path: Path
    manifest: dict[str, Any]
    series: pd.DataFrame
    runs: pd.DataFrame
    partnerships: pd.DataFrame
    design: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def scenarios(self) -> list[str]:
        """Scenario names in plan order (the first is the baseline of comparisons)."""
        return [s["name"] for s in self.manifest["scenarios"]]

    @property
    def failed(self) -> pd.DataFrame:
        """Runs whose latest attempt failed, with their tracebacks."""
        return self.runs[self.runs["status"] != "ok"]


def load_experiment(path: str | Path, *, metrics: Sequence[str] | None = None, steps: Sequence[int] | None = None,
                    scenarios: Sequence[str] | None = None, partnerships: bool = True) -> Experiment:
    """Load an experiment folder as DataFrames (only committed batches; latest attempt of each run).

    Args:
        path: the experiment folder.
        metrics: only these metrics of the time series (default: all).
        steps: only these months (default: all).
        scenarios: only these scenarios (default: all).
        partnerships: also load the partnership logs.

    Returns:
        An :class:`Experiment` whose ``series`` is sorted by scenario (plan order), design point,
        replicate and step, whatever order the batches finished in.
    """
    path = Path(path)
    if not (path / "manifest.json").is_file():
        raise StoreError(f"{path} is not an experiment folder (no manifest.json)")
    manifest = read_manifest(path)
    order = [s["name"] for s in manifest["scenarios"]]
    runs = latest_runs(read_runs(path))
    filters: list[tuple[str, str, Any]] = []
    if metrics is not None:
        filters.append(("metric", "in", list(metrics)))
    if steps is not None:
        filters.append(("step", "in", [int(s) for s in steps]))
    if scenarios is not None:
        filters.append(("scenario", "in", list(scenarios)))
        runs = runs[runs["scenario"].isin(list(scenarios))]
    winners = runs[runs["status"] == "ok"]
    series = _read_parts(path, "series", winners, filters or None)
    if series.empty:
        series = SERIES_SCHEMA.empty_table().to_pandas()
    series = _ordered(series, order, ["step"])
    logs = _read_parts(path, "partnerships", winners, [f for f in filters if f[0] == "scenario"] or None) \
        if partnerships else pd.DataFrame()
    if len(logs):
        logs = _ordered(logs, order, ["partnership_id"] if "partnership_id" in logs else [])
    design = pd.read_parquet(path / "design.parquet") if (path / "design.parquet").exists() else pd.DataFrame()
    runs = _ordered(runs, order, [])
    return Experiment(path, manifest, series, runs, logs, design)


def read_manifest(path: str | Path) -> dict[str, Any]:
    """The manifest of an experiment folder."""
    data: dict[str, Any] = json.loads((Path(path) / "manifest.json").read_text())
    return data


def committed_batches(path: str | Path) -> list[int]:
    """Ids of fully written batches (their runs part exists)."""
    return sorted(_part_id(p) for p in (Path(path) / "runs").glob("part-*.parquet"))


def read_runs(path: str | Path, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """Every run attempt recorded in the folder (committed batches only)."""
    files = [Path(path) / "runs" / f"part-{b:06d}.parquet" for b in committed_batches(path)]
    if not files:
        return pd.DataFrame(columns=list(columns or RUN_COLUMNS))
    frames = [pd.read_parquet(f, columns=[c for c in columns if c in pq.read_schema(f).names] if columns else None)
              for f in files]
    return pd.concat(frames, ignore_index=True)


def latest_runs(runs: pd.DataFrame) -> pd.DataFrame:
    """The latest attempt of each run (a failed run retried on resume has two attempts)."""
    if runs.empty:
        return runs
    runs = runs.sort_values("batch", kind="stable")
    return runs.drop_duplicates(KEYS, keep="last").reset_index(drop=True)


def _read_parts(path: Path, table: str, winners: pd.DataFrame,
                filters: list[tuple[str, str, Any]] | None) -> pd.DataFrame:
    """Rows of ``table`` from the batches holding each run's successful attempt."""
    tables = []
    for batch, keys in winners.groupby("batch"):
        f = path / table / f"part-{int(batch):06d}.parquet"
        if not f.exists():
            continue
        t = pq.read_table(f, filters=filters)
        if not t.num_rows:
            continue
        want = set(zip(keys["scenario"].astype(str), keys["point"], keys["replicate"], strict=True))
        have = t.select(KEYS).to_pandas().drop_duplicates()
        if not set(zip(have["scenario"].astype(str), have["point"], have["replicate"], strict=True)) <= want:
            # a run stored in two batches (should not happen): keep only its winning batch's rows
            rows = zip(t.column("scenario").to_pylist(), t.column("point").to_pylist(),
                       t.column("replicate").to_pylist(), strict=True)
            t = t.filter(pa.array([k in want for k in rows]))
        tables.append(t)
    if not tables:
        return pd.DataFrame()
    return pa.concat_tables(tables, promote_options="permissive").unify_dictionaries().to_pandas()


def _ordered(frame: pd.DataFrame, order: list[str], extra: list[str]) -> pd.DataFrame:
    if frame.empty:
        return frame
    col = frame["scenario"]
    col = col.cat.remove_unused_categories() if isinstance(col.dtype, pd.CategoricalDtype) else col.astype("category")
    present = {str(c) for c in col.cat.categories}
    frame = frame.assign(scenario=col.cat.set_categories([n for n in order if n in present]))
    return frame.sort_values(["scenario", "point", "replicate", *extra], kind="stable").reset_index(drop=True)


# -- manifest content -------------------------------------------------------------------------
def new_manifest(plan: Plan, path: Path, session: dict[str, Any]) -> dict[str, Any]:
    """The manifest of a new experiment (everything needed to reproduce it)."""
    from analysis.runner import points_digest, run_fn_name

    theories: dict[str, Any] = {}
    populations: dict[str, Any] = {}
    scenarios = []
    for s in plan.scenarios:
        theories.update(theory_record(s.spec))
        populations.update(population_record(s.spec))
        scenarios.append({**s.record, "name": s.name, "resolved": _spec_json(s.spec)})
    return {
        "format": FORMAT,
        "id": path.name,
        "status": "running",
        "created": session["started"],
        "finished": None,
        "fingerprint": plan.fingerprint(),
        "master_seed": int(plan.master_seed),
        "replicates": plan.replicates,
        "seeds": plan.seeds,
        "seeding": "numpy.random.SeedSequence(master_seed).spawn(replicates); replicate r of every "
                   "scenario and design point uses seeds[r] (common random numbers)",
        "run_fn": run_fn_name(plan.run_fn),
        "scenarios": scenarios,
        "design": {"file": None, "n_points": len(plan.points), "digest": points_digest(plan.points)},
        "theories": theories,
        "populations": populations,
        "versions": package_versions(),
        "git": git_info(),
        "sessions": [session],
    }


def scenario_record(scen: Any, spec: RunSpec | None = None) -> dict[str, Any]:
    """Provenance of a scenario file: path, content, hash, description, rationale and sources."""
    p = Path(scen.path)
    text = p.read_text() if p.is_file() else None
    return {
        "path": str(scen.path),
        "sha256": hashlib.sha256(text.encode()).hexdigest() if text is not None else None,
        "content": text,
        "raw": scen.raw,
        "description": scen.description,
        "rationale": scen.rationale,
        "sources": list(scen.sources),
        "replications_in_file": scen.replications,
        "seed_in_file": scen.seed,
    }


def _spec_json(spec: RunSpec) -> dict[str, Any]:
    from analysis.runner import spec_digest, spec_summary

    return {**spec_summary(spec), "digest": spec_digest(spec)}


def theory_record(spec: RunSpec) -> dict[str, Any]:
    """The theory a spec uses, keyed by digest: files (content + sha256) and every value in force."""
    th = spec.theory
    if th is None:
        return {}
    files = {}
    for f in dict.fromkeys([th.path, th.typology_path]):
        p = Path(f)
        if p.is_file():
            data = p.read_bytes()
            files[str(p)] = {"sha256": hashlib.sha256(data).hexdigest(), "content": data.decode("utf-8")}
    return {th.digest(): {"name": th.meta.get("name", ""), "path": th.path, "typology_path": th.typology_path,
                          "file_hashes": th.file_hashes, "files": files, "values": th.values}}


def population_record(spec: RunSpec) -> dict[str, Any]:
    """The population spec a scenario uses, keyed by digest (file content + sha256)."""
    pop = spec.population
    if pop is None:
        return {}
    p = Path(pop.path) if pop.path else None
    content = p.read_text() if p is not None and p.is_file() else None
    return {pop.digest or pop.name: {"name": pop.name, "path": pop.path, "n_providers": pop.n_providers,
                                     "n_ics": pop.n_ics, "content": content}}


def design_frame(points: Sequence[Any]) -> pd.DataFrame:
    """Design points as a wide table: ``point`` then one column per parameter."""
    first = tuple(points[0]) if len(points) else ()
    if all(tuple(p) == first for p in points):  # the usual case: every point sets the same parameters
        flat = itertools.chain.from_iterable(p.values() for p in points)
        values = np.fromiter(flat, dtype=np.float64, count=len(points) * len(first)).reshape(len(points), len(first))
        frame = pd.DataFrame(values, columns=list(first))
    else:
        frame = pd.DataFrame([dict(p) for p in points])
    frame.insert(0, "point", np.arange(len(points), dtype=np.int32))
    return frame


def package_versions() -> dict[str, str]:
    """Versions of Python and the packages results depend on."""
    out = {"python": sys.version.split()[0], "platform": platform.platform()}
    for name in VERSIONED:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def git_info() -> dict[str, Any]:
    """Commit of the source tree (and whether it had uncommitted changes), if it is a git checkout."""
    root = Path(__file__).resolve().parents[1]

    def git(*args: str) -> str | None:
        try:
            res = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.SubprocessError):
            return None
        return res.stdout.strip() if res.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=no", "--", "sim", "analysis", "scenarios")
    return {"commit": commit, "dirty": bool(status) if status is not None else None}


def _run_entry(r: dict[str, Any]) -> dict[str, Any]:
    entry = {"scenario": str(r["scenario"]), "point": int(r["point"]), "replicate": int(r["replicate"]),
             "seed": int(r["seed"]), "status": r["status"], "seconds": round(float(r["seconds"]), 4),
             "cpu_seconds": round(float(r.get("cpu_seconds", 0.0)), 4), "worker": r["worker"],
             "batch": int(r["batch"])}
    if r["status"] != "ok":
        entry["error"] = r["error"]
    return entry


# -- small helpers ------------------------------------------------------------------------------
def _atomic_bytes(target: Path, data: bytes) -> None:
    tmp = target.with_name(target.name + ".tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
    os.replace(tmp, target)


def _part_id(p: Path) -> int:
    m = PART.search(p.name)
    return int(m.group(1)) if m else -1


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    if isinstance(obj, tuple | set):
        return list(obj)
    if isinstance(obj, dt.date | dt.datetime):
        return obj.isoformat()
    return str(obj)
