"""``partnersim panel``: one run's trusts (or ICSs) month by month, as a table for researchers.

One run of the Mesa model (:class:`sim.PartnershipModel`, stepped by :func:`sim.run`) with an
observer that reads the model's provider and partnership agents at the chosen months: one
row per trust (or per ICS) per month with its domain levels, kind, ICS, special-measures
status, partnerships and surplus. The per-month means of a trust panel are the model's own
reported metrics (``mean_quality``, ``share_special_measures``, ``mean_surplus_pct``…).
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.errors import UserError
from analysis.limits import MONTH, check_months_within, within
from analysis.scenario import check_population, load_scenario
from analysis.store import check_output_file
from sim import ConfigError, PartnershipModel, RunSpec, World, run
from sim.agents import Partnership, Provider

BY = ("trust", "ics")
"""The units of a panel: one row per trust, or per integrated care system (ICS), per month."""

FORMATS = (".csv", ".parquet", ".xlsx")
"""The file types a panel is written as (by the output file's suffix)."""

DEFAULT_MONTHS = (0, 12, 60, 120)
"""The months of a panel by default (those within the run's horizon, and the horizon itself)."""

_MONTHS = re.compile(r"^\s*\d+\s*(,\s*\d+\s*)*$")


def run_panel(
    scenario: str,
    *,
    output: str,
    seed: int | None = None,
    months: str | None = None,
    by: str = "trust",
    horizon: int | None = None,
    n_providers: int | None = None,
    force: bool = False,
) -> int:
    """Write the panel of one run of ``scenario`` to ``output`` (.csv, .parquet or .xlsx); return 0.

    Args:
        scenario: the scenario file.
        output: the file to write; its suffix picks the format (:data:`FORMATS`).
        seed: the run's seed (default: the scenario's).
        months: ``"0,12,60,120"`` or ``"all"`` (default: :data:`DEFAULT_MONTHS` within the horizon).
        by: ``trust`` or ``ics`` (:data:`BY`).
        horizon: months to simulate (default: the scenario's).
        n_providers: resize the population.
        force: replace an existing output file.
    """
    if by not in BY:
        raise ConfigError("unknown unit of the panel", key="--by", value=by, choices=BY)
    target = check_output_path(output, force=force)
    scen = load_scenario(scenario)
    spec = scen.spec
    if horizon is not None:
        spec = replace(spec, horizon=int(horizon))
    if n_providers is not None:
        spec = replace(spec, n_providers=int(n_providers))
        check_population(spec, key="--n-providers")
    chosen = parse_months(months, spec.horizon, what=f"the scenario {scen.name}")
    run_seed = scen.seed if seed is None else int(seed)
    print(f"{scen.name}: one run of {spec.horizon} months, seed {run_seed}; {by} panel at {len(chosen)} month(s)")
    trusts, _ = trust_panel(spec, run_seed, chosen)
    table = trusts if by == "trust" else ics_panel(trusts)
    write_panel(table, target)
    print(f"wrote {len(table)} rows ({table[by].nunique()} {'trusts' if by == 'trust' else 'ICSs'}) to {target}")
    return 0


def parse_months(text: str | None, horizon: int, *, what: str) -> list[int]:
    """The months of ``--months`` (``"0,12,60"`` or ``"all"``), checked against the ``horizon`` of ``what``."""
    if text is None:
        return sorted({m for m in DEFAULT_MONTHS if m <= horizon} | {horizon})
    if text.strip().lower() == "all":
        return list(range(horizon + 1))
    if not _MONTHS.match(text):
        raise ConfigError(
            'expected whole months separated by commas (e.g. "0,12,60,120"), or "all"', key="--months", value=text
        )
    months = sorted({int(m) for m in text.split(",")})
    for m in months:
        within(m, MONTH, key="--months")
    check_months_within(months, horizon, key="--months", what=what)
    return months


def check_output_path(output: str, *, force: bool) -> Path:
    """The output file, checked: a known suffix, a writable folder, no file replaced without ``force``."""
    path = Path(output)
    if path.suffix.lower() not in FORMATS:
        raise ConfigError(
            "unknown file type: the suffix of the output file picks the format", key="-o", value=output, choices=FORMATS
        )
    check_output_file(path, force=force, option="-o")
    if not os.access(path.parent, os.W_OK):
        raise UserError(f"cannot write {path}: the folder {path.parent} is not writable; choose another file with -o")
    return path


class PanelRecorder:
    """An observer of one run (:class:`sim.api.Observer`): every trust's row at the chosen months."""

    def __init__(self, months: Sequence[int]) -> None:
        self.months = frozenset(int(m) for m in months)
        self._frames: list[pd.DataFrame] = []

    def attach(self, model: World) -> None:
        """Record month 0 if chosen."""
        self.on_step(model)

    def on_step(self, model: World) -> None:
        """Record the month just simulated if chosen."""
        if model.month in self.months:
            if not isinstance(model, PartnershipModel):
                raise TypeError("the trust panel reads a Mesa model's agents: record it on sim.run, not in a batch")
            self._frames.append(trust_rows(model))

    def result(self) -> pd.DataFrame:
        """The trust panel: one row per trust per chosen month."""
        return pd.concat(self._frames, ignore_index=True)


def trust_rows(model: PartnershipModel) -> pd.DataFrame:
    """One row per trust of the model as it stands, read from its Provider and Partnership agents."""
    providers = sorted(model.agents_by_type[Provider], key=lambda a: a.index)
    domains = model.theory.domain_names
    mandated = np.zeros(model.n, dtype=int)
    ids: list[list[int]] = [[] for _ in range(model.n)]
    types: list[set[str]] = [set() for _ in range(model.n)]
    for p in sorted(model.agents_by_type.get(Partnership, ()), key=lambda a: a.pid):
        if not p.active:
            continue
        for i in p.members:
            ids[i].append(p.pid)
            mandated[i] += int(p.mandated)
            types[i].add(p.type)
    rows = []
    for a in providers:
        levels = a.levels
        efficiency = float(model.levels[a.index, model.efficiency_col])
        quality = float(model.levels[a.index, model.quality_col])
        rows.append(
            {
                "month": model.month,
                "trust": a.index,
                "kind": a.kind,
                "ics": a.ics,
                "turnover": a.turnover,
                **levels,
                "special_measures": a.in_special_measures,
                "good_or_outstanding": quality >= model.band_good,
                "in_deficit": efficiency < model.band_deficit,
                "surplus_pct": (efficiency - model.band_deficit) * model.surplus_per_unit,
                "partnerships": len(ids[a.index]),
                "mandated_partnerships": int(mandated[a.index]),
                "partnership_types": ";".join(sorted(types[a.index])),
                "partnership_ids": ";".join(map(str, ids[a.index])),
            }
        )
    frame = pd.DataFrame(rows)
    return frame[["month", "trust", "kind", "ics", "turnover", *domains, *frame.columns[5 + len(domains) :]]]


def trust_panel(spec: RunSpec, seed: int, months: Sequence[int]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One run of ``spec``: its trust panel at ``months`` and the model's own monthly series."""
    recorder = PanelRecorder(months)
    result = run(spec, seed, observers=[recorder])
    panel = result.observed[0]
    dates = dict(zip(result.series["step"], result.series["date"], strict=True))
    panel.insert(1, "date", panel["month"].map(dates))
    return panel, result.series


def ics_panel(trusts: pd.DataFrame) -> pd.DataFrame:
    """The trust panel by ICS: trusts, mean levels, shares of trusts, mean surplus, distinct partnerships.

    ``partnerships`` counts the active partnerships with at least one member in the ICS.
    """
    fixed = {"month", "date", "trust", "kind", "ics", "turnover", "partnership_types", "partnership_ids"}
    flags = ["special_measures", "good_or_outstanding", "in_deficit"]
    counts = ["partnerships", "mandated_partnerships"]
    levels = [c for c in trusts.columns if c not in fixed and c not in flags and c not in counts and c != "surplus_pct"]
    g = trusts.groupby(["month", "date", "ics"], sort=True)
    out = g[levels + ["surplus_pct"]].mean()
    out.insert(0, "n_trusts", g.size())
    out.insert(
        1,
        "kinds",
        g["kind"].agg(lambda k: "; ".join(f"{n} {kind}" for kind, n in k.value_counts().sort_index().items())),
    )
    out.insert(2, "turnover", g["turnover"].sum())
    for f in flags:
        out[f"share_{f}"] = g[f].mean()
    out["share_partnered"] = g["partnerships"].agg(lambda c: float((c > 0).mean()))
    out["partnerships"] = g["partnership_ids"].agg(lambda t: len({x for s in t for x in s.split(";") if x}))
    out["partnership_types"] = g["partnership_types"].agg(
        lambda t: ";".join(sorted({x for s in t for x in s.split(";") if x}))
    )
    return out.reset_index()


def write_panel(table: pd.DataFrame, path: Path) -> None:
    """Write ``table`` as CSV, Parquet or Excel (by suffix), through a temporary file."""
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp{path.suffix}")
    try:
        suffix = path.suffix.lower()
        if suffix == ".csv":
            table.to_csv(tmp, index=False)
        elif suffix == ".parquet":
            table.to_parquet(tmp, index=False)
        else:
            table.to_excel(tmp, index=False, engine="openpyxl", sheet_name="panel")
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
