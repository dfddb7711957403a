"""``partnersim sweep``: outcomes over a grid or sample of lever values, in one or many futures.

Read and check the sweep (a file and/or options), sample its policies and futures, run the plan
through the experiments runner into an experiment folder (resume, locks, failures, any
executor, common random numbers), then print and save: the outcome per lever value and per
policy with intervals and paired differences from the baseline, regret and satisficing across
futures, and one figure per lever.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from analysis.executors import make_executor
from analysis.faces.excel import write_xlsx
from analysis.jobs.experiment import execute, executor_words, experiment_folder, failures_exit
from analysis.store import atomic_text, check_folder, latest_runs, load_experiment, read_runs
from analysis.studies.compare import outcome_for
from analysis.studies.sweep import (
    SweepDesign,
    SweepSpec,
    by_future,
    format_levers,
    format_points,
    format_robustness,
    lever_table,
    make_design,
    n_runs,
    outcome_against_lever,
    paired_runs,
    point_table,
    read_sweep,
    regret_table,
    satisficing_table,
    sweep_plan,
)

SHOWN_DESIGN_ROWS = 12
"""Rows of the policies and futures a dry run prints."""


def run_sweep(
    file: str | None = None,
    *,
    policy: str | None = None,
    baseline: str | None = None,
    levers: Sequence[str] = (),
    uncertainties: Sequence[str] = (),
    design: str | None = None,
    n: int | None = None,
    futures: int | None = None,
    futures_design: str | None = None,
    replicates: int | None = None,
    seed: int | None = None,
    horizon: int | None = None,
    months: Sequence[int] | None = None,
    outcomes: str | None = None,
    criteria: Sequence[str] = (),
    n_providers: int | None = None,
    out: str | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    resume: bool = False,
    batch_size: int | None = None,
    progress: bool | None = None,
    figures: bool = True,
    xlsx: bool = False,
    dry_run: bool = False,
    command: Sequence[str] = (),
) -> int:
    """Run (or resume) a sweep; print and save its tables and figures; return the exit code.

    Args:
        file: the sweep file (TOML; see :mod:`analysis.studies.sweep.spec`), or None (options only).
        policy: the policy scenario whose levers are set (overrides the file's).
        baseline: the baseline scenario (default: the file's, else scenarios/baseline.toml).
        levers: ``NAME=VALUES`` / ``NAME=LOW:HIGH[:LEVELS]``, added to (or replacing) the file's levers.
        uncertainties: the same for uncertainties (a bare ``NAME``: a theory parameter's declared range).
        design: ``grid`` or ``lhs`` for the levers.
        n: policies of a Latin-hypercube design.
        futures: futures sampled (Latin hypercube) over the uncertainties.
        futures_design: ``lhs`` or ``grid`` for the uncertainties.
        replicates: replicates per policy and future (default: the file's, else the baseline's).
        seed: master seed (default: the file's, else the baseline's).
        horizon: months the scenarios last (default: the policy scenario's); runs stop at the last month measured.
        months: months measured (default: those of 12, 36, 60, 120 within the horizon).
        outcomes: outcomes, comma-separated (``quality,efficiency``…).
        criteria: satisficing criteria (default: no worse than the baseline in each outcome, last month).
        n_providers: population size of every run (small for quick looks).
        out: the experiment folder (default: ``results/<date>_sweep_<name>``).
        workers: worker processes (1 = in this process).
        scheduler: a Dask scheduler address, or ``local``.
        resume: continue an interrupted sweep in ``out`` (or the latest default folder).
        batch_size: runs per task (default: automatic).
        progress: show progress (default: only on a terminal).
        figures: draw the figures.
        xlsx: also write the tables as one Excel workbook, ``sweep.xlsx`` (a sheet per table).
        dry_run: print the design and the exact number of runs, then stop (nothing is written).
        command: the command line, for the manifest.

    Returns:
        0, or 1 if some runs failed (or a worker died).
    """
    spec = read_sweep(
        file,
        policy=policy,
        baseline=baseline,
        levers=levers,
        uncertainties=uncertainties,
        design=design,
        n=n,
        futures=futures,
        futures_design=futures_design,
        replicates=replicates,
        seed=seed,
        horizon=horizon,
        months=months,
        outcomes=outcomes,
        criteria=criteria,
        n_providers=n_providers,
    )
    sampled = make_design(spec)
    plan = sweep_plan(spec, sampled)
    assert plan.n_runs == n_runs(spec)
    folder = experiment_folder(out, [f"sweep_{spec.name}"], resume=resume)
    print(describe(spec, sampled, plan.n_runs))
    if dry_run:
        print(design_preview(sampled))
        if resume and (folder / "manifest.json").is_file():
            stored = latest_runs(read_runs(folder))
            keys = {t.key for t in plan.tasks()}
            ok = sum(
                1
                for k, status in zip(
                    stored[["scenario", "point", "replicate"]].itertuples(index=False), stored["status"], strict=True
                )
                if status == "ok" and tuple(k) in keys
            )
            print(f"{folder} holds {ok} of them; --resume would run the other {plan.n_runs - ok}.")
        print("(dry run: nothing was run or written)")
        return 0
    check_folder(folder, resume=resume)
    executor = make_executor(workers, scheduler)
    words = executor_words(executor)
    where = words if executor.name == "serial" else "on " + words
    print(f"running {plan.n_runs} runs {where}, master seed {spec.seed}, into {folder}", file=sys.stderr)
    outcome = execute(
        plan, folder, executor, resume=resume, batch_size=batch_size, progress=progress, command=command, out=out
    )
    if outcome is None:
        return 1
    report_sweep(folder, spec, sampled, figures=figures, xlsx=xlsx)
    return failures_exit(outcome, point="future")


def describe(spec: SweepSpec, design: SweepDesign, total: int) -> str:
    """One paragraph: what the sweep runs and how many runs that is."""
    levers = design.levers
    n_pol, n_fut = len(design.policies), len(design.futures)
    if not levers:
        how = "the policy scenario as it is"
    elif spec.design == "grid":
        how = "a grid over " + " × ".join(f"{lv} ({design.policies[lv].nunique()})" for lv in levers)
    else:
        how = "a Latin hypercube over " + ", ".join(levers)
    fixed = "; fixed: " + ", ".join(f"{k} = {v}" for k, v in design.fixed.items()) if design.fixed else ""
    if design.uncertainties:
        kind = "a Latin hypercube" if spec.futures_design == "lhs" else "a grid"
        fut = f"{n_fut} futures ({kind} over {', '.join(design.uncertainties)})"
    else:
        fut = "1 future (the scenarios' own assumptions)"
    size = f", {spec.n_providers} providers" if spec.n_providers else ""
    return (
        f"Sweep '{spec.name}': {n_pol} polic{'y' if n_pol == 1 else 'ies'} on {spec.policy.name} ({how}{fixed}), "
        f"each paired with {spec.baseline.name}; {fut}; {spec.replicates} replicate(s).\n"
        f"{total} runs = (1 baseline + {n_pol} policies) × {n_fut} future(s) × {spec.replicates} replicate(s), "
        f"{max(spec.kept_months)} months each{size}; outcomes at months {', '.join(map(str, spec.months))}."
    )


def design_preview(design: SweepDesign) -> str:
    """The first policies and futures, as a dry run shows them."""
    parts = []
    for name, table in (("policies", design.policies), ("futures", design.futures)):
        shown = table.drop(columns=["point"], errors="ignore")
        if shown.shape[1] <= 1:
            continue
        parts.append(f"{name}:\n{shown.head(SHOWN_DESIGN_ROWS).to_string(index=False)}")
        if len(table) > SHOWN_DESIGN_ROWS:
            parts.append(f"  … and {len(table) - SHOWN_DESIGN_ROWS} more")
    return "\n".join(parts)


def report_sweep(
    folder: Path, spec: SweepSpec, design: SweepDesign, *, figures: bool = True, xlsx: bool = False
) -> None:
    """Read the sweep's store, print the tables, and save tables (CSV, and a workbook with ``xlsx``) and figures."""
    exp = load_experiment(folder, metrics=list(spec.kept_metrics), steps=list(spec.kept_months), partnerships=False)
    if exp.series.empty:
        print("no run finished, so there is nothing to report", file=sys.stderr)
        return
    base = spec.baseline.name
    runs = paired_runs(exp.series, base)
    points = point_table(runs, design, baseline=base, outcomes=spec.outcomes, months=spec.months)
    per_lever = lever_table(runs, design, baseline=base, outcomes=spec.outcomes, months=spec.months)
    futures = by_future(runs)
    regret = regret_table(futures, design, baseline=base, outcomes=spec.outcomes, months=spec.months)
    satisficing = satisficing_table(futures, design, spec.requirements, baseline=base)
    last = spec.months[-1]
    print()
    text = format_levers(per_lever, spec.months, spec.outcomes)
    if text:
        print(text + "\n")
    if design.levers:
        print(format_points(points, design.levers, last, spec.outcomes) + "\n")
    print(format_robustness(regret, satisficing, design.levers, last, len(design.futures)))
    tables = {
        "sweep": points,
        "levers": per_lever,
        "by_future": futures,
        "robustness": regret,
        "satisficing": satisficing,
        "policies": design.policies,
        "futures": design.futures,
    }
    paths = save_tables(tables, folder)
    if xlsx:
        paths.append(save_workbook(tables, folder / "sweep.xlsx"))
    atomic_text(folder / "sweep.json", json.dumps(spec.record(), indent=1, default=str) + "\n")
    saved = save_figures(points, per_lever, folder, spec, design) if figures else []
    print(f"\nResults in {folder}/")
    print(
        "  data:    series/, runs/ (Parquet), manifest.json, design.parquet; load with analysis.store.load_experiment()"
    )
    print(f"  tables:  {', '.join(p.name for p in paths)}, sweep.json (the sweep as read)")
    if saved:
        print(f"  figures: {', '.join('figures/' + p.name for p in saved)}")


def save_tables(tables: dict[str, pd.DataFrame], folder: Path) -> list[Path]:
    """Save each table as ``NAME.csv`` in ``folder`` (empty tables are skipped); return the paths."""
    paths = []
    for name, table in tables.items():
        if table.empty:
            continue
        path = folder / f"{name}.csv"
        table.to_csv(path, index=False)
        paths.append(path)
    return paths


def save_workbook(tables: dict[str, pd.DataFrame], path: Path) -> Path:
    """Save the tables as one Excel workbook at ``path``: a sheet per non-empty table, named as its CSV file.

    The cells hold the CSV files' values (numbers as numbers, a missing value as an empty cell).
    """
    return write_xlsx(path, {name: table for name, table in tables.items() if not table.empty})


def save_figures(
    points: pd.DataFrame, per_lever: pd.DataFrame, folder: Path, spec: SweepSpec, design: SweepDesign
) -> list[Path]:
    """One figure per lever (levels, and differences from the baseline) as PNG in ``folder/figures``."""
    if not design.levers:
        return []
    out = folder / "figures"
    out.mkdir(exist_ok=True)
    labels = {m: outcome_for(m).label for m in spec.outcomes}
    base = points[points["policy"] == spec.baseline.name]
    policies = points[points["point"].notna()]
    paths = []
    for lever in design.levers:
        others = [lv for lv in design.levers if lv != lever]
        group, connect = None, True
        if spec.design == "grid" and len(others) == 1:
            table, group = policies, others[0]
        elif lever in design.continuous or per_lever.empty:
            table, connect = policies, lever not in design.continuous
        else:
            table = per_lever[per_lever["lever"] == lever].rename(columns={"value": lever})
        for difference in (False, True):
            fig = outcome_against_lever(
                table,
                lever,
                outcomes=spec.outcomes,
                months=spec.months,
                labels=labels,
                group=group,
                baseline=base,
                difference=difference,
                connect=connect,
            )
            path = out / f"{_slug(lever)}{'_vs_baseline' if difference else ''}.png"
            fig.savefig(path, dpi=100)
            paths.append(path)
    return paths


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in name)
