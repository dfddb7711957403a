"""Provider and Partnership agents: identity and discrete decisions, thin over arrays.

Domain levels and relational stocks live in the model's arrays (design.md §2); an agent is
a handle holding its row index, so reading ``provider.levels`` or ``partnership.trust``
always shows the current state without per-agent Python updates.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa
import numpy as np

from sim.registry import ENDED, PHASES

if TYPE_CHECKING:
    from sim.model import PartnershipModel


class Provider(mesa.Agent):
    """An NHS trust (one per row of the model's provider arrays)."""

    model: PartnershipModel

    def __init__(self, model: PartnershipModel, index: int) -> None:
        super().__init__(model)
        self.index = index

    @property
    def kind(self) -> str:
        """Kind of trust: acute, mental_health, ambulance…."""
        return self.model.pop.kind_names[self.model.pop.kind[self.index]]

    @property
    def ics(self) -> int:
        """Index of the provider's integrated care system."""
        return int(self.model.pop.ics[self.index])

    @property
    def turnover(self) -> float:
        """Annual turnover, £m."""
        return float(self.model.pop.turnover[self.index])

    @property
    def levels(self) -> dict[str, float]:
        """Current level of every domain."""
        row = self.model.levels[self.index]
        return {d: float(row[j]) for j, d in enumerate(self.model.theory.domain_names)}

    @property
    def in_special_measures(self) -> bool:
        """Whether the provider is in special measures this month."""
        return bool(self.model.in_sm[self.index])


class Partnership(mesa.Agent):
    """A partnership between providers (one per row of the model's ledger)."""

    model: PartnershipModel

    def __init__(self, model: PartnershipModel, pid: int) -> None:
        super().__init__(model)
        self.pid = pid

    @property
    def type(self) -> str:
        """Partnership type name (typology.toml)."""
        return self.model.types.names[self.model.ledger.type[self.pid]]

    @property
    def members(self) -> list[int]:
        """Provider indices of the members."""
        return [int(i) for i in self.model.ledger.members[self.pid]]

    @property
    def phase(self) -> str:
        """approval, transition, operating or ended."""
        return PHASES[self.model.ledger.phase[self.pid]]

    @property
    def active(self) -> bool:
        """Not yet ended."""
        return bool(self.model.ledger.phase[self.pid] != ENDED)

    @property
    def mandated(self) -> bool:
        """Imposed by policy (failure regime or duty) rather than chosen."""
        return bool(self.model.ledger.mandated[self.pid])

    def stocks(self) -> dict[str, float]:
        """Relational stocks now: conflict, trust, confidence, faith, risk threshold, behaviour."""
        ledger = self.model.ledger
        p = self.pid
        return {
            name: float(getattr(ledger, name)[p])
            for name in ("conflict", "trust", "confidence", "faith", "progress", "risk", "behaviour")
        }

    @property
    def trust(self) -> float:
        """Trust between the members."""
        return float(self.model.ledger.trust[self.pid])

    @property
    def confidence(self) -> float:
        """Confidence from contract and mandate."""
        return float(self.model.ledger.confidence[self.pid])

    @property
    def faith(self) -> float:
        """Faith that the joint endeavour is worthwhile."""
        return float(self.model.ledger.faith[self.pid])

    @property
    def behaviour(self) -> float:
        """Collaborative (vs competitive) behaviour."""
        return float(self.model.ledger.behaviour[self.pid])

    def member_levels(self) -> np.ndarray:
        """Members × domains levels now."""
        return self.model.levels[self.model.ledger.members[self.pid]]
