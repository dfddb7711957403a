"""``partnersim report``: write the self-contained HTML report of an experiment and say where it is."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from analysis.faces.excel import comparison_sheets, write_xlsx
from analysis.faces.report import load_report_data, write_report
from analysis.store import check_output_file


def make_report(
    experiment: str | Path,
    output: str | Path | None = None,
    *,
    month: int | None = None,
    extras: Mapping[str, str | Path | None] | None = None,
    force: bool = False,
    xlsx: bool = False,
) -> int:
    """Write the report of ``experiment`` (see :func:`analysis.faces.report.write_report`); return 0.

    An existing report is replaced only with ``force``; the experiment's own files never are. With
    ``xlsx`` the comparison tables are also written as an Excel workbook beside the report.
    """
    target = Path(output) if output is not None else Path(experiment) / "report.html"
    book = target.with_suffix(".xlsx")
    if Path(experiment).is_dir():
        check_output_file(target, force=force)
        if xlsx:
            check_output_file(book, force=force, option="--xlsx")
    out = write_report(experiment, target, month=month, extras=extras)
    size = out.stat().st_size / 1e6
    print(f"report written to {out} ({size:.1f} MB, self-contained: open it in any browser, no network needed)")
    if xlsx:
        write_xlsx(book, comparison_sheets(load_report_data(experiment).table))
        print(f"tables written to {book} (one sheet per outcome, units in the headers)")
    return 0
