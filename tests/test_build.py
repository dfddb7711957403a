"""Building a run: the compiled walk of the start (``sim.start_kernels``) draws numpy's numbers in
numpy's order and forms the pairs the Python walk formed; what a run derives from its theory is shared
read-only; the ledger's batched joins are the joins one at a time."""

from __future__ import annotations

import numpy as np
import pytest

from sim import event_kernels, formation, load_theory, start_kernels
from sim.population import build_population, load_population_spec
from sim.registry import BOOL_INDEX, FLOAT_INDEX, INT_INDEX
from sim.relations import MechanismParams
from sim.rng import choice_cdf, choose
from sim.world import World

THEORY = load_theory()


def test_the_compiled_draws_are_numpys_interleaved_and_leave_the_generator_where_numpy_does():
    """Bounded integers share the generator's buffered 32-bit half with the permutation's words; uniforms and
    normals take whole 64-bit outputs and leave the buffer alone."""
    for seed in range(12):
        plan = np.random.default_rng(1000 + seed)
        gen, twin = np.random.default_rng(seed), np.random.default_rng(seed)
        s = start_kernels.state_words(twin)
        for _ in range(300):
            what = int(plan.integers(4))
            if what == 0:
                high = int(
                    plan.choice([1, 2, 3, 7, 13, 217, 1000, 2**31 + 1, 3 * 2**30 + 1, 2**32 - 1])
                )  # the last three: rejections
                assert start_kernels.bounded(s, high) == gen.integers(high)
            elif what == 1:
                n = int(plan.integers(0, 40))
                assert start_kernels.permutation(s, n).tolist() == gen.permutation(n).tolist()
            elif what == 2:
                assert start_kernels.uniform(s) == gen.random()
            else:
                assert start_kernels.normal(s) == gen.standard_normal()
        start_kernels.set_state(twin, s)
        assert twin.bit_generator.state == gen.bit_generator.state
        assert twin.integers(5, size=9).tolist() == gen.integers(5, size=9).tolist()


def walk(rng, want, grouped, ics, sector, q, in_ics, age_max, history_share):
    """Steps 2 and 3 of ``seed_start_partnerships`` as they were written in Python (the reference)."""
    grouped, pairs, leads, ages, placed = list(grouped), [], [], [], 0
    for i in rng.permutation(len(grouped)).tolist():
        if placed + 2 > want:
            break
        if grouped[i]:
            continue
        free = [j for j in in_ics[ics[i]] if not grouped[j] and j != i]
        pool = [j for j in free if sector[j] == sector[i]] or free
        if not pool:
            continue
        j = pool[int(rng.integers(len(pool)))]
        pairs.append([i, j])
        leads.append(j if q[j] > q[i] else i)
        ages.append(int(rng.integers(0, age_max + 1)))
        grouped[i] = grouped[j] = True
        placed += 2
    who, whom, draws = [], [], []
    for i in np.flatnonzero(rng.random(len(grouped)) < history_share).tolist():
        local = in_ics[ics[i]]
        if len(local) < 2:
            continue
        pick = int(rng.integers(len(local) - 1))
        who.append(i)
        whom.append(local[pick + (pick >= local.index(i))])
        draws.append(rng.standard_normal())
    return pairs, leads, ages, who, whom, draws


@pytest.mark.parametrize("n", [2, 9, 40, 217])
def test_the_compiled_walk_of_the_start_is_the_python_walk(n):
    """Random populations: ICSs of every size (alone in its ICS too), few sectors, quality ties, trusts taken."""
    formed = remembered = 0
    for trial in range(40):
        setup = np.random.default_rng(trial)
        n_ics = int(setup.integers(1, n + 1))
        ics = setup.integers(0, n_ics, n)
        sector = setup.integers(0, 3, n)
        q = setup.choice([0.4, 0.5, 0.6], n)
        grouped = setup.random(n) < setup.random()
        want = int(setup.integers(0, n + 2))
        share = float(setup.random())
        order = np.argsort(ics, kind="stable")
        first = np.zeros(n_ics + 1, dtype=np.int64)
        np.cumsum(np.bincount(ics, minlength=n_ics), out=first[1:])
        in_ics = [order[a:b].tolist() for a, b in zip(first[:-1], first[1:], strict=True)]
        rng, twin = np.random.default_rng(trial), np.random.default_rng(trial)
        rng.integers(3)  # a word half used, as the collaboratives' draws may leave it
        twin.integers(3)
        s = start_kernels.state_words(twin)
        got = start_kernels.groups_and_histories(s, want, grouped, ics, sector, q, order, first, 24, share)
        want_out = walk(rng, want, grouped.tolist(), ics.tolist(), sector.tolist(), q.tolist(), in_ics, 24, share)
        assert [x.tolist() for x in got] == list(want_out)
        formed, remembered = formed + len(want_out[0]), remembered + len(want_out[3])
        start_kernels.set_state(twin, s)
        assert twin.bit_generator.state == rng.bit_generator.state
    assert formed > 0 and remembered > 0  # pairs and memories were compared


def test_numpy_draws_bounded_integers_of_an_array_of_bounds_as_it_draws_each_alone():
    """``seed_start_partnerships`` draws the lone trusts' collaboratives at once on this premise."""
    highs = [1, 4, 1, 9, 2, 2**20, 3, 1, 7]
    for seed in range(5):
        alone, at_once = np.random.default_rng(seed), np.random.default_rng(seed)
        alone.integers(3)  # a word half used
        at_once.integers(3)
        assert [int(alone.integers(h)) for h in highs] == at_once.integers(0, highs).tolist()
        assert alone.bit_generator.state == at_once.bit_generator.state


def test_joining_many_at_once_is_joining_each_in_turn():
    """Into exclusive partnerships (groups) and others (networks), several into one."""
    one, many = (World(THEORY, n_providers=30, rng=4, start_partnerships="none") for _ in range(2))
    for m in (one, many):
        for kind, members in (("group", [0, 1]), ("network", [2, 3, 4]), ("group", [5, 6])):
            m.form(THEORY.type_index(kind), np.array(members), lead=members[0], client=-1, mandated=False)
    ps, who = [2, 0, 2, 1], [7, 8, 9, 10]
    for p, i in zip(ps, who, strict=True):
        one.ledger.add_member(p, i, one.levels)
    many.ledger.add_members(ps, who, many.levels)
    a, b = one.ledger, many.ledger
    for name in ("type_count", "n_exclusive", "_m_p", "_m_i", "_m_start"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    assert a._m_count == b._m_count
    assert all(np.array_equal(x, y) for x, y in zip(a.members, b.members, strict=True))
    assert all(np.array_equal(x, y) for x, y in zip(a.member_start, b.member_start, strict=True))


def test_runs_of_one_theory_share_what_it_alone_decides_read_only():
    runs = [World(THEORY, n_providers=20, rng=seed, start_partnerships="none") for seed in range(2)]
    for part in ("web", "partnering", "mechanisms", "mechanism_cols", "regulation"):
        assert getattr(runs[0], part) is getattr(runs[1], part), part
    for array in (runs[0].web.weight, runs[0].partnering.scale, runs[0].regulation.support):
        with pytest.raises(ValueError, match="read-only"):
            array[0] = 1.0
    assert runs[0].empty_partnership_metrics is not runs[1].empty_partnership_metrics  # a dict: each its own
    trust = THEORY.params["mechanism.trust_init"]
    other = THEORY.with_values({"mechanism.trust_init": trust.high})
    assert World(other, n_providers=20, rng=0, start_partnerships="none").mechanisms == MechanismParams.from_theory(
        other
    )
    assert runs[0].mechanisms == MechanismParams.from_theory(THEORY) != MechanismParams.from_theory(other)


def test_a_population_follows_its_spec_and_theory_whatever_was_built_before():
    """Layouts are kept per spec and theory object: another size or other starting means is another layout."""
    spec = load_population_spec()
    rng, small = np.random.default_rng, spec.resized(30)
    first = build_population(small, THEORY, rng(0))
    assert build_population(spec.resized(40), THEORY, rng(0)).n == 40
    assert np.array_equal(build_population(small, THEORY, rng(0)).levels, first.levels)
    name = f"domain.{THEORY.domain_names[0]}.init_mean"
    other = THEORY.with_values({name: THEORY.params[name].low})
    moved = build_population(small, other, rng(0))
    assert not np.array_equal(moved.levels[:, 0], first.levels[:, 0])
    assert np.array_equal(moved.levels[:, 1:], first.levels[:, 1:])
    first.kind[:] = 0  # a run's arrays are its own
    assert build_population(small, THEORY, rng(0)).kind.any()


def test_remembering_many_pairs_at_once_is_remembering_each_in_turn():
    """Compiled (``event_kernels.remember_pairs``, the start's histories): first slot and last value of a pair
    met twice (in either order); a pair known before keeps its slot; the memory grows past its first capacity."""
    one, many = (World(THEORY, n_providers=300, rng=4, start_partnerships="none").ledger for _ in range(2))
    for led in (one, many):
        led.remember((3, 1), 0.25)
    chain = np.arange(10, 299)  # 289 new pairs (i, i + 1), more than the memory's first capacity
    a = np.concatenate([[5, 1, 2, 9, 7, 3], chain])
    b = np.concatenate([[2, 3, 5, 4, 8, 1], chain + 1])
    trust = np.linspace(0.1, 0.9, len(a))
    for i, j, t in zip(a.tolist(), b.tolist(), trust.tolist(), strict=True):
        one.remember((i, j), t)
    many.reserve_pairs(len(a))
    st = many.store
    event_kernels.remember_pairs(many.run, a, b, trust, 300, st.pair_key, st.pair_value, st.pair_count)
    assert list(many.pair_trust.items()) == list(one.pair_trust.items())
    assert len(many.pair_trust) == 1 + 3 + len(chain)  # (1, 3) before; (2, 5), (4, 9), (7, 8) new


def test_the_ledger_reads_members_reasons_and_levels_at_the_end_from_its_rows():
    """Members in the order they joined (a later join too), their levels then and as their partnership ended,
    why it ended: what the ledger and its log give, read back from the membership rows."""
    w = World(THEORY, n_providers=30, rng=4, start_partnerships="none")
    net, group = THEORY.type_index("network"), THEORY.type_index("group")
    a = w.form(net, np.array([4, 2, 9]), lead=4, client=-1, mandated=False)
    b = w.form(group, np.array([1, 3]), lead=1, client=-1, mandated=False)
    w.ledger.add_member(a, 7, w.levels)
    joined = w.levels.copy()
    w.levels[:] += 0.25
    w.end_partnership(b, "recovered")
    w.levels[:] += 0.25
    led = w.ledger
    assert [x.tolist() for x in led.members] == [[4, 2, 9, 7], [1, 3]]
    assert led.members[-1].tolist() == [1, 3] and [x.tolist() for x in led.members[1:]] == [[1, 3]]
    with pytest.raises(IndexError):
        led.members[2]
    assert np.array_equal(led.member_start[a], joined[[4, 2, 9, 7]])
    assert led.end_reason == ["", "recovered"]
    assert list(led.end_levels) == [b] and np.array_equal(led.end_levels[b], joined[[1, 3]] + 0.25)
    log = w.partnership_columns()
    assert log["members"] == ["4 2 9 7", "1 3"] and log["n_members"].tolist() == [4, 2]
    assert log["end_reason"] == ["ongoing", "recovered"] and log["dissolved"].tolist() == [False, False]
    assert np.allclose(log["delta_quality"], [0.5, 0.25])  # the ended one as it ended
    with pytest.raises(ValueError, match="reason"):
        w.end_partnership(a, "bored")
    assert led.end_reason == ["", "recovered"]


def test_forming_many_that_existed_at_the_start_is_forming_each_in_turn():
    """The compiled rows (``World.form_many``) are ``Ledger.add``'s: the members' context, their remembered trust
    (pairs known, in part or not at all), types exclusive or not, more members than numpy adds one by one."""
    one, many = (World(THEORY, n_providers=60, rng=7, start_partnerships="none") for _ in range(2))
    pairs = ((0, 1), (2, 3), (3, 5), (10, 11), (12, 13))
    for pair, trust in zip(pairs, np.random.default_rng(3).uniform(0.1, 0.9, 5).tolist(), strict=True):
        for w in (one, many):
            w.ledger.remember(pair, trust)
    spread = np.random.default_rng(4).random(60)  # (their sums one by one differ from numpy's in the big network)
    for w in (one, many):
        w.levels[:, w.culture_col] = spread
    local = one.ics_members[int(np.argmax(one.ics_sizes))].tolist()  # trusts of one ICS
    plan = [
        ("network", [[0, 1, 2, 3, 5], local, list(range(20, 59)), list(range(44, 56))], True, [0, 5, 17, 30]),
        ("group", [[0, 1], local[:2], [2, 3]], False, [2, 0, 11]),
    ]
    for kind, groups, mandated, ages in plan:
        k = THEORY.type_index(kind)
        leads = [g[-1] for g in groups]
        for g, lead, age in zip(groups, leads, ages, strict=True):
            one.form(k, np.array(g), lead=lead, client=-1, mandated=mandated, age=age)
        assert many.form_many(k, [np.array(g) for g in groups], leads, mandated=mandated, ages=ages) == list(
            range(many.ledger.count - len(groups), many.ledger.count)
        )
    a, b = one.ledger, many.ledger
    n = a.count
    assert b.count == n == 7 and a.prior_trust[:n].any() and a.same_ics[:n].any() and not a.same_ics[:n].all()
    for name in (*FLOAT_INDEX, *INT_INDEX, *BOOL_INDEX):
        assert np.array_equal(getattr(a, name)[:n], getattr(b, name)[:n]), name
    for name in ("type_count", "n_exclusive", "mandated_led", "supported", "_m_p", "_m_i", "_m_start"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    assert one.streams["realisation"].bit_generator.state == many.streams["realisation"].bit_generator.state
    assert one.events["formations"] == many.events["formations"] == n


def test_the_start_puts_each_ics_and_sectors_duty_trusts_in_one_collaborative_led_by_the_first_best():
    """Quality ties (the first best leads), trusts alone of their sector in their ICS (they join one elsewhere)."""
    w = World(THEORY, n_providers=90, n_ics=12, rng=2, start_partnerships="none")
    w.levels[:, w.quality_col] = np.random.default_rng(0).choice([0.5, 0.7, 0.9], w.n)  # many ties
    formation.seed_start_partnerships(w)
    duty = np.flatnonzero(w.duty_kind_mask).tolist()
    runs: dict[tuple[int, int], list[int]] = {}
    for i in duty:  # ascending
        runs.setdefault((int(w.pop.ics[i]), int(w.pop.sector[i])), []).append(i)
    q = w.levels[:, w.quality_col].tolist()
    founded = {key: trusts for key, trusts in runs.items() if len(trusts) >= 2}
    assert sorted(w.duty_collaboratives) == sorted(founded)
    members = w.ledger.members
    for key, p in w.duty_collaboratives.items():
        assert members[p][: len(founded[key])].tolist() == founded[key]
        assert w.ledger.lead[p] == max(founded[key], key=q.__getitem__)
    lone = [trusts[0] for trusts in runs.values() if len(trusts) == 1]
    joined = [int(i) for p in w.duty_collaboratives.values() for i in members[p][len(founded[key_of(w, p)]) :]]
    assert lone and sorted(joined) == sorted(lone)


def key_of(w: World, p: int) -> tuple[int, int]:
    """The (ICS, sector) of a duty collaborative."""
    return next(key for key, q in w.duty_collaboratives.items() if q == p)


def test_choosing_with_probabilities_is_numpys_choice():
    """``sim.rng.choose`` (the voluntary search's type, the population's ICSs) draws ``Generator.choice``'s picks
    and leaves the generator where numpy does: one pick or many, zero weights too, interleaved with other draws."""
    weights = [np.array([1.0]), np.array([2.0, 1.0, 1.0]), np.array([0.0, 3.0, 0.0, 1.0, 0.5]), np.ones(42)]
    for seed in range(30):
        alone, twin = np.random.default_rng(seed), np.random.default_rng(seed)
        for w in weights:
            p = w / w.sum()
            cdf = choice_cdf(p)
            for size in (None, 1, 7, 217):
                want = alone.choice(len(p), size=size, p=p)
                got = choose(twin, cdf, size)
                assert np.array_equal(got, want) and (size is None) == isinstance(got, int), (seed, size)
            assert alone.integers(9) == twin.integers(9)  # a half-word buffered: draws after agree
        assert alone.bit_generator.state == twin.bit_generator.state
