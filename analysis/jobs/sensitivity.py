"""``partnersim sensitivity``: which of the theory's assumptions the outcomes depend on.

Checks the options, runs the analysis of :mod:`analysis.studies.sensitivity` (or PAWN/delta
on an existing sweep), writes its tables, figures and manifest, and prints the top factors.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from analysis.limits import check_months_within
from analysis.scenario import check_population, load_scenario
from analysis.store import check_output_folder
from analysis.studies.sensitivity import (
    DEFAULT_AT,
    DEFAULT_N,
    GIVEN_SAMPLE_METHODS,
    ModelTask,
    check_design,
    check_method,
    default_resamples,
    estimate_runs,
    format_summary,
    given_sample,
    load_sweep,
    parameter_space,
    parse_months,
    read_patterns,
    resolve_outputs,
    run_analysis,
    timeline_months,
    write_figures,
    write_outputs,
    write_table,
)
from sim import ConfigError
from sim.theory import load_theory


def run_sensitivity(
    scenario: str | None,
    *,
    method: str = "sobol",
    base_sample: int | None = None,
    outputs: str = "quality",
    at: str | None = None,
    every: int = 12,
    replicates: int = 1,
    params: str | None = None,
    exclude: str | None = None,
    groups: bool = False,
    second_order: bool = False,
    levels: int = 4,
    contrast: str | None = None,
    sweep: str | None = None,
    n_providers: int | None = None,
    seed: int | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    batch_size: int | None = None,
    out: str | None = None,
    resume: bool = False,
    top: int = 5,
    resamples: int | None = None,
    figures: bool = True,
    dry_run: bool = False,
    command: Sequence[str] = (),
    force: bool = False,
) -> int:
    """Run a sensitivity analysis of ``scenario``'s theory; write and print the results; return 0.

    Args:
        scenario: the scenario file (its theory defines the parameter space).
        method: morris, sobol, efast, pawn or delta.
        base_sample: the base sample size N (default per method: :data:`DEFAULT_N`).
        outputs: comma-separated outputs (aliases such as ``quality`` or metric names).
        at: months at which to report indices, comma-separated.
        every: also compute indices every this many months (0 = only ``at``).
        replicates: replicates per design point.
        params: parameter patterns or groups (or ``@FILE``); default every uncertain parameter.
        exclude: patterns or groups to leave out.
        groups: grouped indices over pathway groups (Sobol, Morris).
        second_order: Sobol second-order indices.
        levels: Morris grid levels.
        contrast: a scenario file: analyse the paired difference scenario − contrast.
        sweep: an existing sample (a sensitivity/discover folder or a table) for PAWN/delta.
        n_providers: resize the population.
        seed: seed of the design and replicates (default: the scenario's).
        workers: worker processes (1 = in this process).
        scheduler: a Dask scheduler address.
        batch_size: runs per runner task (default: automatic, about a second of work).
        out: the output folder (default: ``results/sensitivity/<scenario>-<method>``).
        resume: reuse finished batches in ``out``.
        top: parameters listed and compared for convergence.
        resamples: bootstrap resamples (default: :func:`default_resamples`).
        figures: draw the figures.
        dry_run: print the parameter space and the number of runs, then stop.
        command: the command line, for the manifest.
        force: with ``sweep``, replace earlier outputs in ``out`` (a running analysis continues with ``resume``).
    """
    method = str(method).lower()
    check_method(method)
    months_at = parse_months(at or DEFAULT_AT)
    every = int(every)
    if every < 0:
        raise ConfigError("must be 0 or more months", key="--every", value=every)
    if replicates < 1:
        raise ConfigError("needs at least one replicate", key="--reps", value=replicates)
    if workers is not None and workers < 1:
        raise ConfigError("needs at least one worker", key="--workers", value=workers)
    if sweep:
        return _given_sample(
            sweep,
            method,
            scenario=scenario,
            outputs=outputs,
            at=at or DEFAULT_AT,
            params=params,
            exclude=exclude,
            seed=seed,
            resamples=resamples,
            out=out,
            figures=figures,
            top=top,
            force=force,
        )
    if not scenario:
        raise ConfigError("name a scenario file (or --from a sweep for pawn/delta)", key="scenario")
    scen = load_scenario(scenario)
    spec = scen.spec if n_providers is None else replace(scen.spec, n_providers=n_providers)
    check_population(spec, key="--n-providers")
    months_at = _months_within(months_at, spec.horizon, scen.name, given=at is not None)
    theory = scen.theory
    space = parameter_space(theory, read_patterns(params), exclude=exclude, pinned=spec.uncertainties.effect_overrides)
    metrics = resolve_outputs(outputs, theory)
    # the given-sample estimators cost seconds per parameter: indices at the --at months only
    months = months_at if method in GIVEN_SAMPLE_METHODS else timeline_months(months_at, every)
    n_resamples = default_resamples(method, resamples)
    contrast_spec = None
    if contrast:
        cs = load_scenario(contrast)
        missing = [n for n in space.names if n not in cs.theory.params]
        if missing:
            raise ConfigError("the contrast scenario's theory lacks this parameter", file=contrast, key=missing[0])
        contrast_spec = cs.spec if n_providers is None else replace(cs.spec, n_providers=n_providers)
        check_population(contrast_spec, key="--n-providers")
        months_at = _months_within(months_at, contrast_spec.horizon, f"contrast {cs.name}", given=at is not None)
        months = months_at if method in GIVEN_SAMPLE_METHODS else timeline_months(months_at, every)
    N = DEFAULT_N[method] if base_sample is None else int(base_sample)
    check_design(method, N, space, grouped=groups, second_order=second_order, num_levels=levels)
    seed = scen.seed if seed is None else int(seed)
    n_runs = estimate_runs(
        method, space, N, replicates, grouped=groups, second_order=second_order, contrast=contrast_spec is not None
    )
    folder = (
        Path(out) if out else Path("results") / "sensitivity" / f"{scen.name}-{method}{'-grouped' if groups else ''}"
    )
    if not dry_run:
        check_output_folder(folder, resume=resume, remedy="pass --resume to continue it")
    print(
        f"{scen.name}: {method} over {len(space)} parameters "
        f"({', '.join(f'{g} {space.groups.count(g)}' for g in space.group_names)})"
        f"{' in ' + str(len(space.group_names)) + ' groups' if groups else ''}; N = {N}, "
        f"{replicates} replicate(s){', paired against ' + contrast_spec.name if contrast_spec else ''}: "
        f"{n_runs} runs of {max(months)} months"
    )
    if dry_run:
        print(space.table()[["parameter", "group", "low", "high", "default", "dist"]].to_string(index=False))
        return 0
    folder.mkdir(parents=True, exist_ok=True)
    task = ModelTask(spec, tuple(months), tuple(metrics), contrast_spec)
    analysis = run_analysis(
        task,
        space,
        method,
        N,
        months=months,
        metrics=metrics,
        reps=replicates,
        seed=seed,
        grouped=groups,
        second_order=second_order,
        num_levels=levels,
        executor="serial" if workers == 1 else "pool",
        workers=workers,
        scheduler=scheduler,
        batch_size=batch_size,
        folder=folder,
        resume=resume,
        progress=True,
        command=list(command),
        num_resamples=n_resamples,
        top_k=top,
        convergence_months=months_at,
    )
    record = {
        "scenario": scen.path,
        "scenario_name": scen.name,
        "contrast": contrast,
        "theory": scen.theory_path,
        "theory_digest": theory.digest(),
        "n_providers": n_providers,
        "reps": replicates,
        "seed": seed,
        "command": list(command),
    }
    write_outputs(analysis, folder, space=space, figures=figures, at=months_at, manifest=record, top=20)
    t = analysis.timings
    print(
        f"\n{int(t['runs'])} runs in {t['evaluate_s']:.1f} s ({t['runs'] / max(t['evaluate_s'], 1e-9):.1f} runs/s); "
        f"analysis {t['analyse_s']:.1f} s\n"
    )
    print(format_summary(analysis.result, months_at, k=top))
    for w in analysis.result.warnings:
        print(f"warning: {w}")
    print(f"\ntables, figures and manifest in {folder}/")
    return 0


def _months_within(months: list[int], horizon: int, name: str, *, given: bool) -> list[int]:
    """The ``--at`` months within the scenario's horizon: given ones must be; default ones beyond it are dropped."""
    if given:
        check_months_within(months, horizon, key="--at", what=f"the scenario {name}")
        return months
    kept = [m for m in months if m <= horizon] or [horizon]
    if kept != months:
        print(f"note: indices at month(s) {','.join(map(str, kept))}: the scenario {name} runs {horizon} months")
    return kept


def _given_sample(
    sweep: str,
    method: str,
    *,
    scenario: str | None,
    outputs: str,
    at: str,
    params: str | None,
    exclude: str | None,
    seed: int | None,
    resamples: int | None,
    out: str | None,
    figures: bool,
    top: int,
    force: bool = False,
) -> int:
    """PAWN or delta on an existing sweep."""
    if method not in GIVEN_SAMPLE_METHODS:
        raise ConfigError(
            "--from works with the given-sample methods only",
            key="--method",
            value=method,
            choices=GIVEN_SAMPLE_METHODS,
        )
    theory = load_scenario(scenario).theory if scenario else load_theory()
    folder = check_output_folder(
        Path(out) if out else Path("results") / "sensitivity" / f"{Path(sweep).stem}-{method}", force=force
    )
    x, y = load_sweep(sweep)
    space = parameter_space(
        theory, read_patterns(params) or ",".join(c for c in x.columns if c in theory.params), exclude=exclude
    )
    metrics = resolve_outputs(outputs, theory) if outputs else None
    cols = [c for c in y.columns if c == "month" or metrics is None or c in metrics]
    missing = [m for m in (metrics or []) if m not in y.columns]
    if missing:
        raise ConfigError(
            "the sweep has no such output", file=sweep, key=missing[0], choices=[c for c in y.columns if c != "month"]
        )
    y = y[cols]
    months_at = parse_months(at)
    if "month" in y.columns:
        keep = y["month"].isin(months_at).to_numpy()
        if not keep.any():
            raise ConfigError(
                "the sweep has none of these months",
                file=sweep,
                key="--at",
                value=at,
                choices=[str(m) for m in sorted(y["month"].unique())],
            )
        x, y = x[keep], y[keep]
    res = given_sample(
        x, y, method, space, seed=0 if seed is None else seed, num_resamples=default_resamples(method, resamples)
    )
    written = write_table(res.indices, folder / "indices") + write_table(res.params, folder / "params")
    if figures:
        written += write_figures(res, folder / "figures", at=sorted(res.indices["month"].unique()))
    print(format_summary(res, sorted(res.indices["month"].unique()), k=top))
    for w in res.warnings:
        print(f"warning: {w}")
    print(f"\n{len(written)} files in {folder}/")
    return 0
