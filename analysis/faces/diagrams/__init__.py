"""Diagrams of the theory and of the partnership network (matplotlib; take data, return a Figure).

Shared by the dashboard and the HTML report:

- :func:`causal_web_figure` (:mod:`~analysis.faces.diagrams.web`): the domains of the theory by
  tier (structural → relational → outcome), the causal web's arrows numbered on the web and
  listed in a table beside it with their weights; optionally shaded by a sensitivity index
  (total-order Sobol index of each edge weight and domain parameter).
- :func:`network_figure` (:mod:`~analysis.faces.diagrams.network`): providers as dots grouped
  by ICS and coloured by quality, trusts in special measures ringed, partnerships drawn as
  links coloured by type.
- :func:`outcome_panels`: the month-by-month outcomes of one run in the units people use.
"""

from analysis.faces.diagrams.common import (
    INDEX_OUTCOMES,
    QUALITY_CMAP,
    SHARE_OUTCOMES,
    TIER_COLOURS,
    TIER_TITLES,
    TYPE_COLOURS,
    label,
    type_colour,
    use_agg,
)
from analysis.faces.diagrams.network import network_figure, network_layout, outcome_panels, partnership_links
from analysis.faces.diagrams.web import causal_web_figure, marker_spots, node_sensitivity, web_positions

__all__ = [
    "INDEX_OUTCOMES",
    "QUALITY_CMAP",
    "SHARE_OUTCOMES",
    "TIER_COLOURS",
    "TIER_TITLES",
    "TYPE_COLOURS",
    "causal_web_figure",
    "label",
    "marker_spots",
    "network_figure",
    "network_layout",
    "node_sensitivity",
    "outcome_panels",
    "partnership_links",
    "type_colour",
    "use_agg",
    "web_positions",
]
