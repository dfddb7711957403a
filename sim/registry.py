"""The partnership ledger: partnerships' state as arrays, memberships, pairwise memory.

Partnership agents (``sim.agents.Partnership``) are thin handles onto a row of these
arrays. The ledger grows by doubling, so adding a partnership is amortised O(1); the
compact arrays of active memberships are rebuilt only when an event changes them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from sim import numeric
from sim.relations import (
    MechanismParams,
    ambition,
    collaborative_behaviour,
    initial_faith,
    initial_trust,
    risk_threshold,
)
from sim.theory import Theory
from sim.typology import TARGET_MODES

PHASES = ("approval", "transition", "operating", "ended")
APPROVAL, TRANSITION, OPERATING, ENDED = range(4)
NEVER = np.iinfo(np.int64).max // 2


@dataclass(frozen=True)
class TypeArrays:
    """Per-type properties as arrays indexed by type (row order of ``theory.types``)."""

    names: tuple[str, ...]
    integration: np.ndarray
    org_change: np.ndarray
    contract: np.ndarray
    approval_months: np.ndarray
    transition_months: np.ndarray
    effects: np.ndarray  # types × domains
    target_mode: np.ndarray  # index into TARGET_MODES
    led: np.ndarray
    reversible: np.ndarray
    exclusive: np.ndarray
    max_per_provider: np.ndarray
    shares_back_office: np.ndarray
    ends_on_recovery: np.ndarray
    needs_approval: np.ndarray
    members_min: np.ndarray
    members_max: np.ndarray


def type_arrays(theory: Theory, approval_override: float | None = None) -> TypeArrays:
    """Arrays of the typology with the parameter values in force (and the approval lever)."""
    types = theory.types
    names = theory.domain_names

    def val(field: str) -> np.ndarray:
        return np.array([theory.v(f"type.{t.name}.{field}") for t in types], dtype=float)

    effects = np.zeros((len(types), len(names)))
    for k, t in enumerate(types):
        for dom in t.effect_domains:
            effects[k, names.index(dom)] = theory.v(f"type.{t.name}.effect.{dom}")
    needs = np.array([t.needs_approval for t in types])
    approval = val("approval_months")
    if approval_override is not None:
        approval = np.where(needs, float(approval_override), approval)
    return TypeArrays(
        names=tuple(t.name for t in types),
        integration=val("integration"),
        org_change=val("org_change"),
        contract=val("contract_strength"),
        approval_months=np.rint(approval).astype(np.int64),
        transition_months=np.rint(val("transition_months")).astype(np.int64),
        effects=effects,
        target_mode=np.array([TARGET_MODES.index(t.target) for t in types]),
        led=np.array([t.led for t in types]),
        reversible=np.array([t.reversible for t in types]),
        exclusive=np.array([t.exclusive for t in types]),
        max_per_provider=np.array([t.max_per_provider for t in types]),
        shares_back_office=np.array([t.shares_back_office for t in types]),
        ends_on_recovery=np.array([t.ends_on_recovery for t in types]),
        needs_approval=needs,
        members_min=np.array([t.members[0] for t in types]),
        members_max=np.array([t.members[1] for t in types]),
    )


_FLOATS = (
    "conflict",
    "trust",
    "confidence",
    "faith",
    "progress",
    "behaviour",
    "risk",
    "absence",
    "asymmetry",
    "culture_gap",
    "prior_trust",
    "initial_trust",
    "ambition",
    "realisation",
    "trust_sum",
    "trust_min",
    "confidence_sum",
    "faith_sum",
    "behaviour_sum",
    "conflict_sum",
)
_INTS = (
    "type",
    "phase",
    "start",
    "phase_end",
    "completion",
    "lead",
    "client",
    "inertia_run",
    "inertia_total",
    "months",
    "end_month",
)
_BOOLS = ("mandated", "same_ics")
FLOAT_INDEX = {name: i for i, name in enumerate(_FLOATS)}
INT_INDEX = {name: i for i, name in enumerate(_INTS)}
BOOL_INDEX = {name: i for i, name in enumerate(_BOOLS)}


class Memberships:
    """Active memberships sorted by partnership id, with per-partnership segment reductions."""

    def __init__(self, mp: np.ndarray, mi: np.ndarray, start: np.ndarray) -> None:
        self.mp = mp  # partnership id of each membership (sorted)
        self.mi = mi  # provider of each membership
        self.start = start  # members' levels when they joined
        if len(mp):
            first = np.flatnonzero(np.r_[True, mp[1:] != mp[:-1]])
        else:
            first = np.zeros(0, dtype=np.int64)
        self.first = first  # start of each partnership's segment
        self.ids = mp[first]  # partnership ids, ascending
        self.size = np.diff(np.r_[first, len(mp)]).astype(float)
        self.seg = np.repeat(np.arange(len(first)), self.size.astype(np.int64))  # segment of each membership

    def __len__(self) -> int:
        return int(self.mp.shape[0])

    def __iter__(self):  # (mp, mi, start) unpacking
        return iter((self.mp, self.mi, self.start))

    def seg_sum(self, values: np.ndarray) -> np.ndarray:
        """Per-partnership sum of per-membership values (1-D or 2-D)."""
        return np.add.reduceat(values, self.first, axis=0)

    def seg_mean(self, values: np.ndarray) -> np.ndarray:
        """Per-partnership mean."""
        s = self.seg_sum(values)
        return s / (self.size if s.ndim == 1 else self.size[:, None])

    def seg_max(self, values: np.ndarray) -> np.ndarray:
        """Per-partnership maximum."""
        return np.maximum.reduceat(values, self.first, axis=0)

    def seg_min(self, values: np.ndarray) -> np.ndarray:
        """Per-partnership minimum."""
        return np.minimum.reduceat(values, self.first, axis=0)


class LedgerStore:
    """The partnership arrays of several runs, with a run axis (an ensemble's ledgers share one store).

    Per partnership: ``floats`` (runs × fields × capacity), ``ints`` and ``flags`` (rows named by
    ``FLOAT_INDEX``, ``INT_INDEX``, ``BOOL_INDEX``); per membership: partnership, provider and the
    member's levels when it joined; per provider: partnerships held by type, exclusive ones,
    mandated supports led, supported. Each run's :class:`Ledger` holds views of its row; growing
    the store re-binds them all.
    """

    def __init__(self, runs: int, n_providers: int, n_types: int, n_domains: int, capacity: int = 64) -> None:
        self.runs, self.n_domains = runs, n_domains
        self.capacity = capacity
        self.floats = np.zeros((runs, len(_FLOATS), capacity))
        self.ints = np.zeros((runs, len(_INTS), capacity), dtype=np.int64)
        self.ints[:, INT_INDEX["phase"]] = ENDED  # rows not yet used count as ended
        self.flags = np.zeros((runs, len(_BOOLS), capacity), dtype=bool)
        self.count = np.zeros(runs, dtype=np.int64)
        self.m_count = np.zeros(runs, dtype=np.int64)
        self.m_p = np.zeros((runs, capacity * 4), dtype=np.int64)
        self.m_i = np.zeros((runs, capacity * 4), dtype=np.int64)
        self.m_start = np.zeros((runs, capacity * 4, n_domains))
        self.type_count = np.zeros((runs, n_providers, n_types), dtype=np.int64)
        self.n_exclusive = np.zeros((runs, n_providers), dtype=np.int64)
        self.mandated_led = np.zeros((runs, n_providers), dtype=np.int64)
        self.supported = np.zeros((runs, n_providers), dtype=bool)
        self.ledgers: list[Ledger | None] = [None] * runs

    @classmethod
    def stack(cls, ledgers: list[Ledger]) -> LedgerStore:
        """One store holding the given runs' ledgers (copied), which are re-bound to it."""
        first = ledgers[0]._store
        n, k = first.type_count.shape[1:]
        store = cls(len(ledgers), n, k, first.n_domains, max(led._store.capacity for led in ledgers))
        store._reserve_members(max(led._store.m_p.shape[1] for led in ledgers))
        for r, led in enumerate(ledgers):
            old, o = led._store, led._run
            cap, mcap = old.capacity, old.m_p.shape[1]
            store.floats[r, :, :cap] = old.floats[o]
            store.ints[r, :, :cap] = old.ints[o]
            store.flags[r, :, :cap] = old.flags[o]
            store.count[r], store.m_count[r] = old.count[o], old.m_count[o]
            store.m_p[r, :mcap], store.m_i[r, :mcap], store.m_start[r, :mcap] = old.m_p[o], old.m_i[o], old.m_start[o]
            for name in ("type_count", "n_exclusive", "mandated_led", "supported"):
                getattr(store, name)[r] = getattr(old, name)[o]
            led._attach(store, r)
        return store

    def grow(self) -> None:
        """Double the partnerships' capacity (every run), keeping what is there."""
        new = self.capacity * 2
        for name in ("floats", "ints", "flags"):
            old = getattr(self, name)
            arr = np.zeros(old.shape[:2] + (new,), dtype=old.dtype)
            arr[:, :, : self.capacity] = old
            setattr(self, name, arr)
        self.ints[:, INT_INDEX["phase"], self.capacity :] = ENDED
        self.capacity = new
        self._rebind()

    def _reserve_members(self, need: int) -> None:
        size = self.m_p.shape[1]
        if need <= size:
            return
        size = max(need, 2 * size)
        for name in ("m_p", "m_i", "m_start"):
            old = getattr(self, name)
            arr = np.zeros((old.shape[0], size) + old.shape[2:], dtype=old.dtype)
            arr[:, : old.shape[1]] = old
            setattr(self, name, arr)
        self._rebind()

    def _rebind(self) -> None:
        for led in self.ledgers:
            if led is not None:
                led._bind()


class Ledger:
    """State of every partnership ever formed in a run (one row per partnership).

    The arrays are views of this run's row of a :class:`LedgerStore` (its own, or an ensemble's).
    """

    # relational stocks and context, per partnership (floats)
    conflict: np.ndarray
    trust: np.ndarray
    confidence: np.ndarray
    faith: np.ndarray
    progress: np.ndarray
    behaviour: np.ndarray
    risk: np.ndarray
    absence: np.ndarray
    asymmetry: np.ndarray
    culture_gap: np.ndarray
    prior_trust: np.ndarray
    initial_trust: np.ndarray
    ambition: np.ndarray
    realisation: np.ndarray  # the partnership's own draw: share of its potential benefit it can realise
    trust_sum: np.ndarray
    trust_min: np.ndarray
    confidence_sum: np.ndarray
    faith_sum: np.ndarray
    behaviour_sum: np.ndarray
    conflict_sum: np.ndarray
    # identity and phase, per partnership (ints)
    type: np.ndarray
    phase: np.ndarray
    start: np.ndarray
    phase_end: np.ndarray
    completion: np.ndarray  # month approval ended (the transaction completed); NEVER before
    lead: np.ndarray
    client: np.ndarray
    inertia_run: np.ndarray
    inertia_total: np.ndarray
    months: np.ndarray
    end_month: np.ndarray
    # flags, per partnership
    mandated: np.ndarray
    same_ics: np.ndarray

    type_count: np.ndarray  # providers × types: active partnerships of each type a provider is in
    n_exclusive: np.ndarray
    mandated_led: np.ndarray  # mandated partnerships each provider leads
    supported: np.ndarray  # client of an active mandated support
    _m_p: np.ndarray  # flat, append-only membership rows: partnership, provider, levels at joining
    _m_i: np.ndarray
    _m_start: np.ndarray

    def __init__(self, n_providers: int, n_types: int, n_domains: int, capacity: int = 64) -> None:
        self.n_domains = n_domains
        self.members: list[np.ndarray] = []
        self.member_start: list[np.ndarray] = []  # levels of the members when they joined
        self.end_reason: list[str] = []
        self.pair_trust: dict[tuple[int, int], float] = {}
        self.end_delta: dict[int, list[float]] = {}  # members' mean change in each log role when it ended
        self.exclusive_type = np.zeros(n_types, dtype=bool)
        self.version = 0
        self._compact_version = -1
        self._compact: Memberships | None = None
        self._attach(LedgerStore(1, n_providers, n_types, n_domains, capacity), 0)

    # -- storage ------------------------------------------------------------
    def _attach(self, store: LedgerStore, run: int) -> None:
        self._store, self._run = store, run
        store.ledgers[run] = self
        self._bind()

    def _bind(self) -> None:
        """(Re)take views of this run's row of the store."""
        st, r = self._store, self._run
        for name, i in FLOAT_INDEX.items():
            setattr(self, name, st.floats[r, i])
        for name, i in INT_INDEX.items():
            setattr(self, name, st.ints[r, i])
        for name, i in BOOL_INDEX.items():
            setattr(self, name, st.flags[r, i])
        self._m_p, self._m_i, self._m_start = st.m_p[r], st.m_i[r], st.m_start[r]
        self.type_count, self.n_exclusive = st.type_count[r], st.n_exclusive[r]
        self.mandated_led, self.supported = st.mandated_led[r], st.supported[r]
        self.version += 1

    @property
    def count(self) -> int:
        """Partnerships formed so far (ids ``0 .. count - 1``)."""
        return int(self._store.count[self._run])

    @count.setter
    def count(self, value: int) -> None:
        self._store.count[self._run] = value

    @property
    def capacity(self) -> int:
        """Partnerships the arrays hold before they grow."""
        return self._store.capacity

    @property
    def _m_count(self) -> int:
        return int(self._store.m_count[self._run])

    @_m_count.setter
    def _m_count(self, value: int) -> None:
        self._store.m_count[self._run] = value

    def _grow(self) -> None:
        self._store.grow()

    # -- queries ------------------------------------------------------------
    def active_ids(self) -> np.ndarray:
        """Ids of partnerships not yet ended."""
        return np.flatnonzero(self.phase[: self.count] != ENDED)

    def can_join(self, k: int, t: TypeArrays) -> np.ndarray:
        """Mask of providers whose current partnerships allow one more of type ``k``."""
        ok = self.type_count[:, k] < t.max_per_provider[k]
        if t.exclusive[k]:
            ok &= self.n_exclusive == 0
        return ok

    def can_join_one(self, i: int, k: int, t: TypeArrays) -> bool:
        """Whether provider ``i`` may join one more partnership of type ``k``."""
        if self.type_count[i, k] >= t.max_per_provider[k]:
            return False
        return not (t.exclusive[k] and self.n_exclusive[i] > 0)

    def prior_trust_of(self, members: np.ndarray, baseline: float) -> float:
        """Mean over member pairs of remembered trust relative to ``baseline`` (0 = no history)."""
        vals = []
        for a in range(len(members)):
            for b in range(a + 1, len(members)):
                key = (int(min(members[a], members[b])), int(max(members[a], members[b])))
                if key in self.pair_trust:
                    vals.append(self.pair_trust[key] - baseline)
        return numeric.mean(vals) if vals else 0.0

    def memberships(self) -> Memberships:
        """Active memberships sorted by partnership, with segment helpers; cached per version."""
        if self._compact_version != self.version or self._compact is None:
            mp = self._m_p[: self._m_count]
            live = self.phase[mp] != ENDED
            order = np.flatnonzero(live)
            order = order[np.argsort(mp[order], kind="stable")]
            self._compact = Memberships(mp[order], self._m_i[order], self._m_start[order])
            self._compact_version = self.version
        return self._compact

    def _append_members(self, p: int, providers: np.ndarray, levels: np.ndarray) -> None:
        have = self._m_count
        need = have + len(providers)
        self._store._reserve_members(need)
        sl = slice(have, need)
        self._m_p[sl] = p
        self._m_i[sl] = providers
        self._m_start[sl] = levels[providers]
        self._m_count = need

    # -- events -------------------------------------------------------------
    def add(
        self,
        k: int,
        members: np.ndarray,
        *,
        lead: int,
        client: int,
        mandated: bool,
        month: int,
        levels: np.ndarray,
        turnover: np.ndarray,
        ics: np.ndarray,
        culture_col: int,
        types: TypeArrays,
        mechanisms: MechanismParams,
        realisation: float,
        age: int | None = None,
    ) -> int:
        """Record a new partnership of type ``k``; return its id.

        Args:
            k: type index.
            members: provider indices.
            lead: the leading member (led types; the best-rated member otherwise).
            client: the supported trust of a mandated support, or -1.
            mandated: imposed by policy rather than chosen.
            month: this month.
            levels: providers' levels now (members' starting levels are kept).
            turnover: providers' turnover (size asymmetry).
            ics: providers' ICS (same-ICS partnerships start with more trust).
            culture_col: the culture domain's column (cultural gap).
            types: per-type arrays.
            mechanisms: mechanism parameters.
            realisation: the partnership's realisation draw.
            age: for a partnership that already existed at the start of the run: months since its
                transaction completed (it starts operating).
        """
        t, m = types, mechanisms
        if self.count == self.capacity:
            self._grow()
        p = self.count
        self.count += 1
        members = np.asarray(members, dtype=np.int64)
        self.members.append(members)
        self.member_start.append(levels[members].copy())
        self._append_members(p, members, levels)
        self.end_reason.append("")
        self.type[p] = k
        self.mandated[p] = mandated
        self.lead[p] = lead
        self.client[p] = client
        self.start[p] = month
        home = ics[members]
        same_ics = bool((home == home[0]).all())
        self.same_ics[p] = same_ics
        size = turnover[members]
        self.asymmetry[p] = 1.0 - size.min() / size.max()
        culture = levels[members, culture_col].tolist()
        centre = numeric.mean(culture)
        self.culture_gap[p] = 2.0 * numeric.mean([abs(c - centre) for c in culture])
        prior = self.prior_trust_of(members, m.trust_init)
        self.prior_trust[p] = prior
        trust = float(initial_trust(prior, float(t.contract[k]), float(same_ics), m))
        confidence = m.confidence_init
        faith = float(initial_faith(float(mandated), m))
        risk = risk_threshold(trust, confidence, m)
        self.trust[p] = self.initial_trust[p] = self.trust_min[p] = trust
        self.confidence[p] = confidence
        self.faith[p] = faith
        self.ambition[p] = ambition(float(t.integration[k]), trust, m)
        self.realisation[p] = realisation
        self.risk[p] = risk
        self.behaviour[p] = collaborative_behaviour(risk, faith, m)
        self.progress[p] = m.progress_neutral
        self.conflict[p] = 0.0
        if age is not None:
            self.phase[p], self.phase_end[p], self.completion[p] = OPERATING, NEVER, month - age
        elif t.approval_months[k] > 0:
            self.phase[p], self.phase_end[p], self.completion[p] = APPROVAL, month + t.approval_months[k], NEVER
        elif t.transition_months[k] > 0:
            self.phase[p], self.phase_end[p], self.completion[p] = TRANSITION, month + t.transition_months[k], month
        else:
            self.phase[p], self.phase_end[p], self.completion[p] = OPERATING, NEVER, month
        self.exclusive_type = t.exclusive
        self.type_count[members, k] += 1
        if t.exclusive[k]:
            self.n_exclusive[members] += 1
        if mandated and client >= 0:
            self.mandated_led[lead] += 1
            self.supported[client] = True
        self.version += 1
        return p

    def add_member(self, p: int, i: int, levels: np.ndarray) -> None:
        """A provider joins an existing partnership (e.g. a collaborative under the duty)."""
        self.members[p] = np.append(self.members[p], i)
        self.member_start[p] = np.vstack([self.member_start[p], levels[i]])
        self._append_members(p, np.array([i]), levels)
        self.type_count[i, self.type[p]] += 1
        if self.exclusive_type[self.type[p]]:
            self.n_exclusive[i] += 1
        self.version += 1

    def advance_phase(self, p: int, month: int, t: TypeArrays) -> None:
        """Approval → transition → operating; the end of approval is the transaction's completion."""
        if self.phase[p] == APPROVAL:
            self.completion[p] = month
        if self.phase[p] == APPROVAL and t.transition_months[self.type[p]] > 0:
            self.phase[p], self.phase_end[p] = TRANSITION, month + t.transition_months[self.type[p]]
        else:
            self.phase[p], self.phase_end[p] = OPERATING, NEVER
        self.version += 1

    def end(self, p: int, month: int, reason: str, t: TypeArrays, m: MechanismParams) -> None:
        """End partnership ``p``; remember the trust it leaves between each pair of members."""
        members = self.members[p]
        k = self.type[p]
        left = self.trust[p] * (1.0 - m.dissolution_trust_penalty) if reason == "inertia" else self.trust[p]
        self.remember(members, left)
        self.phase[p] = ENDED
        self.end_month[p] = month
        self.end_reason[p] = reason
        self.type_count[members, k] -= 1
        if t.exclusive[k]:
            self.n_exclusive[members] -= 1
        if self.mandated[p] and self.client[p] >= 0:
            self.mandated_led[self.lead[p]] -= 1
            self.supported[self.client[p]] = False
        self.version += 1

    def remember(self, members: np.ndarray, trust: float) -> None:
        """Store the trust between every pair of ``members`` for later partnerships."""
        for a in range(len(members)):
            for b in range(a + 1, len(members)):
                key = (int(min(members[a], members[b])), int(max(members[a], members[b])))
                self.pair_trust[key] = float(trust)

    def log_row(self, p: int, levels: np.ndarray, domain_cols: dict[str, int], horizon_month: int) -> dict[str, Any]:
        """One row of the partnership log (design.md §5, last paragraph)."""
        members = self.members[p]
        start = self.member_start[p]
        months = max(int(self.months[p]), 1)
        row: dict[str, Any] = {
            "partnership_id": p,
            "type": "",
            "mandated": bool(self.mandated[p]),
            "start_month": int(self.start[p]),
            "end_month": int(self.end_month[p]) if self.phase[p] == ENDED else horizon_month,
            "ended": bool(self.phase[p] == ENDED),
            "dissolved": self.end_reason[p] == "inertia",
            "end_reason": self.end_reason[p] or "ongoing",
            "final_phase": PHASES[self.phase[p]] if self.phase[p] != ENDED else "ended",
            "n_members": len(members),
            "members": " ".join(str(int(i)) for i in members),
            "lead": int(self.lead[p]),
            "same_ics": bool(self.same_ics[p]),
            "culture_gap": float(self.culture_gap[p]),
            "asymmetry": float(self.asymmetry[p]),
            "prior_trust": float(self.prior_trust[p]),
            "initial_trust": float(self.initial_trust[p]),
            "ambition": float(self.ambition[p]),
            "realisation": float(self.realisation[p]),
            "completion_month": int(self.completion[p]) if self.completion[p] < NEVER else -1,
            "mean_conflict": float(self.conflict_sum[p] / months),
            "mean_trust": float(self.trust_sum[p] / months),
            "min_trust": float(self.trust_min[p]),
            "mean_confidence": float(self.confidence_sum[p] / months),
            "mean_faith": float(self.faith_sum[p] / months),
            "mean_behaviour": float(self.behaviour_sum[p] / months),
            "months_in_inertia": int(self.inertia_total[p]),
            "final_trust": float(self.trust[p]),
            "final_confidence": float(self.confidence[p]),
            "final_faith": float(self.faith[p]),
            "final_behaviour": float(self.behaviour[p]),
            "final_conflict": float(self.conflict[p]),
        }
        ended = self.end_delta.get(p)
        for n, (role, col) in enumerate(domain_cols.items()):
            first = start[:, col].tolist()
            row[f"start_{role}"] = numeric.mean(first)
            row[f"delta_{role}"] = ended[n] if ended is not None else self.member_change(p, levels, col)
        return row

    def member_change(self, p: int, levels: np.ndarray, col: int) -> float:
        """Members' mean change in domain ``col`` since they joined partnership ``p``."""
        now = levels[self.members[p], col].tolist()
        first = self.member_start[p][:, col].tolist()
        return numeric.mean([a - b for a, b in zip(now, first, strict=True)])

    def freeze_outcomes(self, p: int, levels: np.ndarray, cols: list[int]) -> None:
        """Record members' change in each of ``cols`` as the partnership ends (for its log row)."""
        self.end_delta[p] = [self.member_change(p, levels, c) for c in cols]
