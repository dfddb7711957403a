"""What each ``partnersim`` command does, as plain functions with typed keyword arguments.

A job loads its inputs, runs a study, writes its outputs and prints a summary; it returns the
command's exit code. The CLI (:mod:`analysis.cli`) only parses the command line and calls
one job, so everything here can be called from Python (scripts, notebooks, tests) without
``argparse``: the library never sees ``args``.

The command modules load on first use (``analysis.jobs.experiment`` is imported when
``jobs.experiment`` is first read), so the command line parses its options without importing
the science; :mod:`analysis.jobs.defaults` holds the defaults its ``--help`` shows.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from analysis.jobs import (
        calibrate,
        cmoc,
        dashboard,
        discover,
        experiment,
        files,
        panel,
        pathways,
        report,
        sensitivity,
        sweep,
        theory,
        validate_theory,
    )

__all__ = [
    "calibrate",
    "cmoc",
    "dashboard",
    "discover",
    "experiment",
    "files",
    "panel",
    "pathways",
    "report",
    "sensitivity",
    "sweep",
    "theory",
    "validate_theory",
]


def __getattr__(name: str) -> ModuleType:
    """Import the job module ``name`` on first use."""
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return importlib.import_module(f"{__name__}.{name}")
