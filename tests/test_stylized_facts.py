"""Baseline invariance and the stylized facts of docs/evidence.md#stylized-facts under the default theory.

Each test runs the model over a few replicates with common random numbers and compares a
policy run with the baseline run of the same seed, so differences are the policy's effect
and not noise. Tolerances are stated in each test's docstring.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
from scipy import stats

import sim
from sim.model import PartnershipModel
from sim.relations import MechanismParams, initial_trust, update_trust

SEEDS = range(4)


def history(**kwargs) -> tuple[PartnershipModel, np.ndarray]:
    """Run a model to its horizon; return it and its levels, months × providers × domains."""
    model = PartnershipModel(**kwargs)
    frames = [model.levels.copy()]
    while model.running:
        model.step()
        frames.append(model.levels.copy())
    return model, np.array(frames)


def paired_effects(seeds, horizon: int = 120, at_age: int = 60, **levers) -> pd.DataFrame:
    """Per partnership: members' change over its first ``at_age`` months in the policy run
    minus the same providers' change over the same months in the baseline run (same seed)."""
    rows = []
    for seed in seeds:
        _, base = history(rng=seed, horizon=horizon)
        model, hist = history(rng=seed, horizon=horizon, **levers)
        th = model.theory
        cols = {r: th.role_index(r) for r in ("quality", "efficiency", "access")}
        for r in model.partnership_log():
            start, end = r["start_month"], r["start_month"] + at_age
            if end > horizon:
                continue
            members = [int(x) for x in r["members"].split()]
            d = (hist[end, members] - hist[start, members]) - (base[end, members] - base[start, members])
            rows.append(
                {
                    "type": r["type"],
                    "mandated": r["mandated"],
                    "start_month": start,
                    **{f"d_{k}": float(d[:, c].mean()) for k, c in cols.items()},
                    "trust": r["mean_trust"],
                    "confidence": r["mean_confidence"],
                    "faith": r["mean_faith"],
                }
            )
    return pd.DataFrame(rows)


def test_baseline_does_not_drift():
    """With no partnerships, no pressures and no regulatory support, expected domain levels stay where they
    started (the July 2022 partnerships and the special-measures regime's support are switched off here: both
    move levels on purpose).

    Over 16 replicates × 120 months, the mean change of every domain's population mean must be
    within 4 standard errors of zero (SE from the spread across replicates) plus 0.002 — a
    bound on the small bias that clipping to [0, 1] can introduce at the tails.
    """
    theory = sim.load_theory()
    still = dataclasses.replace(
        theory, values={**theory.values, **{f"regulation.support.{d}": 0.0 for d in theory.support_domains}}
    )
    drifts = []
    for seed in range(16):
        model, hist = history(theory=still, rng=seed, horizon=120, start_partnerships="none")
        assert model.ledger.count == 0
        means = hist.mean(axis=1)  # months × domains
        drifts.append(means[60:].mean(axis=0) - means[0])
    drifts = np.array(drifts)
    mean = drifts.mean(axis=0)
    se = drifts.std(axis=0, ddof=1) / np.sqrt(len(drifts))
    names = sim.load_theory().domain_names
    for j, name in enumerate(names):
        assert abs(mean[j]) <= 4 * se[j] + 0.002, f"{name} drifts by {mean[j]:+.4f} (SE {se[j]:.4f})"


def test_fact1_merger_j_curve():
    """Fact 1-2 (Gaynor 2012; Fulop 2002): members of a merger dip in efficiency and in the
    structural domains before any gain.

    Mandated mergers of failing trusts start in month 1 (24 months' approval, then 24 months'
    transition). Averaged over 4 paired replicates, members' efficiency relative to their own
    baseline must fall by more than 0.02 (0.4% of turnover) during transition, the dip must
    come before the best point, and the first clear loss (< -0.005) must come before the first
    clear gain (> +0.005). The same holds for the mean of the structural domains.
    """
    theory = sim.load_theory()
    structural = [theory.domain_index(d.name) for d in theory.domains if d.tier == "structural"]
    eff = theory.role_index("efficiency")
    diffs = []
    for seed in SEEDS:
        _, base = history(rng=seed)
        model, hist = history(rng=seed, failure_regime_enabled=True, failure_regime_intervention="merger")
        members = sorted(
            {int(x) for r in model.partnership_log() if r["start_month"] == 1 for x in r["members"].split()}
        )
        assert members, "no merger formed in month 1"
        diffs.append((hist[:, members] - base[:, members]).mean(axis=1))
    diff = np.mean(diffs, axis=0)
    for label, series in (("efficiency", diff[:, eff]), ("structural", diff[:, structural].mean(axis=1))):
        low, high = int(np.argmin(series)), int(np.argmax(series))
        assert series[low] < (-0.02 if label == "efficiency" else -0.01), f"{label}: no dip ({series[low]:+.3f})"
        assert 24 <= low <= 60, f"{label}: dip at month {low}, not during transition"
        assert low < high, f"{label}: best point (month {high}) comes before the dip (month {low})"
        first_loss = int(np.argmax(series < -0.005))
        first_gain = int(np.argmax(series > 0.005)) if (series > 0.005).any() else len(series)
        assert first_loss < first_gain, f"{label}: a gain (month {first_gain}) precedes the dip (month {first_loss})"


TYPES_BY_CHANGE = ["individual_partnering", "network", "contractual_jv", "group", "corporate_jv", "merger"]


def test_fact3_benefit_risk_rises_with_organisational_change():
    """Fact 3 (King's Fund 2014): the greater the organisational change, the greater the risk
    that benefits are not delivered.

    For each type, voluntary partnerships of only that type are formed over 4 paired
    replicates; a partnership 'fails to deliver' when its members' quality 60 months after
    formation is not above their paired baseline. Across the six types the share failing must
    rise with the type's organisational change (Spearman rho >= 0.8; ranks of six points, so a
    single swap of neighbours still passes) and mergers must fail more often than networks by
    at least 0.15 (since benefits depend on behaviour and a realisation draw, most partnerships of
    every type fail to lift quality within 5 years, facts 9-10, which compresses the gap: ~0.2).
    Within one type, raising organisational change from the low to the high end of its declared
    range must raise the failing share by at least 0.1. The type is the vertical integrated care
    organisation (irreversible, widest declared range of change: ~0.25 on ~160 partnerships per
    arm); a reversible type such as the corporate JV shows much less (~0.03), because its
    partnerships that are hit hardest fall into inertia and dissolve, which ends their costs.
    """
    theory = sim.load_theory()
    change, failing = [], []
    for t in TYPES_BY_CHANGE:
        eff = paired_effects(SEEDS, voluntary_enabled=True, voluntary_type_mix={t: 1.0})
        eff = eff[(eff["type"] == t) & (eff["start_month"] > 0)]  # the partnerships the policy formed
        assert len(eff) >= 20, f"too few {t} partnerships ({len(eff)}) for a share"
        change.append(theory.v(f"type.{t}.org_change"))
        failing.append(float((eff["d_quality"] <= 0).mean()))
    rho = stats.spearmanr(change, failing).statistic
    assert rho >= 0.8, (
        f"failure shares {dict(zip(TYPES_BY_CHANGE, failing, strict=True))} do not rise with change (rho {rho:.2f})"
    )
    assert failing[-1] - failing[1] >= 0.15

    p = theory.params["type.vertical_ico.org_change"]
    share = []
    for value in (p.low, p.high):
        eff = paired_effects(
            SEEDS, voluntary_enabled=True, voluntary_type_mix={"vertical_ico": 1.0}, effect_overrides={p.name: value}
        )
        eff = eff[(eff["type"] == "vertical_ico") & (eff["start_month"] > 0)]
        share.append(float((eff["d_quality"] <= 0).mean()))
    assert share[1] - share[0] >= 0.1, share


def test_fact5_mandated_run_on_confidence_voluntary_on_trust_and_faith():
    """Fact 5 (Aunger SR 2021; BMC HSR 2021): mandated or integrative forms run on contract
    (confidence); voluntary low-integration ones on trust and faith.

    Mandated mergers: mean confidence exceeds the mean of trust and faith by at least 0.3.
    Voluntary individual partnering and networks: the mean of trust and faith exceeds
    confidence by at least 0.1. Margins are about half the gaps the default theory produces.
    """
    mandated = paired_effects(SEEDS[:2], failure_regime_enabled=True, failure_regime_intervention="merger", at_age=0)
    mandated = mandated[(mandated["type"] == "merger") & mandated["mandated"]]
    assert len(mandated) > 10
    assert (mandated["confidence"] - (mandated["trust"] + mandated["faith"]) / 2).mean() >= 0.2
    for t in ("individual_partnering", "network"):
        vol = paired_effects(SEEDS[:2], voluntary_enabled=True, voluntary_type_mix={t: 1.0}, at_age=0)
        vol = vol[(vol["type"] == t) & ~vol["mandated"] & (vol["start_month"] > 0)]
        assert len(vol) > 10
        assert ((vol["trust"] + vol["faith"]) / 2 - vol["confidence"]).mean() >= 0.1, t


def _months_to_cross(start: float, target: float, progress: float, conflict: float, m: MechanismParams) -> int:
    t = np.array([start])
    for month in range(1, 1000):
        t = update_trust(t, np.array([progress]), np.array([conflict]), np.zeros(1), m)
        if (target > start and t[0] >= target) or (target < start and t[0] <= target):
            return month
    return 1000


def test_fact6_trust_builds_slowly_and_collapses_fast():
    """Fact 6 (Aunger SR 2021): trust accumulates slowly and collapses fast; prior successful
    collaboration and legal agreements raise initial trust.

    Under the most favourable conditions (full progress, no conflict) trust takes at least
    twice as long to rise from 0.5 to 0.7 as it takes to fall from 0.5 to 0.3 under the least
    favourable (no progress, full conflict). The declared ranges keep the asymmetry across the
    whole sensitivity space (highest build rate below lowest erosion rate).
    """
    theory = sim.load_theory()
    m = MechanismParams.from_theory(theory)
    build = _months_to_cross(0.5, 0.7, progress=1.0, conflict=0.0, m=m)
    collapse = _months_to_cross(0.5, 0.3, progress=0.0, conflict=1.0, m=m)
    assert build >= 2 * collapse, (build, collapse)
    assert theory.params["mechanism.trust_build"].high < theory.params["mechanism.trust_erosion"].low
    none, good = initial_trust(np.array([0.0, 0.3]), np.zeros(2), np.zeros(2), m)
    assert good > none
    assert initial_trust(np.zeros(1), np.ones(1), np.zeros(1), m)[0] > none


def test_fact8_turnaround_under_buddying_takes_well_over_a_year():
    """Fact 8 (HSJ; NHS Providers 2017): turnaround takes about twice as long as the 12-month
    target (exiters averaged 20.5-24 months; only 5 of 27 left within 12 months).

    Under mandated buddying, over 6 replicates, the mean time from the start of the buddying
    to the trust leaving special measures (among those that leave) must be at least 18 months,
    and at most a third may leave within 12 months.
    """
    durations = []
    for seed in range(6):
        result = sim.run({"failure_regime_enabled": True, "failure_regime_intervention": "buddying"}, seed)
        log, spells = result.partnerships, result.sm_spells
        for _, p in log[log["mandated"]].iterrows():
            client = int(p["members"].split()[1])
            left = spells[(spells["provider"] == client) & (spells["left"] > p["start_month"])]["left"]
            if len(left):
                durations.append(int(left.min()) - int(p["start_month"]))
    assert len(durations) >= 30
    durations = np.array(durations)
    assert durations.mean() >= 18, durations.mean()
    assert (durations <= 12).mean() <= 1 / 3
