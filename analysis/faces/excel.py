"""Excel workbooks of result tables (``--xlsx``): one sheet per table, readable headers, units in the header.

:func:`write_xlsx` is the generic writer (pandas + openpyxl): any ``{sheet name: DataFrame}``,
names made valid for Excel (at most 31 characters, none of the characters it forbids, unique), the header row
bold and frozen, columns as wide as their text. :func:`comparison_sheets` turns a
:func:`analysis.studies.compare.comparison_table` into sheets people can read: the headline
across horizons, one sheet per outcome with its unit in every header (shares in % of trusts,
differences in percentage points, £m a year), and the minimum important differences with their
sources.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

import pandas as pd
from openpyxl.styles import Alignment, Font

from analysis.studies.compare import outcome_for
from analysis.studies.headline import headline, sentence
from analysis.studies.units import Units, load_units

MAX_NAME = 31  # Excel's limit on a sheet name
MAX_WIDTH = 80  # characters: wider text wraps in Excel rather than widening the column

# Per kind of outcome: (multiplier to the display unit, unit of a value, unit of a difference).
DISPLAY = {
    "share": (100.0, "% of trusts", "pp"),
    "percent": (1.0, "%", "pp"),
    "pct": (1.0, "% of turnover", "pp of turnover"),
    "gbp_m": (1.0, "£m a year", "£m a year"),
    "index": (1.0, "index 0-1", "index points"),
    "count": (1.0, "count", "count"),
}


def sheet_names(names: list[str]) -> list[str]:
    """Valid, unique Excel sheet names for ``names`` (in order)."""
    out: list[str] = []
    for name in names:
        base = re.sub(r"[\[\]:*?/\\]", "-", str(name)).strip("'") or "Sheet"
        candidate, k = base[:MAX_NAME], 2
        while candidate.lower() in {o.lower() for o in out}:
            suffix = f" ({k})"
            candidate, k = base[: MAX_NAME - len(suffix)] + suffix, k + 1
        out.append(candidate)
    return out


def write_xlsx(path: str | Path, sheets: Mapping[str, pd.DataFrame]) -> Path:
    """Write ``sheets`` (name -> table) to the Excel workbook ``path``; return the path.

    The header row is bold and frozen and each column is as wide as its longest cell (at most
    :data:`MAX_WIDTH` characters). Sheet names are made valid (:func:`sheet_names`).
    """
    path = Path(path)
    names = sheet_names(list(sheets))
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        for name, df in zip(names, sheets.values(), strict=True):
            df.to_excel(writer, sheet_name=name, index=False)
            ws = writer.sheets[name]
            ws.freeze_panes = "A2"
            for cell in ws[1]:
                cell.font = Font(bold=True)
                cell.alignment = Alignment(wrap_text=True, vertical="top")
            for j, col in enumerate(df.columns, start=1):
                cells = [str(col), *(str(v) for v in df.iloc[:, j - 1].tolist())]
                width = min(max(len(c) for c in cells) + 2, MAX_WIDTH)
                ws.column_dimensions[ws.cell(row=1, column=j).column_letter].width = width
    return path


def outcome_sheet(table: pd.DataFrame, metric: str) -> pd.DataFrame:
    """One outcome's rows of a comparison table in its display unit, the unit in every header."""
    out = outcome_for(metric)
    scale, unit, dunit = DISPLAY.get(out.kind, (1.0, out.units, out.units))
    if out.unit:
        unit = out.unit
    sub = table[table["outcome"] == metric]
    level = f"{float(sub['level'].iloc[0]):.0%}" if len(sub) else "95%"
    frame = pd.DataFrame(
        {
            "Month": sub["month"].astype(int).to_numpy(),
            "Scenario": sub["scenario"].astype(str).to_numpy(),
            f"Mean ({unit})": (sub["mean"] * scale).to_numpy(),
            f"{level} interval, low ({unit})": (sub["low"] * scale).to_numpy(),
            f"{level} interval, high ({unit})": (sub["high"] * scale).to_numpy(),
            f"Difference vs baseline ({dunit})": (sub["diff"] * scale).to_numpy(),
            f"Difference {level} interval, low ({dunit})": (sub["diff_low"] * scale).to_numpy(),
            f"Difference {level} interval, high ({dunit})": (sub["diff_high"] * scale).to_numpy(),
        }
    )
    if "mid" in sub:
        frame[f"Minimum important difference ({dunit})"] = (sub["mid"] * scale).to_numpy()
    if "verdict" in sub:
        frame["Verdict"] = sub["verdict"].fillna("").astype(str).to_numpy()
    frame["Replicates (pairs for differences)"] = [
        int(r["n"]) if pd.isna(r["n_pairs"]) else int(r["n_pairs"]) for _, r in sub.iterrows()
    ]
    return frame


def units_sheet(units: Units) -> pd.DataFrame:
    """The mapping and the minimum important differences: key, default, range, unit, source."""
    rows = [
        {
            "Key (scenarios/theory/units.toml)": key,
            "Default": n.default,
            "Low": n.low,
            "High": n.high,
            "Unit": n.unit,
            "Source": n.source,
        }
        for key, n in units.rows()
    ]
    return pd.DataFrame(rows)


def comparison_sheets(table: pd.DataFrame, units: Units | None = None) -> dict[str, pd.DataFrame]:
    """A comparison table as readable sheets: headline, one sheet per outcome (label as name), units and MIDs."""
    sheets: dict[str, pd.DataFrame] = {}
    found = headline(table) if len(table) and (table["scenario"] != table["baseline"]).any() else []
    if found:
        sheets["Headline"] = pd.DataFrame(
            {"Policy": [s for s, _ in found], "Across horizons": [sentence(s, spans) for s, spans in found]}
        )
    for metric in dict.fromkeys(table["outcome"]):
        sheets[outcome_for(str(metric)).label] = outcome_sheet(table, str(metric))
    sheets["Units and MIDs"] = units_sheet(units or load_units())
    return sheets
