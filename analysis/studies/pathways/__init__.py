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

from analysis.studies.pathways.attribute import (
    DEFAULT_HORIZONS,
    DEFAULT_OUTCOMES,
    PathwayResult,
    attribute,
    within_noise,
)
from analysis.studies.pathways.present import (
    format_table,
    load_pathways,
    noise_sentence,
    pathways_html,
    total_is_noise,
    waterfall_figure,
)
from analysis.studies.pathways.routes import (
    ARROW,
    CHANNEL_LABEL,
    CHANNELS,
    LEVELS,
    Route,
    channel_entries,
    enumerate_routes,
    group_key,
    metric_domain,
    passes_tier,
    theory_in_force,
    web_paths,
)
from analysis.studies.pathways.tracker import RouteHook

__all__ = [
    "ARROW",
    "CHANNELS",
    "CHANNEL_LABEL",
    "DEFAULT_HORIZONS",
    "DEFAULT_OUTCOMES",
    "LEVELS",
    "PathwayResult",
    "Route",
    "RouteHook",
    "attribute",
    "channel_entries",
    "enumerate_routes",
    "format_table",
    "noise_sentence",
    "group_key",
    "load_pathways",
    "metric_domain",
    "passes_tier",
    "pathways_html",
    "theory_in_force",
    "total_is_noise",
    "waterfall_figure",
    "within_noise",
    "web_paths",
]
