"""How well does the theory match the evidence? Named checks against docs/evidence.md.

Each :class:`Check` states one stylized fact (docs/evidence.md#stylized-facts) or quantitative
figure (the sources of docs/evidence.md) that the model can speak to: the evidence and its source, the model
quantity that corresponds to it and why, the runs it needs, and the band the model's value
must fall in to pass. :func:`validate` runs the studies the checks need over replicates with
common random numbers (a policy run and the baseline run of a replicate share a seed) and
returns a table with the model's value and the evidence side by side.

How the bands are set (:attr:`Check.band_rule` says which applies):

* *count*: a share reported as k of n trusts → the Wilson 95% interval of k/n (the evidence's
  own sampling uncertainty);
* *range*: a mean or range reported from a few cases → the reported range widened by 20%;
* *direction*: the evidence gives a direction only (rises, falls, matters) → the sign;
* *stated*: a band stated in the source (e.g. "1-3% of turnover") → that band.

Facts and figures the model cannot speak to are listed in :data:`NOT_TESTED` with the reason,
so the report can say what was *not* checked.

Every check carries a *falsifier*: theory values that should make it fail. The tests run each
check under its falsifier and require a fail, so no check passes by construction.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis.paired import (
    Pairing,
    SimOut,
    make_spec,
    mean_ci,
    members_of,
    paired_member_change,
    paired_member_path,
    run_studies,
)
from analysis.plan import replicate_seeds
from analysis.studies.pathways import RouteHook, channel_entries, enumerate_routes, passes_tier
from analysis.studies.realist import wilson
from sim.theory import Theory, load_theory

DEFAULT_REPS = 4
DEFAULT_SEED = 20220701
HORIZON = 120
FACT3_TYPES = ("individual_partnering", "network", "contractual_jv", "group", "corporate_jv", "merger")
SHOCK_MONTH = 60
START_DRAWS = 10
MIX_TYPES = ("individual_partnering", "network", "contractual_jv", "corporate_jv", "group", "merger")


# -- studies: the runs the checks need ------------------------------------------------------
@dataclass(frozen=True)
class Study:
    """A named run configuration (levers in flat form), paired by seed with every other study."""

    name: str
    levers: tuple[tuple[str, Any], ...] = ()
    types: tuple[str, ...] = ()  # partnership types it needs in the theory
    hook: str = ""  # "" | "no_scale" (scale channel blocked) | "track" (routes tracked)
    description: str = ""

    def spec(self, theory: Theory, horizon: int | None = None) -> Any:
        """The RunSpec of this study under ``theory``."""
        return make_spec(theory, name=self.name, horizon=HORIZON if horizon is None else horizon, **dict(self.levers))

    def make_hook(self, theory: Theory) -> Any:
        """The hook the study runs with, if any."""
        if self.hook == "no_scale":
            return RouteHook(
                (), block_entries=tuple(("scale", d) for d in channel_entries(theory)["scale"]), track=False
            )
        if self.hook == "track":
            return RouteHook(tuple(enumerate_routes(theory, theory.roles["quality"])))
        return None


def _fr(kind: str) -> tuple[tuple[str, Any], ...]:
    return (("failure_regime_enabled", True), ("failure_regime_intervention", kind))


def _vol(*types: str) -> tuple[tuple[str, Any], ...]:
    return (("voluntary_enabled", True), ("voluntary_type_mix", {t: 1.0 for t in types}))


STUDIES: dict[str, Study] = {
    s.name: s
    for s in [
        Study("baseline", description="no policy"),
        Study("buddying", _fr("buddying"), ("buddying",), description="special measures + buddying (2013-21 regime)"),
        Study("mergers", _fr("merger"), ("merger",), description="failing trusts merged with a capable trust"),
        Study(
            "mergers_no_scale",
            _fr("merger"),
            ("merger",),
            hook="no_scale",
            description="as mergers, with the scale (shared back office) channel blocked",
        ),
        Study("vertical", _vol("vertical_ico"), ("vertical_ico",), description="voluntary vertical integration"),
        Study(
            "networks",
            _vol("network", "individual_partnering"),
            ("network", "individual_partnering"),
            description="voluntary networks and clinical partnering",
        ),
        Study(
            "networks_shock",
            (
                *_vol("network", "individual_partnering"),
                ("workforce_shock_size", 0.05),
                ("workforce_shock_start_month", SHOCK_MONTH),
            ),
            ("network", "individual_partnering"),
            description=f"as networks, with a workforce shock of 0.05 from month {SHOCK_MONTH}",
        ),
        Study("mix", _vol(*MIX_TYPES), MIX_TYPES, hook="track", description="voluntary partnering, six types"),
        *[Study(f"only_{t}", _vol(t), (t,), description=f"voluntary partnering, {t} only") for t in FACT3_TYPES],
    ]
}


# -- what a check sees ------------------------------------------------------------------------
def history(run: SimOut) -> tuple[np.ndarray, np.ndarray]:
    """A run's level history (months × providers × domains) and special-measures flags (months × providers)."""
    if run.levels is None or run.in_sm is None:
        raise ValueError("the evidence needs runs kept with their history")
    return run.levels, run.in_sm


def turnover(run: SimOut) -> np.ndarray:
    """Providers' turnover (£m) of a run."""
    if run.turnover is None:
        raise ValueError("the run did not keep the providers' turnover")
    return run.turnover


class Evidence:
    """The runs of every study for a set of seeds, with helpers the checks share."""

    def __init__(self, theory: Theory, runs: Pairing, seeds: Sequence[int]) -> None:
        self.theory = theory
        self.runs = runs
        self.seeds = [int(s) for s in seeds]

    def only(self, seed: int) -> Evidence:
        """The same evidence restricted to one replicate."""
        return Evidence(self.theory, self.runs, [seed])

    def run(self, study: str, seed: int) -> SimOut:
        """One run."""
        return self.runs.get(study, seed)

    def series0(self, metric: str) -> float:
        """Mean of a metric at month 0 over ``START_DRAWS`` population draws per replicate.

        Starting shares vary a lot between population draws (0.05-0.19 in special measures),
        so each replicate adds draws of the population alone (cheap: no month is run).
        """
        from sim import PartnershipModel

        values = [self.run("baseline", s).series[metric].iloc[0] for s in self.seeds]
        for s in self.seeds:
            for d in replicate_seeds(s, START_DRAWS - 1):
                values.append(PartnershipModel(self.theory, horizon=0, rng=d).summary[metric])
        return float(np.mean(values))

    def sm_spells(self, study: str) -> pd.DataFrame:
        """Special-measures spells (entered ≥ 1) of every replicate, open ones with ``left`` NaN."""
        frames = []
        for s in self.seeds:
            frame = spells_from_history(self.run(study, s).in_sm)
            frame["seed"] = s
            frames.append(frame)
        return pd.concat(frames, ignore_index=True)

    def member_paths(
        self,
        study: str,
        domain: str,
        *,
        types: Sequence[str],
        origin: str = "completion",
        months: int = 48,
        baseline: str = "baseline",
        mandated: bool | None = None,
    ) -> np.ndarray:
        """Members' paired change in a role's domain since formation, from ``origin`` on, per partnership.

        Rows: partnerships of ``types`` (all replicates) with ``months`` of follow-up after their
        ``origin`` (``start``, ``completion`` or ``operating`` month); columns: months 0…months
        after the origin. The change is measured from the formation month, so a dip during
        approval or transition shows.
        """
        rows = []
        dom = self.theory.roles.get(domain, domain)
        for s in self.seeds:
            pol, base = self.run(study, s), self.run(baseline, s)
            log = pol.log
            keep = log["type"].isin(list(types)).to_numpy()
            if mandated is not None:
                keep &= log["mandated"].to_numpy() == mandated
            offset = (log[f"{origin}_month"] - log["start_month"]).to_numpy() if origin != "start" else 0 * keep
            ok = keep & (log["start_month"].to_numpy() + offset + months <= HORIZON)
            if not ok.any():
                continue
            sub = dataclasses.replace(pol, log=log[ok].reset_index(drop=True))
            full = paired_member_path(sub, base, dom, sub.log["start_month"], int(offset[ok].max()) + months)
            for row, off in zip(full, offset[ok], strict=True):
                rows.append(row[int(off) : int(off) + months + 1])
        return np.array(rows) if rows else np.zeros((0, months + 1))

    def scale_paths(self, *, months: int = 48) -> np.ndarray:
        """Efficiency the scale channel adds to merger members, month by month after completion.

        Per merger: members' efficiency in the mergers run minus in the run with the scale
        channel blocked (same seed; mergers matched by members and start month).
        """
        eff = self.theory.roles["efficiency"]
        rows = []
        for s in self.seeds:
            a, b = self.run("mergers", s), self.run("mergers_no_scale", s)
            col = list(a.domains).index(eff)
            keys_b = set(zip(b.log["members"], b.log["start_month"], strict=True))
            for _, r in a.log[a.log["type"] == "merger"].iterrows():
                c = int(r["completion_month"])
                if (r["members"], r["start_month"]) not in keys_b or c + months > HORIZON:
                    continue
                m = [int(x) for x in r["members"].split()]
                la, lb = history(a)[0], history(b)[0]
                rows.append((la[c : c + months + 1, m, col] - lb[c : c + months + 1, m, col]).mean(axis=1))
        return np.array(rows) if rows else np.zeros((0, months + 1))

    def log(self, study: str) -> pd.DataFrame:
        """Partnership logs of every replicate."""
        return pd.concat([self.run(study, s).log.assign(seed=s) for s in self.seeds], ignore_index=True)


def spells_from_history(in_sm: np.ndarray | None) -> pd.DataFrame:
    """Special-measures spells that start after month 0: provider, entered, left (NaN if open)."""
    if in_sm is None:
        raise ValueError("needs a run with history")
    rows = []
    flags = in_sm.astype(np.int8)
    change = np.diff(flags, axis=0)  # +1 entry at month t+1, -1 exit
    for i in range(flags.shape[1]):
        entries = np.flatnonzero(change[:, i] == 1) + 1
        exits = np.flatnonzero(change[:, i] == -1) + 1
        for e in entries:
            later = exits[exits > e]
            rows.append((i, int(e), float(later[0]) if len(later) else np.nan))
    return pd.DataFrame(rows, columns=["provider", "entered", "left"])


# -- checks -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Check:
    """One named comparison of the model with the evidence.

    Attributes:
        name: identifier (``sm_exit_mean_months`` …).
        title: the claim in plain words.
        fact: where it sits in docs/evidence.md (``evidence.md#KEY``).
        source: the evidence's citation.
        evidence: the evidence's value, as stated.
        target: the evidence's value as a number (None for a direction).
        low, high: the band the model's value must fall in to pass (None = open).
        band_rule: count | range | direction | stated (see the module docstring).
        unit: of the model's value.
        mapping: which model quantity corresponds to the evidence, and why.
        studies: the runs it needs (:data:`STUDIES`).
        statistic: computes the model's value from the evidence.
        quantitative: usable as a calibration target (the evidence gives a number).
        falsifier: theory values under which the check should fail (tests use them; values
            outside declared ranges are marked by ``falsifier_widens``).
        falsifier_widens: the falsifier needs values outside the declared ranges.
        basis: ``emergent`` (the value comes out of the model's dynamics) or ``by construction``
            (an input was set from the same evidence, or the value is a function of parameters
            alone): such checks are reported apart and never counted as passes.
    """

    name: str
    title: str
    fact: str
    source: str
    evidence: str
    target: float | None
    low: float | None
    high: float | None
    band_rule: str
    unit: str
    mapping: str
    studies: tuple[str, ...]
    statistic: Callable[[Evidence], float]
    quantitative: bool = False
    falsifier: dict[str, float] = field(default_factory=dict)
    falsifier_widens: bool = False
    basis: str = "emergent"

    def passes(self, value: float) -> bool | None:
        """True/False, or None when the model gives no value."""
        if value is None or not np.isfinite(value):
            return None
        return (self.low is None or value >= self.low) and (self.high is None or value <= self.high)

    def band(self) -> str:
        """The pass band in words."""
        if self.low is not None and self.high is not None:
            return f"{_fmt(self.low)} to {_fmt(self.high)}"
        if self.low is not None:
            return f"≥ {_fmt(self.low)}" if self.low != 0 else "> 0"
        if self.high is not None:
            return f"≤ {_fmt(self.high)}" if self.high != 0 else "< 0"
        return "any"

    def distance(self, value: float) -> float:
        """How far ``value`` lies outside the band, in units of the band's width (0 inside).

        For one-sided or direction bands the unit is the evidence value's magnitude (or 1).
        """
        if value is None or not np.isfinite(value):
            return float("inf")
        if self.passes(value):
            return 0.0
        width = (
            (self.high - self.low)
            if self.low is not None and self.high is not None
            else (abs(self.target) if self.target else 1.0)
        )
        width = width or 1.0
        edge = self.low if self.low is not None and value < self.low else self.high
        assert edge is not None  # a failing value lies beyond a bound that exists
        return float(abs(value - edge) / width)


def _fmt(v: float) -> str:
    return f"{v:.3g}"


def _pct(ev: Evidence) -> float:
    return ev.theory.v("band.surplus_pct_per_unit")


def _sd(ev: Evidence, role: str) -> float:
    return ev.theory.v(f"domain.{ev.theory.roles[role]}.init_sd")


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


CHECKS: tuple[Check, ...] = (
    Check(
        "start_share_good",
        "About a third to a half of trusts start rated good or outstanding",
        "evidence.md#hsj2016ratings; evidence.md#cqc2023",
        "HSJ 2016 trust-level ratings; CQC board paper Mar 2023",
        "33% (trusts, 2016); 57% (acute locations, 2023)",
        0.45,
        0.30,
        0.60,
        "range",
        "share of trusts",
        "share of trusts with quality at or above the 'good' band at month 0",
        ("baseline",),
        partial(stat_start_share, metric="share_good_or_outstanding"),
        quantitative=True,
        falsifier={"domain.quality.init_mean": 0.40},
        falsifier_widens=True,
        basis="by construction",
    ),
    Check(
        "start_share_deficit",
        "Roughly 40-66% of trusts start in deficit",
        "evidence.md#kingsfunddeficit; evidence.md#initialisation",
        "King's Fund 'Trusts in deficit'",
        "44% (2016/17-2017/18); 66% (2015/16)",
        0.5,
        0.40,
        0.66,
        "range",
        "share of trusts",
        "share of trusts with efficiency below break-even at month 0",
        ("baseline",),
        partial(stat_start_share, metric="share_in_deficit"),
        quantitative=True,
        falsifier={"domain.efficiency.init_mean": 0.60},
        falsifier_widens=True,
        basis="by construction",
    ),
    Check(
        "start_share_special_measures",
        "About 1 trust in 10 starts in special measures / segment 4",
        "evidence.md#nhsproviders2018; evidence.md#nhsersp",
        "NHS Providers 2018; NHSE board paper Dec 2024",
        "20 of ~230 trusts (2018); 20 providers in RSP (2024): ~9-10%",
        0.09,
        0.05,
        0.15,
        "range",
        "share of trusts",
        "share of trusts with quality below the special-measures line at month 0",
        ("baseline",),
        partial(stat_start_share, metric="share_special_measures"),
        quantitative=True,
        falsifier={"domain.quality.init_mean": 0.50},
        basis="by construction",
    ),
    Check(
        "sm_exit_mean_months",
        "Turnaround takes about two years, not the 12-month target",
        "evidence.md#fact8; evidence.md#hsjturnaround; evidence.md#nhsproviders2017",
        "HSJ (20 exiters averaged 20.5 months); NHS Providers 2017 (17 exiters averaged 24 months)",
        "20.5-24 months",
        22.0,
        16.4,
        28.8,
        "range",
        "months",
        "mean months in special measures of trusts that left, with the regime's standard support and no "
        "partner (baseline), among trusts entering after month 0 and followed at least 42 months (the longest "
        "stay seen)",
        ("baseline",),
        stat_sm_exit_mean,
        quantitative=True,
        falsifier={"regulation.sm_exit_months": 1, "regulation.sm_exit_margin": 0.0},
        falsifier_widens=True,
    ),
    Check(
        "sm_exit_within_12m",
        "Only about 1 in 5 trusts leaves special measures within 12 months",
        "evidence.md#hsjturnaround",
        "HSJ: 5 of 27 trusts left within the 12-month target",
        "5/27 = 0.19",
        5 / 27,
        *wilson(5, 27),
        "count",
        "share of entrants",
        "share of trusts entering special measures (followed ≥ 12 months) that left within 12 months, "
        "special measures with the regime's standard support (baseline)",
        ("baseline",),
        stat_sm_exit_12,
        quantitative=True,
        falsifier={"regulation.sm_exit_months": 1, "regulation.sm_exit_margin": 0.0},
        falsifier_widens=True,
    ),
    Check(
        "sm_two_years_plus",
        "Over a third of trusts spend two years or more in special measures",
        "evidence.md#hsjturnaround",
        "HSJ: 10 of 27 spent ≥ 2 years (max ~3.5 years)",
        "10/27 = 0.37",
        10 / 27,
        *wilson(10, 27),
        "count",
        "share of entrants",
        "share of entrants (followed ≥ 24 months) still in special measures 24 months after entry",
        ("baseline",),
        stat_sm_two_years,
        quantitative=True,
        falsifier={"regulation.sm_exit_months": 1, "regulation.sm_exit_margin": 0.0},
        falsifier_widens=True,
    ),
    Check(
        "sm_relapse",
        "A few trusts that leave special measures re-enter",
        "evidence.md#fact8; evidence.md#nhsproviders2017",
        "NHS Providers 2017: 2 of 17 exiters re-entered",
        "2/17 = 0.12",
        2 / 17,
        *wilson(2, 17),
        "count",
        "share of exits",
        "share of exits from special measures (followed ≥ 24 months) followed by re-entry within 24 months",
        ("baseline",),
        stat_sm_relapse,
        quantitative=True,
        falsifier={"regulation.sm_exit_margin": 0.0, "regulation.sm_exit_months": 1, "domain.quality.noise": 0.03},
        falsifier_widens=True,
    ),
    Check(
        "merger_deficits_rise",
        "Deficits rise after mergers",
        "evidence.md#fact1; evidence.md#gaynor2012",
        "Gaynor, Laudicella & Propper 2012 (direction only)",
        "deficits rise within ~4 years",
        None,
        None,
        0.0,
        "direction",
        "% of turnover",
        "merger members' surplus (% of turnover) relative to the same trusts without the policy (paired by "
        "seed), averaged over the 4 years after the merger completes, measured from formation",
        ("mergers", "baseline"),
        stat_merger_deficit,
        falsifier={"partnering.disruption.efficiency": 0.0, "partnering.scale.efficiency": 0.3},
        falsifier_widens=True,
    ),
    Check(
        "merger_waits_rise",
        "Waits rise (access falls) by year 4 after a merger",
        "evidence.md#fact1; evidence.md#gaynor2012",
        "Gaynor et al. 2012 (direction only)",
        "mean waits and share waiting > 180 days rise by year 4",
        None,
        None,
        0.0,
        "direction",
        "index 0-1",
        "merger members' access relative to the same trusts without the policy, in year 4 after completion",
        ("mergers", "baseline"),
        stat_merger_access,
        falsifier={
            "partnering.synergy": 0.3,
            "edge.care_model->access.weight": 0.4,
            "partnering.disruption.access": 0.0,
        },
        falsifier_widens=True,
    ),
    Check(
        "merger_no_financial_gain",
        "Most mergers bring no financial gain",
        "evidence.md#kingsfund2014blog; evidence.md#gaynor2012",
        "King's Fund 2014 citing Gaynor: 102 of 112 mergers (1997-2006)",
        "102/112 = 0.91",
        102 / 112,
        *wilson(102, 112),
        "count",
        "share of mergers",
        "share of mergers whose members' efficiency in year 4 after completion is not above the same trusts' "
        "without the policy",
        ("mergers", "baseline"),
        stat_merger_no_gain,
        quantitative=True,
        falsifier={"partnering.disruption.efficiency": 0.0, "partnering.scale.efficiency": 0.3},
        falsifier_widens=True,
    ),
    Check(
        "merger_developments_delayed",
        "Planned service developments slip by 18 months or more",
        "evidence.md#fact2; evidence.md#fulop2002",
        "Fulop et al. 2002 (9 London trusts)",
        "delayed ≥ 18 months",
        18.0,
        18.0,
        None,
        "stated",
        "months",
        "months after completion until merger members' care-model design (paired against the baseline) is "
        "back to its level at formation",
        ("mergers", "baseline"),
        stat_merger_delay,
        quantitative=True,
        falsifier={"partnering.disruption.care_model": 0.0, "type.merger.transition_months": 6},
        falsifier_widens=True,
    ),
    Check(
        "back_office_savings",
        "Back-office savings of 1-3% of turnover come early",
        "evidence.md#fact2; evidence.md#monitor2014; evidence.md#collins2015",
        "Monitor 2014 'Benefits from mergers' (6 cases; positive framing acknowledged)",
        "1-3% of turnover",
        2.0,
        1.0,
        3.0,
        "stated",
        "% of turnover",
        "efficiency the scale (shared back office) channel adds to merger members in year 2 after completion "
        "(the mergers run minus the same run with that channel blocked, × bands.surplus_pct_per_unit), averaged "
        "over the 30% of mergers that saved most: Monitor's six cases, among the 20 mergers of 2010-15 (Collins "
        "2015), were chosen to show benefits, so they correspond to the mergers that realised their savings, "
        "not to the average merger",
        ("mergers", "mergers_no_scale"),
        stat_back_office,
        quantitative=True,
        falsifier={"partnering.scale.efficiency": 0.02},
        falsifier_widens=True,
    ),
    Check(
        "savings_share_year1",
        "Savings reach about a third of target in year 1",
        "evidence.md#fact2; evidence.md#fulop2002; evidence.md#hutchings2003",
        "Fulop et al. 2002; Hutchings 2003: £178.7k of a £500k target",
        "36% of target",
        0.36,
        0.21,
        0.51,
        "stated",
        "share of eventual saving",
        "the back-office saving in year 1 after completion as a share of its level in year 4. The model has no "
        "business-case target: the check reads Fulop's figures as the time profile of the saving (band: ±0.15)",
        ("mergers", "mergers_no_scale"),
        stat_savings_year1,
        quantitative=True,
        falsifier={"partnering.savings_lag": 0.5},
        falsifier_widens=True,
    ),
    Check(
        "savings_share_year2",
        "Savings reach about two thirds of target in year 2",
        "evidence.md#fact2; evidence.md#fulop2002; evidence.md#hutchings2003",
        "Fulop et al. 2002; Hutchings 2003: £346.8k of a £500k target",
        "69% of target",
        0.69,
        0.54,
        0.84,
        "stated",
        "share of eventual saving",
        "the back-office saving in year 2 as a share of its level in year 4 (see savings_share_year1)",
        ("mergers", "mergers_no_scale"),
        stat_savings_year2,
        quantitative=True,
        falsifier={"partnering.savings_lag": 0.5},
        falsifier_widens=True,
    ),
    Check(
        "staff_effect_small",
        "Merger effects on staff are small",
        "evidence.md#fact15; evidence.md#lim2014; evidence.md#norway2014",
        "Lim 2014 (job satisfaction +0.03 to +0.06 points); BMC HSR 2014 Norway (modest rise in sickness absence)",
        "tiny to modest",
        None,
        0.0,
        0.5,
        "stated",
        "s.d. of workforce across trusts",
        "largest mean change in merger members' workforce (paired, formation to year 4 after completion), in "
        "standard deviations of workforce across trusts; 'small' read as under half a standard deviation",
        ("mergers", "baseline"),
        stat_staff_small,
        falsifier={"partnering.disruption.workforce": 0.5},
        falsifier_widens=True,
    ),
    Check(
        "benefit_risk_rises_with_change",
        "The risk that benefits are not delivered rises with organisational change",
        "evidence.md#fact3; evidence.md#kingsfund2014models",
        "King's Fund/FTN 2014",
        "risk rises with change",
        None,
        0.6,
        None,
        "direction",
        "Spearman rho",
        "rank correlation, across six types formed voluntarily, between the type's organisational change and "
        "the share of its partnerships whose members' paired quality 60 months on is not above baseline "
        "(≥ 0.6: a clear monotone rise)",
        ("baseline", *(f"only_{t}" for t in FACT3_TYPES)),
        stat_risk_change,
        falsifier={
            "partnering.disruption.governance": 0.0,
            "partnering.disruption.leadership": 0.0,
            "partnering.disruption.care_model": 0.0,
            "partnering.disruption.it_systems": 0.0,
            "partnering.disruption.workforce": 0.0,
            "partnering.disruption.access": 0.0,
            "partnering.disruption.efficiency": 0.0,
            "mechanism.conflict_w_change": 0.0,
            "partnering.synergy": 0.06,
        },
        falsifier_widens=True,
    ),
    Check(
        "mandated_run_on_confidence",
        "Mandated, integrative forms run on confidence (contract)",
        "evidence.md#fact5; evidence.md#aunger2021sr; evidence.md#aunger2021bmc",
        "Aunger et al. 2021 (Systematic Reviews); BMC HSR 2021",
        "confidence carries them",
        None,
        0.0,
        None,
        "direction",
        "index 0-1",
        "mandated mergers: mean confidence minus the mean of trust and faith over their life",
        ("mergers",),
        stat_mandated_confidence,
        falsifier={"type.merger.contract_strength": 0.1, "mechanism.confidence_w_mandate": 0.0},
        falsifier_widens=True,
    ),
    Check(
        "voluntary_run_on_trust",
        "Voluntary, low-integration forms run on trust and faith",
        "evidence.md#fact5; evidence.md#aunger2021sr; evidence.md#aunger2021bmc",
        "Aunger et al. 2021 (Systematic Reviews); BMC HSR 2021",
        "trust and faith carry them",
        None,
        0.0,
        None,
        "direction",
        "index 0-1",
        "voluntary networks and clinical partnering: mean of trust and faith minus confidence",
        ("networks",),
        stat_voluntary_trust,
        falsifier={"type.network.contract_strength": 0.9, "type.individual_partnering.contract_strength": 0.9},
        falsifier_widens=True,
    ),
    Check(
        "trust_builds_slowly",
        "Trust builds slowly and collapses fast",
        "evidence.md#fact6; evidence.md#aunger2021sr",
        "Aunger et al. 2021 (Systematic Reviews)",
        "slow to build, fast to collapse",
        None,
        1.0,
        None,
        "direction",
        "ratio of months",
        "months for trust to rise from 0.5 to 0.7 under the best conditions over months to fall from 0.5 to "
        "0.3 under the worst (a pure function of the mechanism parameters)",
        (),
        stat_trust_asymmetry,
        falsifier={"mechanism.trust_build": 0.3, "mechanism.trust_erosion": 0.08},
        falsifier_widens=True,
        basis="by construction",
    ),
    Check(
        "instability_erodes_faith",
        "Workforce instability lowers faith",
        "evidence.md#fact7; evidence.md#aunger2021sr",
        "Aunger et al. 2021 (Systematic Reviews)",
        "instability → less faith",
        None,
        None,
        0.0,
        "direction",
        "index 0-1",
        "faith at the end of voluntary partnerships (networks, clinical partnering) hit by a workforce shock "
        f"(0.05 from month {SHOCK_MONTH}) minus the same partnerships' faith without the shock (same seed)",
        ("networks", "networks_shock"),
        stat_instability_faith,
        falsifier={"mechanism.faith_w_instability": -5.0, "mechanism.progress_scale": 1.0},
        falsifier_widens=True,
    ),
    Check(
        "integration_effects_late",
        "Integration effects appear late, in year 3 if at all",
        "evidence.md#fact9; evidence.md#morciano2021; evidence.md#vanguardeval",
        "Morciano et al. 2021; NIHR Alert (vanguards)",
        "year 3 if at all",
        3.0,
        3.0,
        None,
        "stated",
        "year",
        "first year after a vertical integration forms in which its members' access (paired against the "
        "baseline) is up by more than 0.1 s.d. across trusts (7 = not within 6 years)",
        ("vertical", "baseline"),
        stat_integration_late,
        quantitative=True,
        falsifier={
            "type.vertical_ico.approval_months": 0,
            "type.vertical_ico.transition_months": 1,
            "partnering.disruption.access": 0.0,
            "partnering.disruption.workforce": 0.0,
            "partnering.disruption.care_model": 0.0,
            "partnering.synergy": 0.3,
            "domain.access.rate": 0.3,
        },
        falsifier_widens=True,
    ),
    Check(
        "culture_fit_matters",
        "Culture fit matters: a wide culture gap harms merger outcomes",
        "evidence.md#fact10",
        "Fulop et al. 2002 (9 London trust mergers: culture a key barrier); King's Fund "
        "2014; NIHR 2023 (similar cultures)",
        "culture a key barrier",
        None,
        None,
        -0.005,
        "direction",
        "index 0-1",
        "members' paired quality change 72 months after a merger is decided (about 4 years after completion), "
        "top third of culture gap against the bottom third, adjusted (least squares) for the members' gap in each "
        "structural domain at formation (partners who differ more there have more to learn). Mergers are used "
        "because the "
        "evidence is about mergers and because they cannot dissolve: a mismatched voluntary partnership ends "
        "early and stops paying its costs, which blurs the comparison. 'A key barrier' is read as a material harm: at "
        "least 0.005 (0.05 s.d. of quality across trusts)",
        ("mergers", "baseline"),
        partial(stat_culture_fit, follow=72, study="mergers"),
        falsifier={
            "mechanism.conflict_w_gap": 0.0,
            "partnering.disruption.culture": 0.0,
            "mechanism.progress_w_conflict": 0.0,
            "partnering.disruption_w_conflict": 0.0,
            "partnering.disruption_persistence": 0.0,
        },
        falsifier_widens=True,
    ),
    Check(
        "structure_alone_insufficient",
        "Structure alone does not change outcomes: relationships carry most of the effect",
        "evidence.md#fact10; evidence.md#wyatt2021; evidence.md#fulop2002",
        "Wyatt et al. 2021; Fulop 2002; NIHR 2023",
        "structural integration alone: no difference",
        None,
        0.5,
        None,
        "direction",
        "share",
        "share of partnering's first-order effect on quality (convergence and synergy routes, pathway "
        "attribution) that passes through a relational domain rather than straight from structure to outcome",
        ("mix",),
        stat_structure_alone,
        falsifier={
            "edge.governance->quality.weight": 0.35,
            "edge.culture->quality.weight": 0.1,
            "edge.workforce->quality.weight": 0.1,
            "edge.user_engagement->quality.weight": 0.0,
        },
    ),
    Check(
        "sm_start_cohort_leaves",
        "Trusts in special measures leave within a few years, even without a partner",
        "evidence.md#hsjturnaround; fact 8",
        "HSJ: 20 of 27 trusts had left special measures; the longest stay was about 3.5 years",
        "20/27 = 0.74",
        20 / 27,
        *wilson(20, 27),
        "count",
        "share of trusts",
        "share of the trusts in special measures at the start that have left by month 42 (3.5 years), with the "
        "regime's standard support and no partner (baseline)",
        ("baseline",),
        stat_sm_start_cohort_exit,
        quantitative=True,
        falsifier={
            "regulation.support.governance": 0.0,
            "regulation.support.leadership": 0.0,
            "regulation.support.quality": 0.0,
            "regulation.support.efficiency": 0.0,
        },
        falsifier_widens=True,
    ),
    Check(
        "sm_entry_on_finance",
        "About a third of entries to special measures are on finance",
        "evidence.md#nhsproviders2018",
        "NHS Providers 2018: >40 entries 2013-18, 63% on quality, 15% on finance, 22% on both",
        "15% + 22% = 37% (about 15 of 41)",
        0.37,
        *wilson(15, 41),
        "count",
        "share of entries",
        "share of entries to special measures after month 0 (baseline) that were due to finance, alone or with quality",
        ("baseline",),
        stat_sm_entry_finance,
        quantitative=True,
        falsifier={"regulation.sm_entry_efficiency": 0.2},
        falsifier_widens=True,
    ),
    Check(
        "event_study_deficits",
        "Event study: merging trusts' finances worsen against matched trusts",
        "evidence.md#gaynor2012; fact 1",
        "Gaynor, Laudicella & Propper 2012 (2 years before to 4 after)",
        "deficits rise",
        None,
        None,
        0.0,
        "direction",
        "% of turnover",
        "difference-in-differences inside the model (mergers study): merging trusts' surplus in year 4 after "
        "completion against their 2 years before, minus the same change of the 3 nearest non-merging trusts "
        "(matched on pre-merger quality, finances, access and special-measures status)",
        ("mergers",),
        stat_event_deficit,
        falsifier={
            "partnering.disruption.efficiency": 0.0,
            "partnering.scale.efficiency": 0.3,
            "partnering.realisation_mean": 0.7,
            "partnering.disruption_persistence": 0.0,
        },
        falsifier_widens=True,
    ),
    Check(
        "event_study_waits",
        "Event study: merging trusts' waits rise (access falls) against matched trusts",
        "evidence.md#gaynor2012; fact 1",
        "Gaynor et al. 2012",
        "mean waits and long waits rise by year 4",
        None,
        None,
        0.0,
        "direction",
        "index 0-1",
        "as event_study_deficits, for access",
        ("mergers",),
        stat_event_access,
        falsifier={
            "partnering.disruption.access": 0.0,
            "partnering.disruption.workforce": 0.0,
            "partnering.disruption.leadership": 0.0,
            "partnering.disruption.care_model": 0.0,
            "partnering.synergy": 0.3,
            "partnering.realisation_mean": 0.9,
            "partnering.realisation_sd": 0.05,
            "edge.care_model->access.weight": 0.4,
            "partnering.disruption_persistence": 0.0,
        },
        falsifier_widens=True,
    ),
    Check(
        "event_study_quality",
        "Event study: merging trusts' quality does not improve against matched trusts",
        "evidence.md#gaynor2012; fact 1",
        "Gaynor et al. 2012: AMI mortality steady; stroke deaths and readmissions worse",
        "no improvement",
        None,
        None,
        0.1,
        "direction",
        "s.d. of quality across trusts",
        "as event_study_deficits, for quality, in standard deviations of quality across trusts (≤ 0.1: no "
        "clear improvement)",
        ("mergers",),
        stat_event_quality,
        falsifier={
            "partnering.synergy": 0.3,
            "partnering.realisation_mean": 0.9,
            "partnering.realisation_sd": 0.05,
            "partnering.convergence_rate": 0.6,
            "partnering.disruption_persistence": 0.0,
            "partnering.disruption.culture": 0.0,
            "partnering.disruption.leadership": 0.0,
            "partnering.disruption.governance": 0.0,
        },
        falsifier_widens=True,
    ),
    Check(
        "sector_deficit_2023_24",
        "The sector runs a small deficit in 2023/24",
        "evidence.md#nuffield2025; fact 13",
        "Nuffield Trust 2025: -£1.2bn, 0.9% of income (2023/24); -£448m (2022/23)",
        "-0.9% of income",
        -0.9,
        -1.8,
        -0.3,
        "range",
        "% of turnover",
        "the sector's surplus (+) or deficit (−) as a share of its income (trusts weighted by turnover) over "
        "months 9-20 from July 2022 (April 2023 to March 2024), baseline; band: a third to twice the reported "
        "deficit",
        ("baseline",),
        stat_sector_deficit,
        quantitative=True,
        falsifier={"domain.efficiency.init_mean": 0.55},
    ),
    Check(
        "groups_by_2024",
        "About a quarter to a third of trusts share leadership by 2024",
        "evidence.md#nhsconfed2024; evidence.md#hfyork; fact 12",
        "NHS Confed 2024: about a third share board "
        "leadership; Health Foundation/York: about a quarter in a group or planning one",
        "1/4 to 1/3 of trusts",
        0.30,
        0.25,
        0.36,
        "stated",
        "share of trusts",
        "share of trusts in an active group in July 2024 (month 24, baseline). The July 2022 start seeds groups "
        "from the same figures (start_2022.group_share), so what this tests is that the groups survive: the "
        "mechanisms do not dissolve the shared-leadership arrangements that existed",
        ("baseline",),
        stat_groups_2024,
        falsifier={"mechanism.inertia_threshold": 0.6, "mechanism.inertia_months": 6},
        falsifier_widens=True,
    ),
)
CHECK_NAMES = tuple(c.name for c in CHECKS)

NOT_TESTED: tuple[tuple[str, str], ...] = (
    (
        "fact 4: consolidation is mostly mandated and reactive",
        "who is consolidated, and when, is a policy lever of the scenario (failure regime), not an output",
    ),
    (
        "fact 11: mandated buddying works only with acceptance, resources and partner capacity",
        "the partner's capacity cost (partnering.lead_cost) and the capacity limit are modelled and tested "
        "(tests/test_mechanisms.py), and acceptance enters as lower initial faith, but the evidence gives no figure "
        "to compare a model value with",
    ),
    (
        "fact 12: groups and shared leadership spread after 2020",
        "the July 2022 groups are seeded from the 2024 figures (groups_by_2024 checks that they survive); the "
        "model has no diffusion process that would let the spread itself be checked",
    ),
    (
        "fact 13: financial distress is cyclical (5% → 66% → 44% in deficit)",
        "the model has no macro-financial cycle; only the sector deficit of 2023/24 is checked",
    ),
    ("fact 14: COVID-19 boosted collaboration", "no pandemic or competition-rule regime in the model"),
    (
        "merger prevalence (~112 of ~223 acute trusts merged 1997-2006)",
        "merger counts follow from the levers chosen, not from the theory",
    ),
    (
        "transaction time 4-5 years; £2bn for 12 mergers; acquisition support £263m",
        "approval time is an input (typology approval_months, lever approval.months); money is not modelled",
    ),
    (
        "Keogh 11 one year on (2 good, 3 exit, 5 stayed, 1 failing)",
        "overlaps the 5-of-27 turnaround figure, which has the larger sample",
    ),
    (
        "HSMR fell 9.5% vs 3.3%; vanguard admissions +12% vs +3.5-8.8%; care-home admissions -18 to -27%",
        "the model has no mortality or admissions scale; access and quality are 0-1 indices (only timing is checked)",
    ),
    (
        "§4 job satisfaction +0.03 to +0.06 points; sickness absence (Norway)",
        "no satisfaction or absence scale; checked only as 'small' in workforce s.d. units",
    ),
    (
        "§4 IT integration (Epic ~18-month build, overruns)",
        "used to set the it_systems rate, so not an independent check",
    ),
    (
        "§4 outside the NHS: 60-90% of mergers miss planned benefits",
        "outside the NHS; the NHS figure (102/112) is used",
    ),
)


# -- running the checks -------------------------------------------------------------------------
@dataclass
class ValidationResult:
    """The table of checks for one theory.

    Attributes:
        table: one row per check: check, title, fact, source, evidence, model (value as text),
            value, ci_low, ci_high (95% t interval across replicates), band, result
            (pass | fail | no data | not applicable), unit, mapping, band_rule, distance.
        not_tested: facts and figures the model cannot speak to, with reasons.
        theory: the theory's name and path.
        seeds: the replicates' seeds.
    """

    table: pd.DataFrame
    not_tested: pd.DataFrame
    theory: str
    seeds: list[int]
    runs: int = 0

    @property
    def emergent(self) -> pd.DataFrame:
        """The rows of emergent checks (the evidence checks that count)."""
        return self.table[self.table["basis"] == "emergent"]

    @property
    def by_construction(self) -> pd.DataFrame:
        """The rows of checks that hold by construction (reported apart, never counted as passes)."""
        return self.table[self.table["basis"] != "emergent"]

    @property
    def n_checks(self) -> int:
        """Emergent checks run."""
        return len(self.emergent)

    @property
    def n_pass(self) -> int:
        """Emergent checks passed."""
        return int((self.emergent["result"] == "pass").sum())

    @property
    def n_fail(self) -> int:
        """Emergent checks failed."""
        return int((self.emergent["result"] == "fail").sum())

    @property
    def failing(self) -> list[str]:
        """Names of the emergent checks that fail."""
        return self.emergent.loc[self.emergent["result"] == "fail", "check"].tolist()

    def status(self) -> str:
        """One sentence: how many emergent evidence checks pass, and which fail."""
        text = f"{self.n_pass} of {self.n_checks} evidence checks pass"
        if self.failing:
            text += f"; failing: {', '.join(self.failing)}"
        return text + f" ({len(self.by_construction)} more hold by construction and are not counted)"


def seeds_for(reps: int, seed: int = DEFAULT_SEED) -> list[int]:
    """Replicate seeds (the runner's derivation, so replicate r matches across commands)."""
    return replicate_seeds(seed, reps)


def applicable(check: Check, theory: Theory) -> str:
    """Empty if ``check`` applies to ``theory``; otherwise why not."""
    missing = sorted({t for s in check.studies for t in STUDIES[s].types if t not in theory.type_names})
    if missing:
        return f"the theory has no partnership type {', '.join(missing)}"
    return ""


def run_evidence(
    theory: Theory,
    studies: Sequence[str],
    seeds: Sequence[int],
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    executor: Any = None,
    horizon: int | None = None,
) -> Evidence:
    """Run the named studies under ``theory`` for every seed (``horizon`` overrides 120 months)."""
    plan = {name: (STUDIES[name].spec(theory, horizon), STUDIES[name].make_hook(theory)) for name in studies}
    return Evidence(theory, run_studies(plan, seeds, workers=workers, scheduler=scheduler, executor=executor), seeds)


def evaluate(checks: Sequence[Check], ev: Evidence) -> pd.DataFrame:
    """The table rows of ``checks`` computed from evidence already run."""
    rows = []
    for c in checks:
        why = applicable(c, ev.theory)
        base = {
            "check": c.name,
            "basis": c.basis,
            "title": c.title,
            "fact": c.fact,
            "source": c.source,
            "evidence": c.evidence,
            "target": c.target,
            "band": c.band(),
            "band_rule": c.band_rule,
            "unit": c.unit,
            "mapping": c.mapping,
        }
        if why:
            rows.append(
                {
                    **base,
                    "value": np.nan,
                    "ci_low": np.nan,
                    "ci_high": np.nan,
                    "model": "",
                    "result": "not applicable",
                    "distance": np.nan,
                    "note": why,
                }
            )
            continue
        value = float(c.statistic(ev))
        per_rep = [float(c.statistic(ev.only(s))) for s in ev.seeds] if len(ev.seeds) > 1 and c.studies else []
        _, lo, hi = mean_ci(per_rep) if per_rep else (np.nan, np.nan, np.nan)
        ok = c.passes(value)
        rows.append(
            {
                **base,
                "value": value,
                "ci_low": lo,
                "ci_high": hi,
                "model": "no value" if ok is None else _fmt(value),
                "result": "no data" if ok is None else ("pass" if ok else "fail"),
                "distance": c.distance(value),
                "note": "",
            }
        )
    cols = [
        "check",
        "basis",
        "title",
        "evidence",
        "model",
        "band",
        "result",
        "value",
        "ci_low",
        "ci_high",
        "target",
        "unit",
        "fact",
        "source",
        "mapping",
        "band_rule",
        "distance",
        "note",
    ]
    return pd.DataFrame(rows)[cols]


def validate(
    theory: Theory | str | None = None,
    *,
    reps: int = DEFAULT_REPS,
    seed: int = DEFAULT_SEED,
    checks: Sequence[str] | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    executor: Any = None,
) -> ValidationResult:
    """Run the checks (all, or those named) against ``theory`` over ``reps`` replicates.

    Args:
        theory: a Theory, a theory file, or None for the default theory.
        reps: replicates (each study runs once per replicate; common random numbers).
        seed: master seed of the replicates.
        checks: names of the checks to run (default: all of :data:`CHECKS`).
        workers: processes (default: all cores; 1 = in this process).
        scheduler: a Dask scheduler address.
        executor: an executor from :mod:`analysis.runner` to use instead.
    """
    th = theory if isinstance(theory, Theory) else load_theory(theory)
    chosen = select_checks(checks)
    seeds = seeds_for(reps, seed)
    studies = sorted({s for c in chosen if not applicable(c, th) for s in c.studies})
    ev = run_evidence(th, studies, seeds, workers=workers, scheduler=scheduler, executor=executor)
    return ValidationResult(
        evaluate(chosen, ev),
        pd.DataFrame(NOT_TESTED, columns=["fact", "why not tested"]),
        f"{th.meta.get('name', '')} ({display_path(th.path)})",
        seeds,
        runs=len(studies) * len(seeds),
    )


def select_checks(names: Sequence[str] | None) -> list[Check]:
    """The checks called ``names`` (all when None); unknown names raise a ConfigError."""
    if names is None:
        return list(CHECKS)
    by = {c.name: c for c in CHECKS}
    out = []
    for n in names:
        if n not in by:
            from sim.errors import ConfigError

            raise ConfigError("unknown validation check", key="checks", value=n, choices=CHECK_NAMES)
        out.append(by[n])
    return out


# -- presentation ---------------------------------------------------------------------------------
def format_table(result: ValidationResult) -> str:
    """A plain-text table: check, evidence, model, band, result; checks that hold by construction apart."""
    lines = [f"Theory {result.theory}; {len(result.seeds)} replicates; {result.status()}", ""]
    head = f"{'check':<32}{'evidence':<34}{'model':>10}  {'band':<22}{'result'}"

    def rows(t: pd.DataFrame) -> list[str]:
        out = []
        for _, r in t.iterrows():
            ci = f" [{_fmt(r['ci_low'])}, {_fmt(r['ci_high'])}]" if np.isfinite(r["ci_low"]) else ""
            out.append(
                f"{r['check']:<32}{str(r['evidence'])[:33]:<34}{r['model']:>10}  {r['band']:<22}{r['result']}{ci}"
            )
        return out

    lines += ["Emergent checks (counted):", head, "-" * len(head), *rows(result.emergent)]
    if len(result.by_construction):
        lines += [
            "",
            "By construction (an input was set from the same evidence, or the value is a function of "
            "parameters alone; not counted):",
            head,
            "-" * len(head),
            *rows(result.by_construction),
        ]
    return "\n".join(lines)


def validation_html(result: ValidationResult, *, compare: ValidationResult | None = None) -> str:
    """An HTML fragment for the report's "How well does the theory match the evidence" section.

    With ``compare``, a second model column (e.g. the uncalibrated theory) is shown beside.
    """
    import html

    t = result.table
    e = html.escape
    cols = ["claim", "evidence (source)", "model", "pass band", "result"]
    if compare is not None:
        cols += [f"model: {compare.theory}", "result"]
    out = [
        '<div class="validation">',
        f"<p>{e(result.status())} for theory {e(result.theory)} over {len(result.seeds)} "
        "replicates with common random numbers. Checks marked <em>by construction</em> compare the evidence with "
        "an input that was set from it (or a function of parameters alone), so they are shown but not counted. "
        "Each check states which model quantity corresponds to the "
        "evidence; intervals are 95% across replicates.</p>",
        "<table><thead><tr>" + "".join(f"<th>{e(c)}</th>" for c in cols) + "</tr></thead><tbody>",
    ]
    other = compare.table.set_index("check") if compare is not None else None
    for _, r in t.iterrows():
        ci = f" <small>[{_fmt(r['ci_low'])}, {_fmt(r['ci_high'])}]</small>" if np.isfinite(r["ci_low"]) else ""
        basis = "" if r["basis"] == "emergent" else " <small>(by construction)</small>"
        cells = [
            f'<td title="{e(r["mapping"])}">{e(r["title"])}{basis}</td>',
            f"<td>{e(str(r['evidence']))} <small>({e(r['source'])})</small></td>",
            f"<td>{e(r['model'])}{ci} <small>{e(r['unit'])}</small></td>",
            f"<td>{e(r['band'])}</td>",
            f'<td class="{e(r["result"].replace(" ", "-"))}">{e(r["result"])}</td>',
        ]
        if other is not None:
            o = other.loc[r["check"]] if r["check"] in other.index else None
            cells += [
                f"<td>{e(o['model']) if o is not None else ''}</td>",
                f"<td>{e(o['result']) if o is not None else ''}</td>",
            ]
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</tbody></table>")
    out.append(
        "<h4>Not tested, and why</h4><ul>"
        + "".join(f"<li>{e(f)}: {e(w)}</li>" for f, w in result.not_tested.itertuples(index=False))
        + "</ul></div>"
    )
    return "\n".join(out)


def save_validation(result: ValidationResult, folder: str | Path) -> Path:
    """Write ``validation.csv`` and ``not_tested.csv`` into ``folder`` (what :func:`load_validation` reads)."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    result.table.to_csv(out / "validation.csv", index=False)
    result.not_tested.to_csv(out / "not_tested.csv", index=False)
    (out / "theory.txt").write_text(f"{result.theory}\n{len(result.seeds)} replicates\n")
    return out


def evidence_status(
    theory: Theory,
    *,
    reps: int = DEFAULT_REPS,
    seed: int = DEFAULT_SEED,
    cache: str | Path | None = None,
    workers: int | None = None,
) -> ValidationResult:
    """The validation of ``theory`` (every check), reused from ``cache`` when this theory was checked before.

    The cache key is the theory's digest (files and values), the replicates and the seed, so a
    changed theory is always checked afresh.
    """
    folder = Path(cache) / f"{theory.digest()}-r{reps}-s{seed}" if cache is not None else None
    if folder is not None and (folder / "validation.csv").is_file():
        saved = load_validation(folder)
        saved.theory = f"{theory.meta.get('name', '')} ({display_path(theory.path)})"
        saved.seeds = seeds_for(reps, seed)
        return saved
    result = validate(theory, reps=reps, seed=seed, workers=workers)
    if folder is not None:
        save_validation(result, folder)
    return result


def display_path(path: str) -> str:
    """``path`` relative to the working folder when it lies inside it (no author's absolute path)."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return Path(path).name


def load_validation(folder: str | Any) -> ValidationResult:
    """A validation table saved by ``partnersim validate-theory`` (validation.csv, not_tested.csv).

    Lets the report include the table without re-running the checks; the theory's name is read
    back from ``theory.txt`` when the folder has one.
    """
    folder = Path(folder)
    numeric = ("value", "ci_low", "ci_high", "target", "distance")
    table = pd.read_csv(folder / "validation.csv", dtype=str, keep_default_na=False)
    for col in numeric:
        table[col] = pd.to_numeric(table[col], errors="coerce")
    if "basis" not in table:
        table["basis"] = "emergent"
    nt = folder / "not_tested.csv"
    not_tested = pd.read_csv(nt) if nt.exists() else pd.DataFrame(NOT_TESTED, columns=["fact", "why not tested"])
    about = folder / "theory.txt"
    name = about.read_text().splitlines()[0] if about.is_file() else str(folder)
    return ValidationResult(table, not_tested, name, [])
