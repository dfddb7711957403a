"""Calibration: which values of the theory's uncertain parameters reproduce the evidence?

Method: **approximate Bayesian computation by rejection** over a Latin hypercube.

1. Parameters: the uncertain parameters chosen (default :data:`DEFAULT_PARAMS`, the ones the
   quantitative targets depend on most directly; ``["*"]`` = every uncertain parameter),
   each sampled uniformly over its declared [low, high] (the prior; whole numbers rounded).
2. Design: ``budget`` points of a scrambled Latin hypercube (``scipy.stats.qmc``, seeded),
   plus the theory's own defaults as point 0 for reference.
3. Simulation: at each point, the studies the targets need run over ``reps`` replicates with
   common random numbers (the same seeds at every point, so differences between points are
   differences in parameters, not in luck).
4. Distance: each target is a quantitative check of :mod:`analysis.validation`; its distance
   is 0 inside the check's pass band and otherwise the gap to the band in units of the band's
   width. A point's distance is the root mean square over targets.
5. Acceptance: the points at distance 0 (every target met) are accepted; if there are fewer
   than ``min_accept`` of them, the best ``accept_quantile`` of points are accepted instead and
   the tolerance ε (the largest accepted distance) is reported.
6. Narrowing: a parameter's range is narrowed to the accepted points' [min, max] only when the
   accepted values are not consistent with the uniform prior (Kolmogorov–Smirnov p <
   ``ks_alpha``); otherwise the declared range is kept (the targets do not inform it). The new
   defaults of the searched parameters are the accepted point with the smallest distance (among
   equals, the one nearest the accepted median), so the defaults are one jointly consistent set.

The result is written as a new theory file (the base theory's text with the narrowed entries
rewritten, and a header recording method, targets, budget, acceptance and date) and a record
of every point (CSV: parameters, each target's value and distance, accepted or not).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import fnmatch
import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis.paired import run_tasks
from analysis.studies.validation import CHECKS, Check, run_evidence, seeds_for
from sim.errors import ConfigError
from sim.theory import Theory, load_theory

DEFAULT_PARAMS = (
    "domain.quality.init_mean",
    "domain.efficiency.init_mean",
    "population.common_loading",
    "population.ics_sd",
    "domain.quality.rate",
    "domain.quality.noise",
    "regulation.sm_exit_margin",
    "regulation.sm_exit_months",
    "type.buddying.integration",
    "partnering.convergence_rate",
    "partnering.synergy",
    "partnering.scale.efficiency",
    "partnering.disruption.efficiency",
    "domain.efficiency.rate",
    "domain.efficiency.noise",
    "partnering.disruption.care_model",
    "domain.care_model.rate",
    "type.merger.transition_months",
    "type.vertical_ico.transition_months",
    "type.vertical_ico.approval_months",
)
DEFAULT_BUDGET = 120
DEFAULT_REPS = 2


def default_targets() -> list[Check]:
    """The quantitative checks (the evidence gives a number)."""
    return [c for c in CHECKS if c.quantitative]


def select_params(theory: Theory, patterns: Sequence[str] | None) -> list[str]:
    """Uncertain parameters matching any of ``patterns`` (glob; default :data:`DEFAULT_PARAMS`)."""
    patterns = list(DEFAULT_PARAMS if patterns is None else patterns)
    uncertain = [p.name for p in theory.uncertain_params() if ".effect." not in p.name]
    out = []
    for pat in patterns:
        hits = [n for n in uncertain if fnmatch.fnmatchcase(n, pat)]
        if not hits:
            raise ConfigError(
                "matches no uncertain parameter of the theory",
                file=theory.path,
                key="params",
                value=pat,
                choices=uncertain,
            )
        out += [h for h in hits if h not in out]
    return out


# -- sampling and simulation -----------------------------------------------------------------
def latin_hypercube(theory: Theory, names: Sequence[str], n: int, seed: int) -> pd.DataFrame:
    """``n`` points uniform over the declared ranges of ``names`` (scrambled Latin hypercube)."""
    from scipy.stats import qmc

    unit = qmc.LatinHypercube(d=len(names), seed=np.random.default_rng(seed)).random(n)
    cols = {}
    for j, name in enumerate(names):
        p = theory.params[name]
        v = p.low + unit[:, j] * (p.high - p.low)
        if p.integer or _is_whole(p):
            v = np.clip(np.rint(v), p.low, p.high)
        cols[name] = v
    return pd.DataFrame(cols)


def _is_whole(p: Any) -> bool:
    return (
        (p.name.endswith("_months") or p.name.endswith(".lag"))
        and float(p.low).is_integer()
        and float(p.high).is_integer()
    )


@dataclass(frozen=True)
class SampleTask:
    """One design point: the theory at that point, the targets, the seeds."""

    key: int
    theory: Theory
    targets: tuple[Check, ...]
    seeds: tuple[int, ...]
    horizon: int | None = None


def evaluate_sample(task: SampleTask) -> dict[str, float]:
    """Run the studies the targets need (serially, in this process) and return each target's value."""
    studies = sorted({s for c in task.targets for s in c.studies})
    ev = run_evidence(task.theory, studies, task.seeds, workers=1, horizon=task.horizon)
    return {c.name: float(c.statistic(ev)) for c in task.targets}


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


# -- writing the calibrated theory -----------------------------------------------------------------
SECTION_OF_PREFIX = {
    "population": "population",
    "band": "bands",
    "regulation": "regulation",
    "mechanism": "mechanisms",
    "partnering": "partnering",
    "formation": "formation",
}


def locate(name: str) -> tuple[str, str, str]:
    """Where parameter ``name`` is declared: (file: theory|typology, table or edge, key)."""
    parts = name.split(".")
    if parts[0] == "domain":
        return "theory", f"domains.{parts[1]}", parts[2]
    if parts[0] == "edge":
        return "theory", f"edge:{'.'.join(parts[1:-1])}", parts[-1]
    if parts[0] == "partnering" and len(parts) == 3:
        return "theory", f"partnering.{parts[1]}", parts[2]
    if parts[0] == "type":
        if parts[2] == "effect":
            raise ConfigError("calibrating a type's effect on a domain is not supported", key=name)
        return "typology", f"types.{parts[1]}", parts[2]
    if parts[0] in SECTION_OF_PREFIX and len(parts) == 2:
        return "theory", SECTION_OF_PREFIX[parts[0]], parts[1]
    raise ConfigError("cannot locate parameter in the theory files", key=name)


def rewrite(text: str, updates: dict[tuple[str, str], dict[str, float]], note: str) -> tuple[str, set[tuple[str, str]]]:
    """Rewrite ``key = {…}`` entries of a TOML text; return the text and the entries rewritten.

    ``updates`` maps (table, key) → new default/low/high; a table is a section name, or
    ``edge:<source>-><target>`` for an ``[[edges]]`` entry.
    """
    out, done = [], set()
    section, src, tgt = "", None, None
    for line in text.splitlines():
        stripped = line.strip()
        m = re.match(r"^\[\[?([^\]]+)\]\]?\s*(#.*)?$", stripped)
        if m:
            section = "edge" if stripped.startswith("[[edges]]") else m.group(1).strip()
            src = tgt = None
            out.append(line)
            continue
        km = re.match(r"^([A-Za-z0-9_]+)\s*=\s*(.+)$", stripped)
        if km and section == "edge" and km.group(1) in ("source", "target"):
            val = tomllib.loads(f"v = {km.group(2)}")["v"]
            if km.group(1) == "source":
                src = val
            else:
                tgt = val
        table = f"edge:{src}->{tgt}" if section == "edge" else section
        if km and (table, km.group(1)) in updates:
            key = km.group(1)
            old = tomllib.loads(f"v = {km.group(2)}")["v"]
            new = updates[(table, key)]
            fields = {k: v for k, v in old.items() if k not in ("value", "default", "low", "high", "source")}
            src_text = str(old.get("source", "assumption"))
            if note not in src_text:
                src_text = f"{src_text}; {note}"
            whole = all(float(new[k]).is_integer() for k in ("default", "low", "high"))
            num = (lambda v: str(int(v))) if whole else (lambda v: f"{v:.6g}")
            if new["low"] == new["high"]:
                body = f"value = {num(new['default'])}"
            else:
                body = f"default = {num(new['default'])}, low = {num(new['low'])}, high = {num(new['high'])}"
            extra = "".join(f", {k} = {_toml_value(v)}" for k, v in fields.items())
            indent = line[: len(line) - len(line.lstrip())]
            out.append(f"{indent}{key} = {{{body}{extra}, source = {_toml_value(src_text)}}}")
            done.add((table, key))
            continue
        out.append(line)
    return "\n".join(out) + "\n", done


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    return '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_theory(
    result: CalibrationResult, out: str | Path, *, record: str | Path | None = None, command: str = ""
) -> Path:
    """Write the calibrated theory next to (or away from) the base theory; return its path.

    A typology copy (``<out stem>_typology.toml``) is written only when type parameters changed.
    """
    out = Path(out)
    base = result.theory
    note = f"calibrated {dt.date.today().isoformat()} (ABC rejection, see header)"
    theory_updates: dict[tuple[str, str], dict[str, float]] = {}
    typology_updates: dict[tuple[str, str], dict[str, float]] = {}
    for _, r in result.params.iterrows():
        file, table, key = locate(r["param"])
        upd = {"default": float(r["default"]), "low": float(r["low"]), "high": float(r["high"])}
        (typology_updates if file == "typology" else theory_updates)[(table, key)] = upd
    text = Path(base.path).read_text()
    text, done = rewrite(text, theory_updates, note)
    missing = set(theory_updates) - done
    typology_path = Path(base.typology_path)
    if typology_updates:
        ttext, tdone = rewrite(typology_path.read_text(), typology_updates, note)
        missing |= set(typology_updates) - tdone
        typology_path = out.with_name(f"{out.stem}_typology.toml")
        typology_path.write_text(
            f"# CALIBRATED TYPOLOGY — generated by `partnersim calibrate` with {out.name}; "
            f"see that file's header.\n# Base typology: {_display(base.typology_path)}\n#\n" + ttext
        )
    if missing:
        raise ConfigError("could not find these entries to rewrite", file=base.path, key=str(sorted(missing)[0]))
    rel = Path(_relpath(typology_path, out.parent))
    text = re.sub(r'(?m)^typology\s*=\s*".*"$', f'typology = "{rel.as_posix()}"', text, count=1)
    text = re.sub(r'(?m)^name\s*=\s*"(.*)"$', lambda m: f'name = "{m.group(1)}-calibrated"', text, count=1)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(header(result, record=record, command=command) + text)
    check = load_theory(out)
    for _, r in result.params.iterrows():
        p = check.params[r["param"]]
        if not (
            np.isclose(p.default, r["default"], rtol=1e-5)
            and np.isclose(p.low, r["low"], rtol=1e-5)
            and np.isclose(p.high, r["high"], rtol=1e-5)
        ):
            raise RuntimeError(f"calibrated theory does not round-trip for {r['param']}")
    return out


def _display(path: str) -> str:
    """``path`` relative to the working folder when it lies inside it."""
    p = Path(path).resolve()
    try:
        return str(p.relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(p)


def _relpath(target: Path, start: Path) -> str:
    import os

    return os.path.relpath(target.resolve(), start.resolve())


def header(result: CalibrationResult, *, record: str | Path | None = None, command: str = "") -> str:
    """The comment block recording how the calibrated theory was found."""
    s = result.samples
    ref = s[s["sample"] == 0].iloc[0]
    narrowed = result.params[result.params["narrowed"]]
    lines = [
        "# CALIBRATED THEORY — generated by `partnersim calibrate`; edit the base theory, not this file.",
        f"# Date: {dt.datetime.now().isoformat(timespec='seconds')}",
        f"# Base theory: {_display(result.theory.path)} ({result.theory.meta.get('name', '')})",
        "# Method: approximate Bayesian computation by rejection (analysis/calibration.py): a scrambled Latin",
        "#   hypercube over the declared ranges (uniform prior), common random numbers across design points,",
        "#   distance = RMS over targets of the gap to each target's pass band in band widths (0 inside).",
        f"# Budget: {result.budget} design points x {result.reps} replicates (seed {result.seed}); "
        f"{result.seconds / 60:.1f} minutes.",
        f"# Targets ({len(result.targets)}): {', '.join(result.targets)}",
        f"# Acceptance: {result.rule}; {result.n_accepted} accepted, tolerance epsilon = {result.epsilon:.3g}.",
        f"#   The base theory's defaults (point 0) had distance {float(ref['distance']):.3g}"
        f" and met {int(ref['targets_met'])} of {len(result.targets)} targets.",
        f"# Parameters searched ({len(result.params)}): {', '.join(result.params['param'])}",
        f"# Narrowed (accepted values reject the uniform prior, KS p < {result.settings.get('ks_alpha', 0.05)}): "
        + (", ".join(f"{r.param} [{r.low:.4g}, {r.high:.4g}]" for r in narrowed.itertuples()) or "none"),
        "# Defaults of every searched parameter: the accepted point with the smallest distance (one jointly",
        f"#   consistent set): design point {result.settings.get('chosen')}, distance "
        f"{result.settings.get('chosen_distance', float('nan')):.3g}, met {result.settings.get('chosen_met')} of "
        f"{len(result.targets)} targets"
        + (
            f" (re-run with {result.settings['refine_reps']} fresh replicates: distance "
            f"{result.settings['chosen_refined_distance']:.3g}, met {result.settings['chosen_refined_met']}; the "
            "defaults were chosen on these)"
            if "chosen_refined_distance" in result.settings
            else ""
        )
        + ". Parameters not searched keep the base theory's values and ranges.",
    ]
    if record:
        lines.append(f"# Record of every design point: {record}")
    if command:
        lines.append(f"# Command: {command}")
    return "\n".join(lines) + "\n#\n"


def write_record(result: CalibrationResult, folder: str | Path) -> list[Path]:
    """Write samples.csv (every point) and params.csv (per parameter) into ``folder``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / "samples.csv", folder / "params.csv"]
    result.samples.to_csv(paths[0], index=False)
    result.params.to_csv(paths[1], index=False)
    return paths


def format_summary(result: CalibrationResult) -> str:
    """Plain-text summary: acceptance, and the parameters narrowed."""
    s = result.samples
    ref = s[s["sample"] == 0].iloc[0]
    lines = [
        f"{result.budget} design points x {result.reps} replicates in {result.seconds:.0f} s; "
        f"accepted {result.n_accepted} ({result.rule}); epsilon {result.epsilon:.3g}",
        f"base theory: distance {ref['distance']:.3g}, {int(ref['targets_met'])} of {len(result.targets)} "
        f"targets met; best point: distance {s['distance'].min():.3g}, "
        f"{int(s['targets_met'].max())} targets met",
        "",
        f"{'parameter':<40}{'declared':>20}{'accepted':>22}{'new default':>12}  narrowed",
    ]
    for r in result.params.itertuples():
        lines.append(
            f"{r.param:<40}{f'[{r.declared_low:.3g}, {r.declared_high:.3g}]':>20}"
            f"{f'[{r.accepted_min:.3g}, {r.accepted_max:.3g}]':>22}{r.default:>12.4g}  "
            f"{'yes' if r.narrowed else 'no'} (KS p {r.ks_p:.2g})"
        )
    return "\n".join(lines)
