"""A sensitivity analysis on disk: tables (Parquet + CSV), figures, summary and manifest.

The only part of the pipeline that writes files. :func:`load_sweep` reads a sample back
(for PAWN and delta, or scenario discovery, on an existing sweep).
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import pandas as pd

from analysis.limits import MONTH, within
from analysis.store.writer import atomic_bytes
from analysis.studies.sensitivity.analyse import DEFAULT_TOP_K, RANK_INDEX, SensitivityResult
from analysis.studies.sensitivity.design import Design
from analysis.studies.sensitivity.figures import plot_morris, plot_sobol, plot_timeline
from analysis.studies.sensitivity.pipeline import Analysis
from analysis.studies.sensitivity.space import ParameterSpace, output_label, split_patterns
from sim import ConfigError


def runs_frame(analysis: Analysis) -> pd.DataFrame:
    """Tidy long table of every run: point, replicate, seed, month, metric, value."""
    Y = analysis.Y
    p, r, m, k = Y.shape
    idx = np.indices((p, r, m, k)).reshape(4, -1)
    return pd.DataFrame(
        {
            "point": idx[0],
            "replicate": idx[1],
            "seed": np.asarray(analysis.seeds)[idx[1]],
            "month": np.asarray(analysis.months)[idx[2]],
            "metric": np.asarray(analysis.metrics)[idx[3]],
            "value": Y.reshape(-1),
        }
    )


def design_frame(design: Design) -> pd.DataFrame:
    """The design: one row per point, one column per factor (parameter values)."""
    df = pd.DataFrame(design.values, columns=design.names)
    df.insert(0, "point", np.arange(len(df)))
    return df


def write_atomic(final: Path, writer: Callable[[BinaryIO], object]) -> Path:
    """``writer(buffer)``, its bytes then written as the store writes its parts (``atomic_bytes``).

    A study stopped (or failing) while it writes leaves the previous file, or none, never half of
    one: a later ``--from`` (:func:`load_sweep`) or report reads whole files only.
    """
    buffer = io.BytesIO()
    writer(buffer)
    final.parent.mkdir(parents=True, exist_ok=True)
    atomic_bytes(final, buffer.getvalue())
    return final


def write_table(df: pd.DataFrame, path: Path) -> list[Path]:
    """Write ``df`` as Parquet and CSV (``path`` without suffix); atomic per file."""
    return [
        write_atomic(path.with_suffix(".parquet"), lambda b: df.to_parquet(b, index=False)),
        write_atomic(path.with_suffix(".csv"), lambda b: df.to_csv(b, index=False)),
    ]


def load_sweep(path: str | Path, space_names: Sequence[str] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read an existing sample: a ``partnersim sensitivity``/``discover`` folder, or a table file.

    A folder must hold ``design.parquet`` (point + factor columns) and ``runs.parquet``
    (point, replicate, month, metric, value); replicates are averaged per point. A table
    (``.parquet`` or ``.csv``) has one row per run, factor columns named by theory path, metric
    columns, and optionally ``month``.

    Returns:
        (x, y): factor values and outputs, one row per point (and month).
    """
    p = Path(path)
    if p.is_dir():
        d, r = p / "design.parquet", p / "runs.parquet"
        if not (d.exists() and r.exists()):
            raise ConfigError("not a sweep folder (needs design.parquet and runs.parquet)", file=str(p))
        design = _read_table(d)
        runs = _read_table(r)
        wide = runs.pivot_table(index=["point", "month"], columns="metric", values="value", aggfunc="mean")
        wide = wide.reset_index()
        wide.columns.name = None
        merged = wide.merge(design, on="point", how="left")
        x = merged[[c for c in design.columns if c != "point"]]
        y = merged[[c for c in wide.columns if c not in ("point",)]]
        return x, y
    if not p.exists():
        raise ConfigError("file not found", file=str(p))
    if p.suffix not in (".parquet", ".csv"):
        raise ConfigError(
            "expected a sweep folder (from sensitivity or discover) or a table ending in .parquet or .csv", file=str(p)
        )
    table = _read_table(p)
    names = list(space_names or [c for c in table.columns if "." in c])
    missing = [n for n in names if n not in table.columns]
    if missing:
        raise ConfigError(
            "the sweep has no column for this parameter", file=str(p), key=missing[0], choices=list(table.columns)
        )
    x = table[names]
    y = table[[c for c in table.columns if c not in names]]
    return x, y.select_dtypes("number")


def _read_table(path: Path) -> pd.DataFrame:
    """A Parquet or CSV table, or a ConfigError naming the file when it cannot be read as one."""
    try:
        return pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        kind = "Parquet" if path.suffix == ".parquet" else "CSV"
        raise ConfigError(f"cannot read it as a {kind} table ({first})", file=str(path)) from None


def format_summary(result: SensitivityResult, months: Sequence[int], *, k: int = DEFAULT_TOP_K) -> str:
    """Plain-text tables of the top factors per metric and month, with noise and convergence."""
    method = result.method
    col = RANK_INDEX[method]
    conf = f"{col}_conf" if f"{col}_conf" in result.indices.columns else None
    lines = []
    for metric in result.indices["metric"].unique():
        for month in months:
            t = result.top(metric, month, k)
            if t.empty:
                continue
            ns = result.noise[(result.noise["metric"] == metric) & (result.noise["month"] == month)]
            share = float(ns["noise_share"].iloc[0]) if len(ns) else float("nan")
            head = f"{metric} at month {month}  (ranked by {col}; replicate noise {share:.1%} of variance"
            if result.convergence is not None:
                c = result.convergence[
                    (result.convergence["metric"] == metric) & (result.convergence["month"] == month)
                ]
                if len(c):
                    head += "; top-{} {} at N/2".format(
                        int(c["k"].iloc[0]), "stable" if bool(c["stable"].iloc[0]) else "NOT stable"
                    )
            lines.append(head + ")")
            for _, r in t.iterrows():
                val = f"{r[col]:.3g}" + (f" ± {r[conf]:.2g}" if conf and pd.notna(r[conf]) else "")
                extra = ""
                if method in ("sobol", "efast"):
                    extra = f"  S1 {r['S1']:.3g}"
                elif method == "morris":
                    extra = f"  σ {r['sigma']:.3g}"
                lines.append(f"  {int(r['rank']):>2}. {r['parameter']:<48} {col} {val}{extra}  [{r['group']}]")
            lines.append("")
    return "\n".join(lines)


DEFAULT_AT = "12,36,120"
"""Months at which indices are reported unless ``--at`` says otherwise (those within the horizon)."""


def parse_months(text: str, *, key: str = "--at") -> list[int]:
    """Months from ``"12,36,120"``; each a whole number >= 0."""
    out = []
    for item in split_patterns(text):
        if not item.isdigit():
            raise ConfigError("expected whole months separated by commas, e.g. 12,36,120", key=key, value=text)
        out.append(int(item))
    if not out:
        raise ConfigError("name at least one month", key=key, value=text)
    for month in out:
        within(month, MONTH, key=key)
    return sorted(set(out))


def timeline_months(at: Sequence[int], every: int) -> list[int]:
    """The ``at`` months plus every ``every`` months up to the last of them."""
    last = max(at)
    extra = list(range(every, last + 1, every)) if every > 0 else []
    return sorted(set(at) | set(extra))


def write_outputs(
    analysis: Analysis,
    out: Path,
    *,
    space: ParameterSpace,
    figures: bool = True,
    at: Sequence[int] = (),
    manifest: Mapping[str, Any] | None = None,
    top: int = 20,
) -> list[Path]:
    """Write tables (Parquet + CSV), figures (PNG) and a manifest into ``out``."""
    res = analysis.result
    written: list[Path] = []
    written += write_table(res.indices, out / "indices")
    written += write_table(res.noise, out / "noise")
    written += write_table(res.params, out / "params")
    if res.second_order is not None:
        written += write_table(res.second_order, out / "second_order")
    if res.convergence is not None:
        written += write_table(res.convergence, out / "convergence")
    design = design_frame(analysis.design)
    runs = runs_frame(analysis)
    written.append(write_atomic(out / "design.parquet", lambda b: design.to_parquet(b, index=False)))
    written.append(write_atomic(out / "runs.parquet", lambda b: runs.to_parquet(b, index=False)))
    if figures:
        written += write_figures(res, out / "figures", at=at or analysis.months, top=top)
    summary = format_summary(res, at or analysis.months) + "\n" + "\n".join(f"warning: {w}" for w in res.warnings)
    written.append(write_atomic(out / "summary.txt", lambda b: b.write((summary + "\n").encode())))
    info = {
        "method": res.method,
        "N": analysis.design.N,
        "points": analysis.design.n_points,
        "grouped": analysis.design.grouped,
        "second_order": analysis.design.second_order,
        "factors": space.names,
        "groups": space.groups,
        "months": analysis.months,
        "metrics": analysis.metrics,
        "seeds": analysis.seeds,
        "timings": analysis.timings,
        "warnings": res.warnings,
        **(manifest or {}),
    }
    text = json.dumps(info, indent=2, default=str)
    written.append(write_atomic(out / "manifest.json", lambda b: b.write(text.encode())))  # last: the rest is whole
    return written


def write_figures(res: SensitivityResult, folder: Path, *, at: Sequence[int], top: int = 20) -> list[Path]:
    """Save the method's figures for each metric at the ``at`` months, and the time evolution."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    ind = res.indices
    for metric in ind["metric"].unique():
        short = output_label(metric)
        for month in at:
            t = ind[(ind["metric"] == metric) & (ind["month"] == month)]
            if t.empty or t[RANK_INDEX[res.method]].isna().all():
                continue
            title = f"{metric} at month {month}"
            if res.method == "morris":
                fig = plot_morris(t, title=f"Morris screening: {title}")
            elif res.method in ("sobol", "efast"):
                fig = plot_sobol(t, title=f"{res.method.capitalize()} indices: {title}", top=top)
            elif res.method == "delta":
                fig = plot_sobol(t, title=f"Delta and S1: {title}", top=top, first="S1", total="delta")
            else:
                fig = plot_sobol(
                    t.assign(mn=t["minimum"]),
                    title=f"PAWN (median and min KS): {title}",
                    top=top,
                    first="mn",
                    total="median",
                )
            path = folder / f"{res.method}_{short}_m{month}.png"
            written.append(write_atomic(path, partial(fig.savefig, dpi=120, format="png")))
        months = ind[ind["metric"] == metric]["month"].unique()
        if len(months) > 1 and not ind[ind["metric"] == metric][RANK_INDEX[res.method]].isna().all():
            fig = plot_timeline(ind, metric, index=RANK_INDEX[res.method])
            path = folder / f"{res.method}_{short}_timeline.png"
            written.append(write_atomic(path, partial(fig.savefig, dpi=120, format="png")))
    return written


def default_resamples(method: str, asked: int | None) -> int:
    """Bootstrap resamples: as asked, else 100 (10 for delta, whose SALib estimator is slow)."""
    if asked is not None:
        if asked < 1:
            raise ConfigError("needs at least one resample", key="--resamples", value=asked)
        return int(asked)
    return 10 if method == "delta" else 100
