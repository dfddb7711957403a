"""Who partners with whom, when, and how partnerships end (design.md §6).

Each function handles one process of the monthly formation sequence and draws only from
its own named random stream. Work scales with the number of events: partner search looks
in the provider's ICS and a fixed-size random sample beyond it, never across all pairs.
The rules of :func:`advance_phases` and :func:`dissolutions` draw nothing: the ensemble runs
them compiled for all runs at once (``sim.kernels.advance_phases`` and ``endings``; the tests
hold both equal month by month) and calls :meth:`World.end_partnership` for each
partnership that ends.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim import event_kernels, start_kernels
from sim.registry import APPROVAL, ENDED, TRANSITION
from sim.relations import unit
from sim.rng import choice_cdf, choose

if TYPE_CHECKING:
    from sim.world import World


def seed_start_partnerships(model: World) -> None:
    """The partnerships that existed at the start (July 2022), from the ``start_2022`` parameters.

    1. Provider collaboratives: every trust of the collaborative duty's kinds (acute and
       mental health) is in a horizontal collaborative of its ICS and sector (the duty's type),
       as the 2021 guidance required by July 2022; a trust alone of its sector in its ICS
       joins one elsewhere. They count as mandated (they cannot lapse) when the scenario
       enforces the collaborative duty, and as voluntary (sovereign trusts under an MoU that
       may lapse in collaborative inertia) when it does not.
    2. Groups: ``group_share`` of trusts share leadership in pairs of the same ICS (same sector
       where possible), formed up to ``group_age_max`` months before the start.
    3. History: ``history_share`` of trusts remember a past partnership or merger with another
       trust of their ICS, with remembered trust ``trust_init`` plus a normal draw of s.d.
       ``history_trust_sd`` (good and bad histories).

    All draws come from the ``start`` stream, so every scenario starts from the same state.
    Steps 2 and 3 walk the trusts compiled (:func:`sim.start_kernels.groups_and_histories`: each
    partner pool depends on the partners drawn before), with numpy's draws in numpy's order; the
    histories are remembered compiled too (``sim.event_kernels.remember_pairs``).
    """
    rng = model.streams["start"]
    th, pop, ledger = model.theory, model.pop, model.ledger
    duty = model.levers.collaborative_duty
    k_net = th.type_index(duty.type)
    # the duty's trusts by ICS and sector (ascending within each): one run of trusts per collaborative
    duty_trusts = np.flatnonzero(model.duty_kind_mask)
    duty_trusts = duty_trusts[np.lexsort((pop.sector[duty_trusts], pop.ics[duty_trusts]))]
    ics, sector = pop.ics[duty_trusts], pop.sector[duty_trusts]
    new = np.ones(len(duty_trusts), dtype=bool)
    new[1:] = (ics[1:] != ics[:-1]) | (sector[1:] != sector[:-1])
    first = np.flatnonzero(new)  # where each run starts
    size = np.diff(np.append(first, len(duty_trusts)))
    q = model.levels[duty_trusts, model.quality_col]
    best = np.flatnonzero(q == np.repeat(np.maximum.reduceat(q, first), size)) if len(q) else first
    best = duty_trusts[best[np.searchsorted(best, first)]]  # each run's best-rated trust (the first of equals)
    age_max = int(th.v("start.collaborative_age_max"))
    single, runs = size < 2, np.flatnonzero(size >= 2)
    lone = list(zip(sector[first[single]].tolist(), duty_trusts[first[single]].tolist(), strict=True))
    keys = list(zip(ics[first[runs]].tolist(), sector[first[runs]].tolist(), strict=True))
    nets = [duty_trusts[a : a + n] for a, n in zip(first[runs].tolist(), size[runs].tolist(), strict=True)]
    leads = best[runs].tolist()
    # one age per collaborative, in their order: numpy draws an array of bounded integers one
    # element after another, as it draws each alone (tests/test_event_kernels.py holds it so)
    ages = rng.integers(0, age_max + 1, size=len(keys)).tolist()
    ids = model.form_many(k_net, nets, leads, mandated=duty.enabled, ages=ages)
    model.duty_collaboratives.update(zip(keys, ids, strict=True))
    by_sector: dict[int, list[int]] = {}  # each sector's collaboratives, ids ascending
    for (_, of_sector), p in sorted(model.duty_collaboratives.items(), key=lambda kv: kv[1]):
        by_sector.setdefault(of_sector, []).append(p)
    placed = [(by_sector[of_sector], provider) for of_sector, provider in lone if of_sector in by_sector]
    if placed:  # one pick per lone trust, in their order (numpy draws an array of bounds one after another)
        picks = rng.integers(0, [len(options) for options, _ in placed]).tolist()
        joins = [options[pick] for (options, _), pick in zip(placed, picks, strict=True)]
        ledger.add_members(joins, [provider for _, provider in placed], model.levels)

    k_group = th.type_index(th.start_group_type)
    state = start_kernels.state_words(rng)
    pairs, group_leads, group_ages, who, whom, draws = start_kernels.groups_and_histories(
        state,
        int(round(th.v("start.group_share") * model.n)),
        ~ledger.can_join(k_group, model.types),
        pop.ics,
        pop.sector,
        model.levels[:, model.quality_col],
        model.ics_order,
        model.ics_first,
        int(th.v("start.group_age_max")),
        th.v("start.history_share"),
    )
    start_kernels.set_state(rng, state)
    model.form_many(k_group, list(pairs), group_leads.tolist(), mandated=False, ages=group_ages.tolist())

    trust_init, sd = model.mechanisms.trust_init, th.v("start.history_trust_sd")
    ledger.reserve_pairs(len(who))
    st = ledger.store
    event_kernels.remember_pairs(
        ledger.run, who, whom, unit(trust_init + sd * draws), model.n, st.pair_key, st.pair_value, st.pair_count
    )


def apply_failure_regime(model: World) -> None:
    """Give each provider in special measures, not yet supported, a mandated partnership."""
    lever = model.levers.failure_regime
    if not lever.enabled:
        return
    k = model.theory.type_index(lever.intervention)
    ledger, t = model.ledger, model.types
    joinable = ledger.can_join(k, t)
    needing = np.flatnonzero(model.in_sm & ~ledger.supported & joinable)
    if not len(needing):
        return
    rng = model.streams["failure"]
    quality = model.levels[:, model.quality_col]
    min_q = model.theory.v("band.good_quality") if lever.partner_min_quality is None else lever.partner_min_quality
    sector, ics = model.pop.sector, model.pop.ics
    # capable partners this month; updated for the two providers each formation touches
    capable = joinable & ~model.in_sm & (quality >= min_q) & (ledger.mandated_led < lever.partner_capacity)
    in_sector: dict[int, np.ndarray] = {}  # capable providers of each sector, until the next formation
    for i in rng.permutation(needing).tolist():
        pool: np.ndarray = np.zeros(0, dtype=np.int64)
        if lever.same_ics_first:
            local = model.ics_members[ics[i]]
            pool = local[capable[local] & (sector[local] == sector[i])]
        if not len(pool):
            cached = in_sector.get(sector[i])
            if cached is None:
                cached = in_sector[sector[i]] = np.flatnonzero(capable & (sector == sector[i]))
            pool = cached
        pool = pool[pool != i]
        if not len(pool):
            continue  # no capable partner this month; try again next month
        partner = int(pool[np.argmax(quality[pool])])
        model.form(k, np.array([partner, i]), lead=partner, client=i, mandated=True)
        capable[i] = False
        capable[partner] = ledger.can_join_one(partner, k, t) and ledger.mandated_led[partner] < lever.partner_capacity
        in_sector.clear()


def apply_collaborative_duty(model: World) -> None:
    """From the duty's start month, eligible trusts join a horizontal collaborative in their ICS."""
    lever = model.levers.collaborative_duty
    if not lever.enabled or model.month < lever.start_month:
        return
    k = model.theory.type_index(lever.type)
    ledger, t = model.ledger, model.types
    eligible = model.duty_kind_mask & (ledger.type_count[:, k] == 0) & ledger.can_join(k, t)
    if not eligible.any():
        return
    existing = model.duty_collaboratives  # (ics, sector) -> partnership id
    groups: dict[tuple[int, int], list[int]] = {}
    for i in np.flatnonzero(eligible):
        groups.setdefault((int(model.pop.ics[i]), int(model.pop.sector[i])), []).append(int(i))
    singletons: list[tuple[tuple[int, int], int]] = []
    for key, members in sorted(groups.items()):
        p = existing.get(key)
        if p is not None and ledger.phase[p] != ENDED:
            for member in members:
                ledger.add_member(p, member, model.levels)
        elif len(members) >= 2:
            lead = max(members, key=lambda j: model.levels[j, model.quality_col])
            existing[key] = model.form(k, np.array(members), lead=lead, client=-1, mandated=True)
        else:
            singletons.append((key, members[0]))
    rng = model.streams["duty"]
    for (_, sector), lone in singletons:  # no partner in the ICS: join a same-sector collaborative elsewhere
        options = sorted(q for (_, s), q in existing.items() if s == sector and ledger.phase[q] != ENDED)
        if options:
            ledger.add_member(options[int(rng.integers(len(options)))], lone, model.levels)


def voluntary_search(model: World) -> None:
    """Providers under financial or quality pressure seek partners (monthly hazard)."""
    lever = model.levers.voluntary
    if not lever.enabled:
        return
    rng = model.streams["voluntary"]
    th = model.theory
    q = model.levels[:, model.quality_col]
    e = model.levels[:, model.efficiency_col]
    pressure = (
        np.maximum(th.v("band.good_quality") - q, 0.0) + np.maximum(th.v("band.deficit_efficiency") - e, 0.0)
    ) / th.v("formation.pressure_scale")
    base = th.v("formation.base_hazard") * lever.hazard_scale
    hazard = base * (1.0 + th.v("formation.pressure_sensitivity") * pressure)
    draws = rng.random(model.n)
    initiators = np.flatnonzero(draws < hazard)
    if not len(initiators):
        return
    initiators = rng.permutation(initiators)  # no kind of trust searches first by construction
    mix_k = np.array([th.type_index(name) for name in lever.type_mix])
    mix_w = np.array(list(lever.type_mix.values()), dtype=float)
    mix = choice_cdf(mix_w / mix_w.sum())
    for i in initiators:
        k = int(mix_k[choose(rng, mix)])  # rng.choice(len(mix_k), p=mix_w), without its checks
        size = int(rng.integers(model.types.members_min[k], model.types.members_max[k] + 1))
        partners = choose_partners(model, int(i), k, size - 1, rng)
        if len(partners) + 1 < model.types.members_min[k]:
            continue
        members = np.concatenate([[i], partners]).astype(np.int64)
        lead = int(members[np.argmax(q[members])])
        model.form(k, members, lead=lead, client=-1, mandated=False)


def choose_partners(model: World, i: int, k: int, want: int, rng: np.random.Generator) -> np.ndarray:
    """Best ``want`` partners for ``i`` by score: same ICS, culture, prior trust, size, quality."""
    ledger, th = model.ledger, model.theory
    free = ledger.can_join(k, model.types)
    if not free[i] or want <= 0:
        return np.zeros(0, dtype=np.int64)
    local = model.ics_members[model.pop.ics[i]]
    sample = rng.integers(0, model.n, size=int(th.v("formation.out_of_ics_candidates")))
    cands = np.unique(np.concatenate([local, sample]))
    cands = cands[(cands != i) & free[cands] & ~model.in_sm[cands]]
    if not len(cands):
        return np.zeros(0, dtype=np.int64)
    lv = model.levels
    culture = model.culture_col
    known, remembered = ledger.remembered(i, cands)
    prior = np.where(known, remembered - th.v("mechanism.trust_init"), 0.0)
    size_sim = -np.abs(np.log(model.pop.turnover[cands] / model.pop.turnover[i]))
    score = (
        th.v("formation.w_same_ics") * (model.pop.ics[cands] == model.pop.ics[i])
        + th.v("formation.w_culture") * (1.0 - np.abs(lv[cands, culture] - lv[i, culture]))
        + th.v("formation.w_prior_trust") * prior
        + th.v("formation.w_size") * size_sim
        + th.v("formation.w_quality") * lv[cands, model.quality_col]
        + th.v("formation.choice_noise") * rng.gumbel(size=len(cands))
    )
    order = np.argsort(-score, kind="stable")
    return cands[order[:want]]


def advance_phases(model: World) -> None:
    """Approvals complete (approval → transition), then transitions end (→ operating)."""
    ledger = model.ledger
    if ledger.count == 0:
        return
    for phase in (APPROVAL, TRANSITION):
        ids = ledger.active_ids()
        due = ids[(ledger.phase[ids] == phase) & (ledger.phase_end[ids] <= model.month)]
        for p in due:
            ledger.advance_phase(int(p), model.month, model.types)


def dissolutions(model: World) -> None:
    """End voluntary reversible partnerships in inertia and mandated supports whose client recovered."""
    ledger, t = model.ledger, model.types
    ids = ledger.active_ids()
    if not len(ids):
        return
    k = ledger.type[ids]
    inert = ~ledger.mandated[ids] & t.reversible[k] & (ledger.inertia_run[ids] >= model.mechanisms.inertia_months)
    client = ledger.client[ids]
    recovered = t.ends_on_recovery[k] & (client >= 0) & ~model.in_sm[np.maximum(client, 0)]
    for p in ids[inert]:
        model.end_partnership(int(p), "inertia")
    for p in ids[recovered & ~inert]:
        model.end_partnership(int(p), "recovered")
