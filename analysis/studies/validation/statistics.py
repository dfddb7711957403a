"""The model quantity of each check, computed from the evidence (one function per check)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from analysis.paired import members_of, paired_member_change
from analysis.studies.pathways import enumerate_routes, passes_tier
from analysis.studies.validation.checks import _pct, _sd
from analysis.studies.validation.evidence import (
    FACT3_TYPES,
    HORIZON,
    SHOCK_MONTH,
    Evidence,
    history,
    spells_from_history,
    turnover,
)

# pandas: imported by the functions that build or read tables, not with the module, so a run's
# workers are forked without it (tests/test_architecture.py)
if TYPE_CHECKING:
    import pandas as pd


# statistics ---------------------------------------------------------------------------------
def stat_start_share(ev: Evidence, metric: str) -> float:
    """A band share at month 0 (mean over population draws, see :meth:`Evidence.series0`)."""
    return ev.series0(metric)


def stat_sm_exit_mean(ev: Evidence) -> float:
    """Mean months in special measures of trusts that left, among entrants followed ≥ 42 months."""
    sp = ev.sm_spells("baseline")
    sp = sp[(sp["entered"] <= HORIZON - 42) & sp["left"].notna()]
    return float((sp["left"] - sp["entered"]).mean()) if len(sp) else float("nan")


def stat_sm_exit_12(ev: Evidence) -> float:
    """Share of entrants (followed ≥ 12 months) who left within 12 months."""
    sp = ev.sm_spells("baseline")
    sp = sp[sp["entered"] <= HORIZON - 12]
    return float(((sp["left"] - sp["entered"]) <= 12).mean()) if len(sp) else float("nan")


def stat_sm_two_years(ev: Evidence) -> float:
    """Share of entrants (followed ≥ 24 months) still in special measures 24 months on."""
    sp = ev.sm_spells("baseline")
    sp = sp[sp["entered"] <= HORIZON - 24]
    stay = sp["left"].isna() | ((sp["left"] - sp["entered"]) >= 24)
    return float(stay.mean()) if len(sp) else float("nan")


def stat_sm_relapse(ev: Evidence) -> float:
    """Share of exits (followed ≥ 24 months) re-entering special measures within 24 months."""
    hits = total = 0
    for s in ev.seeds:
        sp = spells_from_history(ev.run("baseline", s).in_sm)
        done = sp[sp["left"].notna() & (sp["left"] <= HORIZON - 24)]
        for _, r in done.iterrows():
            again = sp[
                (sp["provider"] == r["provider"]) & (sp["entered"] > r["left"]) & (sp["entered"] <= r["left"] + 24)
            ]
            hits += int(len(again) > 0)
            total += 1
    return hits / total if total else float("nan")


def stat_merger_deficit(ev: Evidence) -> float:
    """Merger members' paired surplus change since formation, mean over years 1-4 after completion."""
    paths = ev.member_paths("mergers", "efficiency", types=["merger"])
    return float(np.nanmean(paths[:, 1:]) * _pct(ev)) if len(paths) else float("nan")


def stat_merger_access(ev: Evidence) -> float:
    """Merger members' paired access change since formation, in year 4 after completion."""
    paths = ev.member_paths("mergers", "access", types=["merger"])
    return float(np.nanmean(paths[:, 37:49])) if len(paths) else float("nan")


def stat_merger_no_gain(ev: Evidence) -> float:
    """Share of mergers whose members' paired efficiency (year 4 after completion) is not above baseline."""
    paths = ev.member_paths("mergers", "efficiency", types=["merger"])
    return float((np.nanmean(paths[:, 37:49], axis=1) <= 0).mean()) if len(paths) else float("nan")


def stat_merger_delay(ev: Evidence) -> float:
    """Months after completion until merger members' paired care-model change is back to ≥ 0."""
    paths = ev.member_paths("mergers", "care_model", types=["merger"], months=72)
    if not len(paths):
        return float("nan")
    mean = np.nanmean(paths, axis=0)
    back = np.flatnonzero(mean[1:] >= 0)
    return float(back[0] + 1) if len(back) else float(len(mean))


MONITOR_SHARE = 6 / 20  # Monitor's 6 case studies among the 20 mergers of 2010-15 (Collins 2015)


def stat_back_office(ev: Evidence) -> float:
    """Back-office (scale) saving in year 2 after completion of the 30% of mergers that saved most, % of turnover."""
    paths = ev.scale_paths()
    if not len(paths):
        return float("nan")
    year2 = np.nanmean(paths[:, 13:25], axis=1)
    return float(year2[year2 >= np.quantile(year2, 1 - MONITOR_SHARE)].mean() * _pct(ev))


def _savings_share(ev: Evidence, year: int) -> float:
    paths = ev.scale_paths()
    if not len(paths):
        return float("nan")
    mean = np.nanmean(paths, axis=0)
    eventual = float(mean[37:49].mean())
    return float(mean[1 + 12 * (year - 1) : 1 + 12 * year].mean() / eventual) if eventual > 0 else float("nan")


def stat_savings_year1(ev: Evidence) -> float:
    """Back-office saving realised in year 1 as a share of its eventual (year-4) level."""
    return _savings_share(ev, 1)


def stat_savings_year2(ev: Evidence) -> float:
    """Back-office saving realised in year 2 as a share of its eventual (year-4) level."""
    return _savings_share(ev, 2)


def stat_staff_small(ev: Evidence) -> float:
    """Largest |mean paired workforce change| of merger members (formation to year 4), in s.d. across trusts."""
    paths = ev.member_paths("mergers", "workforce", types=["merger"])
    return float(np.nanmax(np.abs(np.nanmean(paths, axis=0))) / _sd(ev, "workforce")) if len(paths) else float("nan")


def stat_risk_change(ev: Evidence) -> float:
    """Spearman rho across types between organisational change and the share failing to deliver."""
    from scipy import stats

    types = [t for t in FACT3_TYPES if t in ev.theory.type_names]
    change, failing = [], []
    for t in types:
        paths = ev.member_paths(f"only_{t}", "quality", types=[t], origin="start", months=60)
        if len(paths) < 5:
            continue
        change.append(ev.theory.v(f"type.{t}.org_change"))
        failing.append(float((paths[:, 60] <= 0).mean()))
    if len(change) < 3:
        return float("nan")
    return float(stats.spearmanr(change, failing).statistic)


def stat_mandated_confidence(ev: Evidence) -> float:
    """Mandated mergers: mean confidence minus the mean of trust and faith."""
    log = ev.log("mergers")
    log = log[log["mandated"]]
    return (
        float((log["mean_confidence"] - (log["mean_trust"] + log["mean_faith"]) / 2).mean())
        if len(log)
        else float("nan")
    )


def stat_voluntary_trust(ev: Evidence) -> float:
    """Voluntary networks and clinical partnering: mean of trust and faith minus confidence."""
    log = ev.log("networks")
    log = log[~log["mandated"]]
    return (
        float(((log["mean_trust"] + log["mean_faith"]) / 2 - log["mean_confidence"]).mean())
        if len(log)
        else float("nan")
    )


def stat_trust_asymmetry(ev: Evidence) -> float:
    """Months for trust to rise 0.5 → 0.7 (best conditions) over months to fall 0.5 → 0.3 (worst)."""
    from sim.relations import MechanismParams, update_trust

    m = MechanismParams.from_theory(ev.theory)

    def months(target: float, progress: float, conflict: float) -> int:
        t = np.array([0.5])
        for k in range(1, 2000):
            t = update_trust(t, np.array([progress]), np.array([conflict]), np.zeros(1), m)
            if (target > 0.5 and t[0] >= target) or (target < 0.5 and t[0] <= target):
                return k
        return 2000

    return months(0.7, 1.0, 0.0) / months(0.3, 0.0, 1.0)


def stat_instability_faith(ev: Evidence) -> float:
    """Faith at the end of partnerships hit by a workforce shock minus the same partnerships' without it.

    The shock starts at month ``SHOCK_MONTH``; runs with the same seed are identical until then, so
    the partnerships formed before it are the same ones in both runs (matched by id).
    """
    diffs = []
    for s in ev.seeds:
        a, b = ev.run("networks_shock", s).log, ev.run("networks", s).log
        a = a[(a["start_month"] < SHOCK_MONTH) & (a["end_month"] > SHOCK_MONTH)].set_index("partnership_id")
        b = b.set_index("partnership_id")
        same = a.index.intersection(b.index)
        same = [i for i in same if a.at[i, "members"] == b.at[i, "members"]]
        diffs += list(a.loc[same, "final_faith"] - b.loc[same, "final_faith"])
    return float(np.mean(diffs)) if diffs else float("nan")


def stat_integration_late(ev: Evidence) -> float:
    """First year after formation in which vertical integrators' paired access gain is clear."""
    paths = ev.member_paths("vertical", "access", types=["vertical_ico"], origin="start", months=72)
    if not len(paths):
        return float("nan")
    mean = np.nanmean(paths, axis=0)
    clear = np.flatnonzero(mean > 0.1 * _sd(ev, "access"))
    return float(int(np.ceil(clear[0] / 12))) if len(clear) else 7.0


def stat_culture_fit(ev: Evidence, *, follow: int = 36, study: str = "mix", role: str = "quality") -> float:
    """Outcome effect of culture gap ``follow`` months after formation, adjusted for the members' other gaps.

    Per partnership formed in the run (whether it lasted or dissolved: keeping only the survivors
    would keep only the mismatched partnerships that happened to work), the members' paired
    change in ``role``'s domain ``follow`` months on is regressed on the cultural gap, the
    members' gap in each structural domain at formation (partners who differ more there have
    more to learn from each other, which would otherwise mask the cost of a culture clash) and
    the type. Returns the culture coefficient times the difference in mean gap between the top
    and the bottom third.
    """
    import pandas as pd

    frames = []
    th = ev.theory
    q = th.roles[role]
    structural = [d.name for d in th.domains if d.tier == "structural"]
    for s in ev.seeds:
        pol, base = ev.run(study, s), ev.run("baseline", s)
        log = pol.log.copy()
        log["dq"] = paired_member_change(pol, base, q, log["start_month"], log["start_month"] + follow)
        cols = [list(pol.domains).index(d) for d in structural]
        gaps = []
        for members, start in zip(members_of(log), log["start_month"], strict=True):
            lv = history(pol)[0][int(start)][np.ix_(members, cols)]
            gaps.append(2.0 * np.abs(lv - lv.mean(axis=0)).mean(axis=0))
        for j, d in enumerate(structural):
            log[f"gap_{d}"] = [g[j] for g in gaps]
        frames.append(log)
    log = pd.concat(frames, ignore_index=True)
    log = log[(log["start_month"] > 0) & (log["start_month"] + follow <= HORIZON)].dropna(subset=["dq"])
    if len(log) < 30:
        return float("nan")
    types = pd.get_dummies(log["type"], drop_first=True, dtype=float)
    x = np.column_stack(
        [np.ones(len(log)), log["culture_gap"], *(log[f"gap_{d}"] for d in structural), types.to_numpy()]
    )
    coef = np.linalg.lstsq(x, log["dq"].to_numpy(), rcond=None)[0][1]
    lo, hi = np.quantile(log["culture_gap"], [1 / 3, 2 / 3])
    spread = (
        log.loc[log["culture_gap"] >= hi, "culture_gap"].mean() - log.loc[log["culture_gap"] < lo, "culture_gap"].mean()
    )
    return float(coef * spread)


def stat_structure_alone(ev: Evidence) -> float:
    """Share of partnering's first-order effect on quality that travels through relational domains."""
    routes = enumerate_routes(ev.theory, ev.theory.roles["quality"])
    trace = np.mean([ev.run("mix", s).hook for s in ev.seeds], axis=0)[HORIZON]
    rel = direct = 0.0
    for r, v in zip(routes, trace, strict=True):
        if r.channel not in ("convergence", "synergy"):
            continue
        if passes_tier(r, ev.theory, "relational"):
            rel += v
        else:
            direct += v
    total = rel + direct
    return float(rel / total) if abs(total) > 1e-9 else float("nan")


def stat_sm_start_cohort_exit(ev: Evidence) -> float:
    """Share of trusts in special measures at month 0 that have left by month 42 (baseline)."""
    left = total = 0
    for s in ev.seeds:
        flags = history(ev.run("baseline", s))[1]
        cohort = np.flatnonzero(flags[0])
        total += len(cohort)
        left += int((~flags[1:43, cohort]).any(axis=0).sum())
    return left / total if total else float("nan")


def entry_causes(ev: Evidence, study: str) -> pd.DataFrame:
    """Entries into special measures after month 0, with the counts they were due to (from the history)."""
    import pandas as pd

    th = ev.theory
    q_line, e_line = th.v("regulation.sm_entry_quality"), th.v("regulation.sm_entry_efficiency")
    months = int(th.v("regulation.sm_entry_months"))
    rows = []
    for s in ev.seeds:
        run = ev.run(study, s)
        levels, in_sm = history(run)
        q = levels[:, :, list(run.domains).index(th.roles["quality"])]
        e = levels[:, :, list(run.domains).index(th.roles["efficiency"])]
        flags = in_sm.astype(np.int8)
        for t, i in zip(*np.nonzero(np.diff(flags, axis=0) == 1), strict=True):
            month = t + 1
            window = slice(max(month - months, 0), month)
            rows.append((s, int(i), month, bool((q[window, i] < q_line).all()), bool((e[window, i] < e_line).all())))
    return pd.DataFrame(rows, columns=["seed", "provider", "month", "quality", "finance"])


def stat_sm_entry_finance(ev: Evidence) -> float:
    """Share of entries into special measures (baseline) due to finance, alone or with quality."""
    entries = entry_causes(ev, "baseline")
    return float(entries["finance"].mean()) if len(entries) else float("nan")


def event_study(ev: Evidence, role: str, *, pre: int = 24, post: int = 48, controls: int = 3) -> np.ndarray:
    """Difference-in-differences of merging trusts against matched non-merging trusts (Gaynor-style).

    For each merger completed at month ``c`` with ``pre`` months before and ``post`` after inside
    the run (mergers study): each member's change from its mean over the ``pre`` months before
    completion to its mean over the fourth year after (months ``c + post - 11 … c + post``), minus
    the same change of its ``controls`` nearest non-merging trusts (same run), matched on quality,
    efficiency and access over the pre-period and on special-measures status at its start.
    Returns one value per merging trust.
    """
    th = ev.theory
    out: list[float] = []
    for s in ev.seeds:
        run = ev.run("mergers", s)
        levels, in_sm = history(run)
        col = list(run.domains).index(th.roles[role])
        match_cols = [list(run.domains).index(th.roles[r]) for r in ("quality", "efficiency", "access")]
        last = levels.shape[0] - 1
        log = run.log[run.log["type"] == "merger"]
        merged = set(int(i) for ms in log["members"] for i in str(ms).split())
        pool = np.array(sorted(set(range(levels.shape[1])) - merged))
        for _, r in log.iterrows():
            c = int(r["completion_month"])
            if c - pre < 0 or c + post > last:
                continue
            before = levels[c - pre : c]  # months × providers × domains
            after = levels[c + post - 11 : c + post + 1]
            change = after[:, :, col].mean(axis=0) - before[:, :, col].mean(axis=0)
            profile = before[:, :, match_cols].mean(axis=0)
            sm = in_sm[c - pre]
            for i in (int(x) for x in str(r["members"]).split()):
                cand = pool[sm[pool] == sm[i]] if (sm[pool] == sm[i]).sum() >= controls else pool
                dist = np.linalg.norm(profile[cand] - profile[i], axis=1)
                near = cand[np.argsort(dist, kind="stable")[:controls]]
                out.append(float(change[i] - change[near].mean()))
    return np.array(out)


def stat_event_deficit(ev: Evidence) -> float:
    """Event study: merging trusts' surplus change against matched trusts, year 4 vs the 2 years before (%)."""
    d = event_study(ev, "efficiency")
    return float(d.mean() * _pct(ev)) if len(d) else float("nan")


def stat_event_access(ev: Evidence) -> float:
    """Event study: merging trusts' access change against matched trusts (index)."""
    d = event_study(ev, "access")
    return float(d.mean()) if len(d) else float("nan")


def stat_event_quality(ev: Evidence) -> float:
    """Event study: merging trusts' quality change against matched trusts, in s.d. of quality across trusts."""
    d = event_study(ev, "quality")
    return float(d.mean() / _sd(ev, "quality")) if len(d) else float("nan")


def stat_sector_deficit(ev: Evidence) -> float:
    """Sector surplus (+) or deficit (−) in 2023/24 (months 9-20 from July 2022), % of income (baseline).

    Weighted by turnover, as the sector's figure is a share of its total income.
    """
    th = ev.theory
    values = []
    for s in ev.seeds:
        run = ev.run("baseline", s)
        eff = history(run)[0][9:21, :, list(run.domains).index(th.roles["efficiency"])]
        surplus = (eff - th.v("band.deficit_efficiency")) * _pct(ev)
        weights = turnover(run)
        values.append(float((surplus * weights).sum(axis=1).mean() / weights.sum()))
    return float(np.mean(values))


def stat_groups_2024(ev: Evidence) -> float:
    """Share of trusts sharing leadership in a group in July 2024 (month 24, baseline)."""
    metric = f"share_in_{ev.theory.start_group_type}"
    return float(np.mean([ev.run("baseline", s).series[metric].iloc[24] for s in ev.seeds]))
