"""The ``partnersim`` command.

Every command prints a one-paragraph error and exits with code 2 on bad input (a
:class:`sim.ConfigError`), with no traceback. Heavy imports (pandas, plotting, Dask) stay
inside the commands that need them, so ``--help`` and validation stay fast.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from sim.errors import ConfigError

EXIT_USER_ERROR = 2
HORIZONS = (12, 36, 120)
COMPARE_HORIZONS = (12, 36, 60, 120)


class UserError(Exception):
    """A mistake in how the command was called (missing folder, bad option value…)."""


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``partnersim`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_USER_ERROR
    try:
        return int(args.func(args) or 0)
    except (ConfigError, UserError) as exc:
        print(f"partnersim: error: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("partnersim: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into `head` and the like
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="partnersim",
        description="Agent-based model of English NHS providers forming partnerships.",
    )
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")
    for register in COMMANDS:
        register(sub)
    return parser


# -- run / compare ---------------------------------------------------------------
def _horizons(text: str) -> tuple[int, ...]:
    """Parse comma-separated months (an argparse type), e.g. ``12,36,60,120``."""
    try:
        values = tuple(int(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected months separated by commas, like 12,36,60 (got {text!r})") from None
    if not values or any(v < 0 for v in values):
        raise argparse.ArgumentTypeError(f"expected months >= 0 separated by commas (got {text!r})")
    return tuple(sorted(set(values)))


def _positive(text: str) -> int:
    """Parse a whole number >= 1 (an argparse type)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number (got {text!r})") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1 (got {value})")
    return value


def _add_experiment_options(p: argparse.ArgumentParser, horizons: Sequence[int]) -> None:
    """Options shared by ``run`` and ``compare``."""
    p.add_argument("--reps", type=_positive, default=None, metavar="R",
                   help="replicates per scenario (default: the first scenario's 'replications')")
    p.add_argument("--out", default=None, metavar="DIR",
                   help="experiment folder (default: results/<date>_<scenarios>)")
    p.add_argument("--seed", type=int, default=None,
                   help="master seed; replicate seeds derive from it (default: the first scenario's)")
    p.add_argument("--horizon", type=_positive, default=None, metavar="MONTHS",
                   help="months to simulate (default: each scenario's 'horizon')")
    p.add_argument("--horizons", type=_horizons, default=tuple(horizons), metavar="M1,M2,…",
                   help=f"months to tabulate (default: {','.join(map(str, horizons))})")
    p.add_argument("--workers", type=_positive, default=None, metavar="N",
                   help="worker processes (default: one per CPU; 1 = run in this process)")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="run on a Dask distributed scheduler (tcp://host:8786), or 'local' for a LocalCluster "
                        "(default: $DASK_SCHEDULER_ADDRESS if set, else a local process pool)")
    p.add_argument("--resume", action="store_true",
                   help="continue an interrupted experiment in --out (or the latest default folder): "
                        "stored runs are not redone, failed ones are retried")
    p.add_argument("--batch-size", type=_positive, default=None, metavar="RUNS",
                   help="runs per task (default: automatic, about a second of work)")
    prog = p.add_mutually_exclusive_group()
    prog.add_argument("--progress", dest="progress", action="store_true", default=None,
                      help="show progress even when not on a terminal")
    prog.add_argument("--no-progress", dest="progress", action="store_false", help="never show progress")
    p.add_argument("--no-figures", dest="figures", action="store_false", help="do not draw figures")
    p.add_argument("--report", action="store_true",
                   help="also write the self-contained HTML report for policymakers (report.html in the folder)")


def _register_run(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="run replicates of one scenario and print outcome bands",
                       description="Run replicates of one scenario, store them (tidy Parquet + manifest) and "
                                   "print the outcome bands (mean over replicates) at 12, 36 and 120 months.")
    p.add_argument("scenario", help="scenario file (e.g. scenarios/baseline.toml)")
    _add_experiment_options(p, HORIZONS)
    p.set_defaults(func=cmd_run)


def _register_compare(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("compare", help="compare scenarios against a baseline, paired by replicate",
                       description="Run every scenario with the same replicate seeds (common random numbers), "
                                   "then print per outcome and month the mean and interval per scenario and the "
                                   "paired difference against the first scenario (the baseline). Saves the "
                                   "tables (CSV + Parquet) and figures beside the data.",
                       epilog="example: partnersim compare scenarios/baseline.toml scenarios/mandated_mergers.toml "
                              "scenarios/mandated_buddying.toml --reps 50")
    p.add_argument("scenarios", nargs="+", metavar="SCENARIO",
                   help="scenario files; the first is the baseline")
    _add_experiment_options(p, COMPARE_HORIZONS)
    p.set_defaults(func=cmd_compare)


def cmd_run(args: argparse.Namespace) -> int:
    """Run replicates of one scenario and print the outcome bands."""
    return _experiment(args, [args.scenario], compare=False)


def cmd_compare(args: argparse.Namespace) -> int:
    """Run several scenarios and print the paired comparison against the first."""
    if len(args.scenarios) < 2:
        raise UserError("compare needs at least two scenario files (the first is the baseline); "
                        "to run one scenario use `partnersim run FILE`")
    return _experiment(args, args.scenarios, compare=True)


def _experiment(args: argparse.Namespace, files: Sequence[str], *, compare: bool) -> int:
    """Shared body of run and compare: load, run (or resume), report."""
    from analysis.runner import WorkerLost, make_executor, plan_from_scenarios, run_experiment
    from analysis.scenario import load_scenario

    scenarios = [load_scenario(f) for f in files]
    names = [s.name for s in scenarios]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise UserError(f"scenario names must differ; {', '.join(dupes)} is the name of more than one file "
                        f"({', '.join(f for f, s in zip(files, scenarios, strict=True) if s.name in dupes)})")
    reps = args.reps or scenarios[0].replications
    seed = scenarios[0].seed if args.seed is None else args.seed
    if seed < 0:
        raise UserError(f"--seed must be >= 0 (got {seed})")
    plan = plan_from_scenarios(scenarios, replicates=reps, master_seed=seed, horizon=args.horizon)
    longest = max(s.spec.horizon for s in plan.scenarios)
    shortest = min(s.spec.horizon for s in plan.scenarios)
    horizons = [h for h in args.horizons if h <= shortest]
    if not horizons:
        raise UserError(f"none of the months in --horizons ({','.join(map(str, args.horizons))}) is within the "
                        f"{shortest}-month horizon; choose months <= {shortest}")
    dropped = [h for h in args.horizons if h > shortest]
    out = _out_folder(args.out, names, resume=args.resume)
    if (out / "manifest.json").exists() and not args.resume:
        raise UserError(f"{out} already holds an experiment; add --resume to continue it, "
                        f"or choose another folder with --out")
    executor = make_executor(args.workers, args.scheduler)
    kind = {"serial": "in this process", "pool": f"{executor.workers} worker processes",
            "dask": f"Dask ({getattr(executor, 'address', '')}, {executor.workers} workers)"}[executor.name]
    print(f"{'Comparing' if compare else 'Running'} {', '.join(names)}: {reps} replicate(s) each, "
          f"{longest} months, master seed {seed}, {kind}", file=sys.stderr)
    try:
        outcome = run_experiment(plan, out, executor=executor, resume=args.resume, batch_size=args.batch_size,
                                 progress=args.progress, command=["partnersim", *sys.argv[1:]])
    except KeyboardInterrupt:
        print(f"\ninterrupted: finished batches are saved in {out}; continue with the same command plus "
              f"--resume{'' if args.out else ' (or --out ' + str(out) + ' --resume)'}", file=sys.stderr)
        raise
    except WorkerLost as exc:
        print(f"partnersim: {exc} (folder: {out})", file=sys.stderr)
        return 1
    finally:
        executor.close()
    if outcome.skipped:
        print(f"resumed: {outcome.skipped} run(s) were already stored, {outcome.ran} run now", file=sys.stderr)
    _report(out, plan, horizons, dropped, shortest, args, compare=compare)
    return _failures(outcome)


def _report(out: Path, plan, horizons: list[int], dropped: list[int], shortest: int,  # type: ignore[no-untyped-def]
            args: argparse.Namespace, *, compare: bool) -> None:
    """Print the tables and save them (and the figures) in the experiment folder."""
    from analysis.compare import (
        OUTCOMES,
        comparison_table,
        format_comparison,
        format_intervals,
        save_comparison,
        save_figures,
    )
    from analysis.store import load_experiment

    outcomes = [o.metric for o in OUTCOMES]
    plot_metrics = outcomes + [m for m in _partnership_metrics(plan)]
    exp = load_experiment(out, metrics=list(dict.fromkeys([*outcomes, *plot_metrics, *(r[0] for r in BAND_ROWS)])),
                          partnerships=False)
    series = exp.series
    if series.empty:
        print("no run finished, so there is nothing to report", file=sys.stderr)
        return
    baseline = plan.scenarios[0].name
    table = comparison_table(series, baseline=baseline, outcomes=outcomes, horizons=horizons,
                             scenarios=[s.name for s in plan.scenarios])
    print()
    if not compare:
        scen = plan.scenarios[0]
        print(f"{scen.name}: {scen.record.get('description', '')}")
        means = series.groupby(["step", "metric"], observed=True)["value"].mean().unstack("metric")
        n = series.groupby(["point", "replicate"], observed=True).ngroups
        print(f"mean over {n} replicate(s), {len(means) - 1} months from {plan.scenarios[0].spec.start}\n")
        print(format_bands(means.reset_index(drop=True), [h for h in (0, *horizons) if h < len(means)]))
        print()
        print(format_intervals(table))
    else:
        print(format_comparison(table))
    if dropped:
        print(f"(month{'s' if len(dropped) > 1 else ''} {', '.join(map(str, dropped))} "
              f"{'are' if len(dropped) > 1 else 'is'} beyond the {shortest}-month horizon and left out)")
    paths = save_comparison(table, out, "comparison" if compare else "summary")
    figures = []
    if args.figures:
        figures = save_figures(series, out, baseline=baseline, outcomes=outcomes, start=plan.scenarios[0].spec.start)
    print(f"\nResults in {out}/")
    print("  data:    series/, runs/, partnerships/ (Parquet datasets), manifest.json; "
          "load with analysis.store.load_experiment()")
    print(f"  tables:  {', '.join(p.name for p in paths)}")
    if figures:
        print(f"  figures: {', '.join('figures/' + p.name for p in figures)}")
    if getattr(args, "report", False):
        from analysis.report import write_report

        page = write_report(out)
        print(f"  report:  {page.name} (self-contained HTML: open it in any browser, no network needed)")


def _partnership_metrics(plan) -> list[str]:  # type: ignore[no-untyped-def]
    from sim.outcomes import metric_catalogue
    from sim.theory import load_theory

    theory = plan.scenarios[0].spec.theory or load_theory()
    return [m.name for m in metric_catalogue(theory) if m.name.startswith(("n_", "partnerships_"))]


def _failures(outcome) -> int:  # type: ignore[no-untyped-def]
    if not outcome.failed:
        return 0
    first = outcome.failures[0]
    last_line = first.error.strip().splitlines()[-1] if first.error.strip() else "unknown error"
    print(f"\n{outcome.failed} of {outcome.total} run(s) failed; the tables rest on the runs that finished. "
          f"First failure ({first.scenario}, replicate {first.replicate}): {last_line}. "
          f"Full tracebacks: 'runs' with status 'failed' in {outcome.path}/manifest.json; "
          f"retry them with --resume.", file=sys.stderr)
    return 1


def _out_folder(out: str | None, names: Sequence[str], *, resume: bool) -> Path:
    """The experiment folder: --out, or results/<date>_<names> (numbered if taken; the latest when resuming)."""
    if out:
        return Path(out)
    import datetime as dt

    label = "_vs_".join(names) if len(names) <= 3 else f"{names[0]}_vs_{len(names) - 1}_policies"
    base = Path("results") / f"{dt.date.today().isoformat()}_{label}"
    taken = [base] + sorted((p for p in base.parent.glob(base.name + "_*") if p.name[len(base.name) + 1:].isdigit()),
                            key=lambda p: int(p.name[len(base.name) + 1:]))
    existing = [p for p in taken if (p / "manifest.json").exists()]
    if resume:
        return existing[-1] if existing else base
    if not base.exists():
        return base
    k = 2
    while Path(f"{base}_{k}").exists():
        k += 1
    return Path(f"{base}_{k}")


BAND_ROWS = (
    ("share_good_or_outstanding", "rated good or outstanding", "{:.0%}"),
    ("share_in_deficit", "in deficit", "{:.0%}"),
    ("share_special_measures", "in special measures", "{:.0%}"),
    ("mean_surplus_pct", "mean surplus, % of turnover", "{:+.2f}"),
    ("mean_quality", "quality (index 0-1)", "{:.3f}"),
    ("mean_efficiency", "efficiency (index 0-1)", "{:.3f}"),
    ("mean_access", "access (index 0-1)", "{:.3f}"),
    ("partnerships_active", "active partnerships", "{:.0f}"),
)


def format_bands(series, horizons: Sequence[int]) -> str:  # type: ignore[no-untyped-def]
    """A text table of the outcome bands at the given months."""
    head = f"{'outcome':<30}" + "".join(f"{'month ' + str(h):>12}" for h in horizons)
    lines = [head, "-" * len(head)]
    for metric, label, fmt in BAND_ROWS:
        if metric in series:
            lines.append(f"{label:<30}" + "".join(f"{fmt.format(series[metric].iloc[h]):>12}" for h in horizons))
    return "\n".join(lines)


# -- theory ----------------------------------------------------------------------
def _register_theory(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("theory", help="print the causal web of a theory file",
                       description="Print the theory's domains, edges (weights, lags, sources) and types.")
    p.add_argument("file", nargs="?", default=None, help="theory file (default: scenarios/theory/irt.toml)")
    p.add_argument("--params", action="store_true", help="also list every parameter with its range and source")
    p.set_defaults(func=cmd_theory)


def cmd_theory(args: argparse.Namespace) -> int:
    """Print the causal web."""
    from sim.theory import load_theory

    th = load_theory(args.file)
    print(f"{th.meta.get('name', '')}: {th.meta.get('description', '')}\n")
    print("Partnering acts on structural domains (per type, typology.toml):")
    for t in th.types:
        eff = ", ".join(f"{d} {th.v(f'type.{t.name}.effect.{d}'):.2f}" for d in t.effect_domains)
        print(f"  {t.name:<22} integration {th.v(f'type.{t.name}.integration'):.2f}  "
              f"change {th.v(f'type.{t.name}.org_change'):.2f}  -> {eff}")
    for tier in ("structural", "relational", "outcome"):
        names = [d.name for d in th.domains if d.tier == tier]
        print(f"\n{tier} domains: {', '.join(names)}")
    print(f"\n{'edge':<34}{'weight':>8}{'range':>14}{'lag (mo)':>10}  source")
    for e in th.edges:
        w = th.params[f"edge.{e.name}.weight"]
        lag = th.v(f"edge.{e.name}.lag")
        mark = " [direct]" if e.direct else ""
        print(f"{e.source + ' -> ' + e.target:<34}{th.v(f'edge.{e.name}.weight'):>8.2f}"
              f"{f'[{w.low:.2f}, {w.high:.2f}]':>14}{lag:>10.0f}  {w.source}{mark}")
    if args.params:
        print(f"\n{'parameter':<48}{'value':>9}{'low':>9}{'high':>9}  source")
        for p in th.params.values():
            print(f"{p.name:<48}{th.v(p.name):>9.4g}{p.low:>9.4g}{p.high:>9.4g}  {p.source}")
    print(f"\n{len(th.params)} parameters, {len(th.uncertain_params())} uncertain (swept by sensitivity analysis)")
    return 0


# -- validate / schema -------------------------------------------------------------
def _register_validate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("validate", help="check scenario or theory files without running",
                       description="Validate scenario files (and the theory they use), or theory files.")
    p.add_argument("files", nargs="+", help="scenario or theory files")
    p.set_defaults(func=cmd_validate)
    s = sub.add_parser("schema", help="print the JSON Schema of scenario files",
                       description="Print a JSON Schema so editors can autocomplete scenario files.")
    s.set_defaults(func=cmd_schema)


def cmd_validate(args: argparse.Namespace) -> int:
    """Validate each file; report all problems, exit 2 if any."""
    from analysis.scenario import load_scenario
    from sim.theory import load_theory
    from sim.toml_io import read_toml

    failures = 0
    for f in args.files:
        try:
            raw, _ = read_toml(f)
            if "domains" in raw or "edges" in raw:
                th = load_theory(f)
                print(f"ok  {f}: theory with {len(th.domains)} domains, {len(th.edges)} edges, "
                      f"{len(th.types)} types")
            elif "types" in raw:
                raise ConfigError("this is a typology file; validate the theory file that names it",
                                  file=f, key="types")
            else:
                s = load_scenario(f)
                print(f"ok  {f}: scenario '{s.name}'")
        except ConfigError as exc:
            failures += 1
            print(f"bad {exc}", file=sys.stderr)
    if failures:
        print(f"{failures} of {len(args.files)} file(s) failed validation", file=sys.stderr)
        return EXIT_USER_ERROR
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    """Print the JSON Schema."""
    from analysis.scenario import dumps_schema

    print(dumps_schema())
    return 0


# -- sensitivity -------------------------------------------------------------------
def _register_sensitivity(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "sensitivity", help="which of the theory's assumptions the outcomes depend on (SALib)",
        description="Sensitivity analysis over the uncertain parameters of the scenario's theory: "
                    "Morris screening, Sobol (S1, ST, optional S2), eFAST, or the given-sample methods "
                    "PAWN and delta. Each design point runs R replicates with common random numbers; "
                    "indices are computed on the replicate mean at each month of --at (and every "
                    "--every months for the time-evolution figure), next to the share of variance that "
                    "is replicate noise and a convergence check on the first half of the sample. "
                    "Writes indices, noise, convergence and design tables (Parquet + CSV) and figures.",
        epilog="example: partnersim sensitivity scenarios/baseline.toml --method sobol -N 512 "
               "--outputs quality,efficiency --at 12,36,120 --groups")
    p.add_argument("scenario", nargs="?", help="scenario file (its theory defines the parameter space)")
    p.add_argument("--method", default="sobol", help="morris, sobol, efast, pawn or delta (default: sobol)")
    p.add_argument("-N", type=int, default=None,
                   help="base sample size: Sobol N (power of two), Morris trajectories, eFAST points per "
                        "parameter, PAWN/delta sample points (default: 64, 10, 65, 256)")
    p.add_argument("--outputs", default="quality",
                   help="comma-separated outputs: quality, efficiency, access, good, deficit, special_measures, "
                        "surplus, partnerships… or any metric name (default: quality)")
    p.add_argument("--at", default="12,36,120", help="months at which to report indices (default: 12,36,120)")
    p.add_argument("--every", type=int, default=12,
                   help="also compute indices every this many months, for the time-evolution figure "
                        "(default: 12; 0 = only --at)")
    p.add_argument("--reps", type=int, default=1, help="replicates per design point (default: 1)")
    p.add_argument("--params", default=None,
                   help="subset of parameters: comma-separated fnmatch patterns on theory paths "
                        "('edge.*->quality.weight,mechanism.trust_*') or group names (structural, relational, "
                        "outcome, mechanisms, typology, population, regulation, formation), or @FILE with one "
                        "pattern per line; the rest stay at the scenario's values, and parameters the scenario sets in "
                        "uncertainties.effect_overrides stay pinned unless named exactly (default: all uncertain)")
    p.add_argument("--exclude", default=None, help="patterns or groups to leave out of the analysis")
    p.add_argument("--groups", action="store_true",
                   help="grouped indices over pathway groups (Sobol, Morris): far fewer runs")
    p.add_argument("--second-order", action="store_true", help="Sobol second-order indices (N·(2D+2) runs)")
    p.add_argument("--levels", type=int, default=4, help="Morris grid levels (default: 4)")
    p.add_argument("--contrast", default=None, metavar="SCENARIO",
                   help="analyse the paired difference scenario − this scenario (same seeds and theory values)")
    p.add_argument("--from", dest="from_", default=None, metavar="SWEEP",
                   help="PAWN/delta on an existing sample: an output folder of sensitivity/discover, or a "
                        "Parquet/CSV table with parameter and metric columns")
    p.add_argument("--n-providers", type=int, default=None, help="resize the population (quick looks)")
    p.add_argument("--seed", type=int, default=None, help="seed of the design and replicates (default: scenario's)")
    p.add_argument("--workers", type=int, default=None, help="worker processes (default: all cores; 1 = serial)")
    p.add_argument("--scheduler", default=None,
                   help="Dask scheduler address (tcp://host:port) to run on a cluster (default: "
                        "$DASK_SCHEDULER_ADDRESS, else local processes)")
    p.add_argument("--out", default=None, help="output folder (default: results/sensitivity/<scenario>-<method>)")
    p.add_argument("--resume", action="store_true", help="reuse finished batches in --out")
    p.add_argument("--top", type=int, default=5, help="parameters listed and compared for convergence (default: 5)")
    p.add_argument("--resamples", type=int, default=None,
                   help="bootstrap resamples for the intervals (default: 100; 10 for delta, whose SALib "
                        "estimator costs about a second per parameter and resample batch)")
    p.add_argument("--no-figures", action="store_true", help="skip the figures")
    p.add_argument("--dry-run", action="store_true", help="print the parameter space and the number of runs, then stop")
    p.set_defaults(func=cmd_sensitivity)


def cmd_sensitivity(args: argparse.Namespace) -> int:
    """Run a sensitivity analysis (see ``analysis.sensitivity.command``)."""
    from analysis.sensitivity import command

    return command(args)


# -- discover ----------------------------------------------------------------------
def _register_discover(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "discover", help="under which assumptions does a policy fail? (PRIM and CART boxes)",
        description="Scenario discovery: sample the theory's uncertain parameters, run the policy (and the "
                    "paired baseline) at each point, mark the points where the policy fails the criterion, and "
                    "find the parameter boxes that explain the failures with PRIM (coverage/density trade-off; "
                    "pick a box with --box) and CART. Prints the boxes in plain words.",
        epilog='example: partnersim discover scenarios/merger.toml --baseline scenarios/baseline.toml '
               '--criterion "quality@60 > 0" -N 500')
    p.add_argument("policy", nargs="?", help="the policy scenario file")
    p.add_argument("--baseline", default=None,
                   help="paired baseline scenario: the criterion applies to policy − baseline, run with the same "
                        "seeds and theory values (default: scenarios/baseline.toml)")
    p.add_argument("--absolute", action="store_true",
                   help="judge the criterion on the policy's own outputs, with no paired baseline")
    p.add_argument("--criterion", default="quality@60 > 0",
                   help='what success means: "OUTPUT@MONTH OP VALUE" with OP one of > >= < <= '
                        '(default: "quality@60 > 0", i.e. quality at 60 months above the paired baseline)')
    p.add_argument("-N", type=int, default=256, help="sample points (Latin hypercube; default: 256)")
    p.add_argument("--reps", type=int, default=1, help="replicates per point, averaged (default: 1)")
    p.add_argument("--params", default=None, help="subset of parameters (patterns or groups, as in sensitivity)")
    p.add_argument("--exclude", default=None, help="patterns or groups to leave out")
    p.add_argument("--from", dest="from_", default=None, metavar="SWEEP",
                   help="use an existing sample (a sensitivity/discover output folder or a table) instead of running")
    p.add_argument("--box", type=int, default=None,
                   help="the PRIM box to report: its index on the peeling trajectory (default: the densest box "
                        "with coverage >= --min-coverage)")
    p.add_argument("--min-coverage", type=float, default=0.5, help="default box choice (default: 0.5)")
    p.add_argument("--peel-alpha", type=float, default=0.05, help="PRIM peeling fraction (default: 0.05)")
    p.add_argument("--mass-min", type=float, default=0.05, help="smallest box, as a share of points (default: 0.05)")
    p.add_argument("--cart-depth", type=int, default=3, help="depth of the CART tree (default: 3)")
    p.add_argument("--n-providers", type=int, default=None, help="resize the population (quick looks)")
    p.add_argument("--seed", type=int, default=None, help="seed (default: the policy scenario's)")
    p.add_argument("--workers", type=int, default=None, help="worker processes (default: all cores; 1 = serial)")
    p.add_argument("--scheduler", default=None, help="Dask scheduler address (as in sensitivity)")
    p.add_argument("--out", default=None, help="output folder (default: results/discover/<policy>)")
    p.add_argument("--resume", action="store_true", help="reuse finished batches in --out")
    p.add_argument("--no-figures", action="store_true", help="skip the figures")
    p.set_defaults(func=cmd_discover)


def cmd_discover(args: argparse.Namespace) -> int:
    """Run scenario discovery (see ``analysis.discovery.command``)."""
    from analysis.discovery import command

    return command(args)


COMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [
    _register_run, _register_compare, _register_theory, _register_validate,
]
COMMANDS += [_register_sensitivity, _register_discover]


def existing_dir(path: str) -> Path:
    """argparse type: an existing folder."""
    p = Path(path)
    if not p.is_dir():
        raise UserError(f"no such folder: {path}")
    return p


# -- dashboard / report (policymaker faces) ------------------------------------------
def _register_dashboard(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("dashboard", help="live dashboard in the browser (Mesa SolaraViz on Solara)",
                       description="Serve the dashboard on this machine: watch a run month by month (partnership "
                                   "network and outcomes, levers and key effect sizes as controls), compare "
                                   "policies with intervals, and edit the theory's effect sizes for the session. "
                                   "Prints the address to open; Ctrl-C stops it. Works offline once "
                                   "scripts/install-solara-assets has filled the asset cache (make does this).")
    p.add_argument("--port", type=int, default=8765, help="port (default: 8765; 0 = any free port)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1, this machine only)")
    p.add_argument("--scenarios", type=Path, default=None, metavar="DIR",
                   help="folder of scenario files to offer (default: the repository's scenarios/)")
    p.add_argument("--sensitivity", type=Path, default=None, metavar="DIR",
                   help="a `partnersim sensitivity` output folder: shade the Theory page's causal web by it")
    p.set_defaults(func=cmd_dashboard)


def cmd_dashboard(args: argparse.Namespace) -> int:
    """Serve the dashboard until interrupted."""
    from analysis.dashboard.serve import serve

    return serve(args.host, args.port, scenarios=args.scenarios, sensitivity=args.sensitivity)


def _register_report(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="self-contained HTML report of an experiment, for policymakers",
                       description="Write one HTML file (figures and styles inline, opens without a network) "
                                   "that reads top-down: what was compared and what the results say, with "
                                   "intervals; the assumptions behind them; trajectories with bands; paired "
                                   "differences; partnerships; the causal web; sensitivity and discovery results "
                                   "when the experiment folder holds them; provenance.",
                       epilog="example: partnersim report results/2025-01-01_baseline_vs_mandated_mergers "
                              "-o report.html")
    p.add_argument("experiment", help="experiment folder (from partnersim run/compare)")
    p.add_argument("-o", "--output", default=None, metavar="FILE",
                   help="the HTML file to write (default: report.html inside the experiment folder)")
    p.add_argument("--sensitivity", default=None, metavar="DIR",
                   help="a sensitivity output folder to include (default: any found inside the experiment)")
    p.add_argument("--discovery", default=None, metavar="DIR",
                   help="a discovery output folder to include (default: any found inside the experiment)")
    p.add_argument("--pathways", default=None, metavar="DIR",
                   help="a `partnersim pathways` output folder to include (default: any found inside the experiment)")
    p.add_argument("--cmoc", default=None, metavar="DIR",
                   help="a `partnersim cmoc` output folder (default: any found inside, else computed from the logs)")
    p.add_argument("--validation", default=None, metavar="DIR",
                   help="a `partnersim validate-theory` output folder to include (default: any found inside)")
    p.add_argument("--month", type=int, default=None,
                   help="month the summary speaks about (default: 60 if run that long, else the last)")
    p.set_defaults(func=cmd_report)


def cmd_report(args: argparse.Namespace) -> int:
    """Write the HTML report of an experiment."""
    from analysis.report import command

    return command(args)


COMMANDS += [_register_dashboard, _register_report]


if __name__ == "__main__":
    raise SystemExit(main())


# -- realist analysis: pathways, cmoc, validate-theory, calibrate -------------------------------
def _add_inputs(p: argparse.ArgumentParser) -> None:
    """Options shared by ``pathways`` and ``cmoc``: what to compare, replicates, where to run."""
    p.add_argument("inputs", nargs="+", metavar="EXPERIMENT_OR_SCENARIO",
                   help="an experiment folder (its first scenario is the baseline), or policy scenario files "
                        "(a file with every lever off is taken as the baseline)")
    p.add_argument("--baseline", default=None, metavar="FILE",
                   help="baseline scenario (default: a given file with every lever off, else "
                        "scenarios/baseline.toml)")
    p.add_argument("--reps", type=_positive, default=None, metavar="R",
                   help="replicates (default: the experiment's, or 4)")
    p.add_argument("--seed", type=int, default=None, help="master seed (default: the baseline scenario's)")
    p.add_argument("--horizon", type=_positive, default=None, metavar="MONTHS", help="months to simulate")
    p.add_argument("--workers", type=_positive, default=None, metavar="N",
                   help="worker processes (default: one per CPU; 1 = in this process)")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS", help="Dask scheduler address, or 'local'")
    p.add_argument("--out", default=None, metavar="DIR", help="output folder")


def _register_pathways(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "pathways", help="attribute a policy's effect to the pathways of the causal web",
        description="Decompose each policy's paired difference from the baseline, per outcome and month, into "
                    "contributions through the pathways of the theory (partnering -> governance -> culture -> "
                    "quality …; synergy; transition disruption; scale effects), by counterfactual runs that "
                    "block one pathway at a time under common random numbers. Reports the interaction "
                    "remainder and whether the contributions add up; saves CSV, an HTML fragment and a "
                    "waterfall figure per outcome and month.",
        epilog="example: partnersim pathways scenarios/mandated_mergers.toml --reps 4")
    _add_inputs(p)
    p.add_argument("--outcomes", default="mean_quality,mean_efficiency,mean_access", metavar="M1,M2",
                   help="metrics to attribute (mean_<domain> or a band metric; default: quality, efficiency, "
                        "access)")
    p.add_argument("--horizons", type=_horizons, default=(12, 36, 120), metavar="M1,M2,…",
                   help="months at which effects are measured (default: 12,36,120)")
    p.add_argument("--level", default="pathway", choices=["pathway", "route", "entry", "channel"],
                   help="how routes are grouped: pathway (partnering routes one by one, other channels whole; "
                        "default), route, entry (channel x entry domain) or channel")
    p.add_argument("--min-share", type=float, default=0.02, metavar="S",
                   help="pool pathways whose first-order share is below S into 'other routes' (default 0.02)")
    p.add_argument("--tolerance", type=float, default=0.1, metavar="T",
                   help="contributions add up when |remainder| <= T x |total| (default 0.1)")
    p.add_argument("--no-figures", dest="figures", action="store_false", help="do not draw figures")
    p.set_defaults(func=cmd_pathways)


def cmd_pathways(args: argparse.Namespace) -> int:
    """Pathway attribution."""
    from analysis.pathways import cli_run

    return cli_run(args)


def _register_cmoc(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "cmoc", help="context-mechanism-outcome tables from the partnership logs",
        description="Bin each partnership's context (mandated or voluntary, integration, culture gap, size "
                    "asymmetry, prior trust, same ICS, members' starting quality), summarise its mechanisms "
                    "(trust, confidence, faith, behaviour, inertia, dissolution) and members' outcomes (paired "
                    "against the baseline run with the same seed) per configuration with counts and 95% "
                    "intervals, and flag demi-regularities: configurations whose outcomes differ clearly from "
                    "the rest (Welch test, Benjamini-Hochberg FDR, minimum effect size). Saves CSV and HTML.",
        epilog="example: partnersim cmoc scenarios/voluntary_partnering.toml --contexts mandate,culture_gap")
    _add_inputs(p)
    p.add_argument("--contexts", default="mandate,integration,culture_gap", metavar="C1,C2",
                   help="contexts whose combinations form the configurations (of: mandate, integration, "
                        "culture_gap, asymmetry, prior_trust, same_ics, start_quality)")
    p.add_argument("--by-scenario", action="store_true", help="split configurations by scenario")
    p.add_argument("--min-count", type=_positive, default=10, help="least partnerships for a flag (default 10)")
    p.add_argument("--alpha", type=float, default=0.05, help="false-discovery rate (default 0.05)")
    p.add_argument("--min-effect", type=float, default=0.3,
                   help="least |standardised difference| for a flag (default 0.3)")
    p.add_argument("--stored", action="store_true",
                   help="use an experiment's stored logs as they are (no re-runs; outcomes not paired)")
    p.set_defaults(func=cmd_cmoc)


def cmd_cmoc(args: argparse.Namespace) -> int:
    """CMOC tables."""
    from analysis.realist import cli_run

    return cli_run(args)


def _register_validate_theory(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "validate-theory", help="check the theory against the evidence (stylized facts, figures)",
        description="Run named checks of the theory against the stylized facts and quantitative figures of the "
                    "domain brief (time to leave special measures, back-office savings, merger effects, trust "
                    "asymmetry …) over replicates and print the model's value beside the evidence's, pass or "
                    "fail. Also lists what the model cannot speak to, and why.",
        epilog="example: partnersim validate-theory --reps 4 --compare scenarios/theory/irt_calibrated.toml")
    p.add_argument("--theory", default=None, metavar="FILE", help="theory file (default: scenarios/theory/irt.toml)")
    p.add_argument("--compare", default=None, metavar="FILE", help="a second theory to show side by side")
    p.add_argument("--reps", type=_positive, default=4, metavar="R", help="replicates (default 4)")
    p.add_argument("--seed", type=int, default=20220701, help="master seed (default 20220701)")
    p.add_argument("--checks", default=None, metavar="NAME,…", help="run only these checks")
    p.add_argument("--workers", type=_positive, default=None, metavar="N", help="worker processes")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS", help="Dask scheduler address, or 'local'")
    p.add_argument("--out", default=None, metavar="DIR", help="output folder (default: results/validation/<theory>)")
    p.add_argument("--strict", action="store_true", help="exit with code 1 if any check fails")
    p.set_defaults(func=cmd_validate_theory)


def cmd_validate_theory(args: argparse.Namespace) -> int:
    """Validation against the evidence."""
    from analysis.validation import cli_run

    return cli_run(args)


def _register_calibrate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "calibrate", help="find parameter values that reproduce the quantitative evidence (ABC)",
        description="Approximate Bayesian computation by rejection: sample the theory's uncertain parameters "
                    "over their declared ranges (Latin hypercube), run the studies the quantitative checks "
                    "need, accept the sets that meet every target (or the best ones), and write a new theory "
                    "file with narrowed ranges and a header recording method, targets, budget and acceptance, "
                    "plus a CSV record of every design point.",
        epilog="example: partnersim calibrate --budget 120 --reps 2")
    p.add_argument("--theory", default=None, metavar="FILE", help="base theory (default: scenarios/theory/irt.toml)")
    p.add_argument("--targets", default=None, metavar="NAME,…",
                   help="quantitative checks to meet (default: all quantitative checks)")
    p.add_argument("--params", default=None, metavar="GLOB,…",
                   help="parameters to search, glob patterns (default: those the targets depend on most "
                        "directly; '*' = every uncertain parameter)")
    p.add_argument("--budget", type=_positive, default=120, metavar="N", help="design points (default 120)")
    p.add_argument("--reps", type=_positive, default=2, metavar="R", help="replicates per point (default 2)")
    p.add_argument("--seed", type=int, default=20220701, help="seed of the design and replicates")
    p.add_argument("--accept-quantile", type=float, default=0.1, metavar="Q",
                   help="share accepted when too few points meet every target (default 0.1)")
    p.add_argument("--min-accept", type=_positive, default=5, help="least accepted points (default 5)")
    p.add_argument("--refine-reps", type=int, default=4, metavar="R",
                   help="re-run the accepted points with R fresh replicates and choose the defaults on them "
                        "(default 4; 0 = no refinement)")
    p.add_argument("--out", default="scenarios/theory/irt_calibrated.toml", metavar="FILE",
                   help="calibrated theory file (default: scenarios/theory/irt_calibrated.toml)")
    p.add_argument("--record", default=None, metavar="DIR",
                   help="folder for the record of design points (default: results/calibration/<time>)")
    p.add_argument("--validate-reps", type=int, default=0, metavar="R",
                   help="then validate the base and calibrated theories with R replicates (default: skip)")
    p.add_argument("--workers", type=_positive, default=None, metavar="N", help="worker processes")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS", help="Dask scheduler address, or 'local'")
    p.set_defaults(func=cmd_calibrate)


def cmd_calibrate(args: argparse.Namespace) -> int:
    """Calibration."""
    from analysis.calibration import cli_run

    return cli_run(args)


COMMANDS += [_register_pathways, _register_cmoc, _register_validate_theory, _register_calibrate]
