"""The theory values the Theory page lets people edit, in groups and in plain words.

No Solara here. Every arrow of the causal web has a strength (its weight) and a delay (its
lag, in months); the mechanisms of the refined theory (conflict, trust, confidence, faith,
progress, behaviour) have their own parameters. Each becomes an :class:`Editable`: the
theory's parameter name, a plain label, its declared range and a slider step. Only
parameters with a range wider than a point can be edited; a mechanism parameter this file
does not name yet still appears (under *Other mechanisms*, by its own name).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from analysis.faces.dashboard.model import KEY_EFFECTS, nice_step
from analysis.faces.diagrams import label
from sim.theory import Theory

STRENGTHS = "Arrow strengths"
DELAYS = "Arrow delays (months)"
CONFLICT = "Conflict"
TRUST = "Trust"
CONFIDENCE = "Confidence and faith"
PROGRESS = "Progress, ambition and behaviour"
OTHER = "Other mechanisms"
GROUPS = (STRENGTHS, DELAYS, CONFLICT, TRUST, CONFIDENCE, PROGRESS, OTHER)

MECHANISMS: dict[str, tuple[str, str]] = {
    "conflict_rate": (CONFLICT, "How fast conflict settles to its level (per month)"),
    "conflict_base": (CONFLICT, "Background conflict between organisations"),
    "conflict_w_gap": (CONFLICT, "Conflict from a gap in culture"),
    "conflict_w_asymmetry": (CONFLICT, "Conflict from a difference in size"),
    "conflict_w_mandate": (CONFLICT, "Conflict added when the partnership is mandated"),
    "conflict_w_slow": (CONFLICT, "Conflict from slow progress"),
    "conflict_w_change": (CONFLICT, "Conflict from organisational change"),
    "conflict_w_accountability": (CONFLICT, "Conflict removed by clear accountability"),
    "trust_init": (TRUST, "Starting trust between strangers"),
    "trust_w_prior": (TRUST, "Starting trust from past collaboration"),
    "trust_w_legal": (TRUST, "Starting trust from a legal agreement"),
    "trust_w_same_ics": (TRUST, "Starting trust when partners share an ICS"),
    "trust_build": (TRUST, "How fast trust builds (per month)"),
    "trust_erosion": (TRUST, "How fast conflict erodes trust (per month)"),
    "trust_w_leadership": (TRUST, "Faster trust building under good leadership"),
    "dissolution_trust_penalty": (TRUST, "Share of trust lost when a partnership dissolves"),
    "confidence_init": (CONFIDENCE, "Starting confidence in the partner"),
    "confidence_rate": (CONFIDENCE, "How fast confidence settles to its level (per month)"),
    "confidence_w_mandate": (CONFIDENCE, "Confidence added when mandated"),
    "confidence_ceiling": (CONFIDENCE, "Most confidence a contract can give"),
    "faith_init": (CONFIDENCE, "Starting faith in a voluntary partnership"),
    "faith_w_mandate": (CONFIDENCE, "Starting faith lost when mandated"),
    "faith_rate": (CONFIDENCE, "How fast faith settles to its level (per month)"),
    "faith_w_instability": (CONFIDENCE, "Faith lost to workforce instability"),
    "faith_w_absence": (CONFIDENCE, "Faith lost when members are busy elsewhere"),
    "faith_w_leadership": (CONFIDENCE, "Faith added by good leadership"),
    "instability_scale": (CONFIDENCE, "Fall in workforce that counts as full instability"),
    "absence_per_commitment": (CONFIDENCE, "Absence per other partnership a member is in"),
    "progress_rate": (PROGRESS, "How fast perceived progress follows results (per month)"),
    "progress_scale": (PROGRESS, "Improvement that counts as full progress"),
    "progress_neutral": (PROGRESS, "Perceived progress before any results"),
    "progress_w_ambition": (PROGRESS, "Perceived progress added by ambition"),
    "progress_w_conflict": (PROGRESS, "Perceived progress lost to conflict"),
    "ambition_w_integration": (PROGRESS, "Ambition from deeper integration"),
    "ambition_w_trust": (PROGRESS, "Ambition from starting trust"),
    "risk_w_trust": (PROGRESS, "Weight of trust (against confidence) in taking risks"),
    "behaviour_w_risk": (PROGRESS, "Weight of risk-taking (against faith) in collaborating"),
    "inertia_threshold": (PROGRESS, "Collaboration below which a partnership stalls"),
    "inertia_months": (PROGRESS, "Months stalled before a voluntary partnership dissolves"),
}


@dataclass(frozen=True)
class Editable:
    """A theory parameter as the Theory page shows it."""

    param: str
    label: str
    group: str
    low: float
    high: float
    step: float
    unit: str = ""
    source: str = ""

    def snap(self, value: float) -> float:
        """``value`` inside the declared range and on the slider's grid (no float noise)."""
        v = min(max(float(value), self.low), self.high)
        digits = max(0, -math.floor(math.log10(self.step))) + 2 if self.step < 1 else 0
        return round(v, digits)

    def show(self, value: float) -> str:
        """``value`` written to the slider's precision."""
        digits = max(0, -math.floor(math.log10(self.step))) if self.step < 1 else 0
        return f"{value:.{digits}f}"


def _whole(p_low: float, p_high: float) -> bool:
    return float(p_low).is_integer() and float(p_high).is_integer()


def editables(theory: Theory) -> list[Editable]:
    """Every editable arrow strength, arrow delay and mechanism parameter of ``theory``."""
    out: list[Editable] = []
    params = theory.params
    for e in theory.edges:
        arrow = f"{label(e.source)} → {label(e.target)}"
        w = params[f"edge.{e.name}.weight"]
        if w.uncertain:
            out.append(Editable(w.name, arrow, STRENGTHS, w.low, w.high, nice_step(w.high - w.low), source=w.source))
        lag = params.get(f"edge.{e.name}.lag")
        if lag is not None and lag.uncertain:
            step = 1.0 if _whole(lag.low, lag.high) else nice_step(lag.high - lag.low)
            out.append(Editable(lag.name, arrow, DELAYS, lag.low, lag.high, step, "months", lag.source))
    for name, p in params.items():
        if not name.startswith("mechanism.") or not p.uncertain:
            continue
        key = name.removeprefix("mechanism.")
        group, text = MECHANISMS.get(key, (OTHER, key.replace("_", " ").capitalize()))
        step = 1.0 if p.integer else nice_step(p.high - p.low)
        unit = "months" if key.endswith("_months") else p.unit
        out.append(Editable(name, text, group, p.low, p.high, step, unit, p.source))
    return out


def grouped(items: list[Editable]) -> dict[str, list[Editable]]:
    """The editables by group, in the page's order (empty groups left out)."""
    out: dict[str, list[Editable]] = {g: [] for g in GROUPS}
    for item in items:
        out[item.group].append(item)
    return {g: v for g, v in out.items() if v}


def describe(param: str, theory: Theory) -> str:
    """A theory parameter in plain words: ``edge.a->b.lag`` → ``Delay of A → B``."""
    key_effect = {e.param: e.label for e in KEY_EFFECTS}.get(param)
    if key_effect is not None:
        return key_effect
    parts = param.split(".")
    if len(parts) == 3 and parts[0] == "edge" and "->" in parts[1]:
        src, tgt = parts[1].split("->")
        what = {"weight": "Strength", "lag": "Delay"}.get(parts[2], parts[2])
        return f"{what} of {label(src)} → {label(tgt)}"
    if param.startswith("mechanism."):
        key = param.removeprefix("mechanism.")
        return MECHANISMS.get(key, (OTHER, key.replace("_", " ").capitalize()))[1]
    return param


def edited_rows(edits: Mapping[str, float], theory: Theory) -> list[tuple[str, float, float, str]]:
    """(plain name, theory file's value, edited value, range) of each edit, in the theory's order."""
    order = {k: i for i, k in enumerate(theory.params)}
    rows = []
    for k in sorted(edits, key=lambda k: order.get(k, len(order))):
        p = theory.params[k]
        unit = " months" if k.endswith((".lag", "_months")) else f" {p.unit}" if p.unit else ""
        rows.append((describe(k, theory), theory.v(k), float(edits[k]), f"{p.low:g} to {p.high:g}{unit}"))
    return rows
