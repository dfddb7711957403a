"""The partnership ledger: partnerships' state as arrays, memberships, pairwise memory.

Partnership agents (``sim.agents.Partnership``) are thin handles onto a row of these
arrays. The ledger grows by doubling, so adding a partnership is amortised O(1); the
compact arrays of active memberships are rebuilt only when an event changes them.
"""

from __future__ import annotations

import operator
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Any, overload

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
from sim.theory import Theory, per_theory
from sim.typology import TARGET_MODES

PHASES = ("approval", "transition", "operating", "ended")
APPROVAL, TRANSITION, OPERATING, ENDED = range(4)
NEVER = np.iinfo(np.int64).max // 2
# a partnership's ``end_code`` indexes its reason: none yet (it lasts), dissolved, support completed
END_REASONS = ("", "inertia", "recovered")


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
    """Arrays of the typology with the parameter values in force (and the approval lever).

    Built once per theory (a frozen object, shared by the runs of a batch) and approval lever,
    and shared: the arrays are read-only (:func:`sim.theory.per_theory`).
    """
    return per_theory(theory, _type_arrays, approval_override)


def _type_arrays(theory: Theory, approval_override: float | None) -> TypeArrays:
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
    "end_code",  # why it ended: its index in END_REASONS (0 while it lasts)
)
_BOOLS = ("mandated", "same_ics")
FLOAT_INDEX = {name: i for i, name in enumerate(_FLOATS)}
INT_INDEX = {name: i for i, name in enumerate(_INTS)}
BOOL_INDEX = {name: i for i, name in enumerate(_BOOLS)}
_LOGGED_REASONS = ("ongoing", *END_REASONS[1:])  # the partnership log's ``end_reason`` of each ``end_code``


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


class MemberRows(Sequence[np.ndarray]):
    """Per-partnership runs of a ledger's membership rows: ``rows[p]``, partnership ``p``'s in the order they joined.

    ``values``: one entry per membership, partnership by partnership (members, or their levels);
    partnership ``p``'s are ``values[first[p]:first[p + 1]]``. A snapshot: the ledger gives a new
    one as partnerships form and members join (``Ledger.members``, ``Ledger.member_start``).
    """

    def __init__(self, values: np.ndarray, first: np.ndarray) -> None:
        self.values, self.first = values, first

    def __len__(self) -> int:
        return len(self.first) - 1

    @overload
    def __getitem__(self, p: int) -> np.ndarray: ...
    @overload
    def __getitem__(self, p: slice) -> list[np.ndarray]: ...
    def __getitem__(self, p: int | slice) -> np.ndarray | list[np.ndarray]:
        if isinstance(p, slice):
            return [self[q] for q in range(*p.indices(len(self)))]
        q = operator.index(p) + (len(self) if p < 0 else 0)
        if not 0 <= q < len(self):
            raise IndexError(p)
        return self.values[self.first[q] : self.first[q + 1]]


class LedgerStore:
    """The partnership arrays of several runs, with a run axis (an ensemble's ledgers share one store).

    Per partnership: ``floats`` (runs × fields × capacity), ``ints`` and ``flags`` (rows named by
    ``FLOAT_INDEX``, ``INT_INDEX``, ``BOOL_INDEX``); per membership: partnership, provider and the
    member's levels when it joined; per provider: partnerships held by type, exclusive ones,
    mandated supports led, supported; per pair of providers that partnered before, the trust
    they remember (``pair_key``: ``a * n_providers + b`` for ``a < b``, in the order first
    remembered; ``pair_value``; ``pair_count`` of them). Each run's :class:`Ledger` holds views
    of its row; growing the store re-binds them all.
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
        self.m_end = np.zeros((runs, capacity * 4, n_domains))
        self.type_count = np.zeros((runs, n_providers, n_types), dtype=np.int64)
        self.n_exclusive = np.zeros((runs, n_providers), dtype=np.int64)
        self.mandated_led = np.zeros((runs, n_providers), dtype=np.int64)
        self.supported = np.zeros((runs, n_providers), dtype=bool)
        self.n_providers = n_providers
        self.pair_count = np.zeros(runs, dtype=np.int64)
        self.pair_key = np.zeros((runs, capacity * 2), dtype=np.int64)
        self.pair_value = np.zeros((runs, capacity * 2))
        self.ledgers: list[Ledger | None] = [None] * runs

    @classmethod
    def stack(cls, ledgers: list[Ledger]) -> LedgerStore:
        """One store holding the given runs' ledgers (copied), which are re-bound to it."""
        first = ledgers[0]._store
        n, k = first.type_count.shape[1:]
        store = cls(len(ledgers), n, k, first.n_domains, max(led._store.capacity for led in ledgers))
        store._reserve_members(max(led._store.m_p.shape[1] for led in ledgers))
        store.reserve_pairs(max(led._store.pair_key.shape[1] for led in ledgers))
        for r, led in enumerate(ledgers):
            old, o = led._store, led._run
            cap, mcap, pcap = old.capacity, old.m_p.shape[1], old.pair_key.shape[1]
            store.floats[r, :, :cap] = old.floats[o]
            store.ints[r, :, :cap] = old.ints[o]
            store.flags[r, :, :cap] = old.flags[o]
            store.count[r], store.m_count[r] = old.count[o], old.m_count[o]
            store.m_p[r, :mcap], store.m_i[r, :mcap], store.m_start[r, :mcap] = old.m_p[o], old.m_i[o], old.m_start[o]
            store.m_end[r, :mcap] = old.m_end[o]
            for name in ("type_count", "n_exclusive", "mandated_led", "supported", "pair_count"):
                getattr(store, name)[r] = getattr(old, name)[o]
            store.pair_key[r, :pcap], store.pair_value[r, :pcap] = old.pair_key[o], old.pair_value[o]
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
        for name in ("m_p", "m_i", "m_start", "m_end"):
            old = getattr(self, name)
            arr = np.zeros((old.shape[0], size) + old.shape[2:], dtype=old.dtype)
            arr[:, : old.shape[1]] = old
            setattr(self, name, arr)
        self._rebind()

    def reserve(self, partnerships: np.ndarray, memberships: np.ndarray) -> None:
        """Room for ``partnerships[r]`` more partnerships and ``memberships[r]`` more membership rows in each run.

        For a compiled add (``sim.event_kernels.record_supports``), which writes the store's rows
        itself; ``Ledger.recorded`` then tells each ledger its arrays changed.
        """
        while (self.count + partnerships).max() > self.capacity:
            self.grow()
        self._reserve_members(int((self.m_count + memberships).max()))

    def reserve_pairs(self, need: int) -> None:
        """Room for ``need`` remembered pairs in every run (the capacity doubles, at least)."""
        size = self.pair_key.shape[1]
        if need <= size:
            return
        size = max(need, 2 * size)
        for name in ("pair_key", "pair_value"):
            old = getattr(self, name)
            arr = np.zeros((old.shape[0], size), dtype=old.dtype)
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
    end_code: np.ndarray  # why it ended: its index in END_REASONS (``end_reason`` names them)
    # flags, per partnership
    mandated: np.ndarray
    same_ics: np.ndarray

    type_count: np.ndarray  # providers × types: active partnerships of each type a provider is in
    n_exclusive: np.ndarray
    mandated_led: np.ndarray  # mandated partnerships each provider leads
    supported: np.ndarray  # client of an active mandated support
    _m_p: np.ndarray  # flat, append-only membership rows: partnership, provider, levels at joining,
    _m_i: np.ndarray  # and levels when the partnership ended
    _m_start: np.ndarray
    _m_end: np.ndarray

    def __init__(self, n_providers: int, n_types: int, n_domains: int, capacity: int = 64) -> None:
        self.n_domains = n_domains
        self._grouped: tuple[tuple[int, int], np.ndarray, np.ndarray] | None = None  # (see _by_partnership)
        self._pair_slots: dict[int, int] = {}  # each remembered pair's slot in the pair memory, by key
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
        self._m_p, self._m_i, self._m_start, self._m_end = st.m_p[r], st.m_i[r], st.m_start[r], st.m_end[r]
        self.type_count, self.n_exclusive = st.type_count[r], st.n_exclusive[r]
        self.mandated_led, self.supported = st.mandated_led[r], st.supported[r]
        self._pair_key, self._pair_value = st.pair_key[r], st.pair_value[r]
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

    @property
    def pair_trust(self) -> PairMemory:
        """The trust each pair of providers remembers from their last partnership (or their history)."""
        return PairMemory(self._remembered_slots(), self._pair_value, self._store.n_providers)

    @property
    def members(self) -> MemberRows:
        """Each partnership's members (providers), in the order they joined: ``members[p]``."""
        order, first = self._by_partnership()
        return MemberRows(self._m_i[order], first)

    @property
    def member_start(self) -> MemberRows:
        """Each partnership's members' levels when they joined (members × domains), as :attr:`members`."""
        order, first = self._by_partnership()
        return MemberRows(self._m_start[order], first)

    @property
    def end_reason(self) -> list[str]:
        """Why each partnership ended (``END_REASONS``): ``inertia``, ``recovered``, or ``""`` while it lasts."""
        return [END_REASONS[c] for c in self.end_code[: self.count].tolist()]

    @property
    def end_levels(self) -> dict[int, np.ndarray]:
        """Each ended partnership's members' levels as it ended (members × domains; its log row reports them)."""
        order, first = self._by_partnership()
        ended = self._m_end[order]
        return {p: ended[first[p] : first[p + 1]] for p in np.flatnonzero(self.phase[: self.count] == ENDED).tolist()}

    def _by_partnership(self) -> tuple[np.ndarray, np.ndarray]:
        """The membership rows grouped by partnership: their order, and where each partnership's start (and the end).

        Partnership ``p``'s rows are ``order[first[p]:first[p + 1]]``, in the order its members
        joined (rows are only ever appended). Kept until a partnership or a membership is added.
        """
        key = (self.count, self._m_count)
        if self._grouped is None or self._grouped[0] != key:
            n, rows = key
            mp = self._m_p[:rows]
            first = np.zeros(n + 1, dtype=np.int64)
            np.cumsum(np.bincount(mp, minlength=n), out=first[1:])
            self._grouped = key, np.argsort(mp, kind="stable"), first
        return self._grouped[1], self._grouped[2]

    def _rows_of(self, p: int) -> np.ndarray:
        """Partnership ``p``'s membership rows, in the order its members joined."""
        order, first = self._by_partnership()
        return order[first[p] : first[p + 1]]

    @property
    def store(self) -> LedgerStore:
        """The store whose row :attr:`run` holds this ledger's arrays (its own, or an ensemble's)."""
        return self._store

    @property
    def run(self) -> int:
        """This ledger's row of :attr:`store`."""
        return self._run

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

    def prior_trust_of(self, members: Sequence[int] | np.ndarray, baseline: float) -> float:
        """Mean over member pairs of remembered trust relative to ``baseline`` (0 = no history)."""
        ids, slots = _ints(members), self._remembered_slots()
        vals = []
        for a in range(len(ids)):
            for b in range(a + 1, len(ids)):
                j = slots.get(self._pair_of(ids[a], ids[b]))
                if j is not None:
                    vals.append(float(self._pair_value[j]) - baseline)
        return numeric.mean(vals) if vals else 0.0

    def remembered(self, i: int, others: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Whether ``i`` and each of ``others`` remember a partnership, and the trust they remember (0 if not)."""
        slots, n = self._remembered_slots(), self._store.n_providers
        keys = (np.minimum(i, others) * n + np.maximum(i, others)).tolist()
        at = np.array([slots.get(key, -1) for key in keys], dtype=np.int64)
        known = at >= 0
        return known, np.where(known, self._pair_value[at], 0.0)

    def _pair_of(self, a: int, b: int) -> int:
        """The memory's key of the pair ``a``, ``b`` (in either order)."""
        return a * self._store.n_providers + b if a < b else b * self._store.n_providers + a

    def _remembered_slots(self) -> dict[int, int]:
        """Each remembered pair's slot by key, caught up with the pairs a compiled end appended since."""
        slots, c = self._pair_slots, int(self._store.pair_count[self._run])
        if len(slots) < c:
            slots.update((key, j) for j, key in enumerate(self._pair_key[len(slots) : c].tolist(), len(slots)))
        return slots

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

    def _append_members(self, p: int | np.ndarray, providers: np.ndarray, start: np.ndarray) -> None:
        """Membership rows for ``providers`` joining ``p``, with their levels ``start`` (rows of providers)."""
        have = self._m_count
        need = have + len(providers)
        self._store._reserve_members(need)
        sl = slice(have, need)
        self._m_p[sl] = p
        self._m_i[sl] = providers
        self._m_start[sl] = start
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
        members = np.asarray(members, dtype=np.int64)
        p = self._new_rows(1)
        start = levels[members]  # the members' levels as they join (a copy)
        self._append_members(p, members, start)
        home = ics[members].tolist()
        size = turnover[members].tolist()
        culture = start[:, culture_col].tolist()
        centre = numeric.mean(culture)
        self._open(
            p,
            k,
            same_ics=float(home.count(home[0]) == len(home)),
            asymmetry=1.0 - min(size) / max(size),
            culture_gap=2.0 * numeric.mean([abs(c - centre) for c in culture]),
            prior=self.prior_trust_of(members, mechanisms.trust_init),
            lead=lead,
            client=client,
            mandated=mandated,
            month=month,
            age=age,
            realisation=realisation,
            t=types,
            m=mechanisms,
        )
        self.type_count[members, k] += 1
        if types.exclusive[k]:
            self.n_exclusive[members] += 1
        if mandated and client >= 0:
            self.mandated_led[lead] += 1
            self.supported[client] = True
        return p

    def reserve(self, partnerships: int, memberships: int) -> None:
        """Room for ``partnerships`` more partnerships and ``memberships`` more membership rows (for a compiled add)."""
        while self.count + partnerships > self.capacity:
            self._grow()
        self._store._reserve_members(self._m_count + memberships)

    def reserve_pairs(self, pairs: int) -> None:
        """Room for ``pairs`` more remembered pairs (for a compiled memory: ``sim.event_kernels.remember_pairs``)."""
        self._store.reserve_pairs(int(self._store.pair_count[self._run]) + pairs)

    def recorded(self, t: TypeArrays) -> None:
        """A compiled add (``sim.event_kernels``) wrote partnerships (of types ``t``) in the arrays."""
        self.exclusive_type = t.exclusive
        self.version += 1

    def _new_rows(self, n: int) -> int:
        """Make room for ``n`` more partnerships; return the first new id."""
        st, r = self._store, self._run
        p = int(st.count[r])
        while p + n > st.capacity:
            self._grow()
        st.count[r] = p + n
        return p

    def _open(
        self,
        p: Any,
        k: int,
        *,
        same_ics: Any,
        asymmetry: Any,
        culture_gap: Any,
        prior: Any,
        lead: Any,
        client: int,
        mandated: bool,
        month: int,
        age: Any,
        realisation: Any,
        t: TypeArrays,
        m: MechanismParams,
    ) -> None:
        """A new partnership's starting relations and phase (``p`` and its context: one, or rows and arrays)."""
        trust = initial_trust(prior, float(t.contract[k]), same_ics, m)
        confidence = m.confidence_init
        faith = initial_faith(float(mandated), m)
        risk = risk_threshold(trust, confidence, m)
        if age is not None:
            phase, phase_end, completion = OPERATING, NEVER, month - age
        elif t.approval_months[k] > 0:
            phase, phase_end, completion = APPROVAL, month + int(t.approval_months[k]), NEVER
        elif t.transition_months[k] > 0:
            phase, phase_end, completion = TRANSITION, month + int(t.transition_months[k]), month
        else:
            phase, phase_end, completion = OPERATING, NEVER, month
        values = {
            "trust": trust,
            "initial_trust": trust,
            "trust_min": trust,
            "confidence": confidence,
            "faith": faith,
            "risk": risk,
            "behaviour": collaborative_behaviour(risk, faith, m),
            "ambition": ambition(float(t.integration[k]), trust, m),
            "progress": m.progress_neutral,
            "conflict": 0.0,
            "asymmetry": asymmetry,
            "culture_gap": culture_gap,
            "prior_trust": prior,
            "realisation": realisation,
        }
        ints = {"type": k, "phase": phase, "start": month, "phase_end": phase_end, "completion": completion}
        ints.update(lead=lead, client=client)
        st, r = self._store, self._run
        for name, v in values.items():  # fields not set stay 0 (sums, counters) until the partnership acts
            st.floats[r, FLOAT_INDEX[name], p] = v
        for name, v in ints.items():
            st.ints[r, INT_INDEX[name], p] = v
        st.flags[r, BOOL_INDEX["mandated"], p] = mandated
        st.flags[r, BOOL_INDEX["same_ics"], p] = same_ics != 0.0
        self.exclusive_type = t.exclusive
        self.version += 1

    def add_member(self, p: int, i: int, levels: np.ndarray) -> None:
        """A provider joins an existing partnership (e.g. a collaborative under the duty)."""
        start = levels[i : i + 1]
        self._append_members(p, np.array([i]), start)
        self.type_count[i, self.type[p]] += 1
        if self.exclusive_type[self.type[p]]:
            self.n_exclusive[i] += 1
        self.version += 1

    def add_members(self, ps: Sequence[int], providers: Sequence[int], levels: np.ndarray) -> None:
        """Providers join partnerships (``providers[n]`` joins ``ps[n]``): :meth:`add_member` of each, in turn."""
        if not len(ps):
            return
        at, who = np.asarray(ps, dtype=np.int64), np.asarray(providers, dtype=np.int64)
        start = levels[who]
        self._append_members(at, who, start)
        k = self.type[at]
        np.add.at(self.type_count, (who, k), 1)
        np.add.at(self.n_exclusive, who[self.exclusive_type[k]], 1)
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

    def end(
        self, p: int, month: int, reason: str, t: TypeArrays, m: MechanismParams, levels: np.ndarray | None = None
    ) -> None:
        """End partnership ``p``; remember the trust it leaves between each pair of members.

        ``reason``: one of ``END_REASONS`` (``inertia``, ``recovered``). Given the providers'
        ``levels``, the members' levels as it ends are kept too, in its membership rows (its log
        row reports them; ``World.end_partnership`` passes them).
        """
        if reason not in END_REASONS[1:]:
            raise ValueError(f"unknown reason for an ending {reason!r}: one of {END_REASONS[1:]}")
        code = END_REASONS.index(reason)
        rows = self._rows_of(p)
        if levels is not None:
            self._m_end[rows] = levels[self._m_i[rows]]
        members = self._m_i[rows].tolist()
        k = int(self.type[p])
        left = self.trust[p] * (1.0 - m.dissolution_trust_penalty) if reason == "inertia" else self.trust[p]
        self.remember(members, left)
        self.phase[p] = ENDED
        self.end_month[p] = month
        self.end_code[p] = code
        held, exclusive = self.type_count, t.exclusive[k]
        for i in members:
            held[i, k] -= 1
            if exclusive:
                self.n_exclusive[i] -= 1
        client = int(self.client[p])
        if client >= 0 and self.mandated[p]:
            self.mandated_led[self.lead[p]] -= 1
            self.supported[client] = False
        self.version += 1

    def remember(self, members: Sequence[int] | np.ndarray, trust: float) -> None:
        """Store the trust between every pair of ``members`` for later partnerships (a later ending overwrites it).

        Pairs in the members' order; a pair remembered for the first time takes the memory's next
        slot (``sim.event_kernels.end_rows`` remembers as this does).
        """
        slots, value, n = self._remembered_slots(), float(trust), self._store.n_providers
        for a, b in combinations(_ints(members), 2):
            key = a * n + b if a < b else b * n + a
            j = slots.get(key)
            if j is None:
                j = slots[key] = len(slots)
                if j == self._pair_key.shape[0]:
                    self._store.reserve_pairs(j + 1)
                self._pair_key[j] = key
                self._store.pair_count[self._run] = j + 1
            self._pair_value[j] = value

    def log(
        self, levels: np.ndarray, domain_cols: dict[str, int], month: int, type_names: Sequence[str]
    ) -> dict[str, Any]:
        """The partnership log (design.md §5, last paragraph) as columns: one entry per partnership.

        Ended partnerships as they ended, active ones as they stand in ``month``. Members' means
        (their levels when they joined, their change since) are taken in numpy's order.
        """
        n = self.count
        phase = self.phase[:n]
        ended = phase == ENDED
        months = np.maximum(self.months[:n], 1)
        completion = self.completion[:n]
        codes = self.end_code[:n].tolist()
        order, bounds = self._by_partnership()  # every membership, partnership by partnership
        first, sizes = bounds[:-1], np.diff(bounds)
        members, start = self._m_i[order], self._m_start[order]
        # every member written once, each partnership's members a slice of the line (space-separated)
        words = list(map(str, members.tolist()))
        at = np.zeros(len(words) + 1, dtype=np.int64)  # where each member's word starts, and the end + 1
        at[1:] = np.cumsum(np.fromiter(map(len, words), dtype=np.int64, count=len(words)) + 1)
        line = " ".join(words)
        col: dict[str, Any] = {
            "partnership_id": np.arange(n, dtype=np.int64),
            "type": [type_names[k] for k in self.type[:n].tolist()],
            "mandated": self.mandated[:n].copy(),
            "start_month": self.start[:n].copy(),
            "end_month": np.where(ended, self.end_month[:n], month),
            "ended": ended,
            "dissolved": self.end_code[:n] == END_REASONS.index("inertia"),
            "end_reason": [_LOGGED_REASONS[c] for c in codes],
            "final_phase": [PHASES[x] for x in phase.tolist()],
            "n_members": sizes,
            "members": [line[a : b - 1] for a, b in zip(at[first].tolist(), at[first + sizes].tolist(), strict=True)],
            "lead": self.lead[:n].copy(),
            "same_ics": self.same_ics[:n].copy(),
            "culture_gap": self.culture_gap[:n].copy(),
            "asymmetry": self.asymmetry[:n].copy(),
            "prior_trust": self.prior_trust[:n].copy(),
            "initial_trust": self.initial_trust[:n].copy(),
            "ambition": self.ambition[:n].copy(),
            "realisation": self.realisation[:n].copy(),
            "completion_month": np.where(completion < NEVER, completion, -1),
            "mean_conflict": self.conflict_sum[:n] / months,
            "mean_trust": self.trust_sum[:n] / months,
            "min_trust": self.trust_min[:n].copy(),
            "mean_confidence": self.confidence_sum[:n] / months,
            "mean_faith": self.faith_sum[:n] / months,
            "mean_behaviour": self.behaviour_sum[:n] / months,
            "months_in_inertia": self.inertia_total[:n].copy(),
            "final_trust": self.trust[:n].copy(),
            "final_confidence": self.confidence[:n].copy(),
            "final_faith": self.faith[:n].copy(),
            "final_behaviour": self.behaviour[:n].copy(),
            "final_conflict": self.conflict[:n].copy(),
        }
        final = levels[members]  # members' levels now, or when their partnership ended
        gone = ended[self._m_p[order]]
        final[gone] = self._m_end[order[gone]]
        c = list(domain_cols.values())
        start_means = numeric.segment_means(start[:, c], first, sizes).T  # every role at once, a row each
        delta_means = numeric.segment_means(final[:, c] - start[:, c], first, sizes).T
        for j, role in enumerate(domain_cols):
            col[f"start_{role}"] = np.ascontiguousarray(start_means[j])
            col[f"delta_{role}"] = np.ascontiguousarray(delta_means[j])
        return col


class PairMemory(Mapping[tuple[int, int], float]):
    """A run's remembered trust by pair of providers ``(a, b)``, ``a < b``, in the order first remembered.

    A read-only view of the run's row of the ledger's pair memory (``LedgerStore.pair_value``),
    through its slots by key (``a * n_providers + b``).
    """

    def __init__(self, slots: dict[int, int], trust: np.ndarray, n_providers: int) -> None:
        self.slots, self.trust, self.n = slots, trust, n_providers

    def __getitem__(self, pair: tuple[int, int]) -> float:
        a, b = pair
        j = self.slots.get(a * self.n + b) if 0 <= a < b < self.n else None
        if j is None:
            raise KeyError(pair)
        return float(self.trust[j])

    def __iter__(self) -> Iterator[tuple[int, int]]:
        return (divmod(key, self.n) for key in self.slots)

    def __len__(self) -> int:
        return len(self.slots)


def _ints(members: Sequence[int] | np.ndarray) -> list[int]:
    return members.tolist() if isinstance(members, np.ndarray) else [int(i) for i in members]
