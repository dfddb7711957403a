"""Reading an experiment folder back as pandas DataFrames (committed batches only).

:func:`load_experiment` is the one call: the tidy time series, one row per run (its latest
attempt), the partnership logs and the design, sorted in plan order whatever order the
batches finished in.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from analysis.errors import StoreError
from analysis.store.format import KEYS, RUN_COLUMNS, SERIES_SCHEMA
from analysis.store.manifest import read_manifest

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
    design: pd.DataFrame = field(default_factory=pd.DataFrame)

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
    path = Path(path)
    if not (path / "manifest.json").is_file():
        raise StoreError(f"{path} is not an experiment folder (no manifest.json)")
    manifest = read_manifest(path)
    order = [s["name"] for s in manifest["scenarios"]]
    runs = latest_runs(read_runs(path))
    filters: list[Filter] = []
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
    logs = (
        _read_parts(path, "partnerships", winners, [f for f in filters if f[0] == "scenario"] or None)
        if partnerships
        else pd.DataFrame()
    )
    if len(logs):
        logs = _ordered(logs, order, ["partnership_id"] if "partnership_id" in logs else [])
    design = pd.read_parquet(path / "design.parquet") if (path / "design.parquet").exists() else pd.DataFrame()
    runs = _ordered(runs, order, [])
    return Experiment(path, manifest, series, runs, logs, design)


def committed_batches(path: str | Path) -> list[int]:
    """Ids of fully written batches (their runs part exists)."""
    return sorted(part_id(p) for p in (Path(path) / "runs").glob("part-*.parquet"))


def part_id(path: Path) -> int:
    """The batch id of a part file (``part-000012.parquet`` → 12; -1 if not a part)."""
    m = PART.search(path.name)
    return int(m.group(1)) if m else -1


def read_runs(path: str | Path, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """Every run attempt recorded in the folder (committed batches only)."""
    files = [Path(path) / "runs" / f"part-{b:06d}.parquet" for b in committed_batches(path)]
    if not files:
        return pd.DataFrame(columns=list(columns or RUN_COLUMNS))
    frames = [
        pd.read_parquet(f, columns=[c for c in columns if c in pq.read_schema(f).names] if columns else None)
        for f in files
    ]
    return pd.concat(frames, ignore_index=True)


def latest_runs(runs: pd.DataFrame) -> pd.DataFrame:
    """The latest attempt of each run (a failed run retried on resume has two attempts)."""
    if runs.empty:
        return runs
    runs = runs.sort_values("batch", kind="stable")
    return runs.drop_duplicates(KEYS, keep="last").reset_index(drop=True)


def _read_parts(path: Path, table: str, winners: pd.DataFrame, filters: list[Filter] | None) -> pd.DataFrame:
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
            rows = zip(
                t.column("scenario").to_pylist(),
                t.column("point").to_pylist(),
                t.column("replicate").to_pylist(),
                strict=True,
            )
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
