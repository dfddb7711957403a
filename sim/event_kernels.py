"""Compiled event work over every run of an ensemble (numba): the failure regime, and endings.

The failure regime (``formation.apply_failure_regime``, the readable rule) serves the trusts
waiting for a mandated partner in a random order and gives each the best-rated capable partner
of its sector, in its ICS first. These loops do it for all runs at once: :func:`failure_waiting`
lists each run's waiting trusts, :func:`failure_order` draws their order from the run's own
``failure`` stream (numpy's ``permutation``, step for step), :func:`failure_partners` picks each
one's partner, :func:`failure_realisations` draws each support's realisation from the run's
``realisation`` stream (numpy's ``beta``), and :func:`record_supports` records the supports in
the ledgers as ``Ledger.add`` does, with the trust each pair remembers. :func:`end_rows` ends the
partnerships ``kernels.endings`` picks in the ledgers' arrays and pair memory, as ``Ledger.end``
does. ``tests/test_event_kernels.py`` holds them equal to the rules and to numpy, bit for bit.
Building a run, :func:`open_existing` records the partnerships of July 2022 (``World.form_many``)
and :func:`remember_pairs` their remembered histories; ``tests/test_build.py`` holds them equal
to ``Ledger.add`` and ``Ledger.remember`` of each in turn.

Why compiled: in Python the rule's scans of small arrays and ``Ledger.add``'s per-formation work
cost about 200 µs per support formed; the regime cost 11 ms per run in a batch of 64 buddying runs
(120 months), 3.2 ms with the scans compiled and each run's draws in numpy, 1.8 ms with the draws
compiled too (the rest: the ledgers' Python lists, since gone: 1.1 ms, and ending partnerships 1.5 ms
to 1.0). Runs with Mesa agents keep the rule (it forms each support through the model, which makes
its agent).
"""

from __future__ import annotations

from pathlib import Path

import numba
import numpy as np

from sim import compile_cache, kernels, pcg, relations
from sim.registry import APPROVAL, BOOL_INDEX, ENDED, FLOAT_INDEX, INT_INDEX, NEVER, OPERATING, TRANSITION

initial_trust = kernels.compiled(relations.initial_trust)
initial_faith = kernels.compiled(relations.initial_faith)
ambition = kernels.compiled(relations.ambition)
risk_threshold = kernels.risk_threshold
collaborative_behaviour = kernels.collaborative_behaviour
unit = kernels.unit
pairwise_sum = kernels.pairwise_sum

_APPROVAL, _TRANSITION, _OPERATING, _ENDED, _NEVER = APPROVAL, TRANSITION, OPERATING, ENDED, NEVER
# rows of the ledger's float, int and flag tables a new partnership sets (compile-time constants)
TRUST, INITIAL_TRUST, TRUST_MIN = (FLOAT_INDEX[x] for x in ("trust", "initial_trust", "trust_min"))
CONFIDENCE, FAITH, RISK, BEHAVIOUR = (FLOAT_INDEX[x] for x in ("confidence", "faith", "risk", "behaviour"))
AMBITION, PROGRESS, CONFLICT = (FLOAT_INDEX[x] for x in ("ambition", "progress", "conflict"))
ASYMMETRY, CULTURE_GAP, PRIOR_TRUST = (FLOAT_INDEX[x] for x in ("asymmetry", "culture_gap", "prior_trust"))
REALISATION = FLOAT_INDEX["realisation"]
TYPE, PHASE, START, PHASE_END = (INT_INDEX[x] for x in ("type", "phase", "start", "phase_end"))
COMPLETION, LEAD, CLIENT, END_MONTH = (INT_INDEX[x] for x in ("completion", "lead", "client", "end_month"))
END_CODE = INT_INDEX["end_code"]
MANDATED, SAME_ICS = BOOL_INDEX["mandated"], BOOL_INDEX["same_ics"]


GAMMA_SQUEEZE = 0.0331  # numpy's random_standard_gamma (Marsaglia and Tsang's quick acceptance)


@numba.njit(cache=True)
def failure_order(waiting, counts, streams, order):  # type: ignore[no-untyped-def]
    """Each run's waiting trusts ``waiting[r, :counts[r]]`` in the order its ``failure`` stream gives (``order``).

    ``Generator.permutation``: numpy's shuffle of a copy (Fisher-Yates from the last element,
    :func:`sim.pcg.interval`). ``streams[r]``: the addresses of the stream's PCG64 state and half-word
    (``pcg.state_view``, ``pcg.half_word_view``); runs with 0 are left to the caller.
    """
    for r in range(counts.shape[0]):
        c = counts[r]
        if c == 0 or streams[r, 0] == 0:
            continue
        s, half = pcg.state_at(streams[r, 0]), pcg.half_word_at(streams[r, 1])
        for j in range(c):
            order[r, j] = waiting[r, j]
        for i in range(c - 1, 0, -1):
            j = pcg.interval(s, half, i)
            order[r, i], order[r, j] = order[r, j], order[r, i]


@numba.njit(cache=True, inline="always")
def _standard_gamma(shape, lo, hi, inc_lo, inc_hi):  # type: ignore[no-untyped-def]
    """A standard gamma draw as numpy's ``random_standard_gamma`` for ``shape > 1`` (Marsaglia and Tsang).

    On a state held in locals: returns (draw, new state low, high).
    """
    b = shape - 1.0 / 3.0
    c = 1.0 / np.sqrt(9.0 * b)
    while True:
        while True:
            x, lo, hi = pcg._normal(lo, hi, inc_lo, inc_hi)
            v = 1.0 + c * x
            if v > 0.0:
                break
        v = v * v * v
        u, lo, hi = pcg._uniform(lo, hi, inc_lo, inc_hi)
        if u < 1.0 - GAMMA_SQUEEZE * (x * x) * (x * x):
            return b * v, lo, hi
        if np.log(u) < 0.5 * x * x + b * (1.0 - v + np.log(v)):
            return b * v, lo, hi


@numba.njit(cache=True)
def fill_beta(s, a, b, out):  # type: ignore[no-untyped-def]
    """``Generator.beta(a, b, size=len(out))`` for ``a > 1`` and ``b > 1`` (two gammas each), from the state ``s``.

    The state moves on in place.
    """
    lo, hi, inc_lo, inc_hi = s[0], s[1], s[2], s[3]
    for j in range(out.shape[0]):
        ga, lo, hi = _standard_gamma(a, lo, hi, inc_lo, inc_hi)
        gb, lo, hi = _standard_gamma(b, lo, hi, inc_lo, inc_hi)
        out[j] = ga / (ga + gb)
    s[0], s[1] = lo, hi


@numba.njit(cache=True)
def failure_realisations(partner, counts, beta, streams, out):  # type: ignore[no-untyped-def]
    """Each run's supports' realisations, in the order the regime served its waiting trusts (``out[r, j]``).

    One Beta draw of shape ``beta[r]`` (both above 1) for each ``partner[r, j] >= 0``, from the
    run's ``realisation`` stream (``streams[r]``: the address of its PCG64 state; runs with 0 are
    left to the caller): the numbers ``Generator.beta`` gives.
    """
    for r in range(counts.shape[0]):
        if streams[r] == 0:
            continue
        s = pcg.state_at(streams[r])
        for j in range(counts[r]):
            if partner[r, j] >= 0:
                fill_beta(s, beta[r, 0], beta[r, 1], out[r, j : j + 1])


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
    quality is never NaN, so the rule's other guards change nothing here. Returns each run's
    partners found.
    """
    runs, n = in_sm.shape
    found = np.zeros(runs, dtype=np.int64)
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
                found[r] += 1
                taken[best] += 1
                capable[best] = mandated_led[r, best] + taken[best] < capacity[r] and _joinable(
                    type_count, n_exclusive, r, best, kr, taken[best], max_per_provider, exclusive
                )
    return found


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
    pair_key,
    pair_value,
    pair_count,
):
    """Record each run's mandated supports of the month in its ledger rows, as ``Ledger.add`` of each in turn.

    The support of ``order[r, j]`` by ``partner[r, j]`` (none where -1) is a partnership of type
    ``k[r]`` with members ``[partner, client]``, led by the partner, with the trust the pair
    remembers relative to ``trust_init`` (``Ledger.prior_trust_of``) and the realisation
    ``realisation[r, j]``. Its context
    (shared ICS, size asymmetry, cultural gap) and starting relations and phase are those of
    ``Ledger.add`` and ``Ledger._open``, with :mod:`sim.relations`'s functions compiled; its
    membership rows and the members' counts are updated. The ledgers must have room
    (``LedgerStore.reserve``); ``Ledger.recorded`` tells each its arrays changed.
    Returns each run's supports recorded.
    """
    runs, n = counts.shape[0], type_count.shape[1]
    formed = np.zeros(runs, dtype=np.int64)
    for r in range(runs):
        kr = k[r]
        m = mech[r]
        for j in range(counts[r]):
            lead, client = partner[r, j], order[r, j]
            if lead < 0:
                continue
            formed[r] += 1
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
            known, remembered = _recall(pair_key, pair_value, pair_count, r, min(lead, client) * n + max(lead, client))
            prior = 0.0 + (remembered - m.trust_init) if known else 0.0  # numeric.mean of the one pair
            # the starting relations and phase, as Ledger._open sets them
            if approval_months[r, kr] > 0:
                phase, phase_end, completion = _APPROVAL, month + approval_months[r, kr], _NEVER
            elif transition_months[r, kr] > 0:
                phase, phase_end, completion = _TRANSITION, month + transition_months[r, kr], month
            else:
                phase, phase_end, completion = _OPERATING, _NEVER, month
            _open(
                floats[r], ints[r], flags[r], p, kr, prior, contract[r, kr], integration[r, kr], same,
                1.0 - min(s0, s1) / max(s0, s1), gap, realisation[r, j], True, m, month, phase, phase_end, completion,
                lead, client,
            )  # fmt: skip
            type_count[r, lead, kr] += 1
            type_count[r, client, kr] += 1
            if exclusive[r, kr]:
                n_exclusive[r, lead] += 1
                n_exclusive[r, client] += 1
            mandated_led[r, lead] += 1
            supported[r, client] = True
    return formed


@numba.njit(cache=True, inline="always")
def _open(  # type: ignore[no-untyped-def]
    f, g, flags, p, k, prior, contract, integration, same, asymmetry, gap, realisation, mandated, m, month, phase,
    phase_end, completion, lead, client,
):  # fmt: skip
    """A new partnership's row ``p`` (of one run's float, int and flag tables), as ``Ledger._open`` sets it.

    Its starting relations (:mod:`sim.relations`, compiled) from the pair's ``prior`` trust, the
    type's ``contract`` strength and ``integration``, a shared ICS (``same``: 1.0 or 0.0) and the
    mandate; its context (``asymmetry``, cultural ``gap``, ``realisation``); its type, phase and
    members' roles. Fields not set stay 0 (sums, counters) until the partnership acts.
    """
    trust = initial_trust(prior, contract, same, m)
    faith = initial_faith(1.0 if mandated else 0.0, m)
    risk = risk_threshold(trust, m.confidence_init, m)
    f[TRUST, p] = f[INITIAL_TRUST, p] = f[TRUST_MIN, p] = trust
    f[CONFIDENCE, p] = m.confidence_init
    f[FAITH, p] = faith
    f[RISK, p] = risk
    f[BEHAVIOUR, p] = collaborative_behaviour(risk, faith, m)
    f[AMBITION, p] = ambition(integration, trust, m)
    f[PROGRESS, p] = m.progress_neutral
    f[CONFLICT, p] = 0.0
    f[ASYMMETRY, p] = asymmetry
    f[CULTURE_GAP, p] = gap
    f[PRIOR_TRUST, p] = prior
    f[REALISATION, p] = realisation
    g[TYPE, p], g[PHASE, p], g[START, p], g[PHASE_END, p] = k, phase, month, phase_end
    g[COMPLETION, p], g[LEAD, p], g[CLIENT, p] = completion, lead, client
    flags[MANDATED, p] = mandated
    flags[SAME_ICS, p] = same != 0.0


@numba.njit(cache=True)
def open_existing(  # type: ignore[no-untyped-def]
    r, k, flat, sizes, leads, ages, realisation, mandated, month, levels, turnover, ics, culture_col, mech, contract,
    integration, exclusive, floats, ints, flags, count, m_p, m_i, m_start, m_count, type_count, n_exclusive, pair_key,
    pair_value, pair_count,
):  # fmt: skip
    """Record partnerships of type ``k`` that existed when run ``r`` starts, as ``Ledger.add`` of each in turn.

    Partnership ``j`` has the next ``sizes[j]`` members of ``flat``, is led by ``leads[j]``, has
    the realisation ``realisation[j]`` and completed its transaction ``ages[j]`` months before
    ``month`` (it operates); none has a client. Its context is taken as ``Ledger.add`` takes it
    (numpy's means, in their order: :func:`sim.numeric.mean`, compiled), with the trust its pairs
    of members remember (``Ledger.prior_trust_of``: relative to ``trust_init``); its starting
    relations are :func:`_open`'s; its membership rows and its members' counts are updated. The
    ledger must have room (``LedgerStore.reserve``); ``Ledger.recorded`` tells it after.
    ``levels``, ``turnover``, ``ics``: the run's; ``mech``: its mechanism parameters (one record).
    """
    m = mech[0]
    n = type_count.shape[1]
    most = sizes.max() if sizes.shape[0] else 0
    culture = np.empty(most)  # a partnership's members' culture, then their distances from its centre
    pairs = np.empty(most * (most - 1) // 2)  # the trust its pairs of members remember
    a0 = 0
    for j in range(sizes.shape[0]):
        size = sizes[j]
        p = count[r]
        count[r] = p + 1
        mc = m_count[r]
        m_count[r] = mc + size
        first = flat[a0]
        same, low, high = 1.0, turnover[first], turnover[first]
        for a in range(size):
            i = flat[a0 + a]
            m_p[r, mc + a] = p
            m_i[r, mc + a] = i
            m_start[r, mc + a] = levels[i]
            culture[a] = levels[i, culture_col]
            if ics[i] != ics[first]:
                same = 0.0
            low, high = min(low, turnover[i]), max(high, turnover[i])
            type_count[r, i, k] += 1
            if exclusive[k]:
                n_exclusive[r, i] += 1
        centre = pairwise_sum(culture, 0, size) / size
        for a in range(size):
            culture[a] = abs(culture[a] - centre)
        gap = 2.0 * (pairwise_sum(culture, 0, size) / size)
        known = 0
        if pair_count[r]:
            for a in range(size):
                for b in range(a + 1, size):
                    x, y = flat[a0 + a], flat[a0 + b]
                    hit, value = _recall(pair_key, pair_value, pair_count, r, min(x, y) * n + max(x, y))
                    if hit:
                        pairs[known] = value - m.trust_init
                        known += 1
        prior = 0.0 + (pairwise_sum(pairs, 0, known) / known if known else 0.0)  # (np.zeros(n) + the priors)
        _open(
            floats[r], ints[r], flags[r], p, k, prior, contract[k], integration[k], same, 1.0 - low / high, gap,
            realisation[j], mandated, m, month, _OPERATING, _NEVER, month - ages[j], leads[j], -1,
        )  # fmt: skip
        a0 += size


@numba.njit(cache=True)
def _recall(pair_key, pair_value, pair_count, r, key):  # type: ignore[no-untyped-def]
    """The trust run ``r``'s pair ``key`` remembers, and whether it remembers one (``Ledger.pair_trust``)."""
    for j in range(pair_count[r]):
        if pair_key[r, j] == key:
            return True, pair_value[r, j]
    return False, 0.0


@numba.njit(cache=True)
def _remember(pair_key, pair_value, pair_count, r, key, value):  # type: ignore[no-untyped-def]
    """Run ``r``'s pair ``key`` remembers ``value``, as ``Ledger.remember`` (the memory must have room)."""
    for j in range(pair_count[r]):
        if pair_key[r, j] == key:
            pair_value[r, j] = value
            return
    c = pair_count[r]
    pair_key[r, c] = key
    pair_value[r, c] = value
    pair_count[r] = c + 1


@numba.njit(cache=True)
def remember_pairs(r, a, b, trust, n, pair_key, pair_value, pair_count):  # type: ignore[no-untyped-def]
    """Run ``r``'s pairs ``(a[j], b[j])`` remember ``trust[j]``, in that order: ``Ledger.remember`` of each in turn.

    A pair met more than once keeps the slot it took first and the value it was given last.
    ``n``: the providers (a pair's key is ``low * n + high``); the memory must have room for every
    pair (``LedgerStore.reserve_pairs``).
    """
    for j in range(a.shape[0]):
        _remember(pair_key, pair_value, pair_count, r, min(a[j], b[j]) * n + max(a[j], b[j]), trust[j])


@numba.njit(cache=True)
def member_pairs(endings, counts, m_p, m_count):  # type: ignore[no-untyped-def]
    """Each run's pairs of members of its partnerships ``endings[r, :counts[r]]`` (:func:`end_rows` remembers them)."""
    out = np.zeros(counts.shape[0], dtype=np.int64)
    for r in range(counts.shape[0]):
        for j in range(counts[r]):
            size = 0
            for row in range(m_count[r]):
                if m_p[r, row] == endings[r, j, 0]:
                    size += 1
            out[r] += size * (size - 1) // 2
    return out


@numba.njit(cache=True)
def end_rows(  # type: ignore[no-untyped-def]
    endings,
    counts,
    month,
    levels,
    floats,
    ints,
    flags,
    m_p,
    m_i,
    m_end,
    m_count,
    type_count,
    n_exclusive,
    mandated_led,
    supported,
    exclusive,
    mech,
    pair_key,
    pair_value,
    pair_count,
):
    """End each run's partnerships ``endings[r, :counts[r]]`` (partnership, reason) in its ledger's arrays.

    As ``Ledger.end`` does, given the levels: every pair of members remembers the
    trust the partnership leaves (less the dissolution penalty after inertia, reason 0; pairs in
    the members' order, as ``Ledger.remember``; the memory must have room for
    :func:`member_pairs`); the partnership ends this month, for its reason (``end_code``: the
    reason + 1, ``registry.END_REASONS``); its membership rows keep the members' ``levels`` now
    (``m_end``); each member holds one partnership of its type fewer (one exclusive fewer); a
    mandated support's lead leads one fewer and its client is no longer supported. Returns each
    run's dissolutions (endings after inertia).
    """
    n = type_count.shape[1]
    dissolved = np.zeros(counts.shape[0], dtype=np.int64)
    members = np.empty(m_p.shape[1], dtype=np.int64)
    for r in range(counts.shape[0]):
        g = ints[r]
        penalty = 1.0 - mech[r].dissolution_trust_penalty
        for j in range(counts[r]):
            p, reason = endings[r, j, 0], endings[r, j, 1]
            trust = floats[r, TRUST, p]
            left = trust * penalty if reason == 0 else trust
            dissolved[r] += reason == 0
            size = 0
            for row in range(m_count[r]):  # the partnership's members: its membership rows, in order
                if m_p[r, row] == p:
                    members[size] = m_i[r, row]
                    m_end[r, row] = levels[r, m_i[r, row]]
                    size += 1
            for a in range(size):
                for b in range(a + 1, size):
                    lo, hi = min(members[a], members[b]), max(members[a], members[b])
                    _remember(pair_key, pair_value, pair_count, r, lo * n + hi, left)
            k = g[TYPE, p]
            g[PHASE, p] = _ENDED
            g[END_MONTH, p] = month
            g[END_CODE, p] = reason + 1
            for a in range(size):
                type_count[r, members[a], k] -= 1
                if exclusive[r, k]:
                    n_exclusive[r, members[a]] -= 1
            client = g[CLIENT, p]
            if client >= 0 and flags[r, MANDATED, p]:
                mandated_led[r, g[LEAD, p]] -= 1
                supported[r, client] = False
    return dissolved


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
