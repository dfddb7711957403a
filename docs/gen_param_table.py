"""Generate the parameter, metric and log-column tables (and the step order) of docs/ODD.md from the model.

The TOML files (scenarios/theory/irt.toml, scenarios/theory/typology.toml) are the source of
truth; this script only renders what ``sim.load_theory`` reads from them, what
``sim.outcomes.metric_catalogue`` reports, what ``sim.api.LOG_COLUMNS`` lists and the numbered
step order of the docstring of ``sim.ensemble.Ensemble.step`` (which ``PartnershipModel.step`` runs).

Parameters are grouped by section of the theory file, each one under the longest matching
prefix of ``GROUPS`` (so ``regulation.support.*``, ``partnering.disruption.*``,
``partnering.scale.*``, ``partnering.lead_cost.*`` and ``start.*`` get tables of their own).
The per-type effects (``type.<type>.effect.<domain>``) are rendered as one type × domain
matrix of default (low–high), with their sources listed once. A parameter with no meaning
written here shows '—': add it to ``MEANINGS`` or ``PATTERN_MEANINGS``.

Usage::

    .venv/bin/python docs/gen_param_table.py                 # print all tables (Markdown)
    .venv/bin/python docs/gen_param_table.py --write docs/ODD.md   # replace the generated blocks
    .venv/bin/python docs/gen_param_table.py --theory my_theory.toml --write docs/ODD.md

With ``--write`` the text between ``<!-- BEGIN GENERATED: <block> -->`` and
``<!-- END GENERATED: <block> -->`` (blocks: steps, params, metrics, logcols) is replaced; the rest
of the file is left alone.
"""

from __future__ import annotations

import argparse
import datetime as dt
import inspect
import re
import sys
from collections.abc import Callable
from pathlib import Path

from sim import load_theory
from sim.api import LOG_COLUMNS
from sim.ensemble import Ensemble
from sim.outcomes import metric_catalogue
from sim.params import Param
from sim.theory import Theory

# Meanings of the fixed-name parameters (written from the code that reads them; see docs/ODD.md §7).
MEANINGS: dict[str, str] = {
    "population.common_loading": "share of each standardised starting level carried by a provider-wide common "
                                 "factor (correlation between two domains' starting levels, before offsets)",
    "population.ics_sd": "s.d. of the ICS-level offset added to every domain's starting level (one draw per ICS "
                         "and domain)",
    "band.outstanding_quality": "quality at or above which a trust counts as rated outstanding (CQC bands of the "
    "comparison tables and report only; the model's dynamics do not use it)",
    "band.inadequate_quality": "quality below which a trust counts as rated inadequate (CQC bands of the "
    "comparison tables and report only; the model's dynamics do not use it)",
    "band.good_quality": "quality at or above which a trust counts as rated good or outstanding; also the "
                         "default least quality of a failure-regime partner",
    "band.deficit_efficiency": "efficiency below which a trust is in deficit (0.5 = break-even)",
    "band.surplus_pct_per_unit": "surplus in % of turnover per unit of efficiency above break-even",
    "regulation.sm_entry_quality": "the quality line: quality below it counts toward entry to special measures",
    "regulation.sm_entry_efficiency": "the finance line: efficiency below it counts toward entry to special "
                                      "measures",
    "regulation.sm_exit_margin": "margin above each line entered on that a trust must reach to count toward exit "
                                 "(hysteresis)",
    "regulation.sm_entry_months": "consecutive months below a line before entry on that count",
    "regulation.sm_exit_months": "consecutive months recovered on every count entered on before exit",
    "regulation.support_fade": "share of what the standard support added to a trust's anchors that is lost per "
                               "month once it has left special measures",
    "mechanism.conflict_rate": "share of the gap to the conflict target closed per month",
    "mechanism.conflict_base": "background conflict between sovereign organisations",
    "mechanism.conflict_w_gap": "conflict per unit of cultural gap (twice members' mean distance from their mean "
                                "culture)",
    "mechanism.conflict_w_asymmetry": "conflict per unit of size asymmetry (1 − min/max turnover)",
    "mechanism.conflict_w_mandate": "conflict added when the partnership is mandated",
    "mechanism.conflict_w_slow": "conflict per unit of shortfall in perceived progress (1 − progress)",
    "mechanism.conflict_w_change": "conflict per unit of the type's organisational change",
    "mechanism.conflict_w_accountability": "conflict removed per unit of members' mean governance "
                                           "(accountability role)",
    "mechanism.trust_init": "starting trust with no shared history, no legal agreement and different ICSs",
    "mechanism.trust_w_prior": "starting trust per unit of remembered pairwise trust above trust_init",
    "mechanism.trust_w_legal": "starting trust per unit of the type's contract strength (legal agreements)",
    "mechanism.trust_w_same_ics": "starting trust added when all members share an ICS",
    "mechanism.trust_build": "monthly trust build rate (× (1 − trust) × progress × (1 − conflict) × leadership "
                             "factor)",
    "mechanism.trust_erosion": "monthly trust erosion rate (× conflict × trust)",
    "mechanism.trust_w_leadership": "relative rise of the trust build rate per unit of members' mean leadership "
                                    "above the leadership domain's init_mean",
    "mechanism.dissolution_trust_penalty": "share of trust lost from the pairwise memory when a partnership "
                                           "dissolves under inertia",
    "mechanism.confidence_init": "starting confidence of every partnership",
    "mechanism.confidence_rate": "share of the gap to the confidence target closed per month",
    "mechanism.confidence_w_mandate": "added to contract strength in the confidence target when mandated "
                                      "(regulator's backing)",
    "mechanism.confidence_ceiling": "factor on the confidence target, so confidence stays below 1",
    "mechanism.faith_init": "starting faith of a voluntary partnership",
    "mechanism.faith_w_mandate": "starting faith removed when mandated",
    "mechanism.faith_rate": "share of the gap to the faith target closed per month",
    "mechanism.faith_w_instability": "share of the faith target lost at full workforce instability",
    "mechanism.faith_w_absence": "share of the faith target lost at full absence of members",
    "mechanism.faith_w_leadership": "faith target added per unit of members' mean leadership above the "
                                    "leadership domain's init_mean",
    "mechanism.instability_scale": "fall in a member's workforce level since joining that counts as full "
                                   "instability",
    "mechanism.absence_per_commitment": "absence of a member per other active partnership it is in",
    "mechanism.progress_rate": "share of the gap to the progress signal closed per month (smoothing)",
    "mechanism.progress_scale": "improvement since joining that raises the progress signal by 1",
    "mechanism.progress_neutral": "progress signal with no improvement, no ambition and no conflict; starting "
                                  "perceived progress",
    "mechanism.progress_w_ambition": "progress signal added per unit of ambition",
    "mechanism.progress_w_conflict": "progress signal removed per unit of (last month's) conflict",
    "mechanism.ambition_w_integration": "ambition per unit of the type's integration",
    "mechanism.ambition_w_trust": "ambition per unit of starting trust above trust_init",
    "mechanism.risk_w_trust": "weight of trust (vs confidence) in the risk threshold",
    "mechanism.behaviour_w_risk": "weight of risk threshold (vs faith) in collaborative behaviour",
    "mechanism.inertia_threshold": "behaviour below which a partnership is in collaborative inertia",
    "mechanism.inertia_months": "consecutive months in inertia after which a voluntary reversible partnership "
                                "dissolves",
    "partnering.convergence_rate": "share of the gap to the partnership's target closed per month at effect, "
                                   "integration, behaviour and realisation of 1",
    "partnering.synergy": "offset to the target of each domain a type acts on, per unit of effect × behaviour × "
                          "realisation, while the partnership is live",
    "partnering.best_practice_share": "for 'best' types: how far from the members' mean toward the best "
                                      "member the convergence target lies",
    "partnering.disruption_w_conflict": "relative growth of the transition dip per unit of conflict",
    "partnering.disruption_persistence": "once operating, share of the dip that remains per unit of conflict",
    "partnering.savings_lag": "time constant (months) of the savings ramp 1 − exp(−t/lag) from completion",
    "partnering.realisation_mean": "mean of each partnership's realisation draw (Beta)",
    "partnering.realisation_sd": "s.d. of each partnership's realisation draw (Beta)",
    "formation.base_hazard": "monthly probability that a provider under no pressure starts a voluntary "
                             "partnership (× lever hazard_scale)",
    "formation.pressure_sensitivity": "relative rise of the hazard per unit of pressure",
    "formation.pressure_scale": "shortfall (quality below good + efficiency below break-even) that is one "
                                "unit of pressure",
    "formation.w_same_ics": "partner-score weight: candidate in the same ICS",
    "formation.w_culture": "partner-score weight: cultural similarity (1 − |culture gap|)",
    "formation.w_prior_trust": "partner-score weight: remembered pairwise trust above trust_init",
    "formation.w_size": "partner-score weight: size similarity (−|log turnover ratio|)",
    "formation.w_quality": "partner-score weight: candidate's quality (capability)",
    "formation.choice_noise": "scale of the Gumbel noise in the partner score (idiosyncratic fit)",
    "formation.out_of_ics_candidates": "size of the random sample of providers searched beyond the ICS",
    "start.group_share": "share of trusts seeded in two-trust groups at the start (rounded down to an even "
                         "number of trusts)",
    "start.group_age_max": "a seeded group's age (months since completion) is uniform on 0 … this",
    "start.collaborative_age_max": "a seeded collaborative's age (months since completion) is uniform on 0 … this",
    "start.history_share": "share of trusts that remember a past partnership with one other trust of their ICS",
    "start.history_trust_sd": "s.d. of the remembered trust around trust_init (clipped to [0, 1])",
}

PATTERN_MEANINGS: list[tuple[str, Callable[[re.Match[str]], str]]] = [
    (r"domain\.(\w+)\.init_mean", lambda m: f"mean starting level of {m[1]} (before kind and ICS offsets)"),
    (r"domain\.(\w+)\.init_sd", lambda m: f"s.d. of the starting level of {m[1]} across providers"),
    (r"domain\.(\w+)\.rate", lambda m: f"share of the gap to {m[1]}'s target closed per month"),
    (r"domain\.(\w+)\.noise", lambda m: f"monthly s.d. of idiosyncratic shocks to {m[1]}"),
    (r"edge\.(\w+)->(\w+)\.weight", lambda m: f"change in {m[2]}'s target per unit change of {m[1]} "
                                              "(deviation from its start)"),
    (r"edge\.(\w+)->(\w+)\.lag", lambda m: f"time constant (months) of the delay from {m[1]} to {m[2]}"),
    (r"regulation\.support\.(\w+)", lambda m: f"share of the gap between {m[1]}'s anchor and its init_mean "
                                              "closed per month while in special measures"),
    (r"partnering\.disruption\.(\w+)", lambda m: f"dip in {m[1]}'s target during transition, per unit of "
                                                 "organisational change (× (1 + disruption_w_conflict × "
                                                 "conflict))"),
    (r"partnering\.scale\.(\w+)", lambda m: f"eventual gain in {m[1]}'s target per unit of integration × "
                                            "behaviour × realisation, for types sharing back office (ramps from "
                                            "completion)"),
    (r"partnering\.lead_cost\.(\w+)", lambda m: f"fall in {m[1]}'s target of the lead of a live mandated "
                                                "support of a reversible type"),
    (r"type\.(\w+)\.integration", lambda m: "degree of integration (scales convergence, scale savings, ambition)"),
    (r"type\.(\w+)\.org_change", lambda m: "degree of organisational change (transition dip, conflict)"),
    (r"type\.(\w+)\.contract_strength", lambda m: "contract strength (→ confidence target, starting trust)"),
    (r"type\.(\w+)\.approval_months", lambda m: "months in approval (lever approval.months overrides it for "
                                                "types needing approval)"),
    (r"type\.(\w+)\.transition_months", lambda m: "months in transition"),
    (r"type\.(\w+)\.effect\.(\w+)", lambda m: f"strength of the type's action on {m[2]}"),
]

GROUPS = [  # (heading, parameter-name prefix); each parameter goes to the group with the longest matching prefix
    ("Domains", "domain."),
    ("Edges of the causal web", "edge."),
    ("Population", "population."),
    ("Bands", "band."),
    ("Regulation (`[regulation]`)", "regulation."),
    ("Regulation: standard support (`[regulation.support]`)", "regulation.support."),
    ("Mechanisms (`[mechanisms]`)", "mechanism."),
    ("Partnering (`[partnering]`)", "partnering."),
    ("Partnering: transition disruption (`[partnering.disruption]`)", "partnering.disruption."),
    ("Partnering: back-office savings (`[partnering.scale]`)", "partnering.scale."),
    ("Partnering: the lead's capacity cost (`[partnering.lead_cost]`)", "partnering.lead_cost."),
    ("Formation (`[formation]`)", "formation."),
    ("Starting partnerships, July 2022 (`[start_2022]`, names `start.*`)", "start."),
    ("Types (numeric fields)", "type."),
]
EFFECT = re.compile(r"type\.(\w+)\.effect\.(\w+)")   # per-type effects: shown as a matrix, not as rows

LOG_MEANINGS: dict[str, str] = {
    "partnership_id": "row of the ledger (order of formation)",
    "type": "partnership type (typology.toml)",
    "mandated": "imposed by the failure regime or the collaborative duty",
    "start_month": "month formed (0 for the partnerships seeded at the start)",
    "completion_month": "month the transaction completed: approval ended, or the formation month without "
                        "approval; minus the age (0 or less) for partnerships seeded at the start; −1 while still "
                        "in approval (so −1 can also be a seeded partnership of age 1)",
    "end_month": "month ended, or the current month for partnerships still active",
    "ended": "has ended",
    "dissolved": "ended under collaborative inertia",
    "end_reason": "inertia, recovered (mandated support whose client left special measures) or ongoing",
    "final_phase": "approval, transition, operating or ended",
    "n_members": "number of members (collaboratives grow as members join)",
    "members": "provider indices, space-separated",
    "lead": "lead member (highest quality at formation; target of led types)",
    "same_ics": "all founding members in one ICS",
    "culture_gap": "twice founding members' mean distance from their mean culture, at formation",
    "asymmetry": "1 − min/max of founding members' turnover",
    "prior_trust": "mean remembered pairwise trust above trust_init at formation (0 = no history)",
    "initial_trust": "starting trust",
    "ambition": "ambition (fixed at formation)",
    "realisation": "the partnership's realisation draw",
    "mean_trust": "mean monthly trust over the partnership's life",
    "min_trust": "lowest trust (including the starting value)",
    "mean_confidence": "mean monthly confidence",
    "mean_faith": "mean monthly faith",
    "mean_behaviour": "mean monthly collaborative behaviour",
    "mean_conflict": "mean monthly conflict",
    "months_in_inertia": "months with behaviour below the inertia threshold (not necessarily consecutive)",
    "final_trust": "trust at end (or now)",
    "final_confidence": "confidence at end (or now)",
    "final_faith": "faith at end (or now)",
    "final_behaviour": "behaviour at end (or now)",
    "final_conflict": "conflict at end (or now)",
}
for _role in ("quality", "efficiency", "access"):
    LOG_MEANINGS[f"start_{_role}"] = f"members' mean {_role} when they joined"
    LOG_MEANINGS[f"delta_{_role}"] = f"members' mean change in {_role} since joining, at end (or now)"


def meaning(name: str) -> str:
    """Plain-language meaning of parameter ``name`` ('—' when none is written here)."""
    if name in MEANINGS:
        return MEANINGS[name]
    for pattern, text in PATTERN_MEANINGS:
        m = re.fullmatch(pattern, name)
        if m:
            return text(m)
    return "—"


def cell(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def fmt(x: float, integer: bool = False) -> str:
    """A number without trailing noise."""
    return f"{int(round(x))}" if integer or float(x).is_integer() else f"{x:g}"


def param_row(p: Param) -> str:
    """One Markdown row: name | meaning | default | range | source."""
    default = fmt(p.default, p.integer) + (f" {p.unit}" if p.unit else "")
    if p.uncertain:
        rng = f"{fmt(p.low, p.integer)} – {fmt(p.high, p.integer)}"
        if p.dist != "uniform":
            rng += f" ({p.dist})"
    else:
        rng = "fixed"
    return f"| `{p.name}` | {cell(meaning(p.name))} | {default} | {rng} | {cell(p.source)} |"


def group_of(name: str) -> str | None:
    """Prefix of the group ``name`` belongs to: the longest matching prefix (None if none matches)."""
    matches = [prefix for _, prefix in GROUPS if name.startswith(prefix)]
    return max(matches, key=len) if matches else None


def param_range(p: Param) -> str:
    """``default (low–high)``, or the default alone when fixed."""
    if not p.uncertain:
        return fmt(p.default, p.integer)
    return f"{fmt(p.default, p.integer)} ({fmt(p.low, p.integer)}–{fmt(p.high, p.integer)})"


def effects_block(theory: Theory) -> list[str]:
    """The per-type effects on structural domains as one matrix, with their sources listed once."""
    names = [n for n in theory.params if EFFECT.fullmatch(n)]
    if not names:
        return []
    domains = [d for d in theory.domain_names if any(EFFECT.fullmatch(n)[2] == d for n in names)]
    out = ["", f"#### Types: effects on structural domains ({len(names)})", "",
           "Parameter `type.<type>.effect.<domain>`: strength of the type's action on the domain (scales "
           "convergence and synergy, §7.2). Each cell: default (low–high); '—' where the type does not act on "
           "the domain.", "",
           "| Type | " + " | ".join(domains) + " |", "|---|" + "---|" * len(domains)]
    for t in theory.types:
        cells = []
        for d in domains:
            p = theory.params.get(f"type.{t.name}.effect.{d}")
            cells.append(param_range(p) if p is not None else "—")
        out.append(f"| `{t.name}` | " + " | ".join(cells) + " |")
    sources: dict[str, list[str]] = {}
    for n in names:
        sources.setdefault(theory.params[n].source, []).append(n)
    out += ["", "Sources:" if len(sources) > 1 else "Source (every effect):", ""]
    for src, which in sources.items():
        tail = "" if len(sources) == 1 else f" ({len(which)} effects)"
        out.append(f"- {src}{tail}")
    return out


def params_block(theory: Theory, today: str) -> str:
    """All parameter tables, grouped by section, plus the per-type effects and discrete type properties."""
    n_unc = len(theory.uncertain_params())
    out = [
        f"*Generated on {today} by `docs/gen_param_table.py` from `{Path(theory.path).name}` and "
        f"`{Path(theory.typology_path).name}` (theory digest `{theory.digest()}`): {len(theory.params)} "
        f"parameters, {n_unc} with a range (swept by the sensitivity tooling), the rest fixed. "
        "The TOML files are the source of truth; if this table and the files disagree, the files win — "
        "regenerate with `.venv/bin/python docs/gen_param_table.py --write docs/ODD.md`.*",
        "",
        "Ranges are uniform unless marked; 'fixed' means low = high (documented, not swept). Sources cite "
        "`docs/evidence.md` by key (`evidence.md#KEY`).",
    ]
    by_group: dict[str | None, list[str]] = {}
    for n in theory.params:
        if not EFFECT.fullmatch(n):
            by_group.setdefault(group_of(n), []).append(n)
    for heading, prefix in GROUPS:
        names = by_group.get(prefix, [])
        if not names:
            continue
        out += ["", f"#### {heading} ({len(names)})", ""]
        if prefix == "start.":
            out += [f"The type seeded as groups is `start_2022.group_type` = \"{theory.start_group_type}\" "
                    "(a name, not swept). Provider collaboratives are always seeded for the collaborative "
                    "duty's kinds and type (§7.5.1).", ""]
        out += ["| Parameter | Meaning | Default | Range | Source |", "|---|---|---|---|---|"]
        out += [param_row(theory.params[n]) for n in names]
    rest = by_group.get(None, [])
    if rest:
        out += ["", f"#### Other ({len(rest)})", "",
                "| Parameter | Meaning | Default | Range | Source |", "|---|---|---|---|---|"]
        out += [param_row(theory.params[n]) for n in rest]
    out += effects_block(theory)
    out += ["", "#### Types (discrete properties, not swept)", "",
            "| Type | Label | Category | Led | Target | Reversible | Exclusive | Max per provider | Members "
            "(voluntary) | Needs approval | Shares back office | Ends on recovery | Acts on |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    yn = {True: "yes", False: "no"}
    for t in theory.types:
        out.append(
            f"| `{t.name}` | {cell(t.label)} | {t.category} | {yn[t.led]} | {t.target} | {yn[t.reversible]} | "
            f"{yn[t.exclusive]} | {t.max_per_provider} | {t.members[0]}–{t.members[1]} | {yn[t.needs_approval]} | "
            f"{yn[t.shares_back_office]} | {yn[t.ends_on_recovery]} | {', '.join(t.effect_domains)} |")
    return "\n".join(out)


def metrics_block(theory: Theory) -> str:
    """The metric catalogue as a Markdown table."""
    out = ["| Metric | Unit | Meaning |", "|---|---|---|"]
    out += [f"| `{m.name}` | {m.unit} | {cell(m.description)} |" for m in metric_catalogue(theory)]
    return "\n".join(out)


def logcols_block() -> str:
    """The partnership-log columns as a Markdown table."""
    out = ["| Column | Meaning |", "|---|---|"]
    out += [f"| `{c}` | {cell(LOG_MEANINGS.get(c, '—'))} |" for c in LOG_COLUMNS]
    return "\n".join(out)


def steps_block() -> str:
    """The numbered step order, verbatim from the docstring of ``Ensemble.step`` (the model's step runs it)."""
    doc = inspect.getdoc(Ensemble.step) or ""
    body = doc.split("\n\n", 1)[1] if "\n\n" in doc else doc
    return "```text\n" + body.strip() + "\n```"


def blocks(theory: Theory, today: str) -> dict[str, str]:
    """Every generated block by name."""
    return {"steps": steps_block(), "params": params_block(theory, today), "metrics": metrics_block(theory),
            "logcols": logcols_block()}


def splice(text: str, name: str, body: str) -> str:
    """Replace the body of the generated block ``name`` in ``text``."""
    begin, end = f"<!-- BEGIN GENERATED: {name} -->", f"<!-- END GENERATED: {name} -->"
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.S)
    if not pattern.search(text):
        raise SystemExit(f"marker {begin!r} … {end!r} not found")
    return pattern.sub(lambda _m: f"{begin}\n{body}\n{end}", text)


def main(argv: list[str] | None = None) -> int:
    """Print the tables, or write them into a Markdown file between markers."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--theory", default=None, help="theory file (default: scenarios/theory/irt.toml)")
    ap.add_argument("--write", type=Path, default=None, help="Markdown file whose generated blocks to replace")
    args = ap.parse_args(argv)
    theory = load_theory(args.theory)
    today = dt.date.today().isoformat()
    generated = blocks(theory, today)
    if args.write is None:
        for name, body in generated.items():
            print(f"<!-- {name} -->\n{body}\n")
        return 0
    text = args.write.read_text(encoding="utf-8")
    for name, body in generated.items():
        text = splice(text, name, body)
    args.write.write_text(text, encoding="utf-8")
    print(f"updated {args.write}: {', '.join(generated)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
