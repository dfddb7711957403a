"""Routes of the causal web a policy's effect can travel, enumerated from the theory data.

A route is a channel of partnership input (convergence, synergy, disruption, scale), the
domain it enters, and a simple path through the web's edges to an outcome's domain.
"""

from __future__ import annotations

from dataclasses import dataclass

from sim import ConfigError, RunSpec
from sim.theory import Theory, load_theory

CHANNELS = ("convergence", "synergy", "disruption", "scale", "lead_cost")
CHANNEL_LABEL = {
    "convergence": "partnering",
    "synergy": "synergy",
    "disruption": "transition disruption",
    "scale": "scale effects",
    "lead_cost": "lead's capacity cost",
}
LEVELS = ("pathway", "route", "entry", "channel")
ARROW = " → "


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
        """E.g. ``partnering → governance → culture → quality`` (domains in words: ``user engagement``)."""
        return ARROW.join((CHANNEL_LABEL[self.channel], *map(domain_words, self.domains)))

    @property
    def edges(self) -> tuple[str, ...]:
        """Names of the web's edges along the route (``governance->culture`` …)."""
        return tuple(f"{a}->{b}" for a, b in zip(self.domains[:-1], self.domains[1:], strict=True))


def domain_words(name: str) -> str:
    """A domain's name in words: ``user_engagement`` → ``user engagement``, ``it_systems`` → ``IT systems``."""
    return " ".join("IT" if w == "it" else w for w in name.split("_"))


def theory_in_force(spec: RunSpec) -> Theory:
    """The theory a spec runs under, with its effect overrides applied."""
    base = spec.theory if spec.theory is not None else load_theory()
    return base.with_values(spec.uncertainties.effect_overrides)


def channel_entries(theory: Theory) -> dict[str, tuple[str, ...]]:
    """Domains each channel acts on, with the parameter values in force (zero = no entry)."""
    names = theory.domain_names
    conv: list[str] = []
    if theory.v("partnering.convergence_rate") != 0:
        conv = [
            d
            for d in names
            if any(d in t.effect_domains and theory.v(f"type.{t.name}.effect.{d}") != 0 for t in theory.types)
        ]
    synergy: list[str] = []
    if theory.v("partnering.synergy") != 0:
        synergy = [
            d
            for d in names
            if any(d in t.effect_domains and theory.v(f"type.{t.name}.effect.{d}") != 0 for t in theory.types)
        ]
    disruption = [d for d in theory.disruption_domains if theory.v(f"partnering.disruption.{d}") != 0]
    scale = [d for d in theory.scale_domains if theory.v(f"partnering.scale.{d}") != 0]
    lead = [d for d in theory.lead_cost_domains if theory.v(f"partnering.lead_cost.{d}") != 0]
    return {
        "convergence": tuple(conv),
        "synergy": tuple(synergy),
        "disruption": tuple(disruption),
        "scale": tuple(scale),
        "lead_cost": tuple(lead),
    }


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
    bands = {
        "share_good_or_outstanding": "quality",
        "share_special_measures": "quality",
        "share_in_deficit": "efficiency",
        "mean_surplus_pct": "efficiency",
    }
    if metric in bands:
        return theory.roles[bands[metric]]
    if metric.startswith("mean_") and metric[5:] in theory.domain_names:
        return metric[5:]
    choices = [f"mean_{d}" for d in theory.domain_names] + list(bands)
    raise ConfigError(
        "not an outcome that pathways can attribute (it must read one domain's levels)",
        key="outcome",
        value=metric,
        choices=choices,
    )


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
        return ARROW.join((CHANNEL_LABEL[route.channel], domain_words(route.entry)))
    if level == "channel":
        return CHANNEL_LABEL[route.channel]
    if level == "pathway":
        return route.label if route.channel == "convergence" else CHANNEL_LABEL[route.channel]
    raise ConfigError("unknown pathway level", key="level", value=level, choices=LEVELS)


def passes_tier(route: Route, theory: Theory, tier: str) -> bool:
    """Whether the route's path through the web passes a domain of ``tier`` (after its entry)."""
    tiers = {d.name: d.tier for d in theory.domains}
    return any(tiers[d] == tier for d in route.domains[1:-1])
