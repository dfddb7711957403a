"""What the store holds: the tables' schemas, a run's status, and a batch encoded as Parquet.

This part runs in the workers: :func:`execute_batch <analysis.runner.execute_batch>` takes each
run's output as arrays (:class:`RunTables`, :func:`run_tables`) and turns the whole batch at once
into tidy Arrow tables (:func:`series_table`, :func:`log_table`: one table per batch, no DataFrame
per run) and Parquet bytes (:func:`encode_batch`), so the parent only writes files.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from analysis.plan import RunTask
from sim.api import LOG_COLUMNS
from sim.spec import DEFAULT_START

if TYPE_CHECKING:
    import pandas as pd

KEY_COLUMNS = ("scenario", "point", "replicate", "seed")
KEYS = ["scenario", "point", "replicate"]
_TEXT = pa.string()
_STR = pa.dictionary(pa.int32(), _TEXT)
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
    started: float = 0.0  # wall clock (time.time()) in the worker when it began the batch; 0 if it never ran
    finished: float = 0.0  # ... and when the batch was encoded (benchmarks/bench_runner.py times the workers)


# -- a run's output as arrays -----------------------------------------------------------------
@dataclass
class RunTables:
    """One run's output as the store encodes it: arrays, no DataFrame.

    Attributes:
        months: the months kept (int, ascending), one row of ``values`` each.
        metrics: the metrics kept, one column of ``values`` each.
        values: months x metrics (float).
        log: the partnership log as columns (``sim.api.LOG_COLUMNS``, one entry per partnership), or None.

    ``series`` and ``partnerships`` build the run's tables on demand (for code that reads one run).
    """

    months: np.ndarray
    metrics: tuple[str, ...]
    values: np.ndarray
    log: Mapping[str, Any] | None = None
    start: str = DEFAULT_START

    @property
    def series(self) -> pd.DataFrame:
        """The wide table: ``step``, ``date``, one column per metric."""
        import pandas as pd  # only when one run's table is read: the workers never import pandas

        cols: dict[str, Any] = {"step": self.months.astype(np.int64), "date": month_labels_at(self.start, self.months)}
        cols.update(zip(self.metrics, self.values.T, strict=True))
        return pd.DataFrame(cols)

    @property
    def partnerships(self) -> pd.DataFrame:
        """The partnership log, one row per partnership."""
        import pandas as pd

        if not self.log:
            return pd.DataFrame(columns=LOG_COLUMNS)
        return pd.DataFrame({c: self.log[c] for c in LOG_COLUMNS})


def run_tables(output: Any, start: str) -> RunTables:
    """A run function's output as :class:`RunTables` (its dates counted from ``start``).

    Taken as is, or from arrays (``months``, ``metrics``, ``values``), or converted once from
    tables (a ``series`` DataFrame with ``step``, and ``partnerships``).
    """
    if isinstance(output, RunTables):
        return output if output.start == start else replace(output, start=start)
    log = _log_columns(getattr(output, "partnerships", None))
    if all(hasattr(output, a) for a in ("months", "metrics", "values")):
        values = np.asarray(output.values, dtype=np.float64)
        return RunTables(np.asarray(output.months, dtype=np.int64), tuple(output.metrics), values, log, start)
    wide = output.series
    metrics = tuple(str(c) for c in wide.columns if c not in ("step", "date"))
    months = wide["step"].to_numpy(dtype=np.int64) if "step" in wide else np.arange(len(wide), dtype=np.int64)
    return RunTables(months, metrics, wide[list(metrics)].to_numpy(dtype=np.float64), log, start)


def _log_columns(log: pd.DataFrame | None) -> dict[str, Any] | None:
    """A partnership log DataFrame as columns (text columns as lists of str), or None when empty."""
    if log is None or not len(log):
        return None
    import pandas as pd

    out: dict[str, Any] = {}
    for c in log.columns:
        col = log[c]
        numeric = pd.api.types.is_numeric_dtype(col.dtype) or pd.api.types.is_bool_dtype(col.dtype)
        out[str(c)] = col.to_numpy() if numeric else col.astype(str).tolist()
    return out


def month_labels_at(start: str, months: np.ndarray) -> list[str]:
    """``YYYY-MM`` labels of ``months`` after ``start`` (``YYYY-MM``)."""
    year, month = (int(x) for x in start.split("-")[:2])
    base = year * 12 + month - 1
    return [f"{(base + i) // 12:04d}-{(base + i) % 12 + 1:02d}" for i in np.asarray(months).tolist()]


# -- a batch of runs as Arrow tables ---------------------------------------------------------------
# The columns are built from their buffers (``pa.Array.from_buffers``), not with ``pa.array``: the
# same arrays, but ``pa.array`` asks pandas whether its argument is a pandas object, which imports
# pandas (0.4 s) in a worker that has no other use for it.
_NUMBER_KINDS = frozenset("iuf")  # NumPy kinds whose buffer is the Arrow array's: ints, unsigned ints, floats


def numbers_array(values: np.ndarray) -> pa.Array:
    """A 1-d NumPy array of numbers or booleans as an Arrow array (no nulls; NaN stays NaN), from its buffer."""
    values = np.ascontiguousarray(values)
    if values.ndim != 1 or not values.dtype.isnative:
        return pa.array(values)
    if values.dtype == np.bool_:
        bits = np.packbits(values, bitorder="little")  # Arrow's booleans: one bit each, least significant first
        return pa.Array.from_buffers(pa.bool_(), len(values), [None, pa.py_buffer(bits)])
    if values.dtype.kind not in _NUMBER_KINDS:
        return pa.array(values)
    return pa.Array.from_buffers(pa.from_numpy_dtype(values.dtype), len(values), [None, pa.py_buffer(values)])


def texts_array(values: Sequence[str], kind: pa.DataType = _TEXT) -> pa.Array:
    """Python strings as an Arrow ``string`` (or ``large_string``) array, from one UTF-8 buffer and its offsets.

    Anything but strings among ``values`` (None, a number) is left to ``pa.array``.
    """
    texts = list(values)
    try:
        joined = "".join(texts)
    except TypeError:  # not all strings
        return pa.array(texts, kind)
    data = joined.encode()
    if len(data) == len(joined):  # ASCII: a character is a byte
        sizes = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
    else:
        sizes = np.fromiter((len(t.encode()) for t in texts), dtype=np.int64, count=len(texts))
    large = kind == pa.large_string()
    if not large and len(data) > np.iinfo(np.int32).max:
        return pa.array(texts, kind)
    offsets = np.zeros(len(texts) + 1, dtype=np.int64 if large else np.int32)
    np.cumsum(sizes, out=offsets[1:])
    return pa.Array.from_buffers(kind, len(texts), [None, pa.py_buffer(offsets), pa.py_buffer(data)])


def _coded(codes: np.ndarray, labels: Sequence[str]) -> pa.DictionaryArray:
    return pa.DictionaryArray.from_arrays(numbers_array(codes.astype(np.int32)), texts_array(labels))


def series_table(done: Sequence[tuple[RunTask, RunTables]]) -> pa.Table:
    """The tidy long series of a batch's runs as one Arrow table (:data:`SERIES_SCHEMA`), built once.

    Rows run by run, month by month, metric by metric. Each key column is built with
    ``np.repeat``/``np.tile`` over the batch; the text columns are dictionary codes into the
    batch's few labels (metrics in first-seen order, months in calendar order).
    """
    metric_ids: dict[str, int] = {}
    scenario_ids: dict[str, int] = {}
    sizes: list[int] = []
    scen: list[int] = []
    metric: list[np.ndarray] = []
    step: list[np.ndarray] = []
    absolute: list[np.ndarray] = []  # each run's months counted from year 0 (one per row of its values)
    value: list[np.ndarray] = []
    for task, t in done:
        n_months, n_metrics = t.values.shape
        sizes.append(n_months * n_metrics)
        scen.append(scenario_ids.setdefault(task.scenario, len(scenario_ids)))
        ids = np.array([metric_ids.setdefault(m, len(metric_ids)) for m in t.metrics], dtype=np.int32)
        metric.append(np.tile(ids, n_months))
        step.append(np.repeat(t.months, n_metrics))
        year, mon = (int(x) for x in t.start.split("-")[:2])
        absolute.append(t.months + (year * 12 + mon - 1))
        value.append(t.values.reshape(-1))
    counts = np.array(sizes, dtype=np.int64)
    empty = np.zeros(0, np.int64)

    def per_run(values: Sequence[int], dtype: type) -> np.ndarray:
        return np.repeat(np.asarray(values, dtype=dtype), counts)

    calendar = np.unique(np.concatenate(absolute)) if absolute else empty  # the batch's months, a few hundred
    dates = [f"{a // 12:04d}-{a % 12 + 1:02d}" for a in calendar.tolist()]
    widths = [t.values.shape[1] for _, t in done]
    date_codes = np.concatenate(
        [np.repeat(np.searchsorted(calendar, a), k) for a, k in zip(absolute, widths, strict=True)] or [empty]
    )
    tasks = [task for task, _ in done]
    return pa.Table.from_arrays(
        [
            _coded(per_run(scen, np.int32), list(scenario_ids)),
            numbers_array(per_run([t.point for t in tasks], np.int32)),
            numbers_array(per_run([t.replicate for t in tasks], np.int32)),
            numbers_array(per_run([t.seed for t in tasks], np.int64)),
            numbers_array(np.concatenate(step or [empty]).astype(np.int32)),
            _coded(date_codes, dates),
            _coded(np.concatenate(metric or [empty]), list(metric_ids)),
            numbers_array(np.concatenate(value or [np.zeros(0)]).astype(np.float64)),
        ],
        schema=SERIES_SCHEMA,
    )


def log_table(done: Sequence[tuple[RunTask, RunTables]]) -> pa.Table | None:
    """The partnership logs of a batch's runs as one Arrow table, the run's key in front (None: no partnership).

    Each column is joined over the runs first and converted once (text as one large-string array).
    """
    logged = [(task, t.log) for task, t in done if t.log is not None and len(t.log["partnership_id"])]
    if not logged:
        return None
    sizes = np.array([len(log["partnership_id"]) for _, log in logged], dtype=np.int64)
    tasks = [task for task, _ in logged]
    columns: dict[str, pa.Array] = {
        "scenario": texts_array(np.repeat([t.scenario for t in tasks], sizes).tolist()),
        "point": numbers_array(np.repeat(np.array([t.point for t in tasks], dtype=np.int32), sizes)),
        "replicate": numbers_array(np.repeat(np.array([t.replicate for t in tasks], dtype=np.int32), sizes)),
        "seed": numbers_array(np.repeat(np.array([t.seed for t in tasks], dtype=np.int64), sizes)),
    }
    for name in LOG_COLUMNS:
        parts = [log[name] for _, log in logged]
        if all(isinstance(part, np.ndarray) and part.dtype != object for part in parts):
            columns[name] = numbers_array(np.concatenate(parts))
        else:
            columns[name] = texts_array([x for part in parts for x in part], pa.large_string())
    return pa.Table.from_arrays(list(columns.values()), names=list(columns))


def finals_of(t: RunTables) -> dict[str, float]:
    """A run's final value of every metric kept, and its last month (``steps``)."""
    n_months = t.values.shape[0]
    final = dict(zip(t.metrics, t.values[-1].tolist(), strict=True)) if n_months else {}
    final["steps"] = float(t.months[-1]) if n_months else float("nan")
    return final


# -- a batch as Parquet bytes -----------------------------------------------------------------
def encode_batch(done: Sequence[tuple[RunTask, RunTables]], statuses: Sequence[RunStatus]) -> dict[str, bytes]:
    """A batch's tables as Parquet bytes.

    The series and partnership logs of the runs that finished (``done``; only when there are
    some), and one row per run in ``statuses`` with its final values.
    """
    out: dict[str, bytes] = {}
    if done:
        out["series"] = parquet_bytes(
            series_table(done),
            use_dictionary=["scenario", "date", "metric"],
            write_statistics=["scenario", "point", "replicate", "step", "metric"],
        )
    logs = log_table(done)
    if logs is not None:
        # dictionaries only for the few labels: the log's numbers are nearly all distinct, and
        # building their dictionaries (then dropping them) doubled the time to write it
        out["partnerships"] = parquet_bytes(logs, use_dictionary=["scenario", "type", "end_reason", "final_phase"])
    out["runs"] = parquet_bytes(runs_table(statuses, [finals_of(t) for _, t in done]))
    return out


def runs_table(statuses: Sequence[RunStatus], finals: Sequence[dict[str, float]]) -> pa.Table:
    """One row per run: status fields, then the final value of each metric (NaN for failed runs)."""
    columns = {c: _status_column([getattr(s, c) for s in statuses], RUN_TYPES[c]) for c in RUN_COLUMNS}
    metric_names = list(dict.fromkeys(m for f in finals for m in f))
    ok = [i for i, s in enumerate(statuses) if s.status == "ok"]
    values = np.full((len(statuses), len(metric_names)), np.nan)
    for row, fin in zip(ok, finals, strict=True):
        values[row] = [fin.get(m, np.nan) for m in metric_names]
    columns.update({m: numbers_array(values[:, j]) for j, m in enumerate(metric_names)})
    return pa.Table.from_arrays(list(columns.values()), names=list(columns))


def _status_column(values: list[Any], kind: pa.DataType) -> pa.Array:
    """One field of every run's status as an Arrow array of type ``kind`` (text, or numbers)."""
    if pa.types.is_string(kind):
        return texts_array(values, kind)
    return numbers_array(np.array(values, dtype=kind.to_pandas_dtype()))


WRITE_BATCH_ROWS = 1 << 16
"""Rows the Parquet writer takes from a column at a time (pyarrow's default is 1024).

A batch's series is long (15 runs: 112,530 rows); in chunks of 1024 the writer re-checks each
dictionary column's dictionary and gathers its statistics 110 times, and writing the series took
10-15% longer (batches of 1 to 256 runs, measured). The file's bytes do not change: data pages
are still cut at the same page size."""


def parquet_bytes(table: pa.Table, **options: Any) -> bytes:
    """``table`` as a zstd-compressed Parquet file in memory (``options`` go to ``pq.write_table``)."""
    buf = io.BytesIO()
    pq.write_table(table, buf, compression="zstd", write_batch_size=WRITE_BATCH_ROWS, **options)
    return buf.getvalue()
