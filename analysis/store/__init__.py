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
part per batch, written atomically (:mod:`analysis.store.writer`). :func:`load_experiment`
reads a folder back as pandas DataFrames in one call (:mod:`analysis.store.reader`).

Modules: :mod:`~analysis.store.format` (schemas, run status, encoding; runs in workers),
:mod:`~analysis.store.manifest`, :mod:`~analysis.store.reader`, :mod:`~analysis.store.writer`.
"""

from analysis.errors import StoreError
from analysis.store.format import SERIES_SCHEMA, BatchResult, RunStatus, encode_tables
from analysis.store.manifest import read_manifest
from analysis.store.reader import Experiment, committed_batches, latest_runs, load_experiment, read_runs
from analysis.store.writer import ExperimentStore

__all__ = [
    "SERIES_SCHEMA",
    "BatchResult",
    "Experiment",
    "ExperimentStore",
    "RunStatus",
    "StoreError",
    "committed_batches",
    "encode_tables",
    "latest_runs",
    "load_experiment",
    "read_manifest",
    "read_runs",
]
