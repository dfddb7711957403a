"""Approximate Bayesian computation by rejection: run the design, accept, refine, narrow."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from analysis.paired import run_tasks
from analysis.studies.calibration.design import (
    DEFAULT_BUDGET,
    DEFAULT_REPS,
    SampleTask,
    default_targets,
    evaluate_sample,
    latin_hypercube,
    select_params,
)
from analysis.studies.validation import Check, seeds_for
from sim.errors import ConfigError
from sim.theory import Theory, load_theory


# -- the calibration -------------------------------------------------------------------------
@dataclass
class CalibrationResult:
    """What a calibration found.

    Attributes:
        samples: one row per design point (``sample`` 0 = the base theory's defaults): parameter
            values, each target's value (``value:<target>``) and distance (``dist:<target>``),
            ``distance`` (RMS) and ``accepted``.
        params: one row per searched parameter: declared low/high/default, accepted min/median/max,
            KS p-value against the prior, narrowed (bool), new low/high/default.
        theory: the base theory with the new defaults and ranges (in memory).
        targets: names of the targets.
        rule: how points were accepted ("all targets met" or "best q").
        epsilon: the largest accepted distance.
        seconds: wall time.
    """

    samples: pd.DataFrame
    params: pd.DataFrame
    theory: Theory
    targets: list[str]
    rule: str
    epsilon: float
    budget: int
    reps: int
    seed: int
    seconds: float
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def n_accepted(self) -> int:
        """Accepted design points (excluding the reference point 0)."""
        s = self.samples
        return int(s.loc[s["sample"] > 0, "accepted"].sum())


def calibrate(
    theory: Theory | str | None = None,
    *,
    targets: Sequence[Check] | None = None,
    params: Sequence[str] | None = None,
    budget: int = DEFAULT_BUDGET,
    reps: int = DEFAULT_REPS,
    seed: int = 20220701,
    accept_quantile: float = 0.1,
    min_accept: int = 5,
    ks_alpha: float = 0.05,
    refine_reps: int = 0,
    horizon: int | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    executor: Any = None,
    progress: Any = None,
) -> CalibrationResult:
    """ABC rejection of the theory's uncertain parameters against quantitative targets.

    Args:
        theory: the base theory (Theory, file, or None for the default).
        targets: checks to meet (default: :func:`default_targets`).
        params: glob patterns of the parameters to search (default :data:`DEFAULT_PARAMS`).
        budget: design points (each runs the targets' studies ``reps`` times).
        reps: replicates per point (common random numbers across points).
        seed: seeds the design and the replicates.
        accept_quantile: share of points accepted when fewer than ``min_accept`` meet every target.
        min_accept: least number of accepted points.
        ks_alpha: a parameter is narrowed when its accepted values reject the uniform prior at this level.
        refine_reps: re-run the accepted points with this many *fresh* replicates (seeds from ``seed + 1``)
            and choose the defaults by the refined distance, which tempers the winner's curse of picking
            the best of many noisy points (0 = no refinement).
        horizon: months per run (default: the studies' 120; shorter for cheap toy targets).
        workers: processes (default: all cores; 1 = in this process).
        scheduler: a Dask scheduler address.
        executor: an executor from :mod:`analysis.runner`.
        progress: called as ``progress(done, total)`` after each point.
    """
    import time

    t0 = time.monotonic()
    base = theory if isinstance(theory, Theory) else load_theory(theory)
    targets = tuple(default_targets() if targets is None else targets)
    if not targets:
        raise ConfigError("no calibration targets", key="targets")
    if budget < 2:
        raise ConfigError("the budget must be at least 2 design points", key="budget", value=budget)
    names = select_params(base, params)
    design = latin_hypercube(base, names, budget, seed)
    design = pd.concat([pd.DataFrame([{n: base.v(n) for n in names}]), design], ignore_index=True)
    seeds = tuple(seeds_for(reps, seed))
    tasks = [SampleTask(i, base.with_values(row.to_dict()), targets, seeds, horizon) for i, row in design.iterrows()]
    done = [0]

    def tick(task: Any, result: Any) -> None:
        done[0] += 1
        if progress is not None:
            progress(done[0], len(tasks))

    values = run_tasks(
        tasks, workers=workers, scheduler=scheduler, executor=executor, fn=evaluate_sample, on_result=tick
    )
    samples = design.copy()
    samples.insert(0, "sample", np.arange(len(design)))
    for c in targets:
        samples[f"value:{c.name}"] = [values[i][c.name] for i in range(len(design))]
    res = accept(
        base, names, samples, targets, accept_quantile=accept_quantile, min_accept=min_accept, ks_alpha=ks_alpha
    )
    if refine_reps:
        res = refine(
            res,
            base,
            names,
            targets,
            reps=refine_reps,
            seed=seed + 1,
            horizon=horizon,
            workers=workers,
            scheduler=scheduler,
            executor=executor,
        )
    res.budget, res.reps, res.seed, res.seconds = budget, reps, seed, time.monotonic() - t0
    res.settings["seeds"] = list(seeds)
    return res


def refine(
    result: CalibrationResult,
    base: Theory,
    names: Sequence[str],
    targets: Sequence[Check],
    *,
    reps: int,
    seed: int,
    horizon: int | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    executor: Any = None,
) -> CalibrationResult:
    """Re-run the accepted points with ``reps`` fresh replicates; choose the defaults by the refined distance."""
    s = result.samples
    acc = s[s["accepted"]]
    seeds = tuple(seeds_for(reps, seed))
    tasks = [
        SampleTask(int(r["sample"]), base.with_values({n: float(r[n]) for n in names}), tuple(targets), seeds, horizon)
        for _, r in acc.iterrows()
    ]
    values = run_tasks(tasks, workers=workers, scheduler=scheduler, executor=executor, fn=evaluate_sample)
    refined = {}
    for k, vals in values.items():
        d = np.array([c.distance(vals[c.name]) for c in targets])
        refined[k] = (float(np.sqrt(np.mean(d**2))), int((d == 0).sum()))
    out = result.samples.copy()
    out["refined_distance"] = out["sample"].map(lambda k: refined.get(int(k), (np.nan, 0))[0])
    out["refined_targets_met"] = out["sample"].map(lambda k: refined.get(int(k), (np.nan, np.nan))[1])
    result = accept(
        base,
        names,
        out,
        targets,
        accept_quantile=result.settings["accept_quantile"],
        min_accept=result.settings["min_accept"],
        ks_alpha=result.settings["ks_alpha"],
    )
    result.settings.update({"refine_reps": reps, "refine_seed": seed})
    return result


def accept(
    base: Theory,
    names: Sequence[str],
    samples: pd.DataFrame,
    targets: Sequence[Check],
    *,
    accept_quantile: float = 0.1,
    min_accept: int = 5,
    ks_alpha: float = 0.05,
) -> CalibrationResult:
    """Distances, acceptance and narrowing from simulated design points (``value:<target>`` columns).

    Separate from the simulation so a record (samples.csv) can be re-analysed without re-running.
    """
    samples = samples.copy()
    for c in targets:
        samples[f"dist:{c.name}"] = [c.distance(v) for v in samples[f"value:{c.name}"]]
    dist = samples[[f"dist:{c.name}" for c in targets]].to_numpy(dtype=float)
    samples["distance"] = np.sqrt(np.mean(np.square(dist), axis=1))
    samples["targets_met"] = (dist == 0).sum(axis=1)
    pool = samples[samples["sample"] > 0]
    perfect = pool[pool["distance"] == 0]
    if len(perfect) >= min_accept:
        accepted, rule = perfect, "every target met (distance 0)"
    else:
        k = max(min_accept, int(np.ceil(accept_quantile * len(pool))))
        accepted = pool.nsmallest(k, "distance")
        rule = (
            f"fewer than {min_accept} points met every target ({len(perfect)}): the best {k} of {len(pool)} by distance"
        )
    samples["accepted"] = samples["sample"].isin(accepted["sample"])
    epsilon = float(accepted["distance"].max())
    table, new_theory = narrow(base, names, accepted, ks_alpha=ks_alpha)
    chosen = accepted.iloc[choose(base, names, accepted)]
    return CalibrationResult(
        samples=samples,
        params=table,
        theory=new_theory,
        targets=[c.name for c in targets],
        rule=rule,
        epsilon=epsilon,
        budget=int((samples["sample"] > 0).sum()),
        reps=0,
        seed=0,
        seconds=0.0,
        settings={
            "accept_quantile": accept_quantile,
            "min_accept": min_accept,
            "ks_alpha": ks_alpha,
            "params": list(names),
            "chosen": int(chosen["sample"]),
            "chosen_distance": float(chosen["distance"]),
            "chosen_met": int(chosen["targets_met"]),
            **(
                {
                    "chosen_refined_distance": float(chosen["refined_distance"]),
                    "chosen_refined_met": int(chosen["refined_targets_met"]),
                }
                if "refined_distance" in chosen
                else {}
            ),
        },
    )


def choose(base: Theory, names: Sequence[str], accepted: pd.DataFrame) -> int:
    """Position (in ``accepted``) of the point whose values become the new defaults.

    The accepted point nearest the targets (smallest distance); among equals, the one nearest the
    accepted points' median in standardised units.
    """
    acc = accepted[list(names)].astype(float).to_numpy()
    lows = np.array([base.params[n].low for n in names])
    highs = np.array([base.params[n].high for n in names])
    unit = (acc - lows) / np.where(highs > lows, highs - lows, 1.0)
    centrality = np.sum((unit - np.median(unit, axis=0)) ** 2, axis=1)
    col = (
        "refined_distance"
        if "refined_distance" in accepted and accepted["refined_distance"].notna().all()
        else "distance"
    )
    dist = accepted[col].to_numpy(dtype=float) if col in accepted else np.zeros(len(acc))
    return int(np.lexsort((centrality, dist))[0])


def narrow(
    base: Theory, names: Sequence[str], accepted: pd.DataFrame, *, ks_alpha: float
) -> tuple[pd.DataFrame, Theory]:
    """New ranges (narrowed where the targets inform them) and jointly consistent defaults."""
    from scipy import stats

    acc = accepted[list(names)].astype(float)
    lows = np.array([base.params[n].low for n in names])
    highs = np.array([base.params[n].high for n in names])
    unit = (acc.to_numpy() - lows) / np.where(highs > lows, highs - lows, 1.0)
    chosen = acc.iloc[choose(base, names, accepted)]
    rows, params, values = [], dict(base.params), dict(base.values)
    for j, n in enumerate(names):
        p = base.params[n]
        col = unit[:, j]
        p_ks = float(stats.kstest(col, "uniform").pvalue) if len(col) >= 3 else 1.0
        narrowed = p_ks < ks_alpha
        low, high = (float(acc[n].min()), float(acc[n].max())) if narrowed else (p.low, p.high)
        default = float(chosen[n])
        if high <= low:  # every accepted point on one value: keep a point range around it
            low = high = default
        params[n] = dataclasses.replace(p, default=default, low=low, high=high)
        values[n] = default
        rows.append(
            {
                "param": n,
                "declared_low": p.low,
                "declared_high": p.high,
                "declared_default": p.default,
                "accepted_min": float(acc[n].min()),
                "accepted_median": float(acc[n].median()),
                "accepted_max": float(acc[n].max()),
                "ks_p": p_ks,
                "narrowed": narrowed,
                "low": low,
                "high": high,
                "default": default,
            }
        )
    new = dataclasses.replace(base, params=params, values=values)
    return pd.DataFrame(rows), new
