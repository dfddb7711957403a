"""Policy levers (choices) and uncertainties (assumptions nobody controls).

Levers are what a scenario changes on purpose; all are off by default, so a scenario that
sets none is the baseline. Uncertainties are external pressures and theory overrides.
Both are plain frozen dataclasses; ``from_flat`` accepts the flat keyword form that
``mesa.batch_run`` passes (``failure_regime_intervention="merger"``…).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sim.errors import ConfigError

ACUTE_AND_MH_KINDS = ("acute", "acute_community", "specialist", "mental_health", "mh_community")


@dataclass(frozen=True)
class FailureRegime:
    """Providers in special measures receive a mandated partnership with a capable partner.

    Attributes:
        enabled: whether the regime intervenes at all (special-measures status is always tracked).
        intervention: partnership type imposed (buddying, management_contract, group, acquisition, merger…).
        partner_min_quality: least quality a partner must have; None = the 'good' band threshold.
        partner_capacity: most mandated partnerships one partner may lead at once.
        same_ics_first: look for a partner in the failing trust's ICS before looking further.
    """

    enabled: bool = False
    intervention: str = "buddying"
    partner_min_quality: float | None = None
    partner_capacity: int = 1
    same_ics_first: bool = True


@dataclass(frozen=True)
class CollaborativeDuty:
    """From ``start_month``, trusts of ``kinds`` must be in a horizontal collaborative in their ICS."""

    enabled: bool = False
    start_month: int = 0
    kinds: tuple[str, ...] = ACUTE_AND_MH_KINDS
    type: str = "network"


@dataclass(frozen=True)
class Voluntary:
    """Voluntary partnering under pressure; ``type_mix`` weights the types chosen."""

    enabled: bool = False
    type_mix: dict[str, float] = field(default_factory=lambda: {"network": 1.0})
    hazard_scale: float = 1.0


@dataclass(frozen=True)
class Approval:
    """Approval time (months) for types that need approval; None keeps the typology's durations."""

    months: float | None = None


@dataclass(frozen=True)
class SupportFund:
    """Share of transaction costs (the transition dip in efficiency) met by a central fund."""

    share: float = 0.0


@dataclass(frozen=True)
class Levers:
    """All policy levers of a scenario."""

    failure_regime: FailureRegime = field(default_factory=FailureRegime)
    collaborative_duty: CollaborativeDuty = field(default_factory=CollaborativeDuty)
    voluntary: Voluntary = field(default_factory=Voluntary)
    approval: Approval = field(default_factory=Approval)
    support_fund: SupportFund = field(default_factory=SupportFund)

    def check_type_names(self, names: Sequence[str], *, file: str, prefix: str = "") -> None:
        """Raise a :class:`ConfigError` naming the first lever that names a partnership type not in ``names``.

        ``prefix`` goes before each lever's key in the message (``"levers."`` in a scenario file).
        """
        checks = [
            ("failure_regime.intervention", self.failure_regime.intervention),
            ("collaborative_duty.type", self.collaborative_duty.type),
        ]
        checks += [(f"voluntary.type_mix.{k}", k) for k in self.voluntary.type_mix]
        for key, name in checks:
            if name not in names:
                raise ConfigError("unknown partnership type", file=file, key=prefix + key, value=name, choices=names)


@dataclass(frozen=True)
class Shock:
    """An external pressure on the domain playing ``role``.

    ``size`` (level units, positive = worse) is reached linearly over ``ramp_months`` from
    ``start_month`` and then held.
    """

    role: str
    size: float = 0.0
    start_month: int = 0
    ramp_months: int = 12

    def at(self, month: int) -> float:
        """Size of the pressure in force at ``month``."""
        if self.size == 0.0 or month < self.start_month:
            return 0.0
        ramp = max(self.ramp_months, 1)
        return self.size * min(1.0, (month - self.start_month + 1) / ramp)


@dataclass(frozen=True)
class Uncertainties:
    """Assumptions nobody controls: external shocks and theory parameter overrides."""

    workforce_shock: Shock = field(default_factory=lambda: Shock(role="workforce"))
    financial_squeeze: Shock = field(default_factory=lambda: Shock(role="efficiency"))
    effect_overrides: dict[str, float] = field(default_factory=dict)

    @property
    def shocks(self) -> tuple[Shock, ...]:
        """The external shocks."""
        return (self.workforce_shock, self.financial_squeeze)


def flat_names(cls: type) -> dict[str, tuple[str, str]]:
    """Map flat keyword names (``section_field``) to (section, field) for Levers or Uncertainties."""
    names = {}
    for sec in dataclasses.fields(cls):
        sub = sec.default_factory() if sec.default_factory is not dataclasses.MISSING else None
        if dataclasses.is_dataclass(sub):
            for f in dataclasses.fields(sub):
                if f.name != "role":
                    names[f"{sec.name}_{f.name}"] = (sec.name, f.name)
        else:
            names[sec.name] = (sec.name, "")
    return names


def from_flat(cls: type, base: Any, flat: dict[str, Any], *, origin: str = "keyword arguments") -> Any:
    """Return ``base`` (a Levers or Uncertainties) with flat keyword overrides applied."""
    names = flat_names(cls)
    updates: dict[str, dict[str, Any]] = {}
    for key, value in flat.items():
        if key not in names:
            raise ConfigError("unknown parameter", file=origin, key=key, value=key, choices=names)
        sec, fld = names[key]
        updates.setdefault(sec, {})[fld] = value
    out = base
    for sec, fields in updates.items():
        if "" in fields:
            out = dataclasses.replace(out, **{sec: fields[""]})
        else:
            out = dataclasses.replace(out, **{sec: dataclasses.replace(getattr(out, sec), **fields)})
    return out
