"""Pathway attribution: through which routes of the causal web does a policy's effect flow?

The question a realist researcher asks of a policy's effect on an outcome is "does the
benefit come through governance and culture, or through IT and efficiency?". This module
answers it with counterfactual runs that block one pathway at a time under common random
numbers, and says whether the contributions add up.

**Routes come from the theory data, not from domain names.** Partnerships act on providers'
domains through four *channels* (design.md §4):

* ``convergence`` — members' anchors move toward the partnership's target, on the domains
  the types act on (``type.<t>.effect.<d>`` in typology.toml): the IRT's "partnering →
  structural domain" arrows;
* ``synergy`` — effectiveness through collaboration, an offset on the same domains;
* ``disruption`` — the transition dip (``[partnering.disruption]``);
* ``scale`` — shared back office (``[partnering.scale]``).

A *route* is a channel, the domain it enters, and a simple path through the causal web's
edges (``[[edges]]``) from there to the outcome's domain, e.g. ``partnering → governance →
culture → quality``; a route of one domain is a channel acting on the outcome itself. Routes
are enumerated from whatever theory is in force, so a researcher who adds an edge or a
domain gets its routes with no code change.

**Blocking a route** (a path-specific counterfactual). Along each route a shadow of the
model's own domain update carries the part of the policy's deviation that travels that
route (same rates, lags and weights as the model: ``Z_0 ← Z_0 + k(u − Z_0)`` for the
channel's input ``u`` at the entry domain; then for each edge ``S ← S + α(Z_prev − S)``,
``Z ← Z + k(w·S − Z)``). The blocked run is the policy run with each blocked route's final
input removed from the outcome's target; everything else — noise, formation, mechanisms,
feedback of the outcome into perceived progress — runs as it would. The contribution of a
pathway (a group of routes) is ``policy − blocked`` at each horizon, paired by seed.

In a linear web without noise, clipping or feedback the route contributions are exact and
add up to the total (tests/test_pathways.py checks this against the analytic answer). In the
model they need not: clipping to [0, 1], feedback loops of the web (not simple paths) and
the outcome's feedback into the partnership mechanisms make the effects interact. The table
reports the **interaction remainder** (total − sum of contributions), whether the
contributions add up (|remainder| ≤ ``tolerance`` × |total|), and what is left of the
policy's effect when every route is blocked at once.

The *linear* column gives, from one instrumented policy run, the shadow of every route at
the outcome: the first-order attribution, used to rank routes and to pool the minor ones.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from analysis.counterfactual import SimTask, mean_ci, run_tasks
from sim import RunSpec
from sim.theory import Theory, load_theory

CHANNELS = ("convergence", "synergy", "disruption", "scale", "lead_cost")
CHANNEL_LABEL = {"convergence": "partnering", "synergy": "synergy", "disruption": "transition disruption",
                 "scale": "scale effects", "lead_cost": "lead's capacity cost"}
LEVELS = ("pathway", "route", "entry", "channel")
DEFAULT_OUTCOMES = ("mean_quality", "mean_efficiency", "mean_access")
DEFAULT_HORIZONS = (12, 36, 120)
ARROW = " → "


# -- routes from the theory -------------------------------------------------------------------
@dataclass(frozen=True)
class Route:
    """A channel of partnership input, the domain it enters, and a simple path to the outcome."""

    channel: str
    domains: tuple[str, ...]

    @property
    def outcome(self) -> str:
        """The domain the route ends at."""
        return self.domains[-1]

    @property
    def entry(self) -> str:
        """The domain the channel acts on."""
        return self.domains[0]

    @property
    def label(self) -> str:
        """E.g. ``partnering → governance → culture → quality``."""
        return ARROW.join((CHANNEL_LABEL[self.channel], *self.domains))

    @property
    def edges(self) -> tuple[str, ...]:
        """Names of the web's edges along the route (``governance->culture`` …)."""
        return tuple(f"{a}->{b}" for a, b in zip(self.domains[:-1], self.domains[1:], strict=True))


def theory_in_force(spec: RunSpec) -> Theory:
    """The theory a spec runs under, with its effect overrides applied."""
    base = spec.theory if spec.theory is not None else load_theory()
    return base.with_values(spec.uncertainties.effect_overrides)


def channel_entries(theory: Theory) -> dict[str, tuple[str, ...]]:
    """Domains each channel acts on, with the parameter values in force (zero = no entry)."""
    names = theory.domain_names
    conv: list[str] = []
    if theory.v("partnering.convergence_rate") != 0:
        conv = [d for d in names if any(d in t.effect_domains and theory.v(f"type.{t.name}.effect.{d}") != 0
                                        for t in theory.types)]
    synergy: list[str] = []
    if theory.v("partnering.synergy") != 0:
        synergy = [d for d in names if any(d in t.effect_domains and theory.v(f"type.{t.name}.effect.{d}") != 0
                                           for t in theory.types)]
    disruption = [d for d in theory.disruption_domains if theory.v(f"partnering.disruption.{d}") != 0]
    scale = [d for d in theory.scale_domains if theory.v(f"partnering.scale.{d}") != 0]
    lead = [d for d in theory.lead_cost_domains if theory.v(f"partnering.lead_cost.{d}") != 0]
    return {"convergence": tuple(conv), "synergy": tuple(synergy), "disruption": tuple(disruption),
            "scale": tuple(scale), "lead_cost": tuple(lead)}


def web_paths(theory: Theory, source: str, target: str) -> list[tuple[str, ...]]:
    """Simple paths from ``source`` to ``target`` along edges with a non-zero weight in force."""
    out_edges: dict[str, list[str]] = {d: [] for d in theory.domain_names}
    for e in theory.edges:
        if theory.v(f"edge.{e.name}.weight") != 0:
            out_edges[e.source].append(e.target)
    paths: list[tuple[str, ...]] = []

    def walk(node: str, path: tuple[str, ...]) -> None:
        if node == target:
            paths.append(path)
            return
        for nxt in out_edges[node]:
            if nxt not in path:
                walk(nxt, (*path, nxt))

    walk(source, (source,))
    return paths


def enumerate_routes(theory: Theory, outcome_domain: str) -> list[Route]:
    """Every route from every channel's entry domains to ``outcome_domain``."""
    theory.domain_index(outcome_domain)  # validates the name
    routes = []
    for channel, entries in channel_entries(theory).items():
        for d0 in entries:
            routes += [Route(channel, p) for p in web_paths(theory, d0, outcome_domain)]
    return routes


def metric_domain(theory: Theory, metric: str) -> str:
    """The domain a model metric reads (``mean_<d>``, or a band metric of a role's domain)."""
    bands = {"share_good_or_outstanding": "quality", "share_special_measures": "quality",
             "share_in_deficit": "efficiency", "mean_surplus_pct": "efficiency"}
    if metric in bands:
        return theory.roles[bands[metric]]
    if metric.startswith("mean_") and metric[5:] in theory.domain_names:
        return metric[5:]
    from sim.errors import ConfigError

    choices = [f"mean_{d}" for d in theory.domain_names] + list(bands)
    raise ConfigError("not an outcome that pathways can attribute (it must read one domain's levels)",
                      key="outcome", value=metric, choices=choices)


def group_key(route: Route, level: str, theory: Theory | None = None) -> str:
    """The pathway a route belongs to at ``level`` (see :data:`LEVELS`).

    * ``route``: every route on its own;
    * ``entry``: channel × entry domain (``partnering → governance``);
    * ``channel``: the four channels;
    * ``pathway`` (default): the convergence channel route by route (the IRT's causal
      pathways), the synergy, disruption and scale channels each as one pathway.
    """
    if level == "route":
        return route.label
    if level == "entry":
        return ARROW.join((CHANNEL_LABEL[route.channel], route.entry))
    if level == "channel":
        return CHANNEL_LABEL[route.channel]
    if level == "pathway":
        return route.label if route.channel == "convergence" else CHANNEL_LABEL[route.channel]
    from sim.errors import ConfigError

    raise ConfigError("unknown pathway level", key="level", value=level, choices=LEVELS)


def passes_tier(route: Route, theory: Theory, tier: str) -> bool:
    """Whether the route's path through the web passes a domain of ``tier`` (after its entry)."""
    tiers = {d.name: d.tier for d in theory.domains}
    return any(tiers[d] == tier for d in route.domains[1:-1])


# -- the hook: shadows along routes, and blocking ---------------------------------------------
@dataclass(frozen=True)
class RouteHook:
    """Track (and optionally block) routes inside a run.

    Attributes:
        routes: the routes to carry shadows for.
        block: indices into ``routes`` of those removed at their outcome.
        block_entries: (channel, domain) inputs removed where they enter (blocks everything
            downstream of them, loops included).
        track: record the population mean of each route's shadow at its outcome every month.
    """

    routes: tuple[Route, ...]
    block: tuple[int, ...] = ()
    block_entries: tuple[tuple[str, str], ...] = ()
    track: bool = True

    def attach(self, model: Any) -> _RouteTracker:
        """Install on ``model`` (replaces its domain update with a wrapped one)."""
        return _RouteTracker(model, self)


class _RouteTracker:
    """The wrapped domain update of one run (see the module docstring for the equations)."""

    def __init__(self, model: Any, hook: RouteHook) -> None:

        th = model.theory
        names = th.domain_names
        edge_index = {e.name: i for i, e in enumerate(th.edges)}
        web = model.web
        self.model = model
        self.hook = hook
        self.original = model.update_domains
        model.update_domains = self
        # Routes share prefixes (a channel's entry, its first edges): one shadow node per prefix.
        dom, parent, edge, chan = [], [], [], []
        node_of: dict[tuple[str, tuple[str, ...]], int] = {}
        self.last = np.zeros(len(hook.routes), dtype=np.intp)
        for r, route in enumerate(hook.routes):
            for j, d in enumerate(route.domains):
                key = (route.channel, route.domains[: j + 1])
                if key in node_of:
                    continue
                node_of[key] = len(dom)
                dom.append(names.index(d))
                if j == 0:
                    parent.append(-1)
                    edge.append(-1)
                    chan.append(CHANNELS.index(route.channel))
                else:
                    parent.append(node_of[(route.channel, route.domains[:j])])
                    edge.append(edge_index[f"{route.domains[j - 1]}->{d}"])
                    chan.append(-1)
            self.last[r] = node_of[(route.channel, route.domains)]
        self.dom = np.array(dom, dtype=np.intp)
        self.parent = np.array(parent, dtype=np.intp)
        self.edge = np.array(edge, dtype=np.intp)
        self.chan = np.array(chan, dtype=np.intp)
        self.entry = np.flatnonzero(self.parent < 0)
        self.inner = np.flatnonzero(self.parent >= 0)
        self.rate = web.rate[self.dom] if len(dom) else np.zeros(0)
        self.alpha = web.alpha[self.edge[self.inner]] if len(self.inner) else np.zeros(0)
        self.weight = web.weight[self.edge[self.inner]] if len(self.inner) else np.zeros(0)
        n = model.n
        self.Z = np.zeros((n, len(dom)))
        self.S = np.zeros((n, len(self.inner)))
        blocked = sorted(set(hook.block))
        self.block_cols: list[tuple[int, np.ndarray]] = []
        for col in sorted({int(self.dom[self.last[r]]) for r in blocked}):
            nodes = np.array([self.last[r] for r in blocked if self.dom[self.last[r]] == col], dtype=np.intp)
            self.block_cols.append((col, nodes))
        self.block_entries = [(CHANNELS.index(c), names.index(d)) for c, d in hook.block_entries]
        needed = set(self.chan[self.entry].tolist()) | {c for c, _ in self.block_entries}
        self.needed = needed
        self.trace: list[np.ndarray] = []

    def inputs(self, anchor: np.ndarray, start: np.ndarray) -> np.ndarray:
        """This month's input of each channel to each provider's domains: channels × n × D."""
        m = self.model
        u = np.zeros((len(CHANNELS), m.n, anchor.shape[1]))
        if 0 in self.needed:
            u[0] = anchor - start - m.support_shift
        if self.needed - {0}:
            offsets = m.offsets()
            for c in self.needed - {0}:
                u[c] = offsets[CHANNELS[c]]
        return u

    def __call__(self, levels: np.ndarray, start: np.ndarray, anchor: np.ndarray, signals: np.ndarray,
                 pressure: np.ndarray, shocks: np.ndarray, web: Any) -> None:
        u = self.inputs(anchor, start)
        pressure = pressure.copy()
        if self.Z.shape[1]:
            inner = self.inner
            if len(inner):
                self.S += self.alpha * (self.Z[:, self.parent[inner]] - self.S)
            inp = np.empty_like(self.Z)
            inp[:, self.entry] = u[self.chan[self.entry], :, self.dom[self.entry]].T
            if len(inner):
                inp[:, inner] = self.weight * self.S
            for col, nodes in self.block_cols:
                pressure[:, col] -= inp[:, nodes].sum(axis=1)
            self.Z += self.rate * (inp - self.Z)
        for c, d in self.block_entries:
            pressure[:, d] -= u[c, :, d]
        self.original(levels, start, anchor, signals, pressure, shocks, web)
        if self.hook.track:
            self.trace.append(self.Z[:, self.last].mean(axis=0))

    def result(self) -> np.ndarray | None:
        """Population mean of each route's shadow at its outcome, months (from 0) × routes."""
        if not self.hook.track:
            return None
        rows = [np.zeros(len(self.last))] + self.trace
        return np.array(rows)


# -- attribution --------------------------------------------------------------------------------
@dataclass
class PathwayResult:
    """Contributions of each pathway to each policy's paired effect on each outcome.

    Attributes:
        table: one row per policy × outcome × horizon × pathway (``kind == "pathway"``), plus
            rows of kind ``total``, ``sum``, ``remainder`` and ``unblocked`` (what is left of
            the effect with every route blocked). Columns: contribution (mean over replicates),
            ci_low, ci_high (95% t interval), linear (first-order shadow), share (of the total),
            n_routes, routes, adds_up (on total rows).
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
        out = tot[["contribution", "ci_low", "ci_high", "adds_up"]].rename(columns={"contribution": "total"})
        for kind in ("sum", "remainder", "unblocked"):
            out[kind] = t[t["kind"] == kind].set_index(["policy", "outcome", "horizon"])["contribution"]
        return out.reset_index()


def attribute(baseline: RunSpec, policies: Mapping[str, RunSpec], seeds: Sequence[int], *,
              outcomes: Sequence[str] = DEFAULT_OUTCOMES, horizons: Sequence[int] = DEFAULT_HORIZONS,
              level: str = "pathway", min_share: float = 0.02, tolerance: float = 0.1,
              abs_tolerance: float = 1e-4, workers: int | None = None, scheduler: str | None = None,
              executor: Any = None) -> PathwayResult:
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
        executor: an executor from :mod:`analysis.runner` to use instead.
    """
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
    first = run_tasks(tasks, workers=workers, scheduler=scheduler, executor=executor)
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
                    route_rows.append({"policy": name, "outcome": metric, "pathway": g, "route": r.label,
                                       "channel": r.channel, "entry": r.entry, "edges": " ".join(r.edges),
                                       **{f"linear_{h}": float(lin[h, index[r]]) for h in hs}})
    # Phase 2: one blocked run per pathway (and one with every route blocked), per replicate.
    tasks = []
    for (name, metric), gs in groups.items():
        routes = tuple(plans[name][metric])
        spec = policies[name]
        for g, js in [*gs, ("__all__", list(range(len(routes))))]:
            hook = RouteHook(tuple(routes[j] for j in js), block=tuple(range(len(js))), track=False)
            tasks += [SimTask(("block", name, metric, g, s), spec, s, hook=hook) for s in seeds]
    second = run_tasks(tasks, workers=workers, scheduler=scheduler, executor=executor)
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
        allb = np.array([second[("block", name, metric, "__all__", s)].series[metric].to_numpy()[hs]
                         for s in seeds])
        summed = sum(c for c, _ in contrib.values()) if contrib else np.zeros_like(total)
        remainder = total - summed
        linear_ok = metric == f"mean_{metric_domain(th, metric)}"
        for k, h in enumerate(hs):
            t_mean, t_lo, t_hi = mean_ci(total[:, k])
            r_mean, r_lo, r_hi = mean_ci(remainder[:, k])
            adds = bool(abs(r_mean) <= max(tolerance * abs(t_mean), abs_tolerance))
            common = {"policy": name, "outcome": metric, "horizon": int(h)}
            for g, (c, js) in contrib.items():
                m, lo, hi = mean_ci(c[:, k])
                lin_g = float(sum(lin[h, index[routes[j]]] for j in js)) if linear_ok else float("nan")
                rows.append({**common, "kind": "pathway", "pathway": g, "contribution": m, "ci_low": lo,
                             "ci_high": hi, "linear": lin_g, "share": _share(m, t_mean), "n_routes": len(js),
                             "routes": "; ".join(routes[j].label for j in js), "adds_up": None})
            s_mean, s_lo, s_hi = mean_ci(summed[:, k])
            lin_total = float(sum(lin[h, index[r]] for r in routes)) if linear_ok else float("nan")
            u_mean, u_lo, u_hi = mean_ci(allb[:, k] - base[:, k])
            rows.append({**common, "kind": "sum", "pathway": "sum of pathways", "contribution": s_mean,
                         "ci_low": s_lo, "ci_high": s_hi, "linear": lin_total, "share": _share(s_mean, t_mean),
                         "n_routes": len(routes), "routes": "", "adds_up": None})
            rows.append({**common, "kind": "remainder", "pathway": "interaction remainder", "contribution": r_mean,
                         "ci_low": r_lo, "ci_high": r_hi, "linear": float("nan"), "share": _share(r_mean, t_mean),
                         "n_routes": 0, "routes": "", "adds_up": None})
            rows.append({**common, "kind": "unblocked", "pathway": "left with every route blocked",
                         "contribution": u_mean, "ci_low": u_lo, "ci_high": u_hi, "linear": float("nan"),
                         "share": _share(u_mean, t_mean), "n_routes": 0, "routes": "", "adds_up": None})
            rows.append({**common, "kind": "total", "pathway": "total effect", "contribution": t_mean,
                         "ci_low": t_lo, "ci_high": t_hi, "linear": lin_total, "share": 1.0,
                         "n_routes": len(routes), "routes": "", "adds_up": adds})
    table = pd.DataFrame(rows)
    return PathwayResult(table=table, routes=pd.DataFrame(route_rows), seeds=seeds, level=level,
                         tolerance=tolerance, runs=len(first) + len(second))


def _horizons(horizons: Sequence[int], run_horizon: int) -> list[int]:
    return sorted({min(max(int(h), 0), int(run_horizon)) for h in horizons})


def _share(part: float, total: float) -> float:
    return float(part / total) if total != 0 and np.isfinite(total) else float("nan")


# -- presentation ------------------------------------------------------------------------------
def waterfall_figure(table: pd.DataFrame, policy: str, outcome: str, horizon: int, *,
                     unit: str = "") -> Any:
    """A waterfall of one policy's effect on one outcome at one horizon.

    Bars: each pathway's contribution (with its 95% interval), the interaction remainder,
    and the total effect.
    """
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    sel = table[(table["policy"] == policy) & (table["outcome"] == outcome) & (table["horizon"] == horizon)]
    parts = sel[sel["kind"] == "pathway"].copy()
    parts = parts.reindex(parts["contribution"].abs().sort_values(ascending=False).index)
    rem = sel[sel["kind"] == "remainder"].iloc[0]
    tot = sel[sel["kind"] == "total"].iloc[0]
    labels = [_wrap(p) for p in parts["pathway"]] + ["interaction remainder", "total effect"]
    values = [*parts["contribution"].tolist(), float(rem["contribution"])]
    fig = Figure(figsize=(8.5, 0.5 * len(labels) + 1.8))
    ax = fig.add_subplot(1, 1, 1)
    left = 0.0
    for i, v in enumerate(values):
        color = "#9e9e9e" if i == len(values) - 1 else ("#2e7d32" if v >= 0 else "#c62828")
        ax.barh(i, v, left=left, color=color, height=0.6)
        row = parts.iloc[i] if i < len(parts) else rem
        if np.isfinite(row["ci_low"]):
            ax.errorbar(left + v, i, xerr=[[v - row["ci_low"]], [row["ci_high"] - v]], fmt="none", ecolor="black",
                        capsize=3, lw=0.8)
        left += v
    t = float(tot["contribution"])
    ax.barh(len(values), t, left=0.0, color="#1565c0", height=0.6)
    if np.isfinite(tot["ci_low"]):
        ax.errorbar(t, len(values), xerr=[[t - tot["ci_low"]], [tot["ci_high"] - t]], fmt="none", ecolor="black",
                    capsize=3, lw=0.8)
    ax.axvline(0, color="black", lw=0.6)
    ax.set_yticks(range(len(labels)))
    ax.set_yticklabels(labels, fontsize=8)
    ax.invert_yaxis()
    adds = "contributions add up" if bool(tot["adds_up"]) else "contributions do NOT add up"
    ax.set_title(f"{policy}: {outcome} at month {horizon} — {adds}", fontsize=10)
    ax.set_xlabel(f"paired difference from baseline{(' (' + unit + ')') if unit else ''}")
    fig.tight_layout()
    return fig


def _wrap(text: str, width: int = 48) -> str:
    if len(text) <= width:
        return text
    parts = text.split(ARROW)
    lines, cur = [], ""
    for p in parts:
        piece = p if not cur else cur + ARROW + p
        if len(piece) > width and cur:
            lines.append(cur + ARROW.rstrip())
            cur = p
        else:
            cur = piece
    lines.append(cur)
    return "\n".join(lines)


def format_table(result: PathwayResult, *, digits: int = 4) -> str:
    """A plain-text table of the attribution (for the terminal)."""
    t = result.table
    lines = []
    for (policy, outcome, horizon), sel in t.groupby(["policy", "outcome", "horizon"], sort=False):
        tot = sel[sel["kind"] == "total"].iloc[0]
        lines.append(f"\n{policy} — {outcome}, month {horizon}: total {tot['contribution']:+.{digits}f} "
                     f"[{tot['ci_low']:+.{digits}f}, {tot['ci_high']:+.{digits}f}]; "
                     f"{'adds up' if tot['adds_up'] else 'does NOT add up'}")
        for _, r in sel[sel["kind"] != "total"].iterrows():
            share = "" if not np.isfinite(r["share"]) else f"{100 * r['share']:6.0f}%"
            lines.append(f"  {r['pathway'][:70]:<70} {r['contribution']:+.{digits}f} "
                         f"[{r['ci_low']:+.{digits}f}, {r['ci_high']:+.{digits}f}] {share}")
    return "\n".join(lines)


def pathways_html(result: PathwayResult, *, digits: int = 4) -> str:
    """An HTML fragment (tables only, no scripts) for the report: one table per policy × outcome."""
    import html

    t = result.table
    out = ['<div class="pathways">',
           f"<p>Pathway attribution ({html.escape(result.level)} level) over {len(result.seeds)} paired "
           f"replicates; intervals are 95% t intervals across replicates. Contributions add up when the "
           f"interaction remainder is within {100 * result.tolerance:.0f}% of the total.</p>"]
    for (policy, outcome), sel in t.groupby(["policy", "outcome"], sort=False):
        hs = sorted(sel["horizon"].unique())
        out.append(f"<h4>{html.escape(str(policy))}: {html.escape(str(outcome))}</h4>")
        out.append("<table><thead><tr><th>pathway</th>"
                   + "".join(f"<th>month {h}</th>" for h in hs) + "</tr></thead><tbody>")
        order = list(dict.fromkeys(sel["pathway"]))
        for p in order:
            cells = []
            for h in hs:
                r = sel[(sel["pathway"] == p) & (sel["horizon"] == h)]
                if not len(r):
                    cells.append("<td></td>")
                    continue
                r = r.iloc[0]
                ci = "" if not np.isfinite(r["ci_low"]) else \
                    f" <small>[{r['ci_low']:+.{digits}f}, {r['ci_high']:+.{digits}f}]</small>"
                flag = ""
                if r["kind"] == "total":
                    flag = " ✓" if r["adds_up"] else " ✗ (does not add up)"
                cells.append(f"<td>{r['contribution']:+.{digits}f}{ci}{flag}</td>")
            out.append(f"<tr><td>{html.escape(str(p))}</td>{''.join(cells)}</tr>")
        out.append("</tbody></table>")
    out.append("</div>")
    return "\n".join(out)


# -- command line ------------------------------------------------------------------------------
def cli_run(args: Any) -> int:
    """``partnersim pathways``: attribute each policy's effect to the theory's pathways; save tables and figures."""
    from pathlib import Path

    from analysis.counterfactual import resolve_inputs

    inputs = resolve_inputs(args.inputs, baseline=args.baseline, reps=args.reps, seed=args.seed,
                            horizon=args.horizon, default_reps=4)
    for note in inputs.notes:
        print(f"note: {note}")
    outcomes = [o.strip() for o in args.outcomes.split(",") if o.strip()]
    for spec in inputs.policies.values():
        th = theory_in_force(spec)
        for o in outcomes:
            metric_domain(th, o)
    group_key(Route("convergence", ("x",)), args.level)
    print(f"pathway attribution: {len(inputs.policies)} policies vs baseline, {len(inputs.seeds)} replicates, "
          f"outcomes {', '.join(outcomes)} (source: {inputs.source})")
    res = attribute(inputs.baseline, inputs.policies, inputs.seeds, outcomes=outcomes, horizons=args.horizons,
                    level=args.level, min_share=args.min_share, tolerance=args.tolerance, workers=args.workers,
                    scheduler=args.scheduler)
    out = Path(args.out or Path("results") / "pathways" / "_".join(inputs.policies))
    figs = out / "figures"
    figs.mkdir(parents=True, exist_ok=True)
    res.table.to_csv(out / "pathways.csv", index=False)
    res.routes.to_csv(out / "routes.csv", index=False)
    res.summary().to_csv(out / "summary.csv", index=False)
    (out / "pathways.html").write_text(pathways_html(res))
    n = 0
    if args.figures:
        for (policy, outcome, horizon), _ in res.table.groupby(["policy", "outcome", "horizon"], sort=False):
            fig = waterfall_figure(res.table, policy, outcome, int(horizon))
            fig.savefig(figs / f"waterfall_{policy}_{outcome}_m{int(horizon)}.png", dpi=110)
            n += 1
    print(format_table(res))
    bad = res.summary()
    bad = bad[~bad["adds_up"].astype(bool)]
    if len(bad):
        print(f"\n{len(bad)} of {len(res.summary())} effects do not add up within {100 * res.tolerance:.0f}%: "
              "the pathways interact (clipping, feedback loops, the outcome's feedback into the partnership "
              "mechanisms, or different partnerships forming); see the remainder rows.")
    print(f"\n{res.runs} runs; wrote {out}/pathways.csv, routes.csv, summary.csv, pathways.html"
          + (f" and {n} waterfall figures in {figs}" if n else ""))
    return 0


def load_pathways(folder: Any) -> PathwayResult:
    """A pathway attribution saved by ``partnersim pathways`` (pathways.csv, routes.csv)."""
    from pathlib import Path

    folder = Path(folder)
    table = pd.read_csv(folder / "pathways.csv")
    table["adds_up"] = table["adds_up"].map(lambda v: v if isinstance(v, bool) else (str(v) == "True")
                                            if str(v) in ("True", "False") else None)
    table["routes"] = table["routes"].fillna("")
    routes = pd.read_csv(folder / "routes.csv") if (folder / "routes.csv").exists() else pd.DataFrame()
    return PathwayResult(table=table, routes=routes, seeds=[], level="saved", tolerance=0.1)
