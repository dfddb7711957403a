"""The ensemble: many runs of one structure advanced together, month by month.

Every run keeps its own :class:`~sim.world.World` (its seed and named random
streams, levers, theory values, population, partnership ledger and special-measures record);
the ensemble holds their state as arrays with a run axis (providers' levels, anchors and
signals; special-measures counters; the ledgers' arrays) and their parameters likewise, and
each model's arrays are views of its row. The monthly work on every provider and partnership
runs in compiled loops over all runs at once (:mod:`sim.kernels`); the event-driven parts
(formations, approvals, dissolutions) stay per partnership and per run, in Python, and are
called only for the runs where something is due.

A run's numbers never depend on the batch it is in: each kernel loops over runs with the same
per-run arithmetic, each run draws from its own streams, and a single :class:`World`
is an ensemble of one. ``tests/test_engine.py`` holds batches equal, bit for bit, to runs alone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import fields
from typing import TYPE_CHECKING

import numpy as np

from sim import event_kernels, formation, kernels, pcg
from sim.dynamics import beta_shape, realisation_draws, update_domains
from sim.registry import END_REASONS, LedgerStore
from sim.relations import MechanismParams

if TYPE_CHECKING:
    from sim.world import World

MECHANISM_FIELDS = tuple(f.name for f in fields(MechanismParams))
EVENTS = ("formations", "dissolutions", "completions", "sm_entries", "sm_exits")
ENDING_REASONS = END_REASONS[1:]  # kernels.endings' reason codes (a ledger's ``end_code`` is the code + 1)
MECHANISM_DTYPE = np.dtype([(name, np.float64) for name in MECHANISM_FIELDS])
PARTNERING_FIELDS = (
    "convergence_rate",
    "synergy",
    "best_practice_share",
    "disruption_w_conflict",
    "disruption_persistence",
    "savings_lag",
)
PARTNERING_DTYPE = np.dtype([(name, np.float64) for name in PARTNERING_FIELDS])
REGULATION_DTYPE = np.dtype(
    [
        ("entry_quality", np.float64),
        ("entry_efficiency", np.float64),
        ("exit_margin", np.float64),
        ("entry_months", np.int64),
        ("exit_months", np.int64),
    ]
)


class EventCounts:
    """A run's event counts this month, by name, over its row of the ensemble's array."""

    __slots__ = ("row",)

    def __init__(self, row: np.ndarray) -> None:
        self.row = row

    def __getitem__(self, name: str) -> int:
        return int(self.row[EVENTS.index(name)])

    def __setitem__(self, name: str, value: int) -> None:
        self.row[EVENTS.index(name)] = value

    def __iter__(self) -> Iterator[str]:
        return iter(EVENTS)

    def keys(self) -> tuple[str, ...]:
        """The event names."""
        return EVENTS

    def items(self) -> list[tuple[str, int]]:
        """(name, count) pairs."""
        return [(k, int(v)) for k, v in zip(EVENTS, self.row, strict=True)]


class Summary(Mapping[str, float]):
    """A run's model-level metrics this month, by name, over its row of the ensemble's array."""

    __slots__ = ("index", "row")

    def __init__(self, index: Mapping[str, int], row: np.ndarray) -> None:
        self.index, self.row = index, row

    def __getitem__(self, name: str) -> float:
        return float(self.row[self.index[name]])

    def __iter__(self) -> Iterator[str]:
        return iter(self.index)

    def __len__(self) -> int:
        return len(self.index)


def structure(model: World) -> tuple[object, ...]:
    """What runs must share to advance together: shapes, the web's wiring, role columns, horizon."""
    th = model.theory
    return (
        model.levels.shape,
        model.signals.shape,
        tuple(model.web.src.tolist()),
        tuple(model.web.tgt.tolist()),
        model.types.names,
        tuple(model.types.target_mode.tolist()),
        model.pop.n_ics,
        model.quality_col,
        model.efficiency_col,
        tuple(model.mechanism_cols.progress.tolist()),
        (model.culture_col, model.mechanism_cols.accountability, model.mechanism_cols.workforce),
        model.mechanism_cols.leadership,
        tuple(th.domain_names),
        model.horizon,
    )


class Ensemble:
    """Runs of one structure (see :func:`structure`) stepped together; each model's arrays become views.

    Args:
        models: freshly built models (month 0); the first run's structure must be every run's.
    """

    sm_active: np.ndarray  # runs × providers: special-measures state (``SpecialMeasures`` fields)
    sm_cause: np.ndarray
    sm_since: np.ndarray
    sm_below_q: np.ndarray
    sm_below_e: np.ndarray
    sm_above: np.ndarray
    _regime_draws: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None  # built on first use (_regime_streams)

    def __init__(self, models: Sequence[World]) -> None:
        self.models = list(models)
        if not self.models:
            raise ValueError("an ensemble needs at least one run")
        shape = structure(self.models[0])
        for m in self.models[1:]:
            if structure(m) != shape:
                raise ValueError("runs of an ensemble must share their structure (sim.ensemble.structure)")
        ms = self.models
        self.runs = len(ms)
        self.month = ms[0].month
        self.levels = np.stack([m.levels for m in ms])
        self.start_levels = np.stack([m.start_levels for m in ms])
        self.anchor = np.stack([m.anchor for m in ms])
        self.support_shift = np.stack([m.support_shift for m in ms])
        self.signals = np.stack([m.signals.T for m in ms])  # runs × edges × providers (kernels.update_domains)
        self.noise = np.zeros_like(self.levels)
        for name in ("active", "cause", "since", "below_q", "below_e", "above"):
            setattr(self, f"sm_{name}", np.stack([getattr(m.sm, name) for m in ms]))
        self.store = LedgerStore.stack([m.ledger for m in ms])
        self.ics = np.stack([m.pop.ics for m in ms])
        self.turnover = np.stack([m.pop.turnover for m in ms])
        self.ics_sizes = np.stack([m.ics_sizes for m in ms])
        self.events = np.stack([[m.events[k] for k in EVENTS] for m in ms]).astype(np.int64)
        self.metric_names = list(ms[0].metric_names)
        self.metrics = np.zeros((self.runs, len(self.metric_names)))
        index = {name: j for j, name in enumerate(self.metric_names)}
        for r, m in enumerate(ms):
            self._bind(m, r, index)
        self._stack_parameters()
        n_providers = self.levels.shape[1]
        self._ev_leave = np.zeros((self.runs, n_providers, 3), dtype=np.int64)
        self._ev_enter = np.zeros((self.runs, n_providers, 2), dtype=np.int64)
        self._failure = np.zeros((3, self.runs, n_providers), dtype=np.int64)  # waiting trusts, order, partners
        self._failure_realisation = np.zeros((self.runs, n_providers))  # the supports' realisation draws
        self._first = np.zeros((self.runs, 1), dtype=np.int64)
        self._endings = np.zeros((self.runs, 1, 2), dtype=np.int64)
        self._rows = np.zeros((self.runs, 1), dtype=np.int64)
        self._chan = np.empty((0, 4, self.levels.shape[2]))  # the domain update's scratch (grown by compact)
        self.compact()
        self.summarise()

    def _bind(self, m: World, r: int, index: Mapping[str, int]) -> None:
        """Make run ``r``'s model read and write its row of the ensemble's arrays."""
        m.ensemble, m.run_index = self, r
        m.levels, m.anchor, m.support_shift, m.signals = (
            self.levels[r],
            self.anchor[r],
            self.support_shift[r],
            self.signals[r].T,
        )
        start = self.start_levels[r]
        start.setflags(write=False)
        m.start_levels = start
        for name in ("active", "cause", "since", "below_q", "below_e", "above"):
            setattr(m.sm, name, getattr(self, f"sm_{name}")[r])
        m.pop.ics, m.pop.turnover, m.ics_sizes = self.ics[r], self.turnover[r], self.ics_sizes[r]
        m.events = EventCounts(self.events[r])
        m.summary = Summary(index, self.metrics[r])

    def _stack_parameters(self) -> None:
        """Each run's parameters in force, as arrays with a run axis."""
        ms = self.models
        self.mech = np.empty(len(ms), MECHANISM_DTYPE)
        for r, m in enumerate(ms):  # row by row (np.concatenate promotes the records' fields: 50 times slower)
            self.mech[r] = m.mechanism_record[0]
        self.part = np.array([tuple(getattr(m.partnering, f) for f in PARTNERING_FIELDS) for m in ms], PARTNERING_DTYPE)
        self.disruption = np.stack([m.partnering.disruption for m in ms])
        self.scale = np.stack([m.partnering.scale for m in ms])
        self.lead_cost = np.stack([m.partnering.lead_cost for m in ms])
        self.cost_share = np.stack([m.cost_share for m in ms])
        t = [m.types for m in ms]
        self.integration = np.stack([x.integration for x in t])
        self.org_change = np.stack([x.org_change for x in t])
        self.contract = np.stack([x.contract for x in t])
        self.effects = np.stack([x.effects for x in t])
        self.target_mode = np.stack([x.target_mode for x in t]).astype(np.int64)
        self.shares = np.stack([x.shares_back_office for x in t])
        self.reversible = np.stack([x.reversible for x in t])
        self.transition_months = np.stack([x.transition_months for x in t]).astype(np.int64)
        self.approval_months = np.stack([x.approval_months for x in t]).astype(np.int64)
        self.ends_on_recovery = np.stack([x.ends_on_recovery for x in t])
        self.exclusive = np.stack([x.exclusive for x in t])
        self.max_per_provider = np.stack([x.max_per_provider for x in t]).astype(np.int64)
        w = ms[0].web
        self.src, self.tgt = w.src.astype(np.int64), w.tgt.astype(np.int64)
        self.weight = np.stack([m.web.weight for m in ms])
        self.alpha = np.stack([m.web.alpha for m in ms])
        self.rate = np.stack([m.web.rate for m in ms])
        self.noise_sd = np.stack([m.web.noise_sd for m in ms])
        self.reg = np.array(
            [
                (g.entry_quality, g.entry_efficiency, g.exit_margin, g.entry_months, g.exit_months)
                for g in (m.regulation for m in ms)
            ],
            REGULATION_DTYPE,
        )
        self.support = np.stack([m.regulation.support for m in ms])
        self.standard = np.stack([m.regulation.standard for m in ms])
        self.fade = np.array([m.regulation.fade for m in ms], dtype=float)
        self.bands = np.array([[m.band_good, m.band_deficit, m.surplus_per_unit] for m in ms], dtype=float)
        self.inertia_months = np.array([m.mechanisms.inertia_months for m in ms], dtype=float)
        self.inertia_threshold = np.array([m.mechanisms.inertia_threshold for m in ms], dtype=float)
        self.leadership_ref = np.array([m.mechanism_cols.leadership_ref for m in ms], dtype=float)
        m0 = ms[0]
        c = m0.mechanism_cols
        self.prog_cols = c.progress.astype(np.int64)
        self.mech_cols = np.array([m0.culture_col, c.accountability, c.workforce, c.leadership], dtype=np.int64)
        self.band_cols = np.array([m0.quality_col, m0.efficiency_col], dtype=np.int64)
        self.failure_type = np.array(
            [
                m.theory.type_index(m.levers.failure_regime.intervention) if m.levers.failure_regime.enabled else -1
                for m in ms
            ]
        )
        self.partner_quality = np.array(
            [
                m.theory.v("band.good_quality") if (q := m.levers.failure_regime.partner_min_quality) is None else q
                for m in ms
            ],
            dtype=float,
        )
        self.partner_capacity = np.array([m.levers.failure_regime.partner_capacity for m in ms], dtype=np.int64)
        self.same_ics_first = np.array([m.levers.failure_regime.same_ics_first for m in ms], dtype=bool)
        self.sector = np.stack([m.pop.sector for m in ms]).astype(np.int64)
        self.voluntary = np.array([m.levers.voluntary.enabled for m in ms])
        self.duty = np.array([m.levers.collaborative_duty.enabled for m in ms])
        self._shock_cache: dict[int, np.ndarray] = {}
        # runs with an external shock of some size (a shock of size 0 is 0.0 every month: ``Shock.at``)
        self._shocked = [r for r, m in enumerate(ms) if any(s.size != 0.0 for s in m.uncertainties.shocks)]
        views = [pcg.state_view(m.streams["noise"]) for m in ms]  # each run's own noise stream, its state
        self._noise_streams = np.array([0 if v is None else v.ctypes.data for v in views], dtype=np.intp)
        self._noise_views = views  # (the Generators, which own the states, live as long as their models)

    # ------------------------------------------------------------------
    def step(self, summarise: bool = True) -> None:
        """Advance every run one month (its summary metrics too, unless ``summarise`` is False).

        1. Regulate: update special-measures status from last month's levels (entry after
           ``sm_entry_months`` below the quality or the finance line; exit after
           ``sm_exit_months`` recovered on every count entered on).
        2. Policy mandates: the failure regime gives each unsupported trust in special
           measures a mandated partnership with a capable partner; the collaborative duty
           puts eligible trusts in a horizontal collaborative in their ICS.
        3. Voluntary search: providers under pressure seek partners (own hazard, partner score).
        4. Approvals complete (approval → transition; the transaction completes).
        5. Transitions end (transition → operating).
        6. Dissolutions: voluntary reversible partnerships in sustained inertia dissolve;
           mandated supports end when their client has recovered.
        7. Mechanisms: conflict, trust, confidence, faith, risk threshold, collaborative
           behaviour and inertia of every active partnership.
        8. Anchors: members' structural anchors converge toward their partnership's target
           (at a rate scaled by behaviour × realisation); trusts in special measures receive
           the regime's standard support.
        9. Domain dynamics: this month's offsets (synergy, disruption, scale savings, the
           lead's capacity cost, external shocks), lagged signals through the causal web,
           relaxation toward targets, idiosyncratic noise.
        10. Record: summary metrics. A caller that reads them only in some months (a study
            keeping a few months of the series, :func:`sim.api.run_many`) skips them in the
            others: they are a snapshot of the month, which nothing in the model reads.

        Steps 1 and 4-10 run for every run in compiled loops (their rules are those of
        :mod:`sim.formation` and the numpy functions, compiled). Step 2's draws, matching and the
        ledger's rows of the supports it forms are compiled too (:mod:`sim.event_kernels`), each
        run drawing from its own streams; step 6 ends the partnerships its rule picks, with the
        pair memory and the members' levels as they end, in compiled code. Step 3 and
        the collaborative duty call the formation functions of :mod:`sim.formation` for the runs
        where something is due. A run with Mesa agents (a
        :class:`~sim.model.PartnershipModel` alone) forms and ends through its own methods, which
        keep the agents in step; the tests hold both paths equal.
        """
        self.month = int(self.models[0].month) + 1
        for m in self.models:
            m.month = self.month
        self.events[:] = 0
        self.regulate()
        self.apply_failure_regime()
        self.each(formation.apply_collaborative_duty, self.duty_due())
        self.each(formation.voluntary_search, self.voluntary)
        self.advance_phases()
        self.end_partnerships()
        self.compact()
        self.advance_mechanisms()
        self.move_anchors()
        self.update_domains()
        if summarise:
            self.summarise()

    def each(self, process: Callable[[World], None], due: np.ndarray) -> None:
        """Run an event-driven ``process`` on each run where ``due``."""
        for r in np.flatnonzero(due):
            process(self.models[r])

    # -- 1. regulation --------------------------------------------------------------------------
    def regulate(self) -> None:
        """Special-measures entries and exits of every run; each run's spells and entries recorded."""
        q, e = self.band_cols
        counts = kernels.regulate(
            self.levels, self.sm_active, self.sm_cause, self.sm_since, self.sm_below_q, self.sm_below_e,
            self.sm_above, self.reg, q, e, self.month, self._ev_leave, self._ev_enter,
        )  # fmt: skip
        self.events[:, 3:5] = counts
        month, moved = self.month, np.flatnonzero(counts.any(axis=1))
        for r, (entered, left) in zip(moved.tolist(), counts[moved].tolist(), strict=True):
            sm = self.models[r].sm
            sm.spells += [(i, since, month, c) for i, since, c in self._ev_leave[r, :left].tolist()]
            sm.entries += [(i, month, c) for i, c in self._ev_enter[r, :entered].tolist()]

    # -- 2-6. which runs have an event due -------------------------------------------------------------
    def apply_failure_regime(self) -> None:
        """Step 2, the failure regime (the rule of ``formation.apply_failure_regime``), for every run at once.

        Each run's waiting trusts are listed, their order is drawn from the run's own ``failure``
        stream as the rule draws it (``Generator.permutation``), each one's partner is picked,
        each support's realisation is drawn from the run's ``realisation`` stream as ``World.form``
        draws it, and the month's supports are recorded (``sim.event_kernels.record_supports``;
        then ``Ledger.recorded``, and the formations counted): all compiled, but for the draws of
        a run whose streams compiled code cannot draw from (:meth:`_regime_streams`). A run with
        Mesa agents (a run built alone) runs the rule itself, which forms each support through its
        model (and agent).
        """
        if (self.failure_type < 0).all():
            return
        st = self.store
        waiting, order, partner = self._failure  # scratch
        counts = event_kernels.failure_waiting(
            st.type_count, st.n_exclusive, self.sm_active, st.supported, self.failure_type, self.max_per_provider,
            self.exclusive, waiting,
        )  # fmt: skip
        if not counts.any():
            return
        failure, realisation, beta = self._regime_streams()
        event_kernels.failure_order(waiting, counts, failure, order)
        for r in np.flatnonzero(counts * (failure[:, 0] == 0)).tolist():
            model = self.models[r]
            if model.agents_on:  # the rule itself: it forms through the model, which makes the agents
                formation.apply_failure_regime(model)
                counts[r] = 0
            else:
                order[r, : counts[r]] = model.streams["failure"].permutation(waiting[r, : counts[r]])
        formed = event_kernels.failure_partners(
            order, counts, st.type_count, st.n_exclusive, self.sm_active, self.levels, self.band_cols[0],
            self.failure_type, self.max_per_provider, self.exclusive, self.partner_quality, st.mandated_led,
            self.partner_capacity, self.sector, self.ics, self.same_ics_first, partner,
        )  # fmt: skip
        if not formed.any():
            return
        st.reserve(formed, 2 * formed)
        event_kernels.failure_realisations(partner, counts, beta, realisation, self._failure_realisation)
        for r in np.flatnonzero(formed * (realisation == 0)).tolist():
            model = self.models[r]
            found = np.flatnonzero(partner[r, : counts[r]] >= 0)
            self._failure_realisation[r, found] = realisation_draws(
                model.partnering, model.streams["realisation"], len(found)
            )
        self.events[:, EVENTS.index("formations")] += event_kernels.record_supports(
            partner, order, counts, self._failure_realisation, self.failure_type, self.month, self.levels,
            self.turnover, self.ics, self.models[0].culture_col, self.mech, self.contract, self.integration,
            self.approval_months, self.transition_months, self.exclusive, st.floats, st.ints, st.flags, st.count,
            st.m_p, st.m_i, st.m_start, st.m_count, st.type_count, st.n_exclusive, st.mandated_led, st.supported,
            st.pair_key, st.pair_value, st.pair_count,
        )  # fmt: skip
        for r in np.flatnonzero(formed).tolist():
            self.models[r].ledger.recorded(self.models[r].types)

    def _regime_streams(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Each run's streams of the failure regime, for compiled draws; built on first use.

        ``failure``: the addresses of the ``failure`` stream's PCG64 state and half-word
        (``event_kernels.failure_order``); ``realisation``: the address of the ``realisation``
        stream's state, and ``beta``: its Beta shape (``event_kernels.failure_realisations``,
        which draws shapes above 1). 0 where a run draws through numpy instead (another layout or
        shape), or runs the rule (Mesa agents).
        """
        if self._regime_draws is None:
            failure = np.zeros((self.runs, 2), dtype=np.intp)
            realisation = np.zeros(self.runs, dtype=np.intp)
            beta = np.array([beta_shape(m.partnering) for m in self.models])
            views: list[np.ndarray] = []
            for r, m in enumerate(self.models):
                if m.agents_on:
                    continue
                state, half = pcg.state_view(m.streams["failure"]), pcg.half_word_view(m.streams["failure"])
                if state is not None and half is not None:
                    failure[r] = state.ctypes.data, half.ctypes.data
                    views += [state, half]
                state = pcg.state_view(m.streams["realisation"])
                if state is not None and (beta[r] > 1.0).all():
                    realisation[r] = state.ctypes.data
                    views.append(state)
            self._regime_draws = failure, realisation, beta
            self._regime_views = views  # (the Generators, which own the states, live as long as their models)
        return self._regime_draws

    def duty_due(self) -> np.ndarray:
        """Runs under the collaborative duty from its start month (the duty checks who is eligible)."""
        return self.duty & np.array([self.month >= m.levers.collaborative_duty.start_month for m in self.models])

    # -- 4-6. approvals, transitions and endings: compiled rules, Python events -------------------------
    def advance_phases(self) -> None:
        """Steps 4-5 for every run (``formation.advance_phases``, compiled)."""
        st = self.store
        changed = kernels.advance_phases(st.ints, st.count, self.month, self.transition_months)
        for r in np.flatnonzero(changed):
            self.models[r].ledger.version += 1

    def end_partnerships(self) -> None:
        """Step 6: the partnerships the rule of ``formation.dissolutions`` ends (compiled), each ended in turn.

        Their rows are ended in the arrays, with their reasons and their members' levels now, and
        the pairs of their members remember the trust they leave (compiled,
        ``sim.event_kernels.end_rows``: ``World.end_partnership`` of each in turn), and the endings
        are counted. A run with Mesa agents ends each through its model (which removes the agent).
        """
        st = self.store
        if self._endings.shape[1] < st.capacity:
            self._endings = np.zeros((self.runs, st.capacity, 2), dtype=np.int64)
        counts = kernels.endings(
            st.ints, st.flags, st.count, self.sm_active, self.reversible, self.ends_on_recovery, self.inertia_months,
            self._endings,
        )  # fmt: skip
        compiled = counts.copy()
        for r in np.flatnonzero(counts).tolist():
            model = self.models[r]
            if model.agents_on:  # ended through the model, which removes the agents
                compiled[r] = 0
                for p, reason in self._endings[r, : counts[r]].tolist():
                    model.end_partnership(p, ENDING_REASONS[reason])
        ending = np.flatnonzero(compiled).tolist()
        if not ending:
            return
        self.end_compiled(compiled)
        for r in ending:
            self.models[r].ledger.version += 1  # (its cached memberships are stale)

    def end_compiled(self, compiled: np.ndarray) -> None:
        """End the first ``compiled[r]`` partnerships of ``self._endings[r]`` of each run, compiled.

        Their members' pairs remember the trust they leave, and the endings are counted as
        dissolutions or completions. With nothing to end it changes nothing, which
        :func:`sim.api.warm_up` uses to load these kernels before a worker's first ending.
        """
        st = self.store
        st.reserve_pairs(
            int((st.pair_count + event_kernels.member_pairs(self._endings, compiled, st.m_p, st.m_count)).max())
        )
        dissolved = event_kernels.end_rows(
            self._endings, compiled, self.month, self.levels, st.floats, st.ints, st.flags, st.m_p, st.m_i,
            st.m_end, st.m_count, st.type_count, st.n_exclusive, st.mandated_led, st.supported, self.exclusive,
            self.mech, st.pair_key, st.pair_value, st.pair_count,
        )  # fmt: skip
        self.events[:, EVENTS.index("dissolutions")] += dissolved
        self.events[:, EVENTS.index("completions")] += compiled - dissolved

    # -- 7-10. every run, compiled ----------------------------------------------------------------
    def compact(self) -> None:
        """Each run's live memberships grouped by partnership (for the loops below); scratch grown with the ledger."""
        st = self.store
        if self._first.shape[1] < st.capacity + 1 or self._rows.shape[1] < st.m_p.shape[1]:
            self._first = np.zeros((self.runs, st.capacity + 1), dtype=np.int64)
            self._rows = np.zeros((self.runs, st.m_p.shape[1]), dtype=np.int64)
            self._chan = np.empty((st.m_p.shape[1], 4, self.levels.shape[2]))  # kernels.update_domains
        kernels.compact(st.ints, st.count, st.m_p, st.m_count, self._first, self._rows)

    def advance_mechanisms(self) -> None:
        """Step 7 for every run."""
        st = self.store
        kernels.mechanisms(
            self.levels, self._first, self._rows, st.count, st.m_i, st.m_start, st.type_count, st.floats, st.ints,
            st.flags, self.org_change, self.contract, self.mech, self.prog_cols, self.mech_cols, self.leadership_ref,
        )  # fmt: skip

    def move_anchors(self) -> None:
        """Step 8 for every run."""
        st = self.store
        kernels.anchors(
            self.anchor, self.support_shift, self.sm_active, self._first, self._rows, st.count, st.m_i,
            self.turnover, st.floats, st.ints, self.integration, self.effects, self.target_mode, self.part,
            self.support, self.standard, self.fade,
        )  # fmt: skip

    def shocks(self) -> np.ndarray:
        """This month's external pressures (runs × domains, negative = worse), as offsets."""
        out = self._shock_cache.get(self.month)
        if out is None:
            out = np.zeros(self.levels.shape[::2])
            for r in self._shocked:
                m = self.models[r]
                for col, s in zip(m.shock_cols, m.uncertainties.shocks, strict=True):
                    out[r, col] -= s.at(self.month)
            self._shock_cache = {self.month: out}
        return out

    def update_domains(self) -> None:
        """Step 9: every run's noise from its own stream; compiled update, or the run's own hook."""
        kernels.draw_noise(self.noise, self._noise_streams)
        for r in np.flatnonzero(self._noise_streams == 0):
            self.models[r].streams["noise"].standard_normal(out=self.noise[r])
        fused = np.array([m.update_domains is update_domains for m in self.models])
        st = self.store
        kernels.update_domains(
            self.levels, self.start_levels, self.anchor, self.signals, self.noise, self.shocks(), fused, self.month,
            self._first, self._rows, st.count, st.m_i, st.floats, st.ints, st.flags, self.org_change,
            self.integration, self.effects, self.shares, self.reversible, self.part, self.disruption, self.scale,
            self.lead_cost, self.cost_share, self.src, self.tgt, self.weight, self.alpha, self.rate, self.noise_sd,
            self._chan,
        )  # fmt: skip
        for hooked in np.flatnonzero(~fused):
            m = self.models[hooked]
            shocks = self.noise[hooked] * m.web.noise_sd
            m.update_domains(m.levels, m.start_levels, m.anchor, m.signals, m.pressure(), shocks, m.web)

    def summarise(self) -> None:
        """Step 10: every run's summary metrics (``model.summary``)."""
        st = self.store
        kernels.summarise(
            self.metrics, self.levels, self.sm_active, st.supported, self.ics, self.ics_sizes, self.events, st.count,
            self._first, self._rows, st.m_i, st.type_count, st.floats, st.ints, self.bands, self.band_cols,
            self.inertia_threshold,
        )  # fmt: skip
