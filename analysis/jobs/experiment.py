"""``partnersim run`` and ``partnersim compare``: run scenarios into an experiment folder and report.

Load the scenarios, plan them (common random numbers), run or resume the experiment on the
chosen executor, then print the outcome bands and the paired comparison, and save the
tables, the figures and (optionally) the HTML report beside the data.
"""

from __future__ import annotations

import datetime as dt
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from analysis import faces
from analysis.errors import UserError
from analysis.executors import DaskExecutor, Executor, WorkerLost, make_executor
from analysis.jobs.defaults import RUN_HORIZONS
from analysis.plan import Plan, plan_from_scenarios
from analysis.runner import ExperimentOutcome, run_experiment
from analysis.scenario import load_scenario
from analysis.store import check_folder, load_experiment, read_manifest
from analysis.studies.compare import (
    OUTCOME_METRICS,
    comparison_table,
    format_comparison,
    format_intervals,
    load_quantiles,
    outcome_title,
    save_comparison,
)
from analysis.studies.headline import format_headline
from analysis.studies.pathways import theory_in_force
from analysis.studies.units import DERIVED, NEEDS, UnitsRun, load_units, with_units
from analysis.studies.validation import evidence_status, save_validation
from sim.outcomes import metric_catalogue
from sim.theory import load_theory

# pandas: imported by the functions that build or read tables, not with the module, so a run's
# workers are forked without it (tests/test_architecture.py)
if TYPE_CHECKING:
    import pandas as pd

EVIDENCE_CACHE = Path("results") / ".cache" / "validation"  # evidence checks, reused per theory digest
BAND_ROWS = (
    ("share_outstanding", "rated outstanding (CQC)", "{:.1%}"),
    ("share_good", "rated good (CQC)", "{:.1%}"),
    ("share_requires_improvement", "rated requires improvement", "{:.1%}"),
    ("share_inadequate", "rated inadequate (CQC)", "{:.1%}"),
    ("share_special_measures", "in special measures", "{:.1%}"),
    ("share_in_deficit", "in deficit", "{:.1%}"),
    ("sector_surplus_gbp_m", "sector surplus, £m a year", "{:+,.0f}"),
    ("sector_surplus_pct", "sector surplus, % of turnover", "{:+.2f}"),
    ("rtt_18_weeks_pct", "RTT: % within 18 weeks", "{:.1f}"),
    ("vacancy_pct", "staff vacancy rate, %", "{:.1f}"),
    ("mean_quality", "quality (index 0-1)", "{:.3f}"),
    ("mean_efficiency", "efficiency (index 0-1)", "{:.3f}"),
    ("mean_access", "access (index 0-1)", "{:.3f}"),
    ("partnerships_active", "active partnerships", "{:.0f}"),
)


def run_scenarios(
    files: Sequence[str],
    *,
    compare: bool,
    replicates: int | None = None,
    out: str | None = None,
    seed: int | None = None,
    horizon: int | None = None,
    horizons: Sequence[int] = RUN_HORIZONS,
    workers: int | None = None,
    scheduler: str | None = None,
    resume: bool = False,
    batch_size: int | None = None,
    progress: bool | None = None,
    figures: bool = True,
    report: bool = False,
    xlsx: bool = False,
    command: Sequence[str] = (),
) -> int:
    """Run (or resume) the scenarios in ``files``, print and save the results; return the exit code.

    Args:
        files: scenario files; with ``compare`` the first is the baseline (at least two needed).
        compare: print the paired comparison against the first scenario (else one scenario's bands).
        replicates: replicates per scenario (default: the first scenario's ``replications``; when
            resuming, the experiment's own). Resuming with fewer than the experiment holds is refused.
        out: the experiment folder (default: ``results/<date>_<scenarios>``).
        seed: master seed (default: the first scenario's; when resuming, the experiment's own).
        horizon: months to simulate (default: each scenario's).
        horizons: months to tabulate (those beyond the shortest horizon are left out, and said so).
        workers: worker processes (1 = in this process).
        scheduler: a Dask scheduler address, or ``local``.
        resume: continue an interrupted experiment in ``out``.
        batch_size: runs per task (default: automatic).
        progress: show progress (default: only on a terminal).
        figures: draw the figures.
        report: also write the HTML report.
        xlsx: also write the tables as an Excel workbook (:mod:`analysis.faces.excel`).
        command: the command line, for the manifest.

    Returns:
        0, or 1 if some runs failed (or a worker died).
    """
    if compare and len(files) < 2:
        raise UserError(
            "compare needs at least two scenario files (the first is the baseline); "
            "to run one scenario use `partnersim run FILE`"
        )
    scenarios = [load_scenario(f) for f in files]
    names = [s.name for s in scenarios]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise UserError(
            f"scenario names must differ; {', '.join(dupes)} is the name of more than one file "
            f"({', '.join(f for f, s in zip(files, scenarios, strict=True) if s.name in dupes)})"
        )
    folder = experiment_folder(out, names, resume=resume)
    check_folder(folder, resume=resume)
    stored = read_manifest(folder) if resume and (folder / "manifest.json").is_file() else None
    reps = replicates or (int(stored["replicates"]) if stored else scenarios[0].replications)
    seed = (int(stored["master_seed"]) if stored else scenarios[0].seed) if seed is None else seed
    if seed < 0:
        raise UserError(f"--seed must be >= 0 (got {seed})")
    plan = plan_from_scenarios(scenarios, replicates=reps, master_seed=seed, horizon=horizon, run_fn=UnitsRun())
    longest = max(s.spec.horizon for s in plan.scenarios)
    shortest = min(s.spec.horizon for s in plan.scenarios)
    shown = [h for h in horizons if h <= shortest]
    if not shown:
        raise UserError(
            f"none of the months in --horizons ({','.join(map(str, horizons))}) is within the "
            f"{shortest}-month horizon; choose months <= {shortest}"
        )
    dropped = [h for h in horizons if h > shortest]
    executor = make_executor(workers, scheduler)
    kind = executor_words(executor)
    print(
        f"{'Comparing' if compare else 'Running'} {', '.join(names)}: {reps} replicate(s) each, "
        f"{longest} months, master seed {seed}, {kind}",
        file=sys.stderr,
    )
    outcome = execute(
        plan, folder, executor, resume=resume, batch_size=batch_size, progress=progress, command=command, out=out
    )
    if outcome is None:
        return 1
    report_experiment(folder, plan, shown, dropped, shortest, compare=compare, figures=figures, html=report, xlsx=xlsx)
    return failures_exit(outcome)


def report_experiment(
    out: Path,
    plan: Plan,
    horizons: list[int],
    dropped: list[int],
    shortest: int,
    *,
    compare: bool,
    figures: bool,
    html: bool,
    xlsx: bool = False,
) -> None:
    """Print the tables and save them (and the figures, and the HTML report) in the experiment folder."""
    units = load_units()
    outcomes = list(OUTCOME_METRICS)
    plot_metrics = outcomes + partnership_metrics(plan)
    wanted = [*outcomes, *plot_metrics, *(r[0] for r in BAND_ROWS), *NEEDS]
    steps = None if figures else sorted({0, *horizons})  # the figures draw every month, the tables only these
    exp = load_experiment(
        out, metrics=[m for m in dict.fromkeys(wanted) if m not in DERIVED], steps=steps, partnerships=False
    )
    series = with_units(exp.series, units)
    if series.empty:
        print("no run finished, so there is nothing to report", file=sys.stderr)
        return
    baseline = plan.scenarios[0].name
    table = comparison_table(
        series,
        baseline=baseline,
        outcomes=outcomes,
        horizons=horizons,
        scenarios=[s.name for s in plan.scenarios],
        units=units,
    )
    evidence = evidence_status(theory_in_force(plan.scenarios[0].spec), cache=EVIDENCE_CACHE)
    save_validation(evidence, out / "validation")
    print(
        f"\nTheory in force: {evidence.theory}. Evidence: {evidence.status()} "
        "(`partnersim validate-theory` shows the table)."
    )
    print()
    if not compare:
        scen = plan.scenarios[0]
        print(f"{scen.name}: {scen.record.get('description', '')}")
        means = series.groupby(["step", "metric"], observed=True)["value"].mean().unstack("metric")
        n = series.groupby(["point", "replicate"], observed=True).ngroups
        print(f"mean over {n} replicate(s), {scen.spec.horizon} months from {scen.spec.start}\n")
        print(format_bands(means, [h for h in (0, *horizons) if h in means.index]))
        print()
        print(format_intervals(table))
    else:
        print(format_headline(table))
        print()
        print(format_comparison(table))
    if dropped:
        print(
            f"(month{'s' if len(dropped) > 1 else ''} {', '.join(map(str, dropped))} "
            f"{'are' if len(dropped) > 1 else 'is'} beyond the {shortest}-month horizon and left out)"
        )
    paths = save_comparison(table, out, "comparison" if compare else "summary")
    if xlsx:
        paths.append(faces.excel.write_xlsx(out / f"{paths[0].stem}.xlsx", faces.excel.comparison_sheets(table, units)))
    saved = (
        save_figures(series, out, baseline=baseline, outcomes=outcomes, start=plan.scenarios[0].spec.start)
        if figures
        else []
    )
    print(f"\nResults in {out}/")
    print(
        "  data:    series/, runs/, partnerships/ (Parquet datasets), manifest.json; "
        "load with analysis.store.load_experiment()"
    )
    print(f"  tables:  {', '.join(p.name for p in paths)}, validation/validation.csv (the evidence checks)")
    if saved:
        print(f"  figures: {', '.join('figures/' + p.name for p in saved)}")
    if html:
        page = faces.report.write_report(out)
        print(f"  report:  {page.name} (self-contained HTML: open it in any browser, no network needed)")


def save_figures(
    series: pd.DataFrame, out: str | Path, *, baseline: str, outcomes: Sequence[str] = OUTCOME_METRICS, start: str = ""
) -> list[Path]:
    """Draw the standard figures of an experiment and save them as PNG in ``out/figures``."""
    folder = Path(out) / "figures"
    folder.mkdir(parents=True, exist_ok=True)
    labels = {m: outcome_title(m) for m in outcomes}
    figures = {"trajectories": faces.plots.trajectories(series, outcomes, labels=labels, start=start)}
    if series["scenario"].nunique() > 1:
        figures["differences"] = faces.plots.difference_trajectories(
            series, baseline, outcomes, labels=labels, start=start
        )
    figures["partnerships"] = faces.plots.partnerships_over_time(series, start=start)
    paths = []
    for name, fig in figures.items():
        path = folder / f"{name}.png"
        fig.savefig(path, dpi=110)
        paths.append(path)
    return paths


def partnership_metrics(plan: Plan) -> list[str]:
    """The partnership counts the figures draw (``n_*``, ``partnerships_*``) under the plan's theory."""
    theory = plan.scenarios[0].spec.theory or load_theory()
    return [m.name for m in metric_catalogue(theory) if m.name.startswith(("n_", "partnerships_"))]


def format_bands(means: pd.DataFrame, months: Sequence[int]) -> str:
    """A text table of the outcome bands (one column per metric, one row per month, indexed by month) at ``months``."""
    head = f"{'outcome':<30}" + "".join(f"{'month ' + str(h):>12}" for h in months)
    lines = [head, "-" * len(head)]
    for metric, label, fmt in BAND_ROWS:
        if metric in means:
            lines.append(f"{label:<30}" + "".join(f"{fmt.format(means[metric].loc[h]):>12}" for h in months))
    return "\n".join(lines)


def experiment_folder(out: str | None, names: Sequence[str], *, resume: bool) -> Path:
    """The experiment folder: ``out``, or results/<date>_<names> (numbered if taken; the latest when resuming)."""
    if out:
        return Path(out)
    label = "_vs_".join(names) if len(names) <= 3 else f"{names[0]}_vs_{len(names) - 1}_policies"
    base = Path("results") / f"{dt.date.today().isoformat()}_{label}"
    taken = [base] + sorted(
        (p for p in base.parent.glob(base.name + "_*") if p.name[len(base.name) + 1 :].isdigit()),
        key=lambda p: int(p.name[len(base.name) + 1 :]),
    )
    existing = [p for p in taken if (p / "manifest.json").exists()]
    if resume:
        return existing[-1] if existing else base
    if not base.exists():
        return base
    k = 2
    while Path(f"{base}_{k}").exists():
        k += 1
    return Path(f"{base}_{k}")


def executor_words(executor: Executor) -> str:
    """Where runs go, for the start line: 'in this process', '2 worker processes', 'Dask (ADDRESS, 2 workers)'."""
    if executor.name == "serial":
        return "in this process"
    if isinstance(executor, DaskExecutor):
        return f"Dask ({executor.address}, {executor.workers} workers)"
    return f"{executor.workers} worker processes"


def execute(
    plan: Plan,
    folder: Path,
    executor: Executor,
    *,
    resume: bool,
    batch_size: int | None,
    progress: bool | None,
    command: Sequence[str],
    out: str | None,
) -> ExperimentOutcome | None:
    """Run ``plan`` into ``folder`` on ``executor`` (closed afterwards), for ``run``, ``compare`` and ``sweep``.

    Ctrl-C says how to resume and re-raises; a lost worker is printed and gives None (exit 1).
    Once the first batch is stored, while the workers run the batches in flight, what the report
    loads on first use is loaded (:func:`prepare_report`).
    """
    loading = threading.Thread(target=_prepare_quietly, name="partnersim-report-imports", daemon=True)
    try:
        outcome = run_experiment(
            plan,
            folder,
            executor=executor,
            resume=resume,
            batch_size=batch_size,
            progress=progress,
            command=list(command),
            on_running=loading.start,
        )
    except KeyboardInterrupt:
        print(
            f"\ninterrupted: finished batches are saved in {folder}; continue with the same command plus "
            f"--resume{'' if out else ' (or --out ' + str(folder) + ' --resume)'}",
            file=sys.stderr,
        )
        raise
    except WorkerLost as exc:
        print(f"partnersim: {exc} (folder: {folder})", file=sys.stderr)
        return None
    finally:
        executor.close()
    if loading.ident is not None:  # started: the report waits for what it loads
        loading.join()
    if outcome.skipped:
        print(f"resumed: {outcome.skipped} run(s) were already stored, {outcome.ran} run now", file=sys.stderr)
    return outcome


def prepare_report() -> None:
    """Load what the report loads on first use: pandas, the t quantile of its intervals, pyarrow's dataset reader.

    :func:`execute` has the runner call this once the first batch is stored, while the workers
    run the batches in flight (:func:`~analysis.runner.run_experiment`'s ``on_running``): pandas
    takes about 0.3 s to import (nothing before the report needs it: the runs and their encoding
    do without, so the workers are forked without waiting for it), scipy.special 0.1-0.2 s,
    pyarrow.dataset (through which the store reads back the months the tables show) 15 ms.
    Before, they were loaded in the parent's loop once a single batch was left: a core idles
    then, but 0.5 s outlasts a batch of a short experiment, and the report waited. Now they share
    the cores with the runs: a ``partnersim run`` of 120 policy runs on 2 workers took 0.95x the
    time (median of 20 alternating pairs, 1.98 s against 2.03 s; another 12 pairs: 1.00x). An
    experiment whose last batch outlasts the imports pays for this: about half their CPU, 0.2 s.
    """
    import pandas  # noqa: F401 - imported to be loaded; the report's tables are DataFrames
    import pyarrow.dataset  # noqa: F401 - imported to be loaded; the store's reader uses it

    load_quantiles()


def _prepare_quietly() -> None:
    """:func:`prepare_report`, in the background thread of :func:`execute`; a failure is left to the report.

    The report imports the same modules in the main thread, where an import that fails raises
    as it would have without this thread.
    """
    try:
        prepare_report()
    except Exception:  # noqa: BLE001, S110 - the report's own import raises it, with the user's context
        pass


def failures_exit(outcome: ExperimentOutcome, *, point: str = "") -> int:
    """0 when every run finished; else 1, after saying how many failed, the first failure and how to retry.

    ``point`` names what a design point is (a sweep's ``future``) when the plan has several.
    """
    if not outcome.failed:
        return 0
    first = outcome.failures[0]
    last_line = first.error.strip().splitlines()[-1] if first.error.strip() else "unknown error"
    where = f"{first.scenario}, {point + ' ' + str(first.point) + ', ' if point else ''}replicate {first.replicate}"
    print(
        f"\n{outcome.failed} of {outcome.total} run(s) failed; the tables rest on the runs that finished. "
        f"First failure ({where}): {last_line}. "
        f"Full tracebacks: 'runs' with status 'failed' in {outcome.path}/manifest.json; "
        f"retry them with --resume.",
        file=sys.stderr,
    )
    return 1
