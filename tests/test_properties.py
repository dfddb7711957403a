"""Bounds and sanity over random theories and levers (Hypothesis).

Every uncertain parameter is drawn from its declared [low, high] (whole numbers for integer
parameters), levers at random (failure regime and its type, collaborative duty and its type,
voluntary mix, approval months, support fund, shocks); a small population runs a short
horizon, and after every month:

* every domain level and anchor lies in [0, 1] and nothing is NaN (levels, signals, the
  ledger's relational stocks, the month's metrics, the partnership log);
* partnership membership is consistent: members exist and are distinct; merger-like
  (non-reversible) partnerships never end; no provider is in two active exclusive
  partnerships or in more partnerships of a type than its ``max_per_provider``;
* the ledger's per-provider counters (type_count, n_exclusive, mandated_led, supported)
  equal a recount from the active partnerships.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim import PartnershipModel, load_theory
from sim.registry import ENDED

THEORY = load_theory()
TYPES = THEORY.type_names
STOCKS = ("conflict", "trust", "confidence", "faith", "progress", "risk", "behaviour")
MECHANISM_METRICS = {
    "mean_trust",
    "mean_confidence",
    "mean_faith",
    "mean_behaviour",
    "mean_conflict",
    "share_in_inertia",
}

FAST = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SLOW = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def theory_values(draw: st.DrawFn) -> dict[str, float]:
    """A value inside the declared range of every uncertain parameter."""
    out = {}
    for p in THEORY.uncertain_params():
        if p.integer:
            out[p.name] = float(draw(st.integers(int(np.ceil(p.low)), int(np.floor(p.high)))))
        else:
            out[p.name] = draw(st.floats(p.low, p.high, allow_nan=False, allow_infinity=False))
    return out


@st.composite
def shock(draw: st.DrawFn, prefix: str) -> dict[str, Any]:
    return {
        f"{prefix}_size": draw(st.floats(-0.2, 0.3)),
        f"{prefix}_start_month": draw(st.integers(0, 24)),
        f"{prefix}_ramp_months": draw(st.integers(1, 24)),
    }


@st.composite
def levers(draw: st.DrawFn) -> dict[str, Any]:
    """Flat lever and shock settings, as mesa.batch_run would pass them."""
    kw: dict[str, Any] = {
        "failure_regime_enabled": draw(st.booleans()),
        "failure_regime_intervention": draw(st.sampled_from(TYPES)),
        "failure_regime_partner_capacity": draw(st.integers(1, 3)),
        "failure_regime_same_ics_first": draw(st.booleans()),
        "failure_regime_partner_min_quality": draw(st.none() | st.floats(0.3, 0.7)),
        "collaborative_duty_enabled": draw(st.booleans()),
        "collaborative_duty_start_month": draw(st.integers(0, 24)),
        "collaborative_duty_type": draw(st.sampled_from(TYPES)),
        "voluntary_enabled": draw(st.booleans()),
        "voluntary_type_mix": draw(st.dictionaries(st.sampled_from(TYPES), st.floats(0.1, 1.0), min_size=1)),
        "voluntary_hazard_scale": draw(st.floats(1.0, 40.0)),
        "approval_months": draw(st.none() | st.integers(0, 36)),
        "support_fund_share": draw(st.floats(0.0, 1.0)),
    }
    kw.update(draw(shock("workforce_shock")))
    kw.update(draw(shock("financial_squeeze")))
    return kw


def check_month(model: PartnershipModel) -> None:
    """Every invariant of the module docstring, for the model's current month."""
    month = model.month
    for name in ("levels", "anchor"):
        arr = getattr(model, name)
        assert not np.isnan(arr).any(), f"NaN in {name} (month {month})"
        assert arr.min() >= 0.0 and arr.max() <= 1.0, f"{name} outside [0, 1] (month {month})"
    assert np.isfinite(model.signals).all(), f"non-finite signals (month {month})"

    ledger, t, n = model.ledger, model.types, model.n
    active = ledger.active_ids()
    for name in STOCKS:
        vals = getattr(ledger, name)[active]
        assert not np.isnan(vals).any(), f"NaN in ledger.{name} (month {month})"
        assert ((vals >= 0.0) & (vals <= 1.0)).all(), f"ledger.{name} outside [0, 1] (month {month})"

    type_count = np.zeros((n, len(t.names)), dtype=np.int64)
    n_exclusive = np.zeros(n, dtype=np.int64)
    mandated_led = np.zeros(n, dtype=np.int64)
    supported = np.zeros(n, dtype=bool)
    pairs = set()
    for p in range(ledger.count):
        k = int(ledger.type[p])
        members = ledger.members[p]
        assert len(members) >= 2, f"partnership {p} has fewer than two members"
        assert len(set(members.tolist())) == len(members), f"partnership {p} lists a member twice: {members}"
        assert ((members >= 0) & (members < n)).all(), f"partnership {p} has a member that does not exist"
        if ledger.phase[p] == ENDED:
            assert t.reversible[k], f"a {t.names[k]} (irreversible) ended (partnership {p}, month {month})"
            continue
        type_count[members, k] += 1
        n_exclusive[members] += int(t.exclusive[k])
        if ledger.mandated[p] and ledger.client[p] >= 0:
            mandated_led[ledger.lead[p]] += 1
            supported[ledger.client[p]] = True
        pairs.update((p, int(i)) for i in members)
    assert (type_count <= t.max_per_provider).all(), f"a provider exceeds a type's max_per_provider (month {month})"
    assert n_exclusive.max(initial=0) <= 1, f"a provider is in two exclusive partnerships (month {month})"
    np.testing.assert_array_equal(ledger.type_count, type_count, err_msg=f"type_count drifted (month {month})")
    np.testing.assert_array_equal(ledger.n_exclusive, n_exclusive, err_msg=f"n_exclusive drifted (month {month})")
    np.testing.assert_array_equal(ledger.mandated_led, mandated_led, err_msg=f"mandated_led drifted (month {month})")
    np.testing.assert_array_equal(ledger.supported, supported, err_msg=f"supported drifted (month {month})")
    mem = ledger.memberships()
    assert set(zip(mem.mp.tolist(), mem.mi.tolist(), strict=True)) == pairs, "memberships() disagree with members"
    if model.levers.failure_regime.enabled:
        assert (mandated_led <= model.levers.failure_regime.partner_capacity).all()

    summary = model.summary
    no_partnerships = summary["partnerships_active"] == 0
    for key, value in summary.items():
        if key in MECHANISM_METRICS and no_partnerships:
            continue  # undefined (NaN) by design when no partnership is active
        assert np.isfinite(value), f"metric {key} is {value} (month {month})"
    for key in ("share_good_or_outstanding", "share_in_deficit", "share_special_measures", "share_partnered"):
        assert 0.0 <= summary[key] <= 1.0


def run_and_check(values: dict[str, float], kw: dict[str, Any], n: int, horizon: int, seed: int) -> PartnershipModel:
    model = PartnershipModel(THEORY.with_values(values), n_providers=n, horizon=horizon, rng=seed, **kw)
    check_month(model)
    while model.running:
        model.step()
        check_month(model)
    log = pd.DataFrame(model.partnership_log())
    if len(log):
        numeric = log.select_dtypes("number")
        assert not numeric.isna().any().any(), "NaN in the partnership log"
        assert (log["end_month"] >= log["start_month"]).all()
    return model


@FAST
@given(
    values=theory_values(),
    kw=levers(),
    n=st.integers(30, 60),
    horizon=st.integers(36, 60),
    seed=st.integers(0, 2**32 - 1),
)
def test_states_bounded_and_partnerships_consistent(values, kw, n, horizon, seed):
    run_and_check(values, kw, n, horizon, seed)


@pytest.mark.slow
@SLOW
@given(
    values=theory_values(),
    kw=levers(),
    n=st.integers(20, 120),
    horizon=st.integers(36, 120),
    seed=st.integers(0, 2**32 - 1),
)
def test_states_bounded_and_partnerships_consistent_long(values, kw, n, horizon, seed):
    run_and_check(values, kw, n, horizon, seed)


@FAST
@given(values=theory_values(), seed=st.integers(0, 2**32 - 1))
def test_busy_world_stays_consistent(values, seed):
    """Every lever on at once with a high voluntary hazard and every type in the mix, so the
    invariants are checked where partnerships crowd each other."""
    kw = {
        "failure_regime_enabled": True,
        "failure_regime_intervention": "merger",
        "collaborative_duty_enabled": True,
        "voluntary_enabled": True,
        "voluntary_hazard_scale": 40.0,
        "voluntary_type_mix": dict.fromkeys(TYPES, 1.0),
        "approval_months": 0,
    }
    model = run_and_check(values, kw, 50, 48, seed)
    assert model.ledger.count > 10
