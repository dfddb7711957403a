"""Attribution: each policy's paired effect split over the pathways, by blocking one at a time."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from analysis.executors import Executor
from analysis.paired import SimTask, mean_ci, run_tasks
from analysis.studies.pathways.routes import LEVELS, Route, enumerate_routes, group_key, metric_domain, theory_in_force
from analysis.studies.pathways.tracker import RouteHook
from sim import RunSpec

# pandas: imported by the functions that build or read tables, not with the module, so a run's
# workers are forked without it (tests/test_architecture.py)
if TYPE_CHECKING:
    import pandas as pd

DEFAULT_OUTCOMES = ("mean_quality", "mean_efficiency", "mean_access")
DEFAULT_HORIZONS = (12, 36, 120)


@dataclass
class PathwayResult:
    """Contributions of each pathway to each policy's paired effect on each outcome.

    Attributes:
        table: one row per policy × outcome × horizon × pathway (``kind == "pathway"``), plus
            rows of kind ``total``, ``sum``, ``remainder`` and ``unblocked`` (what is left of
            the effect with every route blocked). Columns: contribution (mean over replicates),
            ci_low, ci_high (95% t interval), linear (first-order shadow), share (of the total;
            NaN when the total is within noise), n_routes, routes, adds_up (on total rows) and
            within_noise (the total effect is within the replicates' noise: :func:`within_noise`).
        routes: every route with its pathway and linear contribution, per policy and outcome.
        seeds: the replicates' seeds.
        level: the grouping of routes into pathways.
        tolerance: the relative remainder under which contributions "add up".
    """

    table: pd.DataFrame
    routes: pd.DataFrame
    seeds: list[int]
    level: str
    tolerance: float
    runs: int = 0
    notes: list[str] = field(default_factory=list)

    def summary(self) -> pd.DataFrame:
        """One row per policy × outcome × horizon: total, sum of pathways, remainder, adds up."""
        t = self.table
        tot = t[t["kind"] == "total"].set_index(["policy", "outcome", "horizon"])
        cols = ["contribution", "ci_low", "ci_high", "adds_up"] + (["within_noise"] if "within_noise" in tot else [])
        out = tot[cols].rename(columns={"contribution": "total"})
        for kind in ("sum", "remainder", "unblocked"):
            out[kind] = t[t["kind"] == kind].set_index(["policy", "outcome", "horizon"])["contribution"]
        return out.reset_index()


def attribute(
    baseline: RunSpec,
    policies: Mapping[str, RunSpec],
    seeds: Sequence[int],
    *,
    outcomes: Sequence[str] = DEFAULT_OUTCOMES,
    horizons: Sequence[int] = DEFAULT_HORIZONS,
    level: str = "pathway",
    min_share: float = 0.02,
    tolerance: float = 0.1,
    abs_tolerance: float = 1e-4,
    workers: int | None = None,
    scheduler: str | None = None,
    executor: Executor | None = None,
    batch_size: int | None = None,
) -> PathwayResult:
    """Attribute each policy's paired effect on each outcome to the pathways of the theory.

    Args:
        baseline: the counterfactual scenario (levers off).
        policies: name → policy spec (same theory and population as the baseline).
        seeds: one seed per replicate; the policy, baseline and blocked runs of a replicate share it.
        outcomes: model metrics to attribute (each must read one domain, see :func:`metric_domain`).
        horizons: months at which effects are measured (capped at the run's horizon).
        level: how routes are grouped into pathways (:data:`LEVELS`).
        min_share: pathways whose largest first-order share of the outcome's total is below this
            are pooled into one "other routes" pathway (one blocked run instead of many).
        tolerance: contributions "add up" when |remainder| ≤ tolerance × |total| …
        abs_tolerance: … or |remainder| ≤ this (in the metric's units; for effects near zero).
        workers: processes (default: all cores; 1 = in this process).
        scheduler: a Dask scheduler address.
        executor: an executor to use instead (left open).
        batch_size: runs per worker task (default: automatic).
    """
    import pandas as pd

    if level not in LEVELS:
        group_key(Route("convergence", ("x",)), level)  # raises the ConfigError
    seeds = [int(s) for s in seeds]
    if not seeds:
        raise ValueError("pathway attribution needs at least one replicate")
    plans: dict[str, dict[str, list[Route]]] = {}
    for name, spec in policies.items():
        th = theory_in_force(spec)
        plans[name] = {m: enumerate_routes(th, metric_domain(th, m)) for m in outcomes}
    # Phase 1: baseline, and each policy run with every route tracked.
    tasks = [SimTask(("base", s), baseline, s) for s in seeds]
    all_routes: dict[str, tuple[Route, ...]] = {}
    for name, spec in policies.items():
        all_routes[name] = tuple(dict.fromkeys(r for rs in plans[name].values() for r in rs))
        tasks += [SimTask(("policy", name, s), spec, s, hook=RouteHook(all_routes[name])) for s in seeds]
    first = run_tasks(tasks, workers=workers, scheduler=scheduler, executor=executor, batch_size=batch_size)
    # Group routes into pathways; pool the minor ones.
    groups: dict[tuple[str, str], list[tuple[str, list[int]]]] = {}
    route_rows = []
    for name, spec in policies.items():
        th = theory_in_force(spec)
        hs = _horizons(horizons, spec.horizon)
        lin = np.mean([first[("policy", name, s)].hook for s in seeds], axis=0)  # months × routes
        index = {r: i for i, r in enumerate(all_routes[name])}
        for metric in outcomes:
            routes = plans[name][metric]
            keyed: dict[str, list[int]] = {}
            for j, r in enumerate(routes):
                keyed.setdefault(group_key(r, level, th), []).append(j)
            lin_at = {g: np.array([sum(lin[h, index[routes[j]]] for j in js) for h in hs]) for g, js in keyed.items()}
            scale = np.maximum(sum(np.abs(v) for v in lin_at.values()) if lin_at else np.zeros(len(hs)), 1e-12)
            major = [g for g in keyed if np.max(np.abs(lin_at[g]) / scale) >= min_share]
            minor = [g for g in keyed if g not in major]
            major.sort(key=lambda g: -float(np.max(np.abs(lin_at[g]))))
            out = [(g, keyed[g]) for g in major]
            if minor:
                pooled = [j for g in minor for j in keyed[g]]
                label = minor[0] if len(minor) == 1 else f"other routes ({len(pooled)})"
                out.append((label, pooled))
            groups[(name, metric)] = out
            for g, js in out:
                for j in js:
                    r = routes[j]
                    route_rows.append(
                        {
                            "policy": name,
                            "outcome": metric,
                            "pathway": g,
                            "route": r.label,
                            "channel": r.channel,
                            "entry": r.entry,
                            "edges": " ".join(r.edges),
                            **{f"linear_{h}": float(lin[h, index[r]]) for h in hs},
                        }
                    )
    # Phase 2: one blocked run per pathway (and one with every route blocked), per replicate.
    tasks = []
    for (name, metric), gs in groups.items():
        routes = plans[name][metric]
        spec = policies[name]
        for g, js in [*gs, ("__all__", list(range(len(routes))))]:
            hook = RouteHook(tuple(routes[j] for j in js), block=tuple(range(len(js))), track=False)
            tasks += [SimTask(("block", name, metric, g, s), spec, s, hook=hook) for s in seeds]
    second = run_tasks(tasks, workers=workers, scheduler=scheduler, executor=executor, batch_size=batch_size)
    rows = []
    for (name, metric), gs in groups.items():
        spec = policies[name]
        hs = _horizons(horizons, spec.horizon)
        th = theory_in_force(spec)
        index = {r: i for i, r in enumerate(all_routes[name])}
        routes = plans[name][metric]
        lin = np.mean([first[("policy", name, s)].hook for s in seeds], axis=0)
        pol = np.array([first[("policy", name, s)].series[metric].to_numpy()[hs] for s in seeds])
        base = np.array([first[("base", s)].series[metric].to_numpy()[hs] for s in seeds])
        total = pol - base
        contrib = {}
        for g, js in gs:
            blocked = np.array([second[("block", name, metric, g, s)].series[metric].to_numpy()[hs] for s in seeds])
            contrib[g] = (pol - blocked, js)
        allb = np.array([second[("block", name, metric, "__all__", s)].series[metric].to_numpy()[hs] for s in seeds])
        summed = sum(c for c, _ in contrib.values()) if contrib else np.zeros_like(total)
        remainder = total - summed
        linear_ok = metric == f"mean_{metric_domain(th, metric)}"
        for k, h in enumerate(hs):
            t_mean, t_lo, t_hi = mean_ci(total[:, k])
            r_mean, r_lo, r_hi = mean_ci(remainder[:, k])
            adds = bool(abs(r_mean) <= max(tolerance * abs(t_mean), abs_tolerance))
            quiet = within_noise(t_mean, t_lo, t_hi, len(seeds), abs_tolerance)
            common = {"policy": name, "outcome": metric, "horizon": int(h), "within_noise": quiet}
            for g, (c, js) in contrib.items():
                m, lo, hi = mean_ci(c[:, k])
                lin_g = float(sum(lin[h, index[routes[j]]] for j in js)) if linear_ok else float("nan")
                rows.append(
                    {
                        **common,
                        "kind": "pathway",
                        "pathway": g,
                        "contribution": m,
                        "ci_low": lo,
                        "ci_high": hi,
                        "linear": lin_g,
                        "share": _share(m, t_mean, quiet),
                        "n_routes": len(js),
                        "routes": "; ".join(routes[j].label for j in js),
                        "adds_up": None,
                    }
                )
            s_mean, s_lo, s_hi = mean_ci(summed[:, k])
            lin_total = float(sum(lin[h, index[r]] for r in routes)) if linear_ok else float("nan")
            u_mean, u_lo, u_hi = mean_ci(allb[:, k] - base[:, k])
            rows.append(
                {
                    **common,
                    "kind": "sum",
                    "pathway": "sum of pathways",
                    "contribution": s_mean,
                    "ci_low": s_lo,
                    "ci_high": s_hi,
                    "linear": lin_total,
                    "share": _share(s_mean, t_mean, quiet),
                    "n_routes": len(routes),
                    "routes": "",
                    "adds_up": None,
                }
            )
            rows.append(
                {
                    **common,
                    "kind": "remainder",
                    "pathway": "interaction remainder",
                    "contribution": r_mean,
                    "ci_low": r_lo,
                    "ci_high": r_hi,
                    "linear": float("nan"),
                    "share": _share(r_mean, t_mean, quiet),
                    "n_routes": 0,
                    "routes": "",
                    "adds_up": None,
                }
            )
            rows.append(
                {
                    **common,
                    "kind": "unblocked",
                    "pathway": "left with every route blocked",
                    "contribution": u_mean,
                    "ci_low": u_lo,
                    "ci_high": u_hi,
                    "linear": float("nan"),
                    "share": _share(u_mean, t_mean, quiet),
                    "n_routes": 0,
                    "routes": "",
                    "adds_up": None,
                }
            )
            rows.append(
                {
                    **common,
                    "kind": "total",
                    "pathway": "total effect",
                    "contribution": t_mean,
                    "ci_low": t_lo,
                    "ci_high": t_hi,
                    "linear": lin_total,
                    "share": float("nan") if quiet else 1.0,
                    "n_routes": len(routes),
                    "routes": "",
                    "adds_up": adds,
                }
            )
    table = pd.DataFrame(rows)
    return PathwayResult(
        table=table,
        routes=pd.DataFrame(route_rows),
        seeds=seeds,
        level=level,
        tolerance=tolerance,
        runs=len(first) + len(second),
    )


def _horizons(horizons: Sequence[int], run_horizon: int) -> list[int]:
    return sorted({min(max(int(h), 0), int(run_horizon)) for h in horizons})


def _share(part: float, total: float, quiet: bool) -> float:
    return float("nan") if quiet else share_of(part, total)


def share_of(part: float, total: float) -> float:
    """``part`` as a share of ``total`` (NaN for a zero or unknown total)."""
    return float(part / total) if total != 0 and np.isfinite(total) else float("nan")


def within_noise(total: float, ci_low: float, ci_high: float, replicates: int, floor: float = 0.0) -> bool:
    """Whether a total effect is within the replicates' noise, so shares of it would mean nothing.

    It is when its 95% interval across the paired replicates includes zero; when there is no
    interval (fewer than two replicates: the noise cannot be judged); or when ``|total|`` is at
    most ``floor``, the attribution's own bound for an effect near zero (``abs_tolerance`` of
    :func:`attribute`, in the outcome's units): a consistent but negligible effect, of which
    offsetting pathways would take shares of thousands of per cent.
    """
    if replicates < 2 or not (np.isfinite(ci_low) and np.isfinite(ci_high)):
        return True
    return bool(ci_low <= 0.0 <= ci_high or abs(total) <= floor)
