"""Reading an experiment folder back as pandas DataFrames (committed batches only).

:func:`load_experiment` is the one call: the tidy time series, one row per run (its latest
attempt), the partnership logs and the design, sorted in plan order whatever order the
batches finished in. It also checks that the folder is whole, and says so
(:class:`~analysis.errors.StoreWarning`, and :attr:`Experiment.problems` for the report) when
planned runs were never stored, a stored run's data part is missing or damaged, parts of an
unfinished batch lie in the folder, another process is still writing it, or the manifest
disagrees with the data.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq

from analysis.errors import StoreError, StoreWarning
from analysis.store.format import KEYS, RUN_COLUMNS, SERIES_SCHEMA
from analysis.store.lock import writer_of
from analysis.store.manifest import read_manifest

if TYPE_CHECKING:
    import pandas as pd

PART = re.compile(r"part-(\d+)\.parquet$")
Filter = tuple[str, str, Any]
"""A pyarrow row filter: (column, operator, value)."""


@dataclass
class Experiment:
    """An experiment loaded back: tidy DataFrames and the manifest."""

    path: Path
    manifest: dict[str, Any]
    series: pd.DataFrame
    runs: pd.DataFrame
    partnerships: pd.DataFrame
    design: pd.DataFrame = field(default_factory=lambda: _frame())
    problems: dict[str, str] = field(default_factory=dict)
    """What is not whole about the folder, by kind (``not_run``, ``writing``, ``missing_parts``,
    ``damaged_parts``, ``unfinished_batch``, ``manifest``), in words; empty when it is whole."""

    @property
    def scenarios(self) -> list[str]:
        """Scenario names in plan order (the first is the baseline of comparisons)."""
        return [s["name"] for s in self.manifest["scenarios"]]

    @property
    def failed(self) -> pd.DataFrame:
        """Runs whose latest attempt failed, with their tracebacks."""
        return self.runs[self.runs["status"] != "ok"]


def load_experiment(
    path: str | Path,
    *,
    metrics: Sequence[str] | None = None,
    steps: Sequence[int] | None = None,
    scenarios: Sequence[str] | None = None,
    partnerships: bool = True,
) -> Experiment:
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

    Raises:
        StoreError: ``path`` is not an experiment folder.
    """
    import pandas as pd  # the store's writers and workers never import pandas; its readers do

    path = Path(path)
    if not (path / "manifest.json").is_file():
        raise StoreError(f"{path} is not an experiment folder (no manifest.json)")
    manifest = read_manifest(path)
    order = [s["name"] for s in manifest["scenarios"]]
    all_runs = latest_runs(read_runs(path))
    runs = all_runs
    filters: list[Filter] = []
    if metrics is not None:
        filters.append(("metric", "in", list(metrics)))
    if steps is not None:
        filters.append(("step", "in", [int(s) for s in steps]))
    if scenarios is not None:
        filters.append(("scenario", "in", list(scenarios)))
        runs = runs[runs["scenario"].isin(list(scenarios))]
    winners = runs[runs["status"] == "ok"]
    damaged: dict[str, list[str]] = {}
    series = _read_parts(path, "series", winners, filters or None, damaged)
    if series.empty:
        series = SERIES_SCHEMA.empty_table().to_pandas()
    series = _ordered(series, order, ["step"])
    logs = (
        _read_parts(path, "partnerships", winners, [f for f in filters if f[0] == "scenario"] or None, damaged)
        if partnerships
        else pd.DataFrame()
    )
    if len(logs):
        logs = _ordered(logs, order, ["partnership_id"] if "partnership_id" in logs else [])
    design = pd.read_parquet(path / "design.parquet") if (path / "design.parquet").exists() else pd.DataFrame()
    runs = _ordered(runs, order, [])
    problems = check_whole(path, manifest, all_runs, damaged)
    if problems:
        warnings.warn(f"{path}: " + " ".join(problems.values()), StoreWarning, stacklevel=2)
    return Experiment(path, manifest, series, runs, logs, design, problems)


def check_whole(
    path: Path, manifest: dict[str, Any], runs: pd.DataFrame, damaged: dict[str, list[str]] | None = None
) -> dict[str, str]:
    """What is not whole about an experiment folder, by kind, in words (empty when it is whole).

    Args:
        path: the experiment folder.
        manifest: its manifest.
        runs: the latest attempt of every stored run.
        damaged: parts that could not be read, by table (as :func:`load_experiment` found them).
    """
    problems: dict[str, str] = {}
    writer = writer_of(path)
    if writer:
        problems["writing"] = f"It is being written right now by {writer}; what is read may change."
    planned = (
        len(manifest.get("scenarios", []))
        * int((manifest.get("design") or {}).get("n_points", 1) or 1)
        * int(manifest.get("replicates", 0))
    )
    if len(runs) < planned:
        problems["not_run"] = (
            f"{planned - len(runs)} of {planned} planned runs were never stored (the experiment was interrupted"
            f"{' or is still running' if writer else ''}); --resume runs them."
        )
    ok = runs[runs["status"] == "ok"] if len(runs) else runs
    lost = ok[~ok["batch"].isin(series_parts(path))] if len(ok) else ok
    if len(lost):
        batches = sorted({int(b) for b in lost["batch"]})
        shown = ", ".join(f"series/part-{b:06d}.parquet" for b in batches[:3]) + (" …" if len(batches) > 3 else "")
        problems["missing_parts"] = (
            f"The time series of {len(lost)} finished run(s) are missing ({shown} deleted or lost), so they are left "
            "out of every table; --resume runs them again."
        )
    bad = [name for names in (damaged or {}).values() for name in names]
    if bad:
        problems["damaged_parts"] = (
            f"{len(bad)} part file(s) could not be read ({', '.join(bad[:3])}): their runs are left out."
        )
    committed = set(committed_batches(path))
    stray = sorted(
        f"{table}/{p.name}"
        for table in ("series", "partnerships")
        for p in (path / table).glob("part-*.parquet")
        if part_id(p) not in committed
    )
    if stray:
        problems["unfinished_batch"] = (
            f"{len(stray)} part file(s) of a batch that was never committed lie in the folder "
            f"({', '.join(stray[:3])}); "
            "this reader skips them, but reading the folders directly with pandas or pyarrow would count them: "
            "--resume removes them."
        )
    recorded = manifest.get("runs")
    n_ok = int((runs["status"] == "ok").sum()) if len(runs) else 0
    if manifest.get("status") != "running" and isinstance(recorded, list):
        listed_ok = sum(1 for r in recorded if r.get("status") == "ok")
        if listed_ok != n_ok:
            problems["manifest"] = (
                f"The manifest lists {listed_ok} finished run(s) but the store holds {n_ok}: it was edited, or the "
                "folder was changed after the experiment ended."
            )
    return problems


def series_parts(path: str | Path) -> set[int]:
    """Ids of the batches whose series part exists."""
    return {part_id(p) for p in (Path(path) / "series").glob("part-*.parquet")}


def committed_batches(path: str | Path) -> list[int]:
    """Ids of fully written batches (their runs part exists)."""
    return sorted(part_id(p) for p in (Path(path) / "runs").glob("part-*.parquet"))


def part_id(path: Path) -> int:
    """The batch id of a part file (``part-000012.parquet`` → 12; -1 if not a part)."""
    m = PART.search(path.name)
    return int(m.group(1)) if m else -1


def read_runs(path: str | Path, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """Every run attempt recorded in the folder (committed batches only)."""
    import pandas as pd

    files = [Path(path) / "runs" / f"part-{b:06d}.parquet" for b in committed_batches(path)]
    if not files:
        return pd.DataFrame(columns=list(columns or RUN_COLUMNS))
    # each part read as Arrow and converted once (a DataFrame per part cost ~10 ms: 14 s for a Sobol's 1,400 parts)
    tables = [_read_present(f, columns) for f in files]
    return pa.concat_tables(tables, promote_options="default").to_pandas()


def _read_present(file: Path, columns: Sequence[str] | None) -> pa.Table:
    """Those of ``columns`` (default: all) that the Parquet ``file`` holds, the file opened once."""
    part = pq.ParquetFile(file)
    if columns is None:
        return part.read()
    names = set(part.schema_arrow.names)
    return part.read(columns=[c for c in columns if c in names])


def latest_runs(runs: pd.DataFrame) -> pd.DataFrame:
    """The latest attempt of each run (a failed run retried on resume has two attempts)."""
    if runs.empty:
        return runs
    runs = runs.sort_values("batch", kind="stable")
    return runs.drop_duplicates(KEYS, keep="last").reset_index(drop=True)


def _read_parts(
    path: Path,
    table: str,
    winners: pd.DataFrame,
    filters: list[Filter] | None,
    damaged: dict[str, list[str]] | None = None,
) -> pd.DataFrame:
    """Rows of ``table`` from the batches holding each run's successful attempt.

    Parts that cannot be read are listed in ``damaged`` (when given) and skipped; else the error propagates.
    """
    tables = []
    for batch, keys in winners.groupby("batch"):
        f = path / table / f"part-{int(batch):06d}.parquet"
        if not f.exists():
            continue
        try:
            t = pq.read_table(f, filters=filters)
        except (OSError, pa.ArrowException) as exc:
            if damaged is None:
                raise
            damaged.setdefault(table, []).append(f"{table}/{f.name}: {str(exc).splitlines()[0]}")
            continue
        if not t.num_rows:
            continue
        want = set(zip(keys["scenario"].astype(str), keys["point"], keys["replicate"], strict=True))
        have = t.select(KEYS).group_by(KEYS).aggregate([])  # the part's runs (in Arrow: no DataFrame of its rows)
        if not set(zip(*(have.column(k).to_pylist() for k in KEYS), strict=True)) <= want:
            # a run stored in two batches (should not happen): keep only its winning batch's rows
            rows = zip(
                t.column("scenario").to_pylist(),
                t.column("point").to_pylist(),
                t.column("replicate").to_pylist(),
                strict=True,
            )
            t = t.filter(pa.array([k in want for k in rows]))
        tables.append(t)
    if not tables:
        return _frame()
    return pa.concat_tables(tables, promote_options="permissive").unify_dictionaries().to_pandas()


def _frame() -> pd.DataFrame:
    """An empty DataFrame (pandas imported only when the store is read)."""
    import pandas as pd

    return pd.DataFrame()


def _ordered(frame: pd.DataFrame, order: list[str], extra: list[str]) -> pd.DataFrame:
    import pandas as pd

    if frame.empty:
        return frame
    col = frame["scenario"]
    col = col.cat.remove_unused_categories() if isinstance(col.dtype, pd.CategoricalDtype) else col.astype("category")
    present = {str(c) for c in col.cat.categories}
    frame = frame.assign(scenario=col.cat.set_categories([n for n in order if n in present]))
    return frame.sort_values(["scenario", "point", "replicate", *extra], kind="stable").reset_index(drop=True)
