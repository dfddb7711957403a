"""Compiled event work over every run of an ensemble (numba): the failure regime, and endings.

The failure regime (``formation.apply_failure_regime``, the readable rule) serves the trusts
waiting for a mandated partner in a random order and gives each the best-rated capable partner
of its sector, in its ICS first. Its only random draw is that order (the ``failure`` stream's
permutation of the waiting trusts); everything else is a deterministic scan, which these loops do
for all runs at once: :func:`failure_waiting` lists each run's waiting trusts (the ensemble draws
their order from each run's own stream, as the rule does), :func:`failure_partners` picks each
one's partner, and :func:`record_supports` records the supports in the ledgers as ``Ledger.add``
does. :func:`end_rows` ends the partnerships ``kernels.endings`` picks in the ledgers' arrays, as
``Ledger.end`` does (the ledger's memory of pairs stays a Python dict: ``Ledger.ended``).
``tests/test_event_kernels.py`` holds them equal to the rules, bit for bit.

Why compiled: in Python the rule's scans of small arrays and ``Ledger.add``'s per-formation work
cost about 200 µs per support formed; the regime cost 11 ms per run in a batch of 64 buddying runs
(120 months), 3.5 ms with these loops (the rest: each run's own draws and the ledger's lists).
Runs with Mesa agents keep the rule (it forms each support through the model, which makes its
agent).
"""

from __future__ import annotations

from pathlib import Path

import numba
import numpy as np

from sim import compile_cache, kernels, relations
from sim.registry import APPROVAL, BOOL_INDEX, ENDED, FLOAT_INDEX, INT_INDEX, NEVER, OPERATING, TRANSITION

initial_trust = kernels.compiled(relations.initial_trust)
initial_faith = kernels.compiled(relations.initial_faith)
ambition = kernels.compiled(relations.ambition)
risk_threshold = kernels.risk_threshold
collaborative_behaviour = kernels.collaborative_behaviour
unit = kernels.unit

_APPROVAL, _TRANSITION, _OPERATING, _ENDED, _NEVER = APPROVAL, TRANSITION, OPERATING, ENDED, NEVER
# rows of the ledger's float, int and flag tables a new partnership sets (compile-time constants)
TRUST, INITIAL_TRUST, TRUST_MIN = (FLOAT_INDEX[x] for x in ("trust", "initial_trust", "trust_min"))
CONFIDENCE, FAITH, RISK, BEHAVIOUR = (FLOAT_INDEX[x] for x in ("confidence", "faith", "risk", "behaviour"))
AMBITION, PROGRESS, CONFLICT = (FLOAT_INDEX[x] for x in ("ambition", "progress", "conflict"))
ASYMMETRY, CULTURE_GAP, PRIOR_TRUST = (FLOAT_INDEX[x] for x in ("asymmetry", "culture_gap", "prior_trust"))
REALISATION = FLOAT_INDEX["realisation"]
TYPE, PHASE, START, PHASE_END = (INT_INDEX[x] for x in ("type", "phase", "start", "phase_end"))
COMPLETION, LEAD, CLIENT, END_MONTH = (INT_INDEX[x] for x in ("completion", "lead", "client", "end_month"))
MANDATED, SAME_ICS = BOOL_INDEX["mandated"], BOOL_INDEX["same_ics"]


@numba.njit(cache=True)
def _joinable(type_count, n_exclusive, r, i, k, extra, max_per_provider, exclusive):  # type: ignore[no-untyped-def]
    """Whether provider ``i`` of run ``r`` may join one more partnership of type ``k`` (``Ledger.can_join_one``).

    ``extra``: partnerships of that type it has joined this month, beyond those the counts hold.
    """
    if type_count[r, i, k] + extra >= max_per_provider[r, k]:
        return False
    return not (exclusive[r, k] and n_exclusive[r, i] + extra > 0)


@numba.njit(cache=True)
def failure_waiting(type_count, n_exclusive, in_sm, supported, k, max_per_provider, exclusive, out):  # type: ignore[no-untyped-def]
    """Each run's trusts waiting for a mandated partner of type ``k[r]`` (none where ``k[r] < 0``).

    Waiting: in special measures, not yet supported, free to join one more partnership of type
    ``k[r]``. Writes run ``r``'s waiting trusts, ascending, to ``out[r, :count]``; returns the counts.
    """
    runs, n = in_sm.shape
    counts = np.zeros(runs, dtype=np.int64)
    for r in range(runs):
        kr = k[r]
        if kr < 0:
            continue
        for i in range(n):
            if in_sm[r, i] and not supported[r, i]:
                if _joinable(type_count, n_exclusive, r, i, kr, 0, max_per_provider, exclusive):
                    out[r, counts[r]] = i
                    counts[r] += 1
    return counts


@numba.njit(cache=True)
def failure_partners(  # type: ignore[no-untyped-def]
    order,
    counts,
    type_count,
    n_exclusive,
    in_sm,
    levels,
    q_col,
    k,
    max_per_provider,
    exclusive,
    min_quality,
    mandated_led,
    capacity,
    sector,
    ics,
    same_ics_first,
    partner,
):
    """Each waiting trust's partner, in each run's order ``order[r, :counts[r]]`` (``partner[r, j]``; -1: none).

    Capable partners: free to join one more partnership of type ``k[r]``, not in special
    measures, quality at least ``min_quality[r]``, leading fewer than ``capacity[r]`` mandated
    supports. A waiting trust takes the best-rated capable trust of its sector in its ICS (when
    ``same_ics_first[r]``), else of its sector anywhere; the first by index among equals, as
    ``np.argmax`` over the ascending pool. A partner's capability is re-checked after each
    support it takes on (it holds one more partnership of type ``k[r]`` and leads one more
    mandated support). A waiting trust is never capable itself (it is in special measures), and
    quality is never NaN, so the rule's other guards change nothing here.
    """
    runs, n = in_sm.shape
    capable = np.zeros(n, dtype=np.bool_)
    taken = np.zeros(n, dtype=np.int64)  # supports each trust has taken on this month
    for r in range(runs):
        kr = k[r]
        if kr < 0 or counts[r] == 0:
            continue
        for i in range(n):
            taken[i] = 0
            capable[i] = (
                not in_sm[r, i]
                and levels[r, i, q_col] >= min_quality[r]
                and mandated_led[r, i] < capacity[r]
                and _joinable(type_count, n_exclusive, r, i, kr, 0, max_per_provider, exclusive)
            )
        for j in range(counts[r]):
            i = order[r, j]
            best = -1
            if same_ics_first[r]:
                best = _best(levels, q_col, capable, sector, ics, r, i, True)
            if best < 0:
                best = _best(levels, q_col, capable, sector, ics, r, i, False)
            partner[r, j] = best
            if best >= 0:
                taken[best] += 1
                capable[best] = mandated_led[r, best] + taken[best] < capacity[r] and _joinable(
                    type_count, n_exclusive, r, best, kr, taken[best], max_per_provider, exclusive
                )


@numba.njit(cache=True)
def _best(levels, q_col, capable, sector, ics, r, i, local):  # type: ignore[no-untyped-def]
    """The best-rated capable trust of ``i``'s sector (of its ICS too if ``local``), first by index; -1: none."""
    best = -1
    for p in range(capable.shape[0]):
        if not capable[p] or sector[r, p] != sector[r, i] or (local and ics[r, p] != ics[r, i]):
            continue
        if best < 0 or levels[r, p, q_col] > levels[r, best, q_col]:
            best = p
    return best


@numba.njit(cache=True)
def record_supports(  # type: ignore[no-untyped-def]
    partner,
    order,
    counts,
    prior,
    realisation,
    k,
    month,
    levels,
    turnover,
    ics,
    culture_col,
    mech,
    contract,
    integration,
    approval_months,
    transition_months,
    exclusive,
    floats,
    ints,
    flags,
    count,
    m_p,
    m_i,
    m_start,
    m_count,
    type_count,
    n_exclusive,
    mandated_led,
    supported,
):
    """Record each run's mandated supports of the month in its ledger rows, as ``Ledger.add`` of each in turn.

    The support of ``order[r, j]`` by ``partner[r, j]`` (none where -1) is a partnership of type
    ``k[r]`` with members ``[partner, client]``, led by the partner, with the remembered trust
    ``prior[r, j]`` (relative to ``trust_init``) and the realisation ``realisation[r, j]``. Its context
    (shared ICS, size asymmetry, cultural gap) and starting relations and phase are those of
    ``Ledger.add`` and ``Ledger._open``, with :mod:`sim.relations`'s functions compiled; its
    membership rows and the members' counts are updated. The ledgers must have room
    (``Ledger.reserve``); their Python-side lists are updated after (``Ledger.recorded``).
    """
    runs = counts.shape[0]
    for r in range(runs):
        kr = k[r]
        m = mech[r]
        for j in range(counts[r]):
            lead, client = partner[r, j], order[r, j]
            if lead < 0:
                continue
            p = count[r]
            count[r] = p + 1
            mc = m_count[r]
            m_count[r] = mc + 2
            m_p[r, mc] = p
            m_p[r, mc + 1] = p
            m_i[r, mc] = lead
            m_i[r, mc + 1] = client
            m_start[r, mc] = levels[r, lead]
            m_start[r, mc + 1] = levels[r, client]
            # the context, as Ledger.add takes it for two members (numpy's sums, in their order)
            c0, c1 = levels[r, lead, culture_col], levels[r, client, culture_col]
            centre = (0.0 + c0 + c1) / 2
            gap = 2.0 * ((0.0 + abs(c0 - centre) + abs(c1 - centre)) / 2)
            s0, s1 = turnover[r, lead], turnover[r, client]
            same = 1.0 if ics[r, lead] == ics[r, client] else 0.0
            # the starting relations and phase, as Ledger._open sets them
            trust = initial_trust(prior[r, j], contract[r, kr], same, m)
            faith = initial_faith(1.0, m)
            risk = risk_threshold(trust, m.confidence_init, m)
            if approval_months[r, kr] > 0:
                phase, phase_end, completion = _APPROVAL, month + approval_months[r, kr], _NEVER
            elif transition_months[r, kr] > 0:
                phase, phase_end, completion = _TRANSITION, month + transition_months[r, kr], month
            else:
                phase, phase_end, completion = _OPERATING, _NEVER, month
            f = floats[r]
            f[TRUST, p] = f[INITIAL_TRUST, p] = f[TRUST_MIN, p] = trust
            f[CONFIDENCE, p] = m.confidence_init
            f[FAITH, p] = faith
            f[RISK, p] = risk
            f[BEHAVIOUR, p] = collaborative_behaviour(risk, faith, m)
            f[AMBITION, p] = ambition(integration[r, kr], trust, m)
            f[PROGRESS, p] = m.progress_neutral
            f[CONFLICT, p] = 0.0
            f[ASYMMETRY, p] = 1.0 - min(s0, s1) / max(s0, s1)
            f[CULTURE_GAP, p] = gap
            f[PRIOR_TRUST, p] = prior[r, j]
            f[REALISATION, p] = realisation[r, j]
            g = ints[r]
            g[TYPE, p], g[PHASE, p], g[START, p], g[PHASE_END, p] = kr, phase, month, phase_end
            g[COMPLETION, p], g[LEAD, p], g[CLIENT, p] = completion, lead, client
            flags[r, MANDATED, p] = True
            flags[r, SAME_ICS, p] = same != 0.0
            type_count[r, lead, kr] += 1
            type_count[r, client, kr] += 1
            if exclusive[r, kr]:
                n_exclusive[r, lead] += 1
                n_exclusive[r, client] += 1
            mandated_led[r, lead] += 1
            supported[r, client] = True


@numba.njit(cache=True)
def end_rows(  # type: ignore[no-untyped-def]
    endings,
    counts,
    month,
    floats,
    ints,
    flags,
    m_p,
    m_i,
    m_count,
    type_count,
    n_exclusive,
    mandated_led,
    supported,
    exclusive,
    mech,
    left,
):
    """End each run's partnerships ``endings[r, :counts[r]]`` (partnership, reason) in its ledger's arrays.

    As ``Ledger.end`` does to the arrays: the partnership ends this month; each member holds one
    partnership of its type fewer (one exclusive fewer); a mandated support's lead leads one fewer
    and its client is no longer supported. ``left[r, j]``: the trust the partnership leaves between
    its members (less the dissolution penalty after inertia, reason 0), which ``Ledger.ended``
    remembers, with the rest of ``Ledger.end``'s bookkeeping.
    """
    for r in range(counts.shape[0]):
        g = ints[r]
        penalty = 1.0 - mech[r].dissolution_trust_penalty
        for j in range(counts[r]):
            p, reason = endings[r, j, 0], endings[r, j, 1]
            trust = floats[r, TRUST, p]
            left[r, j] = trust * penalty if reason == 0 else trust
            k = g[TYPE, p]
            g[PHASE, p] = _ENDED
            g[END_MONTH, p] = month
            for row in range(m_count[r]):  # the partnership's members: its membership rows
                if m_p[r, row] == p:
                    type_count[r, m_i[r, row], k] -= 1
                    if exclusive[r, k]:
                        n_exclusive[r, m_i[r, row]] -= 1
            client = g[CLIENT, p]
            if client >= 0 and flags[r, MANDATED, p]:
                mandated_led[r, g[LEAD, p]] -= 1
                supported[r, client] = False


# Last, before any kernel is called: an edit of any file of sim/ must not leave these loops compiled
# from the old source in numba's cache (their own marker: sim.kernels keeps its own).
_HERE = Path(__file__).parent
compile_cache.refresh(
    _HERE,
    compile_cache.marker_path(_HERE, getattr(numba.config, "CACHE_DIR", "") or None).with_name(
        "event_kernels.sources-sha256"
    ),
    [f for f in globals().values() if isinstance(f, numba.core.registry.CPUDispatcher)],  # (and the twins made here)
)
