"""Reading an experiment folder for the report, with a clear error when it cannot be used."""

from __future__ import annotations

import hashlib
import html
import json
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from analysis.errors import StoreError, UserError
from analysis.store import Experiment, load_experiment
from analysis.studies.compare import DEFAULT_HORIZONS, comparison_table
from analysis.studies.units import with_units
from sim.theory import Theory, default_theory_path, load_theory

HEADLINE_MONTH = 60
MIN_REPLICATES = 10


@dataclass
class Extras:
    """Outputs of the other analyses found for the report (each a folder, or None)."""

    sensitivity: Path | None = None
    discovery: Path | None = None
    pathways: Path | None = None
    cmoc: Path | None = None
    validation: Path | None = None


# The file that marks each analysis's output folder, and the command that writes it.
MARKERS = {
    "sensitivity": ("indices.parquet", "sensitivity"),
    "discovery": ("discovery.json", "discover"),
    "pathways": ("pathways.csv", "pathways"),
    "cmoc": ("cmoc_configurations.csv", "cmoc"),
    "validation": ("validation.csv", "validate-theory"),
}


@dataclass
class ReportData:
    """Everything the report shows, read from the experiment folder."""

    path: Path
    exp: Experiment
    table: pd.DataFrame
    month: int
    start: str
    theory: Theory | None
    counts: dict[str, int]
    extras: Extras = field(default_factory=Extras)
    notes: list[str] = field(default_factory=list)


def load_report_data(
    path: str | Path, *, month: int | None = None, extras: Mapping[str, str | Path | None] | None = None
) -> ReportData:
    """Read and check an experiment folder; raise :class:`UserError` with a clear message when it can't be used.

    Args:
        path: the experiment folder.
        month: the month the summary speaks about (default: 60 if run that long, else the last).
        extras: output folders of other analyses to include (``sensitivity``, ``discovery``,
            ``pathways``, ``cmoc``, ``validation``); any not given is looked for inside the
            experiment folder (one or two levels down).
    """
    folder = Path(path)
    if not folder.exists():
        raise UserError(
            f"no such experiment folder: {folder} (run `partnersim compare SCENARIO… --out {folder}` to create one)"
        )
    if not folder.is_dir():
        raise UserError(f"{folder} is a file, not an experiment folder")
    manifest_path = folder / "manifest.json"
    if not manifest_path.is_file():
        what = "is empty" if not any(folder.iterdir()) else "has no manifest.json"
        raise UserError(
            f"{folder} {what}: it is not an experiment folder. Point the report at a folder written by "
            "`partnersim run` or `partnersim compare` (they print its path at the end)."
        )
    try:
        manifest = json.loads(manifest_path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UserError(f"{manifest_path} is not valid JSON ({exc}); the experiment folder is damaged") from None
    if not str(manifest.get("format", "")).startswith("partnersim-experiment/") or "scenarios" not in manifest:
        raise UserError(
            f"{manifest_path} is not the manifest of a partnersim experiment (format "
            f"{manifest.get('format')!r}); point the report at a folder from `partnersim compare`"
        )
    try:
        exp = load_experiment(folder)
    except StoreError:
        raise
    except Exception as exc:  # noqa: BLE001 - damaged Parquet parts and the like: tell the user, no traceback
        raise UserError(
            f"could not read the experiment in {folder}: {type(exc).__name__}: {exc}. "
            "If it was interrupted, resume it with `partnersim compare … --resume --out "
            f"{folder}`"
        ) from None
    runs = exp.runs
    ok = runs[runs["status"] == "ok"] if len(runs) else runs
    planned = int(
        manifest.get("counts", {}).get("total", 0)
        or len(manifest["scenarios"])
        * int(manifest.get("replicates", 0))
        * int(manifest.get("design", {}).get("n_points", 1) or 1)
    )
    counts = {"planned": planned, "ok": len(ok), "failed": int((runs["status"] != "ok").sum()) if len(runs) else 0}
    counts["missing"] = max(planned - counts["ok"] - counts["failed"], 0)
    if counts["ok"] == 0 or exp.series.empty:
        detail = (
            f"all {counts['failed']} stored runs failed"
            if counts["failed"]
            else "no run finished before it was interrupted"
        )
        raise UserError(
            f"{folder} holds no finished runs ({detail}); nothing to report. Resume it with "
            f"`partnersim compare … --resume --out {folder}` or run the experiment again."
        )
    exp.series = with_units(exp.series)  # CQC bands from the counted ones, RTT % and vacancy % (units.toml)
    notes = _caveats(exp, counts)
    table = _comparison(folder, exp)
    months = sorted(int(m) for m in table["month"].unique())
    if month is not None and month not in months:
        raise UserError(f"--month {month} is not in the results; choose one of {', '.join(map(str, months))}")
    chosen = month if month is not None else (HEADLINE_MONTH if HEADLINE_MONTH in months else months[-1])
    start = str(exp.series["date"].iloc[0]) if "date" in exp.series and len(exp.series) else ""
    given = dict(extras or {})
    found = Extras(**{what: _find(folder, given.get(what), what) for what in MARKERS})
    return ReportData(folder, exp, table, chosen, start, _theory(manifest), counts, found, notes)


REPOSITORY = default_theory_path().parents[2]
"""This source tree: paths inside it are shown relative to it."""


def shown_path(path: str | Path) -> str:
    """A path as the report shows it: relative to the repository or the working folder, never a home folder.

    A path outside both is shown by its last two parts (``…/theories/irt.toml``), so the report does
    not print where its author keeps files.
    """
    p = Path(str(path))
    if not p.is_absolute():
        return p.as_posix()
    for root in (REPOSITORY, Path.cwd()):
        try:
            return p.resolve().relative_to(root.resolve()).as_posix()
        except ValueError:
            continue
    return "…/" + "/".join(p.parts[-2:])


def _caveats(exp: Experiment, counts: Mapping[str, int]) -> list[str]:
    notes = []
    if counts["failed"]:
        failed = exp.failed
        first = str(failed["error"].dropna().iloc[0]).strip().splitlines() if failed["error"].notna().any() else []
        reason = f" The first error: {html.escape(first[-1])}" if first else ""
        notes.append(
            f"{counts['failed']} of {counts['planned']} runs failed and are left out; the results use the "
            f"other {counts['ok']}. Where a run failed, its paired replicate is dropped from the "
            f"differences.{reason}"
        )
    notes += [html.escape(text) for kind, text in exp.problems.items() if kind != "not_run"]
    if counts["missing"]:
        notes.append(
            f"The experiment is incomplete: {counts['missing']} of {counts['planned']} planned runs were "
            "never stored (it was interrupted). Resume it with <code>--resume</code> for the full set."
        )
    reps = exp.series.groupby("scenario", observed=True)["replicate"].nunique()
    if len(reps) and int(reps.min()) < MIN_REPLICATES:
        notes.append(
            f"Some results rest on only {int(reps.min())} replicate(s); with fewer than {MIN_REPLICATES} "
            "the intervals are unreliable. Rerun with more replicates (<code>--reps 20</code> or more)."
        )
    points = exp.series["point"].nunique() if "point" in exp.series else 1
    if points > 1:
        notes.append(f"This experiment is a sweep over {points} design points; the figures and intervals pool them.")
    return notes


def _comparison(folder: Path, exp: Experiment) -> pd.DataFrame:
    """The comparison table ``partnersim compare`` saved (same months and numbers), or one computed the same way."""
    saved = next((p for p in (folder / "comparison.parquet", folder / "summary.parquet") if p.is_file()), None)
    if saved is not None:
        table = pd.read_parquet(saved)
        if len(table) and set(table["scenario"]) <= set(exp.series["scenario"].astype(str)):
            return table
    last = int(exp.series["step"].max())
    horizons = [h for h in DEFAULT_HORIZONS if h <= last] or [last]
    return comparison_table(exp.series, horizons=horizons, scenarios=exp.scenarios)


def _find(folder: Path, given: str | Path | None, what: str) -> Path | None:
    """An analysis's output folder: the one given, else the first found inside the experiment folder."""
    marker, command = MARKERS[what]
    if given is not None:
        p = Path(given)
        if not (p / marker).is_file():
            raise UserError(
                f"--{what} {p}: no {marker} there; give the folder `partnersim {command}` wrote (its --out)"
            )
        return p
    hits = sorted(folder.glob(f"*/{marker}")) + sorted(folder.glob(f"*/*/{marker}"))
    return hits[0].parent if hits else None


def _theory(manifest: Mapping[str, Any]) -> Theory | None:
    """The theory of the first scenario, from its files (or the copy in the manifest), with its values in force."""
    theories = manifest.get("theories") or {}
    if not theories:
        return None
    rec = next(iter(theories.values()))
    try:
        path = Path(rec.get("path", ""))
        files = rec.get("files") or {}
        if not path.is_file() or _sha(path) != (files.get(str(path)) or {}).get("sha256", _sha(path)):
            path = _restore_files(files, path.name)
        theory = load_theory(path)
        values = {
            k: float(v) for k, v in (rec.get("values") or {}).items() if k in theory.params and float(v) != theory.v(k)
        }
        return theory.with_values(values, origin="the experiment's manifest") if values else theory
    except Exception:  # noqa: BLE001 - the report still works without the diagram
        return None


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _restore_files(files: Mapping[str, Mapping[str, str]], theory_name: str) -> Path:
    """Write the theory and typology files stored in the manifest to a temporary folder."""
    tmp = Path(tempfile.mkdtemp(prefix="partnersim-report-theory-"))
    for name, rec in files.items():
        (tmp / Path(name).name).write_text(rec["content"])
    return tmp / theory_name
