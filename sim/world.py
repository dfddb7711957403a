"""The core of a run, without Mesa: wires the parts together; the engine steps it.

:class:`World` holds one run's state (its seed and named random streams, levers, theory
values, population, partnership ledger, special-measures record) and the event-driven
operations on it (form and end partnerships). The batched engine (:func:`sim.api.run_many`,
:class:`sim.ensemble.Ensemble`) builds worlds, so a batch of runs never imports Mesa (about a
second of every process's start-up). :class:`sim.model.PartnershipModel` is the same run as a
Mesa model: a World with Provider and Partnership agents and a DataCollector, for a run alone,
``mesa.batch_run`` and the dashboard. Both give identical numbers for the same seed.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from sim import event_kernels, formation
from sim.dynamics import (
    partnering_arrays,
    partnership_offsets,
    realisation_draw,
    realisation_draws,
    update_domains,
    web_arrays,
)
from sim.ensemble import MECHANISM_DTYPE, MECHANISM_FIELDS, Ensemble, EventCounts, Summary
from sim.errors import ConfigError
from sim.outcomes import empty_partnership_metrics, metric_catalogue
from sim.policy import Levers, Uncertainties, flat_names, from_flat
from sim.population import PopulationSpec, build_population, default_population_path, load_population_spec
from sim.registry import Ledger, type_arrays
from sim.regulation import RegulationParams, SpecialMeasures
from sim.relations import MechanismColumns, MechanismParams
from sim.rng import Streams
from sim.theory import Theory, load_theory, per_theory

DEFAULT_HORIZON = 120
START_PARTNERSHIPS = ("2022", "none")


class World:
    """One run: English NHS providers forming partnerships under a theory and policy levers.

    Args:
        theory: a :class:`Theory`, a path to a theory file, or None for the default theory.
        population: a :class:`PopulationSpec`, a path, or None for England (217 trusts).
        levers: policy levers (all off = baseline).
        uncertainties: external shocks and theory overrides.
        horizon: months to run (``model.running`` turns False after it).
        n_providers: resize the population (same mix by kind).
        n_ics: number of ICSs (default: scaled with the population).
        start_partnerships: ``"2022"`` starts from the partnerships that existed in July 2022
            (provider collaboratives, groups, remembered past collaborations); ``"none"`` from
            no partnerships at all.
        rng: the run's seed (int). Every process draws from its own stream derived from it.
        **flat: levers and uncertainties in flat keyword form (``failure_regime_enabled=True``,
            ``workforce_shock_size=0.05``…), as ``mesa.batch_run`` passes them.
    """

    agents_on = False
    """True for a Mesa model with agents (:class:`sim.model.PartnershipModel`): the engine then forms
    and ends its partnerships through the model's own methods, which keep the agents in step."""

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
        rng: Any = None,
        **flat: Any,
    ) -> None:
        self.seed = seed_from(rng)
        self.streams = Streams(self.seed)
        levers, uncertainties = _apply_flat(levers or Levers(), uncertainties or Uncertainties(), flat)
        self.levers = levers
        self.uncertainties = uncertainties
        base = theory if isinstance(theory, Theory) else load_theory(theory)
        self.theory = base.with_values(uncertainties.effect_overrides, origin="uncertainties.effect_overrides")
        self.horizon = int(horizon)
        spec = population if isinstance(population, PopulationSpec) else _population_spec(population)
        self.pop = build_population(_resized(spec, n_providers, n_ics), self.theory, self.streams["population"])
        self.n = self.pop.n
        self._validate_levers()

        th = self.theory
        self.quality_col = th.role_index("quality")
        self.efficiency_col = th.role_index("efficiency")
        self.access_col = th.role_index("access")
        self.culture_col = th.role_index("culture")
        self.web = per_theory(th, web_arrays)
        self.partnering = per_theory(th, partnering_arrays)
        self.types = type_arrays(th, levers.approval.months)
        self.mechanisms = per_theory(th, MechanismParams.from_theory)
        self.mechanism_record = per_theory(th, mechanism_record)  # the same, for compiled code
        self.mechanism_cols = per_theory(th, MechanismColumns.from_theory)
        self.cost_share = np.ones(len(th.domains))
        self.cost_share[self.efficiency_col] = 1.0 - levers.support_fund.share
        self.shock_cols = [th.role_index(s.role) for s in uncertainties.shocks]
        self.update_domains = update_domains  # a hook may replace it (per-agent reference, route tracking)

        self.start_levels = self.pop.levels.copy()
        self.start_levels.setflags(write=False)
        self.levels = self.pop.levels.copy()
        self.anchor = self.pop.levels.copy()
        self.signals = np.zeros((self.n, len(th.edges)))
        self.ics_sizes = np.bincount(self.pop.ics, minlength=self.pop.n_ics)
        # the providers of ICS c, ascending: ics_order[ics_first[c]:ics_first[c + 1]] (ics_members[c])
        self.ics_order = np.argsort(self.pop.ics, kind="stable")
        self.ics_first = np.zeros(self.pop.n_ics + 1, dtype=np.int64)
        np.cumsum(self.ics_sizes, out=self.ics_first[1:])
        self.ics_members = [self.ics_order[a:b] for a, b in itertools.pairwise(self.ics_first.tolist())]
        duty_kinds = [self.pop.kind_names.index(k) for k in levers.collaborative_duty.kinds if k in self.pop.kind_names]
        of_kind = np.zeros(len(self.pop.kind_names), dtype=bool)
        of_kind[duty_kinds] = True
        self.duty_kind_mask = of_kind[self.pop.kind]
        self.duty_collaboratives: dict[tuple[int, int], int] = {}

        self.regulation = per_theory(th, RegulationParams.from_theory)
        self.sm = SpecialMeasures.at_start(self.levels, self.regulation)
        self.support_shift = np.zeros_like(self.levels)  # the anchors' change due to the regime's support

        self.ledger = Ledger(self.n, len(th.types), len(th.domains))
        self.log_roles = {r: th.role_index(r) for r in ("quality", "efficiency", "access")}
        self.month = 0
        self.events: EventCounts | dict[str, int] = dict.fromkeys(
            ("formations", "dissolutions", "completions", "sm_entries", "sm_exits"), 0
        )

        self.band_good = th.v("band.good_quality")
        self.band_deficit = th.v("band.deficit_efficiency")
        self.surplus_per_unit = th.v("band.surplus_pct_per_unit")
        self.metric_names_mean = [f"mean_{d}" for d in th.domain_names]
        self.metric_names_sd = [f"sd_{d}" for d in th.domain_names]
        self.metric_names_type = [f"n_{t}" for t in th.type_names]
        self.metric_names_share_type = [f"share_in_{t}" for t in th.type_names]
        self.metric_names = _metric_names(th)
        self.ics_nonempty = self.ics_sizes > 0
        self.empty_partnership_metrics = dict(per_theory(th, empty_partnership_metrics))
        self._providers_built()
        if start_partnerships not in START_PARTNERSHIPS:
            raise ConfigError(
                "unknown starting state", key="start_partnerships", value=start_partnerships, choices=START_PARTNERSHIPS
            )
        self.start_partnerships = start_partnerships
        if start_partnerships == "2022":
            formation.seed_start_partnerships(self)
            self.events["formations"] = 0
        self.ensemble: Ensemble | None = None
        self.run_index = 0
        self.summary: Summary
        self.running = self.horizon > 0

    # ------------------------------------------------------------------
    def step(self) -> None:
        """Advance one month: the ensemble's step (:meth:`sim.ensemble.Ensemble.step` lists the order).

        A run alone is an ensemble of one; a run in a batch is stepped by its ensemble
        (:func:`sim.api.run_many`).
        """
        ensemble = self.ensemble or Ensemble([self])
        ensemble.step()
        self._stepped()
        if self.month >= self.horizon:
            self.running = False

    # -- what a Mesa model adds (sim.model.PartnershipModel); a bare World does nothing -----------
    def _providers_built(self) -> None:
        """The population is built (a Mesa model creates its Provider agents here)."""

    def _formed(self, ids: Sequence[int]) -> None:
        """Partnerships ``ids`` were formed (a Mesa model creates their agents)."""

    def _ended(self, p: int) -> None:
        """Partnership ``p`` ended (a Mesa model removes its agent)."""

    def _stepped(self) -> None:
        """A month was simulated (a Mesa model collects its data)."""

    # ------------------------------------------------------------------
    @property
    def in_sm(self) -> np.ndarray:
        """Providers in special measures now."""
        return self.sm.active

    @property
    def sm_spells(self) -> list[tuple[int, int, int, int]]:
        """Completed special-measures spells: (provider, entered, left, cause bits)."""
        return self.sm.spells

    def regulate(self) -> None:
        """Special-measures entry and exit (always tracked; the lever decides the response)."""
        self.events["sm_entries"], self.events["sm_exits"] = self.sm.update(self.levels, self.month)

    def offsets(self) -> dict[str, np.ndarray]:
        """This month's offsets to the domains' targets by channel (partnerships and external shocks)."""
        out = partnership_offsets(self.ledger, self.types, self.partnering, self.n, self.cost_share, self.month)
        shock = np.zeros_like(self.levels)
        for col, s in zip(self.shock_cols, self.uncertainties.shocks, strict=True):
            shock[:, col] -= s.at(self.month)
        out["shock"] = shock
        return out

    def pressure(self) -> np.ndarray:
        """This month's total offset to the domains' targets."""
        if self.ledger.count == 0 and not any(s.at(self.month) for s in self.uncertainties.shocks):
            return np.zeros_like(self.levels)
        return sum(self.offsets().values())  # type: ignore[return-value]

    def form(
        self, k: int, members: np.ndarray, *, lead: int, client: int, mandated: bool, age: int | None = None
    ) -> int:
        """Create a partnership of type ``k`` and its agent; return its id.

        ``age`` (months since its transaction completed) marks a partnership that already
        existed when the run starts. Its realisation is drawn from its own stream.
        """
        realisation = realisation_draw(self.partnering, self.streams["realisation"])
        return self._record(k, members, lead, client, mandated, age, realisation)

    def form_many(
        self, k: int, members: Sequence[np.ndarray], leads: Sequence[int], *, mandated: bool, ages: Sequence[int]
    ) -> list[int]:
        """Partnerships of type ``k`` that existed when the run starts: ``form`` of each, all at once.

        ``members[j]`` are partnership ``j``'s, led by ``leads[j]``, its transaction completed
        ``ages[j]`` months ago. Its realisation is drawn from its own stream (all at once, as
        ``form`` draws them one after another); the ledger's rows are written compiled
        (``sim.event_kernels.open_existing``: ``Ledger.add`` of each in turn).
        """
        n = len(members)
        if not n:
            return []
        flat = np.concatenate(members).astype(np.int64)
        realisations = np.array(realisation_draws(self.partnering, self.streams["realisation"], n))
        ledger, t = self.ledger, self.types
        ledger.reserve(n, len(flat))
        st, r, first = ledger.store, ledger.run, ledger.count
        event_kernels.open_existing(
            r, k, flat, np.array([len(g) for g in members], dtype=np.int64), np.asarray(leads, dtype=np.int64),
            np.asarray(ages, dtype=np.int64), realisations, mandated, self.month, self.levels, self.pop.turnover,
            self.pop.ics, self.culture_col, self.mechanism_record, t.contract, t.integration, t.exclusive, st.floats,
            st.ints, st.flags, st.count, st.m_p, st.m_i, st.m_start, st.m_count, st.type_count, st.n_exclusive,
            st.pair_key, st.pair_value, st.pair_count,
        )  # fmt: skip
        ledger.recorded(t)
        ids = list(range(first, first + n))
        self._formed(ids)
        self.events["formations"] += len(ids)
        return ids

    def _record(
        self, k: int, members: np.ndarray, lead: int, client: int, mandated: bool, age: int | None, realisation: float
    ) -> int:
        p = self.ledger.add(
            k,
            members,
            lead=lead,
            client=client,
            mandated=mandated,
            month=self.month,
            levels=self.levels,
            turnover=self.pop.turnover,
            ics=self.pop.ics,
            culture_col=self.culture_col,
            types=self.types,
            mechanisms=self.mechanisms,
            realisation=realisation,
            age=age,
        )
        self._formed((p,))
        self.events["formations"] += 1
        return p

    def end_partnership(self, p: int, reason: str) -> None:
        """End partnership ``p`` (``inertia`` = dissolved; ``recovered`` = support completed)."""
        self.ledger.end(p, self.month, reason, self.types, self.mechanisms, self.levels)  # (and its members' levels)
        self._ended(p)
        self.events["dissolutions" if reason == "inertia" else "completions"] += 1

    def partnership_columns(self) -> dict[str, Any]:
        """The partnership log as columns (``Ledger.log``): ended ones as they ended, active ones as they stand now."""
        return self.ledger.log(self.levels, self.log_roles, self.month, self.types.names)

    def partnership_log(self) -> list[dict[str, Any]]:
        """One row per partnership: ended ones as they ended, active ones as they stand now."""
        cols = self.partnership_columns()
        names = list(cols)
        values = [v.tolist() if isinstance(v, np.ndarray) else v for v in cols.values()]
        return [dict(zip(names, row, strict=True)) for row in zip(*values, strict=True)]

    def _validate_levers(self) -> None:
        lv = self.levers
        lv.check_type_names(self.theory.type_names, file="levers")
        for kind in lv.collaborative_duty.kinds:
            if kind not in self.pop.kind_names:
                raise ConfigError(
                    "unknown kind of trust",
                    file="levers",
                    key="collaborative_duty.kinds",
                    value=kind,
                    choices=self.pop.kind_names,
                )
        if lv.voluntary.enabled and (
            any(w < 0 for w in lv.voluntary.type_mix.values()) or sum(lv.voluntary.type_mix.values()) <= 0
        ):
            raise ConfigError(
                "weights must be >= 0 and not all zero",
                file="levers",
                key="voluntary.type_mix",
                value=dict(lv.voluntary.type_mix),
            )
        if not 0.0 <= lv.support_fund.share <= 1.0:
            raise ConfigError(
                "must lie in [0, 1]", file="levers", key="support_fund.share", value=lv.support_fund.share
            )
        if lv.failure_regime.partner_capacity < 1:
            raise ConfigError(
                "must be at least 1",
                file="levers",
                key="failure_regime.partner_capacity",
                value=lv.failure_regime.partner_capacity,
            )
        if lv.approval.months is not None and lv.approval.months < 0:
            raise ConfigError("must not be negative", file="levers", key="approval.months", value=lv.approval.months)


def mechanism_record(theory: Theory) -> np.ndarray:
    """The theory's mechanism parameters as one record (``MECHANISM_DTYPE``: what compiled code reads)."""
    m = per_theory(theory, MechanismParams.from_theory)
    return np.array([tuple(getattr(m, name) for name in MECHANISM_FIELDS)], MECHANISM_DTYPE)


_SPECS: dict[tuple[str, int, int], PopulationSpec] = {}
_DEFAULT_POPULATION = str(default_population_path())


def _population_spec(path: str | Path | None) -> PopulationSpec:
    """The population file's spec, read once per file state (every run of a batch uses the same file)."""
    file = str(path) if path is not None else _DEFAULT_POPULATION
    try:
        st = os.stat(file)
    except OSError:
        return load_population_spec(file)  # names the missing file
    key = (file, st.st_mtime_ns, st.st_size)
    spec = _SPECS.get(key)
    if spec is None:
        spec = _SPECS[key] = load_population_spec(file)
    return spec


_RESIZED: dict[tuple[int, int | None, int | None], tuple[PopulationSpec, PopulationSpec]] = {}


def _resized(spec: PopulationSpec, n_providers: int | None, n_ics: int | None) -> PopulationSpec:
    """``spec.resized(n_providers, n_ics)``, once per spec object and size.

    The runs of a batch share the resized spec, and so what ``build_population`` derives from it.
    """
    key = (id(spec), n_providers, n_ics)
    hit = _RESIZED.get(key)
    if hit is not None and hit[0] is spec:
        return hit[1]
    out = spec.resized(n_providers, n_ics)
    if len(_RESIZED) >= 32:
        _RESIZED.clear()
    _RESIZED[key] = (spec, out)
    return out


_METRIC_NAMES: dict[tuple[int, int], tuple[object, object, list[str]]] = {}


def _metric_names(theory: Theory) -> list[str]:
    """``metric_catalogue``'s names, once per theory structure (its domains and types; values don't matter)."""
    key = (id(theory.domains), id(theory.types))  # shared by every variant of a theory (``with_values``)
    hit = _METRIC_NAMES.get(key)
    if hit is None or hit[0] is not theory.domains or hit[1] is not theory.types:
        hit = _METRIC_NAMES[key] = (theory.domains, theory.types, [m.name for m in metric_catalogue(theory)])
    return list(hit[2])


def seed_from(rng: Any) -> int:
    """The run's seed from ``rng=`` (a whole number, a Generator, or None for fresh entropy)."""
    if rng is None:
        return int(np.random.SeedSequence().generate_state(1)[0])
    if isinstance(rng, np.random.Generator):
        return int(rng.integers(2**32))
    if isinstance(rng, bool) or not isinstance(rng, int | np.integer):
        raise ConfigError("the seed (rng=) must be a whole number", key="rng", value=rng)
    return int(rng)


_LEVER_NAMES, _UNCERTAINTY_NAMES = flat_names(Levers), flat_names(Uncertainties)  # of the classes: fixed


def _apply_flat(levers: Levers, uncertainties: Uncertainties, flat: dict[str, Any]) -> tuple[Levers, Uncertainties]:
    lever_names, unc_names = _LEVER_NAMES, _UNCERTAINTY_NAMES
    lv = {k: v for k, v in flat.items() if k in lever_names}
    un = {k: v for k, v in flat.items() if k in unc_names}
    unknown = set(flat) - set(lv) - set(un)
    if unknown:
        key = sorted(unknown)[0]
        raise ConfigError(
            "unknown model parameter",
            file="PartnershipModel keyword arguments",
            key=key,
            value=key,
            choices=[*lever_names, *unc_names],
        )
    levers = from_flat(Levers, levers, lv) if lv else levers
    return levers, from_flat(Uncertainties, uncertainties, un) if un else uncertainties
