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

    .lock                     held by the one process writing the folder (who, since when)

Each directory is a Parquet dataset, one part per batch, written atomically
(:mod:`analysis.store.writer`): temporary files start with a dot, which pandas and pyarrow skip,
so ``pandas.read_parquet(folder / "series")`` reads the committed batches of a finished
experiment. :func:`load_experiment` reads a folder back as pandas DataFrames in one call
(:mod:`analysis.store.reader`), committed batches only, and warns when the folder is not whole.

Modules: :mod:`~analysis.store.format` (schemas, run status, encoding; runs in workers),
:mod:`~analysis.store.manifest`, :mod:`~analysis.store.reader`, :mod:`~analysis.store.writer`,
:mod:`~analysis.store.lock` (one writer per folder), :mod:`~analysis.store.guard` (where other
commands may write).
"""

from analysis.errors import StoreError, StoreWarning
from analysis.store.format import SERIES_SCHEMA, BatchResult, RunStatus, encode_batch
from analysis.store.guard import atomic_text, check_output_file, check_output_folder, is_experiment
from analysis.store.manifest import read_manifest
from analysis.store.reader import Experiment, committed_batches, latest_runs, load_experiment, read_runs
from analysis.store.writer import ExperimentStore, check_folder

__all__ = [
    "SERIES_SCHEMA",
    "BatchResult",
    "Experiment",
    "ExperimentStore",
    "RunStatus",
    "StoreError",
    "StoreWarning",
    "atomic_text",
    "check_folder",
    "check_output_file",
    "check_output_folder",
    "committed_batches",
    "encode_batch",
    "is_experiment",
    "latest_runs",
    "load_experiment",
    "read_manifest",
    "read_runs",
]
