"""Partnership types (docs/evidence.md#working-typology): integration, organisational change, contract strength.

Each type is data in ``scenarios/theory/typology.toml``. Numeric fields are either a plain
number (fixed) or a ``{default, low, high, source}`` table (uncertain, swept by the
sensitivity tooling as ``type.<name>.<field>``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sim.bounds import TYPOLOGY_BOUNDS, param_bound
from sim.errors import ConfigError
from sim.params import Param, check_in_bound, finite_number, parse_param
from sim.toml_io import reject_unknown, require

CATEGORIES = ("collaboration", "contractual", "consolidation")
TARGET_MODES = ("lead", "best", "size_weighted")
NUMERIC_FIELDS = ("integration", "org_change", "contract_strength", "approval_months", "transition_months")
TYPE_FIELDS = {
    "label",
    "definition",
    "category",
    "examples",
    "source",
    "led",
    "target",
    "reversible",
    "exclusive",
    "max_per_provider",
    "members",
    "needs_approval",
    "shares_back_office",
    "ends_on_recovery",
    "effects",
    *NUMERIC_FIELDS,
}


@dataclass(frozen=True)
class PartnershipType:
    """Discrete (non-swept) properties of one partnership type."""

    name: str
    label: str
    definition: str
    category: str
    led: bool
    target: str
    reversible: bool
    exclusive: bool
    max_per_provider: int
    members: tuple[int, int]
    needs_approval: bool
    shares_back_office: bool
    ends_on_recovery: bool
    effect_domains: tuple[str, ...]
    examples: str
    source: str


def parse_types(raw: Any, domains: list[str], *, file: str) -> tuple[list[PartnershipType], dict[str, Param]]:
    """Parse the ``[types.*]`` tables; return the types and their declared parameters."""
    if not isinstance(raw, dict) or not raw:
        raise ConfigError("missing or empty [types] table", file=file, key="types")
    types: list[PartnershipType] = []
    params: dict[str, Param] = {}
    for name, t in raw.items():
        prefix = f"types.{name}"
        if not isinstance(t, dict):
            raise ConfigError("expected a table", file=file, key=prefix, value=t)
        reject_unknown(t, TYPE_FIELDS, file=file, prefix=prefix)
        source = str(require(t, "source", str, file=file, prefix=prefix))
        for field in NUMERIC_FIELDS:
            p = _param_or_number(f"type.{name}.{field}", t, field, source, file=file, prefix=prefix)
            params[p.name] = p
        effects = require(t, "effects", dict, file=file, prefix=prefix)
        for dom in effects:
            if dom not in domains:
                raise ConfigError(
                    "unknown domain", file=file, key=f"{prefix}.effects.{dom}", value=dom, choices=domains
                )
            p = _param_or_number(
                f"type.{name}.effect.{dom}", effects, dom, source, file=file, prefix=f"{prefix}.effects"
            )
            params[p.name] = p
        category = require(t, "category", str, file=file, prefix=prefix)
        if category not in CATEGORIES:
            raise ConfigError(
                "unknown category", file=file, key=f"{prefix}.category", value=category, choices=CATEGORIES
            )
        target = require(t, "target", str, file=file, prefix=prefix)
        if target not in TARGET_MODES:
            raise ConfigError(
                "unknown target mode", file=file, key=f"{prefix}.target", value=target, choices=TARGET_MODES
            )
        members = require(t, "members", list, file=file, prefix=prefix)
        if (
            len(members) != 2
            or not all(isinstance(m, int) and not isinstance(m, bool) for m in members)
            or members[0] < 2
            or members[1] < members[0]
        ):
            raise ConfigError(
                "expected [min, max] whole numbers with 2 <= min <= max",
                file=file,
                key=f"{prefix}.members",
                value=members,
            )
        check_in_bound(members[1], TYPOLOGY_BOUNDS["members"], file=file, key=f"{prefix}.members")
        led = require(t, "led", bool, file=file, prefix=prefix)
        if led and target != "lead":
            raise ConfigError(
                'a led type must use target = "lead"', file=file, key=f"{prefix}.target", value=target, choices=["lead"]
            )
        max_per = require(t, "max_per_provider", int, file=file, prefix=prefix)
        check_in_bound(max_per, TYPOLOGY_BOUNDS["max_per_provider"], file=file, key=f"{prefix}.max_per_provider")
        types.append(
            PartnershipType(
                name=name,
                label=str(require(t, "label", str, file=file, prefix=prefix)),
                definition=str(require(t, "definition", str, file=file, prefix=prefix)),
                category=category,
                led=led,
                target=target,
                reversible=require(t, "reversible", bool, file=file, prefix=prefix),
                exclusive=require(t, "exclusive", bool, file=file, prefix=prefix),
                max_per_provider=max_per,
                members=(members[0], members[1]),
                needs_approval=require(t, "needs_approval", bool, file=file, prefix=prefix),
                shares_back_office=require(t, "shares_back_office", bool, file=file, prefix=prefix),
                ends_on_recovery=bool(t.get("ends_on_recovery", False)),
                effect_domains=tuple(effects),
                examples=str(t.get("examples", "")),
                source=source,
            )
        )
    return types, params


def _param_or_number(name: str, table: dict[str, Any], field: str, source: str, *, file: str, prefix: str) -> Param:
    key = f"{prefix}.{field}"
    if field not in table:
        raise ConfigError("missing field", file=file, key=key)
    raw = table[field]
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        value = finite_number(raw, file, key)
        check_in_bound(value, param_bound(name), file=file, key=key)
        return Param(name=name, default=value, low=value, high=value, source=source)
    return parse_param(name, raw, file=file, key=key)
