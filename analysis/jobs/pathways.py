"""``partnersim pathways``: attribute each policy's effect to the pathways of the causal web."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from analysis.store import atomic_text, check_output_folder
from analysis.studies.compare import outcome_for
from analysis.studies.inputs import resolve_inputs
from analysis.studies.pathways import (
    Route,
    attribute,
    format_table,
    group_key,
    metric_domain,
    pathways_html,
    theory_in_force,
    waterfall_figure,
)


def run_pathways(
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
    outcomes: str = "mean_quality,mean_efficiency,mean_access",
    horizons: Sequence[int] = (12, 36, 120),
    level: str = "pathway",
    min_share: float = 0.02,
    tolerance: float = 0.1,
    figures: bool = True,
    force: bool = False,
) -> int:
    """Attribute each policy's paired effect to the theory's pathways; save tables and figures; return 0.

    Args:
        inputs: an experiment folder, or policy scenario files (see :func:`resolve_inputs`).
        baseline: the baseline scenario file.
        replicates: replicates (default: the experiment's, or 4).
        seed: master seed (default: the baseline scenario's).
        horizon: months to simulate.
        workers: worker processes (1 = in this process).
        scheduler: a Dask scheduler address, or ``local``.
        batch_size: runs per worker task (default: automatic).
        out: the output folder (default: ``results/pathways/<policies>``).
        outcomes: comma-separated metrics to attribute.
        horizons: months at which effects are measured.
        level: how routes are grouped (pathway, route, entry, channel).
        min_share: pathways below this first-order share are pooled.
        tolerance: contributions add up when |remainder| <= tolerance x |total|.
        figures: draw the waterfall figures.
        force: replace earlier outputs in ``out`` (else a folder holding files is refused).
    """
    resolved = resolve_inputs(inputs, baseline=baseline, reps=replicates, seed=seed, horizon=horizon, default_reps=4)
    for note in resolved.notes:
        print(f"note: {note}")
    metrics = [o.strip() for o in outcomes.split(",") if o.strip()]
    for spec in resolved.policies.values():
        th = theory_in_force(spec)
        for o in metrics:
            metric_domain(th, o)
    group_key(Route("convergence", ("x",)), level)
    shortest = min(s.horizon for s in resolved.policies.values())
    beyond = [h for h in horizons if h > shortest]
    if beyond:
        print(
            f"note: month(s) {','.join(map(str, beyond))} of --horizons lie beyond the {shortest}-month runs; "
            f"effects are measured at month {shortest} instead"
        )
    folder = check_output_folder(out or Path("results") / "pathways" / "_".join(resolved.policies), force=force)
    print(
        f"pathway attribution: {len(resolved.policies)} policies vs baseline, {len(resolved.seeds)} replicates, "
        f"outcomes {', '.join(outcome_for(m).label for m in metrics)} (source: {resolved.source})"
    )
    res = attribute(
        resolved.baseline,
        resolved.policies,
        resolved.seeds,
        outcomes=metrics,
        horizons=horizons,
        level=level,
        min_share=min_share,
        tolerance=tolerance,
        workers=workers,
        scheduler=scheduler,
        batch_size=batch_size,
    )
    figs = folder / "figures"
    figs.mkdir(parents=True, exist_ok=True)
    res.table.to_csv(folder / "pathways.csv", index=False)
    res.routes.to_csv(folder / "routes.csv", index=False)
    res.summary().to_csv(folder / "summary.csv", index=False)
    atomic_text(folder / "pathways.html", pathways_html(res))
    n = 0
    if figures:
        for (policy, outcome, month), _ in res.table.groupby(["policy", "outcome", "horizon"], sort=False):
            fig = waterfall_figure(res.table, policy, outcome, int(month))
            fig.savefig(figs / f"waterfall_{policy}_{outcome}_m{int(month)}.png", dpi=110)
            n += 1
    print(format_table(res))
    noisy = res.summary()
    noisy = noisy[noisy["within_noise"].astype(bool)]
    if len(noisy):
        print(
            f"\n{len(noisy)} of {len(res.summary())} total effects are within the replicates' noise (their interval "
            "includes zero, or there is one replicate): their pathway shares are not shown."
        )
    bad = res.summary()
    bad = bad[~bad["adds_up"].astype(bool)]
    if len(bad):
        print(
            f"\n{len(bad)} of {len(res.summary())} effects do not add up within {100 * res.tolerance:.0f}%: "
            "the pathways interact (clipping, feedback loops, the outcome's feedback into the partnership "
            "mechanisms, or different partnerships forming); see the remainder rows."
        )
    print(
        f"\n{res.runs} runs; wrote {folder}/pathways.csv, routes.csv, summary.csv, pathways.html"
        + (f" and {n} waterfall figures in {figs}" if n else "")
    )
    return 0
