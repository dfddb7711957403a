"""``partnersim report``: write the self-contained HTML report of an experiment and say where it is."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from analysis.faces.report import write_report
from analysis.store import check_output_file


def make_report(
    experiment: str | Path,
    output: str | Path | None = None,
    *,
    month: int | None = None,
    extras: Mapping[str, str | Path | None] | None = None,
    force: bool = False,
) -> int:
    """Write the report of ``experiment`` (see :func:`analysis.faces.report.write_report`); return 0.

    An existing report is replaced only with ``force``; the experiment's own files never are.
    """
    target = Path(output) if output is not None else Path(experiment) / "report.html"
    if Path(experiment).is_dir():
        check_output_file(target, force=force)
    out = write_report(experiment, target, month=month, extras=extras)
    size = out.stat().st_size / 1e6
    print(f"report written to {out} ({size:.1f} MB, self-contained: open it in any browser, no network needed)")
    return 0
