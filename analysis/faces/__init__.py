"""The faces: what people see.

``plots`` and ``diagrams`` (each takes data and returns a matplotlib Figure), ``excel`` (tables
as a workbook), ``report/`` (the self-contained HTML report) and ``dashboard/`` (the Solara app).

The modules load on first use (``analysis.faces.excel`` is imported when ``faces.excel`` is first
read), so a job imports only the faces it draws: ``partnersim run`` without ``--xlsx`` never
imports openpyxl.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from analysis.faces import dashboard, diagrams, excel, plots, report

__all__ = ["dashboard", "diagrams", "excel", "plots", "report"]


def __getattr__(name: str) -> ModuleType:
    """Import the face ``name`` on first use."""
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return importlib.import_module(f"{__name__}.{name}")
