"""What the store holds: the tables' schemas, a run's status, and a batch encoded as Parquet.

This part runs in the workers: :func:`execute_batch <analysis.runner.execute_batch>` turns
each run's output into tidy Arrow tables (:func:`long_series`, :func:`tagged_log`) and the
batch into Parquet bytes (:func:`encode_tables`), so the parent only writes files.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from analysis.plan import RunTask
from sim.api import month_labels

KEY_COLUMNS = ("scenario", "point", "replicate", "seed")
KEYS = ["scenario", "point", "replicate"]
_STR = pa.dictionary(pa.int32(), pa.string())
SERIES_SCHEMA = pa.schema(
    [
        ("scenario", _STR),
        ("point", pa.int32()),
        ("replicate", pa.int32()),
        ("seed", pa.int64()),
        ("step", pa.int32()),
        ("date", _STR),
        ("metric", _STR),
        ("value", pa.float64()),
    ]
)
RUN_COLUMNS = ["scenario", "point", "replicate", "seed", "status", "error", "seconds", "worker", "batch", "cpu_seconds"]
RUN_TYPES = {
    "scenario": pa.string(),
    "point": pa.int32(),
    "replicate": pa.int32(),
    "seed": pa.int64(),
    "status": pa.string(),
    "error": pa.string(),
    "seconds": pa.float64(),
    "worker": pa.string(),
    "batch": pa.int64(),
    "cpu_seconds": pa.float64(),
}


@dataclass
class RunStatus:
    """Outcome of one run as the parent keeps it (no data)."""

    scenario: str
    point: int
    replicate: int
    seed: int
    status: str  # "ok" | "failed"
    seconds: float
    error: str = ""
    worker: str = ""
    batch: int = -1
    cpu_seconds: float = 0.0

    @classmethod
    def of(
        cls,
        task: RunTask,
        status: str,
        seconds: float,
        error: str = "",
        worker: str = "",
        batch: int = -1,
        cpu_seconds: float = 0.0,
    ) -> RunStatus:
        """The status of ``task``'s run."""
        return cls(
            task.scenario, task.point, task.replicate, task.seed, status, seconds, error, worker, batch, cpu_seconds
        )

    @property
    def key(self) -> tuple[str, int, int]:
        """Identity of the run."""
        return (self.scenario, self.point, self.replicate)


@dataclass
class BatchResult:
    """A finished batch: its tables as Parquet bytes, and the runs' statuses."""

    id: int
    files: dict[str, bytes]
    runs: list[RunStatus]
    cpu_seconds: float = 0.0  # CPU time of the whole batch in its worker (runs + conversion + encoding)


# -- a run's output as tables ----------------------------------------------------------------
def long_series(wide: pd.DataFrame, task: RunTask, start: str) -> tuple[pa.Table, dict[str, float]]:
    """A run's wide time series as tidy long rows (an Arrow table), and its final value of every metric."""
    metrics = [str(c) for c in wide.columns if c not in ("step", "date")]
    steps = wide["step"].to_numpy(dtype=np.int32) if "step" in wide else np.arange(len(wide), dtype=np.int32)
    dates = wide["date"].astype(str).tolist() if "date" in wide else month_labels(start, len(wide))
    values = wide[metrics].to_numpy(dtype=np.float64)
    n_steps, n_metrics = values.shape
    n = n_steps * n_metrics

    def coded(codes: np.ndarray, labels: list[str]) -> pa.DictionaryArray:
        return pa.DictionaryArray.from_arrays(pa.array(codes.astype(np.int32)), pa.array(labels, pa.string()))

    table = pa.table(
        [
            coded(np.zeros(n, dtype=np.int32), [task.scenario]),
            pa.array(np.full(n, task.point, dtype=np.int32)),
            pa.array(np.full(n, task.replicate, dtype=np.int32)),
            pa.array(np.full(n, task.seed, dtype=np.int64)),
            pa.array(np.repeat(steps, n_metrics)),
            coded(np.repeat(np.arange(n_steps, dtype=np.int32), n_metrics), dates),
            coded(np.tile(np.arange(n_metrics, dtype=np.int32), n_steps), metrics),
            pa.array(values.ravel()),
        ],
        schema=SERIES_SCHEMA,
    )
    final = {m: float(values[-1, j]) for j, m in enumerate(metrics)} if n_steps else {}
    final["steps"] = float(steps[-1]) if n_steps else float("nan")
    return table, final


def tagged_log(log: pd.DataFrame, task: RunTask) -> pa.Table:
    """A partnership log (Arrow) with the run's key columns in front."""
    table = pa.Table.from_pandas(log, preserve_index=False)
    n = table.num_rows
    keys = [
        pa.array([task.scenario] * n, pa.string()),
        pa.array(np.full(n, task.point, dtype=np.int32)),
        pa.array(np.full(n, task.replicate, dtype=np.int32)),
        pa.array(np.full(n, task.seed, dtype=np.int64)),
    ]
    for i, (name, col) in enumerate(zip(KEY_COLUMNS, keys, strict=True)):
        table = table.add_column(i, name, col)
    return table


def tagged_logs(logs: Sequence[tuple[pd.DataFrame, RunTask]]) -> pa.Table:
    """Several runs' partnership logs as one Arrow table: :func:`tagged_log` of each, concatenated, converted once."""
    table = pa.Table.from_pandas(pd.concat([log for log, _ in logs], ignore_index=True), preserve_index=False)
    sizes = [len(log) for log, _ in logs]
    tasks = [task for _, task in logs]
    keys = [
        pa.array(np.repeat([t.scenario for t in tasks], sizes).tolist(), pa.string()),
        pa.array(np.repeat([t.point for t in tasks], sizes).astype(np.int32)),
        pa.array(np.repeat([t.replicate for t in tasks], sizes).astype(np.int32)),
        pa.array(np.repeat([t.seed for t in tasks], sizes).astype(np.int64)),
    ]
    for i, (name, col) in enumerate(zip(KEY_COLUMNS, keys, strict=True)):
        table = table.add_column(i, name, col)
    return table


# -- a batch as Parquet bytes -----------------------------------------------------------------
def encode_tables(
    series: Sequence[pa.Table],
    finals: Sequence[dict[str, float]],
    logs: Sequence[pa.Table],
    statuses: Sequence[RunStatus],
) -> dict[str, bytes]:
    """A batch's tables as Parquet bytes (``series`` and ``partnerships`` only when non-empty)."""
    out: dict[str, bytes] = {}
    if series:
        out["series"] = parquet_bytes(
            pa.concat_tables(series),
            use_dictionary=["scenario", "date", "metric"],
            write_statistics=["scenario", "point", "replicate", "step", "metric"],
        )
    if logs:
        out["partnerships"] = parquet_bytes(pa.concat_tables(logs, promote_options="permissive"))
    out["runs"] = parquet_bytes(runs_table(statuses, finals))
    return out


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


def parquet_bytes(table: pa.Table, **options: Any) -> bytes:
    """``table`` as a zstd-compressed Parquet file in memory (``options`` go to ``pq.write_table``)."""
    buf = io.BytesIO()
    pq.write_table(table, buf, compression="zstd", **options)
    return buf.getvalue()
