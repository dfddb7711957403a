"""PartnershipModel: a run as a Mesa model (agents, DataCollector) on top of the engine's :class:`World`.

The run's state and rules live in :class:`sim.world.World`, which the batched engine uses
without Mesa. This class adds what a Mesa user expects: a :class:`Provider` agent per trust
and a :class:`Partnership` agent per live partnership (thin handles onto the arrays), Mesa's
own ``rng``/``random`` (from the run's ``mesa`` stream), and a DataCollector of the monthly
metrics (and, on request, a provider panel). ``mesa.batch_run``, the dashboard and
:func:`sim.run` use it; its numbers are the World's, bit for bit.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import mesa

from sim.agents import Partnership, Provider
from sim.ensemble import Ensemble
from sim.outcomes import AGENT_REPORTERS, model_reporters
from sim.policy import Levers, Uncertainties
from sim.population import PopulationSpec
from sim.rng import stream_seed
from sim.theory import Theory
from sim.world import DEFAULT_HORIZON, START_PARTNERSHIPS, World, seed_from

__all__ = ["DEFAULT_HORIZON", "START_PARTNERSHIPS", "OutcomeCollector", "PartnershipModel"]


class PartnershipModel(World, mesa.Model):
    """English NHS providers forming partnerships under a theory and policy levers, as a Mesa model.

    Args:
        theory, population, levers, uncertainties, horizon, n_providers, n_ics,
            start_partnerships, rng, **flat: as :class:`sim.world.World`.
        agent_panel: also collect a provider-level panel (off in sweeps).
        agents: create the Mesa agents (a Provider per trust, a Partnership per partnership) and
            the DataCollector (default). Off, the model is a bare run under Mesa's Model.
    """

    provider_type = Provider  # the agent type of the provider panel (``datacollector``)

    def __init__(
        self,
        theory: Theory | str | Path | None = None,
        population: PopulationSpec | str | Path | None = None,
        levers: Levers | None = None,
        uncertainties: Uncertainties | None = None,
        *,
        horizon: int = DEFAULT_HORIZON,
        n_providers: int | None = None,
        n_ics: int | None = None,
        start_partnerships: str = "2022",
        agent_panel: bool = False,
        agents: bool = True,
        rng: Any = None,
        **flat: Any,
    ) -> None:
        seed = seed_from(rng)
        mesa.Model.__init__(self, rng=int(stream_seed(seed, "mesa").generate_state(1)[0]))
        self.agents_on = agents
        self.partnership_agents: dict[int, Partnership] = {}
        World.__init__(
            self,
            theory,
            population,
            levers,
            uncertainties,
            horizon=horizon,
            n_providers=n_providers,
            n_ics=n_ics,
            start_partnerships=start_partnerships,
            rng=seed,
            **flat,
        )
        if agents:  # a run alone is an ensemble of one (its arrays become views of the ensemble's)
            Ensemble([self])
            self.datacollector = OutcomeCollector(
                model_reporters=model_reporters(self.theory),
                agenttype_reporters={Provider: AGENT_REPORTERS} if agent_panel else None,
            )
            self.datacollector.collect(self)

    def _providers_built(self) -> None:
        if self.agents_on:
            for i in range(self.n):
                Provider(self, i)

    def _formed(self, ids: Sequence[int]) -> None:
        if self.agents_on:
            for p in ids:
                self.partnership_agents[p] = Partnership(self, p)

    def _ended(self, p: int) -> None:
        agent = self.partnership_agents.pop(p, None)
        if agent is not None:
            agent.remove()

    def _stepped(self) -> None:
        if self.agents_on:
            self.datacollector.collect(self)


class OutcomeCollector(mesa.DataCollector):
    """Mesa's DataCollector with a fast path for the summary reporters.

    Every model reporter is a :func:`read_metric` partial (so a plain DataCollector works
    too); since the month's summary is already a dict of floats, this collector appends the
    values directly instead of calling and deep-copying each reporter.
    """

    def collect(self, model: Any) -> None:
        """Append this month's metrics (and the provider panel, when requested)."""
        if hasattr(self, "_collection_steps"):
            self._collection_steps.append(model.time)
        summary = model.summary
        for var, values in self.model_vars.items():
            values.append(summary[var])
        if self.agenttype_reporters:
            self._agenttype_records[model.time] = {
                agent_type: list(self._record_agenttype(model, agent_type)) for agent_type in self.agenttype_reporters
            }
