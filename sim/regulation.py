"""Special measures: entry on quality, finance or both, the regime's standard support, exit.

Every trust is regulated whatever the scenario (the failure-regime lever only decides
whether a trust in special measures also receives a mandated partner). A trust enters
special measures after ``sm_entry_months`` below the quality line, the finance line, or
both (NHS Providers 2018: 63% of entries on quality, 15% on finance, 22% on both). While
in special measures it receives the regime's standard support (an improvement director,
financial recovery controls): the anchors of the domains in ``[regulation.support]`` move
toward the sector's typical level (each domain's ``init_mean``) at the declared monthly
rate. It leaves after ``sm_exit_months`` above the line plus ``sm_exit_margin`` on every
count it entered on; afterwards ``support_fade`` of what the support added is lost each month
(the improvement held partly under scrutiny), so some trusts relapse.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sim.theory import Theory

QUALITY, FINANCE = 1, 2  # cause bits
CAUSE_NAMES = {QUALITY: "quality", FINANCE: "finance", QUALITY | FINANCE: "both"}


@dataclass(frozen=True)
class RegulationParams:
    """The special-measures rules in force (``regulation.*``)."""

    entry_quality: float
    entry_efficiency: float
    exit_margin: float
    entry_months: int
    exit_months: int
    support: np.ndarray  # (D,) monthly share of the gap to the standard closed while in special measures
    standard: np.ndarray  # (D,) the level support aims at: each domain's init_mean
    fade: float  # monthly share of the support's gain lost once out of special measures
    quality_col: int
    efficiency_col: int

    @classmethod
    def from_theory(cls, theory: Theory) -> RegulationParams:
        """Read the ``regulation.*`` parameters."""
        names = theory.domain_names
        support = np.zeros(len(names))
        for d in theory.support_domains:
            support[names.index(d)] = theory.v(f"regulation.support.{d}")
        standard = np.array([theory.v(f"domain.{d}.init_mean") for d in names])
        return cls(
            entry_quality=theory.v("regulation.sm_entry_quality"),
            entry_efficiency=theory.v("regulation.sm_entry_efficiency"),
            exit_margin=theory.v("regulation.sm_exit_margin"),
            entry_months=int(theory.v("regulation.sm_entry_months")),
            exit_months=int(theory.v("regulation.sm_exit_months")),
            support=support,
            standard=standard,
            fade=theory.v("regulation.support_fade"),
            quality_col=theory.role_index("quality"),
            efficiency_col=theory.role_index("efficiency"),
        )


def failing(levels: np.ndarray, rules: RegulationParams) -> np.ndarray:
    """Cause bits of the counts on which each provider is below the line now."""
    q = levels[:, rules.quality_col] < rules.entry_quality
    e = levels[:, rules.efficiency_col] < rules.entry_efficiency
    return q * QUALITY + e * FINANCE


@dataclass
class SpecialMeasures:
    """Special-measures status of every provider and the spells so far.

    Attributes:
        active: in special measures now.
        cause: cause bits (quality 1, finance 2) of the counts the provider is in for.
        since: month entered (-1 when not in).
        spells: completed spells (provider, entered, left, cause bits).
        entries: every entry (provider, month, cause bits).
    """

    rules: RegulationParams
    active: np.ndarray
    cause: np.ndarray
    since: np.ndarray
    below_q: np.ndarray
    below_e: np.ndarray
    above: np.ndarray
    spells: list[tuple[int, int, int, int]] = field(default_factory=list)
    entries: list[tuple[int, int, int]] = field(default_factory=list)

    @classmethod
    def at_start(cls, levels: np.ndarray, rules: RegulationParams) -> SpecialMeasures:
        """Status at month 0: every provider below a line is in special measures."""
        cause = failing(levels, rules).astype(np.int64)
        active = cause > 0
        months = rules.entry_months
        return cls(
            rules=rules,
            active=active,
            cause=cause,
            since=np.where(active, 0, -1),
            below_q=(((cause & QUALITY) > 0) * months).astype(np.int64),
            below_e=(((cause & FINANCE) > 0) * months).astype(np.int64),
            above=np.zeros(len(cause), dtype=np.int64),
        )

    def update(self, levels: np.ndarray, month: int) -> tuple[int, int]:
        """One month of entries and exits from last month's levels, in place; returns (entered, left).

        (An ensemble runs the same rules for all its runs at once: ``sim.kernels.regulate``.)
        """
        r = self.rules
        q = levels[:, r.quality_col]
        e = levels[:, r.efficiency_col]
        self.below_q[...] = np.where(q < r.entry_quality, self.below_q + 1, 0)
        self.below_e[...] = np.where(e < r.entry_efficiency, self.below_e + 1, 0)
        due = (self.below_q >= r.entry_months) * QUALITY + (self.below_e >= r.entry_months) * FINANCE
        self.cause[...] = np.where(self.active, self.cause | due, self.cause)  # a second count while in
        recovered = (((self.cause & QUALITY) == 0) | (q >= r.entry_quality + r.exit_margin)) & (
            ((self.cause & FINANCE) == 0) | (e >= r.entry_efficiency + r.exit_margin)
        )
        self.above[...] = np.where(self.active & recovered, self.above + 1, 0)
        enter = ~self.active & (due > 0)
        leave = self.active & (self.above >= r.exit_months)
        for i in np.flatnonzero(leave):
            self.spells.append((int(i), int(self.since[i]), month, int(self.cause[i])))
        for i in np.flatnonzero(enter):
            self.entries.append((int(i), month, int(due[i])))
        self.cause[...] = np.where(enter, due, np.where(leave, 0, self.cause))
        self.active[...] = (self.active | enter) & ~leave
        self.since[...] = np.where(enter, month, np.where(leave, -1, self.since))
        self.above[...] = np.where(leave, 0, self.above)
        return int(enter.sum()), int(leave.sum())


def standard_support(anchor: np.ndarray, shift: np.ndarray, active: np.ndarray, rules: RegulationParams) -> None:
    """Move the anchors of trusts in special measures toward the standard, in place.

    Out of special measures, ``fade`` of what the support added is lost each month (the
    improvement held only under scrutiny; relapse occurs). ``shift`` accumulates the support's
    share of the anchors' change (so analyses can tell it from the partnerships' share).
    """
    rows = np.flatnonzero(active)
    if len(rows) and rules.support.any():
        delta = rules.support * np.maximum(rules.standard - anchor[rows], 0.0)
        anchor[rows] += delta
        shift[rows] += delta
    if rules.fade:
        out = np.flatnonzero(~active & shift.any(axis=1))
        if len(out):
            lost = rules.fade * shift[out]
            anchor[out] -= lost
            shift[out] -= lost
