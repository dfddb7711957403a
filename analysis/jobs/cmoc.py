"""``partnersim cmoc``: context-mechanism-outcome tables from the partnership logs."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from analysis.errors import UserError
from analysis.scenario import scenario_from_dict
from analysis.store import atomic_text, check_output_folder, load_experiment
from analysis.studies.inputs import resolve_inputs
from analysis.studies.realist import (
    CONTEXTS,
    add_context_bins,
    cmoc_html,
    cmoc_tables,
    outcome_columns,
    paired_logs,
    write_csv,
)
from sim import ConfigError


def run_cmoc(
    inputs: Sequence[str],
    *,
    baseline: str | None = None,
    replicates: int | None = None,
    seed: int | None = None,
    horizon: int | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    batch_size: int | None = None,
    out: str | None = None,
    contexts: str = "mandate,integration,culture_gap",
    by_scenario: bool = False,
    min_count: int = 10,
    alpha: float = 0.05,
    min_effect: float = 0.3,
    stored: bool = False,
    force: bool = False,
) -> int:
    """CMOC tables of one or more policies; write CSV, an HTML fragment and statements; return 0.

    Args:
        inputs: an experiment folder, or policy scenario files (see :func:`resolve_inputs`).
        baseline: the baseline scenario file.
        replicates: replicates (default: the experiment's, or 4).
        seed: master seed (default: the baseline scenario's).
        horizon: months to simulate.
        workers: worker processes (1 = in this process).
        scheduler: a Dask scheduler address, or ``local``.
        batch_size: runs per worker task (default: automatic).
        out: the output folder (default: ``results/cmoc/<policies>``).
        contexts: comma-separated contexts whose combinations form the configurations.
        by_scenario: split configurations by scenario.
        min_count: least partnerships for a flag.
        alpha: false-discovery rate.
        min_effect: least |standardised difference| for a flag.
        stored: use an experiment's stored logs as they are (no re-runs; outcomes not paired).
        force: replace earlier outputs in ``out`` (else a folder holding files is refused).
    """
    chosen = tuple(c.strip() for c in contexts.split(",") if c.strip())
    bad = [c for c in chosen if c not in CONTEXTS]
    if bad or not chosen:
        raise ConfigError("unknown context", key="--contexts", value=bad[0] if bad else "", choices=CONTEXTS)
    if stored:
        if len(inputs) != 1 or not Path(inputs[0]).is_dir():
            raise UserError("--stored reads the partnership logs of one experiment folder")
        exp = load_experiment(inputs[0], metrics=["mean_quality"], steps=[0], partnerships=True)
        log = exp.partnerships
        if not len(log):
            raise UserError(f"no partnership logs stored in {inputs[0]}")
        first = exp.manifest["scenarios"][0]
        if len(exp.manifest["scenarios"]) > 1:  # the first scenario is the baseline: not a policy's partnerships
            log = log[log["scenario"].astype(str) != str(first["name"])]
        theory = scenario_from_dict(first["raw"], path=first.get("path") or "<experiment>").theory
        source = f"{inputs[0]} (stored logs, not paired)"
        names = list(dict.fromkeys(log["scenario"].astype(str)))
        folder = check_output_folder(out or Path("results") / "cmoc" / "_".join(names), force=force)
    else:
        resolved = resolve_inputs(
            inputs, baseline=baseline, reps=replicates, seed=seed, horizon=horizon, default_reps=4
        )
        folder = check_output_folder(out or Path("results") / "cmoc" / "_".join(resolved.policies), force=force)
        for note in resolved.notes:
            print(f"note: {note}")
        print(
            f"CMOC tables: {len(resolved.policies)} policies, {len(resolved.seeds)} replicates, paired against "
            f"the baseline (source: {resolved.source})"
        )
        log = paired_logs(
            resolved.policies,
            resolved.baseline,
            resolved.seeds,
            workers=workers,
            scheduler=scheduler,
            batch_size=batch_size,
        )
        theory = resolved.theory
        source = resolved.source
        names = list(resolved.policies)
    tables = cmoc_tables(
        log, theory, contexts=chosen, min_count=min_count, alpha=alpha, min_effect=min_effect, by_scenario=by_scenario
    )
    written = write_csv(tables, folder, add_context_bins(log, theory) if len(log) else log)
    atomic_text(folder / "cmoc.html", cmoc_html(tables))
    conf = tables.configurations
    keys = [c for c in conf.columns if c.startswith("ctx_") or c == "scenario"]
    outcomes, paired = outcome_columns(log) if len(log) else ([], False)
    show = (
        keys
        + ["n"]
        + [m for m in ("mean_trust", "mean_confidence", "mean_faith", "mean_behaviour", "dissolved") if m in conf]
        + outcomes
    )
    print(f"\n{tables.n} partnerships from {source}; outcomes {'paired' if paired else 'NOT paired'}\n")
    if len(conf):
        with pd.option_context(
            "display.width",
            200,
            "display.max_columns",
            30,
            "display.max_rows",
            200,
            "display.float_format",
            "{:.3f}".format,
        ):
            print(
                conf[show]
                .rename(columns=lambda c: c.replace("ctx_", "").replace("paired_delta_", "Δ").replace("mean_", ""))
                .to_string(index=False)
            )
    print(
        f"\nDemi-regularities ({len(tables.statements)}):"
        if tables.statements
        else "\nNo demi-regularities: no configuration's outcomes differ clearly from the rest."
    )
    for s in tables.statements:
        print(f"  - {s}")
    print(f"\nwrote {', '.join(written)}, {folder / 'cmoc.html'}")
    return 0
