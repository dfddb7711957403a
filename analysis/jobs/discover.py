"""``partnersim discover``: under which assumptions does a policy fail? (PRIM and CART boxes).

Sweeps the theory's uncertain parameters (or loads a sweep), marks the points where the
policy fails the criterion, finds the boxes with :mod:`analysis.studies.discovery`, prints
them in plain words and saves the tables and figures.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from analysis.limits import check_months_within
from analysis.scenario import check_population, load_scenario
from analysis.store import atomic_text, check_output_folder, is_experiment
from analysis.studies.discovery import (
    DEFAULT_RESAMPLES,
    RESAMPLE_STREAM,
    DiscoverySweep,
    boxes_frame,
    cart,
    describe_box,
    describe_stability,
    parse_criterion,
    plot_box,
    plot_tradeoff,
    prim,
    resample_stability,
    sparse_warning,
    sweep,
    trajectory_excerpt,
    uniform_result,
)
from analysis.studies.sensitivity import load_sweep, parameter_space, read_patterns, write_table
from sim import ConfigError
from sim.theory import load_theory

DEFAULT_BASELINE = Path(__file__).resolve().parents[2] / "scenarios" / "baseline.toml"
DEFAULT_MONTH = 60
"""The month of the default criterion (``quality@60 > 0``), or the scenario's horizon if shorter."""


def run_discovery(
    policy: str | None,
    *,
    baseline: str | None = None,
    absolute: bool = False,
    criterion: str | None = None,
    points: int = 256,
    replicates: int = 1,
    params: str | None = None,
    exclude: str | None = None,
    sweep_from: str | None = None,
    box: int | None = None,
    min_coverage: float = 0.5,
    peel_alpha: float = 0.05,
    mass_min: float = 0.05,
    cart_depth: int = 3,
    resamples: int = DEFAULT_RESAMPLES,
    n_providers: int | None = None,
    seed: int | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    batch_size: int | None = None,
    out: str | None = None,
    resume: bool = False,
    figures: bool = True,
    command: Sequence[str] = (),
    force: bool = False,
) -> int:
    """Scenario discovery for the policy scenario file ``policy``; print the boxes; return 0.

    Args:
        policy: the policy scenario file.
        baseline: the paired baseline scenario file (default: scenarios/baseline.toml).
        absolute: judge the criterion on the policy's own outputs (no paired baseline).
        criterion: ``"OUTPUT@MONTH OP VALUE"``, what success means (default: ``quality@60 > 0``, at the
            scenario's horizon if it is shorter).
        points: Latin-hypercube sample points.
        replicates: replicates per point, averaged.
        params: parameter patterns or groups (as in sensitivity).
        exclude: patterns or groups to leave out.
        sweep_from: an existing sample (a sensitivity/discover folder or a table) instead of running.
        box: the PRIM box to report (default: the densest with coverage >= ``min_coverage``).
        min_coverage: the default box choice.
        peel_alpha: PRIM's peeling fraction.
        mass_min: the smallest box, as a share of points.
        cart_depth: depth of the CART tree.
        resamples: bootstrap resamples of the PRIM stability check (0 = none), drawn from the stream
            :data:`~analysis.studies.discovery.RESAMPLE_STREAM` of the seed.
        n_providers: resize the population.
        seed: seed (default: the policy scenario's).
        workers: worker processes (1 = in this process).
        scheduler: a Dask scheduler address.
        batch_size: runs per runner task (default: automatic).
        out: the output folder (default: ``results/discover/<policy>``).
        resume: reuse finished batches in ``out``.
        figures: draw the figures.
        command: the command line, for the record.
        force: replace this command's earlier outputs in ``out``, the stored sweep included (``resume``
            continues a stored sweep instead).
    """
    if replicates < 1:
        raise ConfigError("needs at least one replicate", key="--reps", value=replicates)
    if points < 20:
        raise ConfigError("discovery needs at least 20 sample points (hundreds are usual)", key="-N", value=points)
    if not 0 < min_coverage <= 1:
        raise ConfigError("must lie in (0, 1]", key="--min-coverage", value=min_coverage)
    if not 0 < mass_min < 0.5:
        raise ConfigError("must lie in (0, 0.5)", key="--mass-min", value=mass_min)
    if not 0 < peel_alpha < 0.5:
        raise ConfigError("must lie in (0, 0.5)", key="--peel-alpha", value=peel_alpha)
    scen = load_scenario(policy) if policy else None
    theory = scen.theory if scen else load_theory()
    if criterion is None:  # quality at 60 months above the paired baseline, or at the horizon if shorter
        month = min(DEFAULT_MONTH, scen.spec.horizon) if scen and not sweep_from else DEFAULT_MONTH
        criterion = f"quality@{month} > 0"
        if month != DEFAULT_MONTH:
            print(f"note: the criterion is {criterion!r}: the scenario runs {month} months")
    crit = parse_criterion(criterion, theory)
    if resamples < 0:
        raise ConfigError("must be 0 (no stability check) or more", key="--resamples", value=resamples)
    stream_seed = int(seed) if seed is not None else (scen.seed if scen else 0)
    if sweep_from:
        x, y = load_sweep(sweep_from)  # read before the folder is cleared: it may hold this very sweep
        folder = _output_folder(
            Path(out) if out else Path("results") / "discover" / Path(sweep_from).stem,
            force=force,
            resume=False,
            keep_store=True,
        )
        space = parameter_space(
            theory, read_patterns(params) or ",".join(c for c in x.columns if c in theory.params), exclude=exclude
        )
        if "month" in y.columns:
            keep = (y["month"] == crit.month).to_numpy()
            if not keep.any():
                raise ConfigError(
                    "the sweep has no results at this month",
                    file=sweep_from,
                    key="--criterion",
                    value=crit.month,
                    choices=[str(m) for m in sorted(y["month"].unique())],
                )
            x, y = x[keep], y[keep]
        if crit.metric not in y.columns:
            raise ConfigError(
                "the sweep has no such output",
                file=sweep_from,
                key="--criterion",
                value=crit.metric,
                choices=[c for c in y.columns if c != "month"],
            )
        values = y[crit.metric].to_numpy(dtype=float)
        data = DiscoverySweep(x[space.names].reset_index(drop=True), values, crit.fails(values), crit, paired=False)
        name = Path(sweep_from).stem
    else:
        if scen is None:
            raise ConfigError("name the policy scenario file (or --from a sweep)", key="policy")
        spec = scen.spec if n_providers is None else replace(scen.spec, n_providers=n_providers)
        check_population(spec, key="--n-providers")
        check_months_within([crit.month], spec.horizon, key="--criterion", what=f"the scenario {scen.name}")
        base = None
        if baseline and absolute:
            raise ConfigError("give either --baseline or --absolute, not both", key="--absolute")
        baseline_file = baseline or (None if absolute else str(DEFAULT_BASELINE))
        if baseline_file:
            bs = load_scenario(baseline_file)
            base = bs.spec if n_providers is None else replace(bs.spec, n_providers=n_providers)
            check_population(base, key="--n-providers")
            check_months_within([crit.month], base.horizon, key="--criterion", what=f"the baseline {bs.name}")
        space = parameter_space(
            theory, read_patterns(params), exclude=exclude, pinned=spec.uncertainties.effect_overrides
        )
        sweep_seed = scen.seed if seed is None else int(seed)
        folder = _output_folder(
            Path(out) if out else Path("results") / "discover" / scen.name, force=force, resume=resume
        )
        runs = points * replicates * (2 if base is not None else 1)
        print(
            f"{scen.name}: {points} points over {len(space)} parameters, {replicates} replicate(s)"
            f"{', paired against ' + base.name if base else ''}: {runs} runs of {crit.month} months"
        )
        data = sweep(
            spec,
            space,
            crit,
            points,
            baseline=base,
            reps=replicates,
            seed=sweep_seed,
            executor="serial" if workers == 1 else "pool",
            workers=workers,
            scheduler=scheduler,
            batch_size=batch_size,
            folder=folder / "experiment",
            resume=resume,
            progress=True,
            command=list(command),
        )
        name = scen.name
    text = crit.describe(paired=data.paired, negate=True)
    bounds = {f.name: (f.low, f.high) for f in space.factors}
    n_fail = int(data.fails.sum())
    print(
        f"\n{name}: the policy fails ({text}) at {n_fail} of {len(data.fails)} points ({n_fail / len(data.fails):.0%})."
    )
    folder.mkdir(parents=True, exist_ok=True)
    sweep_table = data.x.assign(**{crit.metric: data.y, "fails": data.fails})
    write_table(sweep_table, folder / "sweep")
    record: dict[str, Any] = {
        "criterion": criterion,
        "criterion_words": text,
        "paired": data.paired,
        "points": len(data.fails),
        "failures": n_fail,
        "parameters": space.names,
        "command": list(command),
    }
    uniform = uniform_result(data.fails, text, identical=data.paired and bool(np.all(data.y == 0)))
    if uniform is not None:  # a finding: no assumption changes the verdict, so there is no box
        print("\n" + uniform)
        record |= {"result": "fails everywhere" if n_fail else "never fails", "result_words": uniform}
        atomic_text(folder / "discovery.json", json.dumps(record, indent=2))
        print(f"\nthe sweep and this result are in {folder}/")
        return 0
    warning = sparse_warning(len(data.fails), len(space.names))
    if warning:
        print(f"\nWARNING: {warning}")
    pr = prim(data.x, data.fails, peel_alpha=peel_alpha, mass_min=mass_min, box=box, min_coverage=min_coverage)
    trees = cart(data.x, data.fails, max_depth=cart_depth, mass_min=mass_min, seed=0 if seed is None else seed)
    write_table(pr.trajectory, folder / "prim_trajectory")
    write_table(boxes_frame([pr.box]), folder / "prim_box")
    write_table(boxes_frame(trees), folder / "cart_boxes")
    print("\nPRIM trade-off (pick another box with --box N):")
    print(trajectory_excerpt(pr.trajectory, pr.chosen).to_string(index=False))
    print(f"\nPRIM box {pr.chosen}:\n  " + describe_box(pr.box, text, bounds))
    stability = None
    if resamples and pr.box.res_dim:
        print(f"\nResampling stability ({resamples} bootstrap resamples, each rerunning PRIM):")
        stability = resample_stability(
            data.x,
            data.fails,
            pr.box,
            resamples=resamples,
            seed=stream_seed,
            peel_alpha=peel_alpha,
            mass_min=mass_min,
        )
        write_table(stability.dimensions, folder / "prim_stability")
        print(describe_stability(stability))
    print("\nCART leaves that predict failure:")
    if not trees:
        print("  none (no leaf of the tree has a failure majority)")
    for b in trees:
        print(f"  leaf {b.index}: " + describe_box(b, text, bounds))
    if figures:
        figs = folder / "figures"
        figs.mkdir(exist_ok=True)
        plot_tradeoff(pr.trajectory, chosen=pr.chosen).savefig(figs / "prim_tradeoff.png", dpi=120)
        plot_box(pr.box, bounds).savefig(figs / "prim_box.png", dpi=120)
        if trees:
            plot_box(trees[0], bounds).savefig(figs / "cart_box.png", dpi=120)
    record |= {
        "result": "boxes",
        "chosen_box": pr.chosen,
        "warnings": [warning] if warning else [],
        "resamples": stability.resamples if stability else 0,
        "resample_seed": stream_seed if stability else None,
        "resample_stream": RESAMPLE_STREAM if stability else None,
        "comparable_box_share": stability.comparable if stability else None,
    }
    atomic_text(folder / "discovery.json", json.dumps(record, indent=2))
    print(f"\ntables and figures in {folder}/")
    return 0


OUTPUTS = ("sweep", "prim_trajectory", "prim_box", "prim_stability", "cart_boxes")
"""The tables this command writes (each as .csv and .parquet), besides discovery.json, figures/ and experiment/."""


def _output_folder(path: Path, *, force: bool, resume: bool, keep_store: bool = False) -> Path:
    """Check the output folder; with ``force`` or ``resume``, clear this command's earlier tables and figures.

    With ``force`` (and no ``resume``) the stored sweep (``experiment/``) is replaced too, and said so,
    unless ``keep_store`` (an analysis of a given sweep runs nothing, so it leaves a stored one alone);
    with ``resume`` it is kept and continued. Files this command does not write are never touched.
    """
    folder = check_output_folder(
        path,
        force=force,
        resume=resume,
        remedy="pass --resume to continue the sweep stored there, or --force to replace this command's outputs",
    )
    if not folder.is_dir() or not (force or resume):
        return folder
    stale = [folder / f"{t}{suffix}" for t in OUTPUTS for suffix in (".csv", ".parquet")]
    stale += [
        folder / "discovery.json",
        *(folder / "figures" / f for f in ("prim_tradeoff.png", "prim_box.png", "cart_box.png")),
    ]
    for f in stale:
        f.unlink(missing_ok=True)
    store = folder / "experiment"
    if force and not resume and not keep_store and is_experiment(store):
        print(f"note: --force: replacing the sweep stored in {store}")
        shutil.rmtree(store)
    return folder
