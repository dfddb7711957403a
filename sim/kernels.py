"""Compiled monthly loops over every run of an ensemble (numba).

Each kernel advances one stage of the month for all runs at once (run axis first), with an
explicit loop per run, so a run's numbers never depend on which other runs share its batch.
The arithmetic is that of the readable numpy functions, in their order: the mechanisms are
:mod:`sim.relations`'s own functions compiled for scalars (:func:`compiled`); sums follow
numpy's order (:mod:`sim.numeric`); the causal web is summed edge by edge. Tests hold each
kernel equal, bit for bit, to its numpy counterpart (``tests/test_engine.py``).

Why numba: the design notes' measurements on this machine (docs: design §10) found numpy's
temporaries, not call overhead, dominating once runs are laid side by side, and a fused numba
kernel of the domain update 3-5.7x faster than numpy while equal to it; these loops over
partnerships' members (segment sums, events) vectorise poorly with a run axis. numba installs
from PyPI as a wheel (no compiler), the loops stay Python, and the theory's functions compile
unchanged. Compiled code is cached on disk (``cache=True``); :mod:`sim.compile_cache` makes an
edit of any file of ``sim/`` recompile the kernels (numba alone would keep kernels that inlined
the old :mod:`sim.relations`). A numpy-with-run-axis variant of these stages was not benchmarked
here.
"""

from __future__ import annotations

import types
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import numba
import numpy as np

from sim import compile_cache, numeric, pcg, relations
from sim.registry import APPROVAL, BOOL_INDEX, ENDED, FLOAT_INDEX, INT_INDEX, NEVER, OPERATING, TRANSITION

_TWINS: dict[str, Any] = {}


def compiled(fn: Callable[..., Any], *, inline: Literal["always", "never"] = "always") -> Any:
    """A compiled twin of a pure scalar-or-array function, calling the twins of its helpers.

    Twins are inlined where they are called (the mechanisms' loops run twice as fast), except
    numpy's long sums (``inline="never"``: inlined at every call they double the compile time;
    the short sums that dominate are inlined through :func:`_segment_sum` and :func:`_sum`).
    """
    name = fn.__name__
    if name not in _TWINS:
        env = dict(fn.__globals__)
        env.update(_TWINS)
        code = types.FunctionType(fn.__code__, env, name, fn.__defaults__, fn.__closure__)
        _TWINS[name] = numba.njit(code, cache=True, inline=inline)
    return _TWINS[name]


_TWINS["unit"] = numba.njit(relations.unit_scalar, cache=True, inline="always")  # the twin of unit for numbers
compiled(relations.smooth)
compiled(numeric.block_sum)
for _fn in (numeric.pairwise_sum, numeric.segment_sum):
    compiled(_fn, inline="never")
unit = _TWINS["unit"]
pairwise_sum = _TWINS["pairwise_sum"]
block_sum = _TWINS["block_sum"]
segment_sum = _TWINS["segment_sum"]
progress_signal = compiled(relations.progress_signal)
conflict_target = compiled(relations.conflict_target)
update_trust = compiled(relations.update_trust)
confidence_target = compiled(relations.confidence_target)
faith_target = compiled(relations.faith_target)
risk_threshold = compiled(relations.risk_threshold)
collaborative_behaviour = compiled(relations.collaborative_behaviour)
instability = compiled(relations.instability)
absence = compiled(relations.absence)

smooth = _TWINS["smooth"]

_APPROVAL, _TRANSITION, _OPERATING, _ENDED = APPROVAL, TRANSITION, OPERATING, ENDED
# rows of the ledger's float, int and flag tables (compile-time constants)
CONFLICT, TRUST, CONFIDENCE, FAITH = (FLOAT_INDEX[k] for k in ("conflict", "trust", "confidence", "faith"))
PROGRESS, BEHAVIOUR, RISK, ABSENCE = (FLOAT_INDEX[k] for k in ("progress", "behaviour", "risk", "absence"))
ASYMMETRY, AMBITION, REALISATION = (FLOAT_INDEX[k] for k in ("asymmetry", "ambition", "realisation"))
TRUST_SUM, TRUST_MIN, CONFIDENCE_SUM = (FLOAT_INDEX[k] for k in ("trust_sum", "trust_min", "confidence_sum"))
FAITH_SUM, BEHAVIOUR_SUM, CONFLICT_SUM = (FLOAT_INDEX[k] for k in ("faith_sum", "behaviour_sum", "conflict_sum"))
TYPE, PHASE, PHASE_END, COMPLETION = (INT_INDEX[k] for k in ("type", "phase", "phase_end", "completion"))
LEAD, CLIENT, INERTIA_RUN, INERTIA_TOTAL = (INT_INDEX[k] for k in ("lead", "client", "inertia_run", "inertia_total"))
MONTHS = INT_INDEX["months"]
MANDATED = BOOL_INDEX["mandated"]
MODE_LEAD, MODE_BEST, MODE_WEIGHTED = 0, 1, 2  # sim.typology.TARGET_MODES


# -- regulation ---------------------------------------------------------------------------------
@numba.njit(cache=True)
def regulate(levels, active, cause, since, below_q, below_e, above, reg, q_col, e_col, month, ev_leave, ev_enter):  # type: ignore[no-untyped-def]
    """Special measures for every run: ``SpecialMeasures.update`` with a run axis.

    Writes each run's leavers (provider, entered, cause) to ``ev_leave`` and entrants
    (provider, cause) to ``ev_enter``, in provider order; returns counts (runs × 2).
    """
    runs, n = active.shape
    counts = np.zeros((runs, 2), dtype=np.int64)
    for r in range(runs):
        g = reg[r]
        n_leave = 0
        n_enter = 0
        for i in range(n):
            q = levels[r, i, q_col]
            e = levels[r, i, e_col]
            below_q[r, i] = below_q[r, i] + 1 if q < g.entry_quality else 0
            below_e[r, i] = below_e[r, i] + 1 if e < g.entry_efficiency else 0
            due = (1 if below_q[r, i] >= g.entry_months else 0) + (2 if below_e[r, i] >= g.entry_months else 0)
            if active[r, i]:
                cause[r, i] = cause[r, i] | due
            c = cause[r, i]
            recovered = ((c & 1) == 0 or q >= g.entry_quality + g.exit_margin) and (
                (c & 2) == 0 or e >= g.entry_efficiency + g.exit_margin
            )
            above[r, i] = above[r, i] + 1 if (active[r, i] and recovered) else 0
            enter = (not active[r, i]) and due > 0
            leave = active[r, i] and above[r, i] >= g.exit_months
            if leave:
                ev_leave[r, n_leave, 0] = i
                ev_leave[r, n_leave, 1] = since[r, i]
                ev_leave[r, n_leave, 2] = c
                n_leave += 1
                cause[r, i] = 0
                active[r, i] = False
                since[r, i] = -1
                above[r, i] = 0
            elif enter:
                ev_enter[r, n_enter, 0] = i
                ev_enter[r, n_enter, 1] = due
                n_enter += 1
                cause[r, i] = due
                active[r, i] = True
                since[r, i] = month
        counts[r, 0] = n_enter
        counts[r, 1] = n_leave
    return counts


# -- memberships ----------------------------------------------------------------------------------
@numba.njit(cache=True)
def compact(ints, count, m_p, m_count, first, rows):  # type: ignore[no-untyped-def]
    """Live memberships of each run grouped by partnership id (ascending), members in joining order.

    ``rows[r, first[r, p]:first[r, p + 1]]`` are the membership rows of partnership ``p``.
    """
    runs = ints.shape[0]
    for r in range(runs):
        phase = ints[r, PHASE]
        cnt = count[r]
        for p in range(cnt + 1):
            first[r, p] = 0
        for j in range(m_count[r]):
            p = m_p[r, j]
            if phase[p] != _ENDED:
                first[r, p + 1] += 1
        for p in range(cnt):
            first[r, p + 1] += first[r, p]
        fill = first[r, :cnt].copy()
        for j in range(m_count[r]):
            p = m_p[r, j]
            if phase[p] != _ENDED:
                rows[r, fill[p]] = j
                fill[p] += 1


# -- mechanisms -------------------------------------------------------------------------------------
# what mechanisms averages over a partnership's members: the rows of its buffer of members' values
IMPROVEMENT, CULTURE, ACCOUNTABILITY, INSTABILITY, ABSENT, LEADERSHIP = range(6)
MEMBER_MEANS = 6


@numba.njit(cache=True, inline="always")
def _segment_mean(buf, start, size):  # type: ignore[no-untyped-def]
    return _segment_sum(buf, start, size) / float(size)


@numba.njit(cache=True, inline="always")
def _sum(a, n):  # type: ignore[no-untyped-def]
    """``pairwise_sum(a, 0, n)``, with up to numpy's block of 128 elements (the common case) inlined."""
    return block_sum(a, 0, n) if n <= numeric.PAIRWISE_BLOCK else pairwise_sum(a, 0, n)


@numba.njit(cache=True, inline="always")
def _segment_sum(a, start, n):  # type: ignore[no-untyped-def]
    """``segment_sum(a, start, n)``: a partnership's members, mostly fewer than 9, summed here in numpy's order."""
    if n == 1:
        return a[start]
    if n <= numeric.SEQUENTIAL:  # the first, then the rest one after another from 0.0 (numpy's short pairwise block)
        rest = 0.0
        for i in range(start + 1, start + n):
            rest += a[i]
        return a[start] + rest
    return segment_sum(a, start, n)


@numba.njit(cache=True, inline="always")
def _unsigned(index):  # type: ignore[no-untyped-def]
    """Contiguous int64 indices, never negative, read as uint64: numba indexes with them without its check.

    (Numba wraps a negative signed index around; the check costs a third of the instructions of a
    tight loop such as the web's edges.)
    """
    return index.view(np.uint64)


@numba.njit(cache=True, inline="always")
def _row_ends(a, i):  # type: ignore[no-untyped-def]
    """The first plus the last element of row ``i`` of a 2-D array: reading them brings the row into the cache.

    A kernel that gathers its members' rows (providers' levels, memberships' starts) reads each
    row in a short loop of these first (:func:`mechanisms`, :func:`anchors`): their cache misses
    then overlap, where the long per-member computation would wait on each in turn.
    """
    return a[i, 0] + a[i, a.shape[1] - 1]


@numba.njit(cache=True)
def mechanisms(  # type: ignore[no-untyped-def]
    levels,
    first,
    rows,
    count,
    m_i,
    m_start,
    type_count,
    floats,
    ints,
    flags,
    org_change,
    contract,
    mech,
    prog_cols,
    cols,
    leadership_ref,
):
    """One month of every active partnership's mechanisms (``relations.advance_mechanisms``), every run.

    ``cols`` = (culture, accountability, workforce, leadership) columns. Each member is looked up
    once, its values for the means over members gathered side by side (:data:`MEMBER_MEANS` rows);
    a lone member's means are its values (over 1.0, as numpy divides), without the general sums.
    """
    culture, accountability, workforce, leadership = cols[0], cols[1], cols[2], cols[3]
    n_prog, k_count = prog_cols.shape[0], type_count.shape[2]
    progress_u = _unsigned(prog_cols)
    buf = np.empty((MEMBER_MEANS, m_i.shape[1]))
    mean = np.empty(MEMBER_MEANS)
    dev = np.empty(m_i.shape[1])
    for r in range(levels.shape[0]):
        m = mech[r]
        x, f, g, x0, held = levels[r], floats[r], ints[r], m_start[r], type_count[r]
        members, rows_r = _unsigned(m_i[r]), _unsigned(rows[r])
        ahead = 0.0
        for j in range(first[r, count[r]]):  # the members' rows read ahead (_row_ends): ~10% less CPU
            row = rows_r[j]
            i = members[row]
            ahead += _row_ends(x, i) + _row_ends(x0, row) + _row_ends(held, i)
        mean[0] = ahead  # (kept, so that the reads stay; overwritten below)
        for p in range(count[r]):
            a, size = first[r, p], first[r, p + 1] - first[r, p]
            if size == 0:
                continue
            for j in range(size):
                row = rows_r[a + j]
                i = members[row]
                s = 0.0
                for c in range(n_prog):  # the mean improvement on the progress domains
                    d = x[i, progress_u[c]] - x0[row, progress_u[c]]
                    s = d if c == 0 else s + d
                buf[IMPROVEMENT, j] = s / n_prog
                buf[CULTURE, j] = x[i, culture]
                buf[ACCOUNTABILITY, j] = x[i, accountability]
                buf[INSTABILITY, j] = instability(x0[row, workforce], x[i, workforce], m)
                commitments = 0
                for k in range(k_count):
                    commitments += held[i, k]
                buf[ABSENT, j] = absence(commitments - 1, m)
                buf[LEADERSHIP, j] = x[i, leadership]
            if size == 1:  # (no rule leaves one member; yet the loop measured ~15% faster with this branch)
                for q in range(MEMBER_MEANS):
                    mean[q] = buf[q, 0] / 1.0
                dev[0] = abs(buf[CULTURE, 0] - mean[CULTURE])
            else:
                for q in range(MEMBER_MEANS):
                    mean[q] = _segment_mean(buf[q], 0, size)
                for j in range(size):
                    dev[j] = abs(buf[CULTURE, j] - mean[CULTURE])
            improvement, account, unstable = mean[IMPROVEMENT], mean[ACCOUNTABILITY], mean[INSTABILITY]
            gap = 2.0 * _segment_mean(dev, 0, size)
            absent = mean[ABSENT]
            lead = mean[LEADERSHIP] - leadership_ref[r]

            k = g[TYPE, p]
            mandated = 1.0 if flags[r, MANDATED, p] else 0.0
            signal = progress_signal(improvement, f[AMBITION, p], f[CONFLICT, p], m)
            progress = smooth(f[PROGRESS, p], signal, m.progress_rate)
            c_target = conflict_target(gap, f[ASYMMETRY, p], mandated, progress, org_change[r, k], account, m)
            conflict = smooth(f[CONFLICT, p], c_target, m.conflict_rate)
            trust = update_trust(f[TRUST, p], progress, conflict, lead, m)
            confidence = smooth(f[CONFIDENCE, p], confidence_target(contract[r, k], mandated, m), m.confidence_rate)
            faith = smooth(f[FAITH, p], faith_target(progress, unstable, absent, lead, m), m.faith_rate)
            risk = risk_threshold(trust, confidence, m)
            behaviour = collaborative_behaviour(risk, faith, m)
            f[PROGRESS, p] = progress
            f[CONFLICT, p] = conflict
            f[TRUST, p] = trust
            f[CONFIDENCE, p] = confidence
            f[FAITH, p] = faith
            f[RISK, p] = risk
            f[BEHAVIOUR, p] = behaviour
            f[ABSENCE, p] = absent
            if behaviour < m.inertia_threshold:
                g[INERTIA_RUN, p] += 1
                g[INERTIA_TOTAL, p] += 1
            else:
                g[INERTIA_RUN, p] = 0
            g[MONTHS, p] += 1
            f[TRUST_SUM, p] += trust
            f[TRUST_MIN, p] = min(f[TRUST_MIN, p], trust)
            f[CONFIDENCE_SUM, p] += confidence
            f[FAITH_SUM, p] += faith
            f[BEHAVIOUR_SUM, p] += behaviour
            f[CONFLICT_SUM, p] += conflict


# -- anchors: convergence and the regime's standard support ---------------------------------------------
@numba.njit(cache=True)
def anchors(  # type: ignore[no-untyped-def]
    anchor,
    shift,
    sm_active,
    first,
    rows,
    count,
    m_i,
    turnover,
    floats,
    ints,
    integration,
    effects,
    target_mode,
    part,
    support,
    standard,
    fade,
):
    """Convergence toward each partnership's target, then the standard support and its fade, every run.

    ``dynamics.convergence`` then ``regulation.standard_support`` with a run axis. A partnership's
    members are looked up once; the sums over members behind its target run over the members
    with the domains innermost, each domain's sum in numpy's order (the first member plus the
    rest one after another from 0.0), except for partnerships longer than numpy's short block,
    summed domain by domain in its pairwise order.
    """
    n, d_count = anchor.shape[1], anchor.shape[2]
    acc = np.zeros((n, d_count))
    target = np.empty(d_count)
    top = np.empty(d_count)
    rest = np.empty(d_count)
    coef = np.empty(d_count)
    buf = np.empty(m_i.shape[1])
    member = np.empty(m_i.shape[1], dtype=np.uint64)  # unsigned: see _unsigned
    for r in range(anchor.shape[0]):
        x, f, g, pa = anchor[r], floats[r], ints[r], part[r]
        live_any = False
        for p in range(count[r]):
            phase = g[PHASE, p]
            if (phase == _TRANSITION or phase == _OPERATING) and first[r, p + 1] > first[r, p]:
                live_any = True
                break
        if live_any:
            acc[:, :] = 0.0
            ahead = 0.0
            for j in range(first[r, count[r]]):  # the members' rows read ahead (_row_ends)
                i = m_i[r, rows[r, j]]
                ahead += _row_ends(x, i) + turnover[r, i]
            target[0] = ahead  # (kept, so that the reads stay; overwritten below)
            for p in range(count[r]):
                a, size = first[r, p], first[r, p + 1] - first[r, p]
                phase = g[PHASE, p]
                if size == 0 or not (phase == _TRANSITION or phase == _OPERATING):
                    continue
                for j in range(size):
                    member[j] = m_i[r, rows[r, a + j]]
                k = g[TYPE, p]
                mode = target_mode[r, k]
                first_i = member[0]
                if mode == MODE_LEAD:
                    for d in range(d_count):
                        target[d] = x[g[LEAD, p], d]
                elif size > numeric.SEQUENTIAL:
                    for d in range(d_count):
                        if mode == MODE_BEST:
                            best = x[first_i, d]
                            for j in range(size):
                                v = x[member[j], d]
                                buf[j] = v
                                best = max(best, v)
                            mean = _segment_sum(buf, 0, size) / float(size)
                            target[d] = mean + pa.best_practice_share * (best - mean)
                        else:
                            for j in range(size):
                                buf[j] = x[member[j], d] * turnover[r, member[j]]
                            num = _segment_sum(buf, 0, size)
                            for j in range(size):
                                buf[j] = turnover[r, member[j]]
                            target[d] = num / _segment_sum(buf, 0, size)
                elif mode == MODE_BEST:
                    for d in range(d_count):
                        top[d] = x[first_i, d]
                        rest[d] = 0.0
                    for j in range(1, size):
                        i = member[j]
                        for d in range(d_count):
                            v = x[i, d]
                            top[d] = max(top[d], v)
                            rest[d] += v
                    for d in range(d_count):
                        mean = (x[first_i, d] if size == 1 else x[first_i, d] + rest[d]) / float(size)
                        target[d] = mean + pa.best_practice_share * (top[d] - mean)
                else:
                    w_first = turnover[r, first_i]
                    w_rest = 0.0
                    for d in range(d_count):
                        rest[d] = 0.0
                    for j in range(1, size):
                        i = member[j]
                        w_rest += turnover[r, i]
                        for d in range(d_count):
                            rest[d] += x[i, d] * turnover[r, i]
                    w_sum = w_first if size == 1 else w_first + w_rest
                    for d in range(d_count):
                        num = x[first_i, d] * w_first
                        target[d] = (num if size == 1 else num + rest[d]) / w_sum
                realised = f[BEHAVIOUR, p] * f[REALISATION, p]
                scaled = integration[r, k] * realised
                for d in range(d_count):
                    coef[d] = (pa.convergence_rate * effects[r, k, d]) * scaled
                for j in range(size):
                    i = member[j]
                    for d in range(d_count):
                        gap = target[d] - x[i, d]
                        if mode == MODE_BEST:
                            gap = max(gap, 0.0)
                        acc[i, d] += coef[d] * gap
            for i in range(n):
                for d in range(d_count):
                    x[i, d] = min(max(x[i, d] + acc[i, d], 0.0), 1.0)
        any_support = False
        for d in range(d_count):
            any_support = any_support or support[r, d] != 0.0
        for i in range(n):
            if sm_active[r, i]:
                if any_support:
                    for d in range(d_count):
                        delta = support[r, d] * max(standard[r, d] - x[i, d], 0.0)
                        x[i, d] += delta
                        shift[r, i, d] += delta
            elif fade[r] != 0.0:
                moved = False
                for d in range(d_count):  # (no short circuit: a branch per domain costs more than the reads)
                    moved |= shift[r, i, d] != 0.0
                if moved:
                    for d in range(d_count):
                        lost = fade[r] * shift[r, i, d]
                        x[i, d] -= lost
                        shift[r, i, d] -= lost


# -- this month's offsets and the domain update ----------------------------------------------------------
@numba.njit(cache=True)
def _ramp(months_since, lag):  # type: ignore[no-untyped-def]
    """``dynamics.savings_ramp`` for one partnership."""
    if lag > 0:
        return -np.expm1(-max(months_since, 0.0) / lag)
    return 1.0 if months_since >= 0 else 0.0


@numba.njit(cache=True)
def offsets(  # type: ignore[no-untyped-def]
    out,
    slot,
    r,
    month,
    first,
    rows,
    count,
    m_i,
    floats,
    ints,
    flags,
    t_org_change,
    t_integration,
    t_effects,
    t_shares,
    t_reversible,
    part,
    disruption,
    scale,
    lead_cost,
    cost_share,
):
    """One run's offsets by channel (``dynamics.partnership_offsets``) added into ``out`` (rows × 4 × domains).

    Only the members of live partnerships have offsets: each gets a row of ``out`` when first met
    (``slot[i]``, -1 on entry for every provider), so the work and memory follow memberships, not
    providers. The offsets add in from 0.0 as numpy's do: a member's first partnership writes
    each channel as 0.0 plus its term (0.0 without one), later ones add theirs. Returns the number
    of rows used; :func:`update_domains` puts ``slot`` back to -1.
    """
    f, g, pa = floats[r], ints[r], part[r]
    d_count = out.shape[2]
    synergy = pa.synergy != 0.0
    used = 0
    for p in range(count[r]):
        a, size = first[r, p], first[r, p + 1] - first[r, p]
        phase = g[PHASE, p]
        if size == 0 or not (phase == _TRANSITION or phase == _OPERATING):
            continue
        k = g[TYPE, p]
        realised = f[BEHAVIOUR, p] * f[REALISATION, p]
        conflict = f[CONFLICT, p]
        if phase == _TRANSITION:
            factor = 1.0 + pa.disruption_w_conflict * conflict
        else:
            factor = pa.disruption_persistence * conflict
        cut = -(t_org_change[r, k] * factor)
        shares = t_shares[r, k]
        saved = 0.0
        if shares:
            ramp = _ramp(float(month - g[COMPLETION, p]), pa.savings_lag)
            saved = (t_integration[r, k] * realised) * ramp
        lead_pays = g[CLIENT, p] >= 0 and flags[r, MANDATED, p] and t_reversible[r, k]
        for j in range(size):
            i = m_i[r, rows[r, a + j]]
            pays = lead_pays and i == g[LEAD, p]
            o = slot[i]
            if o < 0:
                o = used
                slot[i] = o
                used += 1
                for d in range(d_count):
                    out[o, 0, d] = 0.0 + (pa.synergy * t_effects[r, k, d]) * realised if synergy else 0.0
                    out[o, 1, d] = 0.0 + cut * (disruption[r, d] * cost_share[r, d])
                    out[o, 2, d] = 0.0 + saved * scale[r, d] if shares else 0.0
                    out[o, 3, d] = 0.0 + -lead_cost[r, d] if pays else 0.0
                continue
            if synergy:
                for d in range(d_count):
                    out[o, 0, d] += (pa.synergy * t_effects[r, k, d]) * realised
            for d in range(d_count):
                out[o, 1, d] += cut * (disruption[r, d] * cost_share[r, d])
            if shares:
                for d in range(d_count):
                    out[o, 2, d] += saved * scale[r, d]
            if pays:
                for d in range(d_count):
                    out[o, 3, d] += -lead_cost[r, d]
    return used


@numba.njit(cache=True, inline="always")
def _relax(x, anchor, inflow, pressure, rate, z, sd):  # type: ignore[no-untyped-def]
    """A domain's level after a month: toward its target, plus noise, kept in [0, 1]."""
    target = (anchor + inflow) + pressure
    return min(max(x + (rate * (target - x) + z * sd), 0.0), 1.0)


@numba.njit(cache=True)
def update_domains(  # type: ignore[no-untyped-def]
    levels,
    start,
    anchor,
    signals,
    noise,
    shock,
    fused,
    month,
    first,
    rows,
    count,
    m_i,
    floats,
    ints,
    flags,
    t_org_change,
    t_integration,
    t_effects,
    t_shares,
    t_reversible,
    part,
    disruption,
    scale,
    lead_cost,
    cost_share,
    src,
    tgt,
    weight,
    alpha,
    rate,
    noise_sd,
    chan,
):
    """One month of every run's domains (``dynamics.update_domains`` with this month's offsets).

    ``noise`` holds each run's idiosyncratic noise of the month (:func:`draw_noise`). Runs with
    ``fused[r]`` False (a domain hook is installed) are left to the caller. The offsets add in the channel
    order synergy, disruption, scale, lead cost, shock (for a provider in no live partnership,
    ``((0.0 + 0.0) + 0.0) + 0.0 + shock``, i.e. ``0.0 + shock``); the web's signals into a domain add
    edge by edge in edge order, from 0.0. A provider's signals read its levels before its update.
    ``signals`` is laid out runs × edges × providers (a model's ``signals`` is its transposed view),
    so each edge moves every provider's signal in one contiguous loop the compiler vectorises: the
    web's part of the update took a third of the time it took provider by provider.
    Work on the offsets is proportional to live memberships: :func:`offsets` gives only members a row,
    in ``chan`` (scratch, memberships × 4 × domains: a row per member of a live partnership, at most
    one a membership; the caller keeps it from month to month, so it is not allocated, 160 kB for a
    default run, and page-faulted in again every month).
    """
    n, d_count, e_count = levels.shape[1], levels.shape[2], src.shape[0]
    src_u, tgt_u = _unsigned(src), _unsigned(tgt)
    slot = np.full(n, -1, dtype=np.int64)
    base = np.empty(d_count)
    delta = np.empty((d_count, n))
    inflow = np.empty((d_count, n))
    for r in range(levels.shape[0]):
        if not fused[r]:
            continue
        offsets(
            chan,
            slot,
            r,
            month,
            first,
            rows,
            count,
            m_i,
            floats,
            ints,
            flags,
            t_org_change,
            t_integration,
            t_effects,
            t_shares,
            t_reversible,
            part,
            disruption,
            scale,
            lead_cost,
            cost_share,
        )
        for d in range(d_count):
            base[d] = 0.0 + shock[r, d]
        x, x0, s, z, anc = levels[r], start[r], signals[r], noise[r], anchor[r]  # views once a run, not a provider
        a_r, w_r, rate_r, sd_r = alpha[r], weight[r], rate[r], noise_sd[r]
        for i in range(n):
            for d in range(d_count):
                delta[d, i] = x[i, d] - x0[i, d]
        inflow[:] = 0.0
        for e in range(e_count):
            s_e, from_e, into_e, a_e, w_e = s[e], delta[src_u[e]], inflow[tgt_u[e]], a_r[e], w_r[e]
            for i in range(n):
                y = s_e[i] + a_e * (from_e[i] - s_e[i])
                s_e[i] = y
                into_e[i] += y * w_e
        for i in range(n):
            o = slot[i]
            if o >= 0:
                for d in range(d_count):
                    pressure = (((chan[o, 0, d] + chan[o, 1, d]) + chan[o, 2, d]) + chan[o, 3, d]) + shock[r, d]
                    x[i, d] = _relax(x[i, d], anc[i, d], inflow[d, i], pressure, rate_r[d], z[i, d], sd_r[d])
                slot[i] = -1
            else:
                for d in range(d_count):
                    x[i, d] = _relax(x[i, d], anc[i, d], inflow[d, i], base[d], rate_r[d], z[i, d], sd_r[d])


@numba.njit(cache=True)
def draw_noise(noise, streams):  # type: ignore[no-untyped-def]
    """Each run's noise of the month, providers × domains, from its ``noise`` stream where ``streams[r]``.

    ``streams[r]`` is the address of the stream's PCG64 state (``pcg.state_view(gen).ctypes.data``;
    0 where the caller draws through numpy instead). The state moves on in place, and the numbers
    are those ``standard_normal(out=noise[r])`` gives (:mod:`sim.pcg`).
    """
    for r in range(noise.shape[0]):
        if streams[r] != 0:
            pcg.fill_normal_2d(pcg.state_at(streams[r]), noise[r])


# -- the month's summary ---------------------------------------------------------------------------------
@numba.njit(cache=True)
def summarise(  # type: ignore[no-untyped-def]
    out,
    levels,
    in_sm,
    supported,
    ics,
    ics_sizes,
    events,
    count,
    first,
    rows,
    m_i,
    type_count,
    floats,
    ints,
    bands,
    cols,
    inertia_threshold,
):
    """Every run's model-level metrics of the month (``outcomes.summarise``), in catalogue order.

    ``bands`` = (good quality, deficit line, surplus per unit) per run; ``cols`` = (quality,
    efficiency) columns. Columns: means, s.d.s, five shares and bands, partnership counts and
    shares, the five events, trusts in special measures without a partner, six partnership means.
    """
    runs, n, d_count = levels.shape
    k_count = type_count.shape[2]
    n_ics = ics_sizes.shape[1]
    total = np.empty(d_count)
    squares = np.empty(d_count)
    ics_sum = np.empty(n_ics)
    seen = np.empty(n, dtype=np.bool_)
    vals = np.empty((5, floats.shape[2]))  # the live partnerships' values of the five means
    held = np.empty(k_count, dtype=np.int64)
    for r in range(runs):
        o = out[r]
        x = levels[r]
        for d in range(d_count):
            total[d] = x[0, d]
            squares[d] = x[0, d] * x[0, d]
        for i in range(1, n):
            for d in range(d_count):
                total[d] += x[i, d]
                squares[d] += x[i, d] * x[i, d]
        for d in range(d_count):
            mean = total[d] / n
            o[d] = mean
            o[d_count + d] = np.sqrt(max(squares[d] / n - mean * mean, 0.0))
        c = 2 * d_count
        good = deficit = sm = 0
        ics_sum[:] = 0.0
        for i in range(n):
            q, e = x[i, cols[0]], x[i, cols[1]]
            good += q >= bands[r, 0]
            deficit += e < bands[r, 1]
            sm += in_sm[r, i]
            ics_sum[ics[r, i]] += q
        o[c] = good / n
        o[c + 1] = deficit / n
        o[c + 2] = sm / n
        o[c + 3] = (o[cols[1]] - bands[r, 1]) * bands[r, 2]
        n_ne = 0
        for h in range(n_ics):
            if ics_sizes[r, h] > 0:
                ics_sum[n_ne] = ics_sum[h] / ics_sizes[r, h]
                n_ne += 1
        centre = _sum(ics_sum, n_ne) / n_ne
        for h in range(n_ne):
            dev = ics_sum[h] - centre
            ics_sum[h] = dev * dev
        o[c + 4] = np.sqrt(_sum(ics_sum, n_ne) / n_ne)
        c += 5
        share_partnered = c
        active = c + 1
        by_phase = c + 2
        by_type = c + 5
        in_type = by_type + k_count
        ev = in_type + k_count
        o[ev : ev + 5] = events[r]
        alone = 0
        for i in range(n):
            alone += in_sm[r, i] and not supported[r, i]
        o[ev + 5] = alone
        means = ev + 6
        if count[r] == 0:
            o[share_partnered : in_type + k_count] = 0.0
            o[means : means + 6] = np.nan
            continue
        seen[:] = False
        for j in range(first[r, count[r]]):
            seen[m_i[r, rows[r, j]]] = True
        o[share_partnered] = np.count_nonzero(seen) / n
        o[by_phase : by_phase + 3] = 0.0
        o[by_type : by_type + k_count] = 0.0
        g = ints[r]
        f = floats[r]
        n_active = 0
        inert = 0
        for p in range(count[r]):  # one pass over the partnerships: counts, and the values the means add
            phase = g[PHASE, p]
            if phase != _ENDED:
                o[by_phase + phase] += 1.0
                o[by_type + g[TYPE, p]] += 1.0
                vals[0, n_active] = f[TRUST, p]
                vals[1, n_active] = f[CONFIDENCE, p]
                vals[2, n_active] = f[FAITH, p]
                vals[3, n_active] = f[BEHAVIOUR, p]
                vals[4, n_active] = f[CONFLICT, p]
                inert += f[BEHAVIOUR, p] < inertia_threshold[r]
                n_active += 1
        o[active] = n_active
        held[:] = 0
        for i in range(n):  # one pass over the providers' rows (counts: the order does not matter)
            for k in range(k_count):
                held[k] += type_count[r, i, k] > 0
        for k in range(k_count):
            o[in_type + k] = held[k] / n
        if n_active == 0:
            o[means : means + 6] = np.nan
            continue
        for slot in range(vals.shape[0]):  # trust, confidence, faith, behaviour, conflict
            o[means + slot] = _sum(vals[slot], n_active) / n_active
        o[means + 5] = inert / n_active


# -- approvals, transitions and endings -------------------------------------------------------------------
@numba.njit(cache=True, inline="always")
def _phase_ends(g, p, phase, month):  # type: ignore[no-untyped-def]
    """Partnership ``p`` is in ``phase`` and its time in it is up this month."""
    return g[PHASE, p] == phase and g[PHASE_END, p] <= month


@numba.njit(cache=True)
def advance_phases(ints, count, month, transition_months):  # type: ignore[no-untyped-def]
    """Approvals complete (approval → transition), then transitions end (→ operating), every run.

    ``formation.advance_phases`` with a run axis: the end of approval is the transaction's
    completion; a type without a transition goes straight to operating. Returns each run's count.
    """
    changed = np.zeros(ints.shape[0], dtype=np.int64)
    for r in range(ints.shape[0]):
        g = ints[r]
        for p in range(count[r]):
            if _phase_ends(g, p, _APPROVAL, month):
                g[COMPLETION, p] = month
                tm = transition_months[r, g[TYPE, p]]
                if tm > 0:
                    g[PHASE, p], g[PHASE_END, p] = _TRANSITION, month + tm
                else:
                    g[PHASE, p], g[PHASE_END, p] = _OPERATING, NEVER
                changed[r] += 1
        for p in range(count[r]):
            if _phase_ends(g, p, _TRANSITION, month):
                g[PHASE, p], g[PHASE_END, p] = _OPERATING, NEVER
                changed[r] += 1
    return changed


@numba.njit(cache=True)
def endings(ints, flags, count, in_sm, reversible, ends_on_recovery, inertia_months, out):  # type: ignore[no-untyped-def]
    """The partnerships that end this month, every run: ``formation.dissolutions`` with a run axis.

    A voluntary reversible partnership in collaborative inertia for ``inertia_months`` dissolves
    (reason 0, ``inertia``); a mandated support whose client has left special measures ends
    (reason 1, ``recovered``). ``out[r, j]`` = (partnership, reason), the dissolutions first, each
    kind in id order; returns each run's count.
    """
    n_out = np.zeros(ints.shape[0], dtype=np.int64)
    for r in range(ints.shape[0]):
        g = ints[r]
        for pass_ in range(2):
            for p in range(count[r]):
                if g[PHASE, p] == _ENDED:
                    continue
                k = g[TYPE, p]
                client = g[CLIENT, p]
                inert = not flags[r, MANDATED, p] and reversible[r, k] and g[INERTIA_RUN, p] >= inertia_months[r]
                recovered = ends_on_recovery[r, k] and client >= 0 and not in_sm[r, max(client, 0)]
                if (pass_ == 0 and inert) or (pass_ == 1 and recovered and not inert):
                    out[r, n_out[r], 0] = p
                    out[r, n_out[r], 1] = pass_
                    n_out[r] += 1
    return n_out


# Last, before any kernel is called: an edit of any file of sim/ (relations.py, whose functions the
# kernels inline, above all) must not leave kernels compiled from the old source in numba's cache.
_HERE = Path(__file__).parent
compile_cache.refresh(
    _HERE,
    compile_cache.marker_path(_HERE, getattr(numba.config, "CACHE_DIR", "") or None),
    [f for f in (*globals().values(), *_TWINS.values()) if isinstance(f, numba.core.registry.CPUDispatcher)],
)
