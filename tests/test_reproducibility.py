"""Reproducibility and common random numbers.

* One seed (``rng=``, the Mesa 3 idiom) gives bit-identical series and partnership logs.
* Different seeds give different runs.
* Turning a lever on adds draws only to the streams of the processes it touches: the
  starting population is identical, and a provider that is never in any partnership (nor a
  supported client) in either run follows a bit-identical trajectory in both — one extra
  event changes only the outcomes it reaches ("one extra event -> one extra outcome").
* Named streams are independent: drawing from one does not move another.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from sim import PartnershipModel, run
from sim.registry import ENDED
from sim.rng import STREAMS, Streams, stream_seed

BUSY = {
    "failure_regime_enabled": True,
    "voluntary_enabled": True,
    "voluntary_hazard_scale": 5.0,
    "voluntary_type_mix": {"network": 1.0, "group": 1.0, "merger": 1.0},
    "approval_months": 6,
}


def test_same_seed_same_outputs():
    a = run(BUSY, seed=11, horizon=60)
    b = run(BUSY, seed=11, horizon=60)
    assert len(a.partnerships) > 0, "the setup should form partnerships"
    pd.testing.assert_frame_equal(a.series, b.series, check_exact=True)
    pd.testing.assert_frame_equal(a.partnerships, b.partnerships, check_exact=True)
    pd.testing.assert_frame_equal(a.sm_spells, b.sm_spells, check_exact=True)


def test_different_seeds_differ():
    a = run(BUSY, seed=11, horizon=24)
    b = run(BUSY, seed=12, horizon=24)
    assert not a.series["mean_quality"].equals(b.series["mean_quality"])
    assert not a.partnerships["members"].equals(b.partnerships["members"])


def test_rng_keyword_is_the_seed():
    """``rng=`` seeds everything, including Mesa's own model.rng."""
    a, b = PartnershipModel(n_providers=30, rng=5), PartnershipModel(n_providers=30, rng=5)
    np.testing.assert_array_equal(a.levels, b.levels)
    assert a.rng.random() == b.rng.random()
    c = PartnershipModel(n_providers=30, rng=6)
    assert not np.array_equal(a.levels, c.levels)


def trajectories(
    kw: dict[str, Any], seed: int, months: int, n: int = 80
) -> tuple[PartnershipModel, np.ndarray, np.ndarray]:
    """Run a model; return it, its levels every month (months+1 × n × D) and who was ever touched
    by a partnership (member of any partnership, or supported client)."""
    model = PartnershipModel(n_providers=n, horizon=months, rng=seed, start_partnerships="none", **kw)
    levels = [model.levels.copy()]
    touched = np.zeros(model.n, dtype=bool)
    while model.running:
        model.step()
        levels.append(model.levels.copy())
        touched |= model.ledger.supported
    for members in model.ledger.members:
        touched[members] = True
    return model, np.stack(levels), touched


@pytest.mark.parametrize(
    "lever",
    [
        {
            "voluntary_enabled": True,
            "voluntary_hazard_scale": 1.0,
            "voluntary_type_mix": {"network": 1.0, "merger": 1.0, "contractual_jv": 1.0},
        },
        {"failure_regime_enabled": True, "failure_regime_intervention": "management_contract"},
        {"collaborative_duty_enabled": True, "collaborative_duty_start_month": 6},
    ],
    ids=["voluntary", "failure_regime", "duty"],
)
def test_lever_changes_only_the_providers_it_reaches(lever):
    base, base_levels, base_touched = trajectories({}, seed=21, months=48)
    pol, pol_levels, pol_touched = trajectories(lever, seed=21, months=48)

    # the starting population is identical
    np.testing.assert_array_equal(base.start_levels, pol.start_levels)
    for name in ("kind", "ics", "turnover", "sector"):
        np.testing.assert_array_equal(getattr(base.pop, name), getattr(pol.pop, name))

    assert base.ledger.count == 0 and pol.ledger.count > 0, "the lever should form partnerships"
    untouched = ~(base_touched | pol_touched)
    assert untouched.sum() >= 10, "too few untouched providers for the check to mean anything"
    # untouched providers: bit-identical trajectories in both runs
    np.testing.assert_array_equal(base_levels[:, untouched], pol_levels[:, untouched])
    # the lever did change the providers it reached
    touched = pol_touched & ~base_touched
    assert np.any(base_levels[-1, touched] != pol_levels[-1, touched])


def test_one_extra_partnership_changes_only_its_members():
    """One partnership formed by hand in an otherwise identical run: only its two members move."""
    a = PartnershipModel(n_providers=50, horizon=36, rng=4, start_partnerships="none")
    b = PartnershipModel(n_providers=50, horizon=36, rng=4, start_partnerships="none")
    k = b.theory.type_index("buddying")
    b.form(k, np.array([3, 7]), lead=3, client=-1, mandated=True)
    while a.running:
        a.step()
        b.step()
    differ = np.flatnonzero(np.any(a.levels != b.levels, axis=1))
    assert set(differ.tolist()) == {3, 7}


def test_streams_are_independent():
    """Drawing from one named stream does not change what another one yields."""
    plain = Streams(9)
    busy = Streams(9)
    for name in STREAMS:
        if name != "noise":
            busy[name].random(1000)
    np.testing.assert_array_equal(plain["noise"].standard_normal(100), busy["noise"].standard_normal(100))
    first = [Streams(9)[name].random() for name in STREAMS]
    assert len(set(first)) == len(STREAMS), "every stream must yield its own numbers"
    assert stream_seed(9, "noise").generate_state(4).tolist() == stream_seed(9, "noise").generate_state(4).tolist()
    with pytest.raises(KeyError):
        stream_seed(9, "no_such_stream")


def test_levers_leave_the_noise_stream_where_it_was():
    """After the same number of months, the noise stream is in the same state whatever the levers."""
    a = PartnershipModel(n_providers=40, horizon=24, rng=2)
    b = PartnershipModel(n_providers=40, horizon=24, rng=2, **BUSY)
    for _ in range(24):
        a.step()
        b.step()
    assert b.ledger.count > 0
    assert a.streams["noise"].bit_generator.state == b.streams["noise"].bit_generator.state
    assert a.streams["population"].bit_generator.state == b.streams["population"].bit_generator.state
    assert a.streams["voluntary"].bit_generator.state != b.streams["voluntary"].bit_generator.state


def test_ended_partnerships_counted_once():
    """The log lists every partnership once, ended ones with their end month (sanity of the log
    that the reproducibility checks compare)."""
    model = PartnershipModel(n_providers=60, horizon=60, rng=8, **BUSY)
    while model.running:
        model.step()
    log = pd.DataFrame(model.partnership_log())
    assert log["partnership_id"].tolist() == list(range(model.ledger.count))
    ended = model.ledger.phase[: model.ledger.count] == ENDED
    assert log["ended"].tolist() == ended.tolist()


def digest_of(flat: dict[str, Any], seed: int, horizon: int) -> str:
    """sha256 of a run's series and partnership log written as CSV with every digit."""
    import hashlib

    r = run(flat, seed=seed, horizon=horizon)
    h = hashlib.sha256()
    h.update(r.series.to_csv(index=False, float_format="%.17g").encode())
    h.update(r.partnerships.to_csv(index=False, float_format="%.17g").encode())
    return h.hexdigest()


def test_same_seed_same_bytes_in_another_process():
    """Another interpreter, with its own string-hash seed, writes the same bytes."""
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    code = (
        "import json, sys; sys.path.insert(0, sys.argv[1]); from test_reproducibility import digest_of; "
        "print(digest_of(json.loads(sys.argv[2]), 11, 36))"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    proc = subprocess.run(
        [sys.executable, "-c", code, str(Path(__file__).parent), json.dumps(BUSY)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == digest_of(BUSY, 11, 36)
