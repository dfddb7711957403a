"""What the diagrams share: tier and type colours, the outcomes they draw, readable names, the Agg backend."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sim.theory import Theory

TIER_TITLES = {
    "structural": "Structural\n(what partnering changes)",
    "relational": "Relational\n(how people work)",
    "outcome": "Outcomes\n(what patients and boards see)",
}
TIER_COLOURS = {"structural": "#dbe9f6", "relational": "#e5f2e0", "outcome": "#fbe6d4"}
QUALITY_CMAP = "RdYlGn"
TYPE_COLOURS = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
    "#393b79",
    "#637939",
)
SHARE_OUTCOMES = (
    ("share_good_or_outstanding", "rated good or outstanding", "#2ca02c"),
    ("share_in_deficit", "in deficit", "#d62728"),
    ("share_special_measures", "in special measures", "#7f3c8d"),
)
INDEX_OUTCOMES = (
    ("mean_quality", "quality", "#1f77b4"),
    ("mean_efficiency", "efficiency", "#ff7f0e"),
    ("mean_access", "access", "#17becf"),
)


def use_agg() -> None:
    """Draw without a display (matplotlib is imported on first use: it costs a third of a second)."""
    import matplotlib

    if matplotlib.get_backend().lower() != "agg":
        matplotlib.use("Agg")


def label(name: str) -> str:
    """A domain or type name for people: ``it_systems`` → ``IT systems``."""
    special = {
        "it_systems": "IT systems",
        "care_model": "Care model",
        "user_engagement": "User engagement",
        "contractual_jv": "Contractual JV",
        "corporate_jv": "Corporate JV",
        "vertical_ico": "Vertical ICO",
    }
    return special.get(name, name.replace("_", " ").capitalize())


def type_colour(theory: Theory, type_name: str) -> str:
    """The colour of a partnership type (fixed by its position in the typology)."""
    return TYPE_COLOURS[theory.type_names.index(type_name) % len(TYPE_COLOURS)]
