"""Reading a sweep's runs: outcome per policy and per lever value, and robustness across futures.

Every run is paired: policy p, future f and replicate r share their seed with the baseline in
future f, replicate r (common random numbers), so a difference is taken run by run. A unit is
a (future, replicate) pair; means and t intervals are over units, so with several futures an
interval spans both the uncertainties and the model's own noise.

Robustness follows EMA Workbench's vocabulary (Kwakkel 2017; McPhail et al. 2018), with the
baseline counted as one policy (doing nothing new):

* **regret** of a policy in a future: its shortfall against the best policy in that same
  future, for one outcome at one month (in the outcome's units, by its better direction);
  the table gives the largest and the mean regret over futures.
* **satisficing share**: the share of futures in which the policy meets a stated criterion
  (``quality@60 >= baseline``; ``special_measures@60 < 0.1``).

Both use the mean over replicates in each future. EMA Workbench 3.0 has no regret or
satisficing function to call (its robustness functions live inside robust optimisation, which
runs the model itself), so the few lines are here.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from analysis.studies.compare import DEFAULT_LEVEL, outcome_for
from analysis.studies.sweep.design import SweepDesign
from analysis.studies.sweep.spec import Requirement

UNIT = ["point", "replicate"]
"""The store's columns of a unit: its future (the plan's design point) and replicate."""


def paired_runs(series: pd.DataFrame, baseline: str) -> pd.DataFrame:
    """One row per run and metric/month: ``policy, future, replicate, metric, month, value, diff``.

    ``diff`` is the run minus the baseline run of the same future and replicate (0 for the baseline).
    """
    sub = series.assign(scenario=series["scenario"].astype(str), metric=series["metric"].astype(str))
    wide = sub.pivot_table(
        index=["metric", "step", *UNIT], columns="scenario", values="value", aggfunc="first", observed=True
    )
    base = wide[baseline] if baseline in wide else pd.Series(np.nan, index=wide.index)
    value = wide.stack().rename("value")
    diff = wide.sub(base, axis=0).stack().rename("diff")
    runs = pd.concat([value, diff], axis=1).reset_index().dropna(subset=["value"])
    return runs.rename(columns={"scenario": "policy", "step": "month", "point": "future"})


def _intervals(groups: pd.core.groupby.DataFrameGroupBy, level: float) -> pd.DataFrame:
    """Per group: n, mean, low, high of ``value`` and n_pairs, diff, diff_low, diff_high of ``diff``.

    The same t intervals as :func:`analysis.studies.compare.mean_interval`, for many groups at once.
    """
    from scipy import stats  # imported on first use (a second of start-up)

    out = {}
    for col, prefix in (("value", ""), ("diff", "diff_")):
        agg = groups[col].agg(["count", "mean", "std"])
        n = agg["count"].to_numpy(dtype=float)
        with np.errstate(invalid="ignore", divide="ignore"):
            t = np.where(n > 1, stats.t.ppf(0.5 + level / 2, np.maximum(n - 1, 1)), np.nan)
            half = t * agg["std"].to_numpy(dtype=float) / np.sqrt(n)
        mean = agg["mean"].to_numpy(dtype=float)
        out["n_pairs" if prefix else "n"] = n.astype(int)
        out["diff" if prefix else "mean"] = mean
        out[f"{prefix}low"] = mean - half
        out[f"{prefix}high"] = mean + half
    frame = pd.DataFrame(out, index=groups.size().index)
    return frame[["n", "mean", "low", "high", "n_pairs", "diff", "diff_low", "diff_high"]]


def point_table(
    runs: pd.DataFrame,
    design: SweepDesign,
    *,
    baseline: str,
    outcomes: Sequence[str],
    months: Sequence[int],
    level: float = DEFAULT_LEVEL,
) -> pd.DataFrame:
    """The tidy sweep table: per policy (the baseline first), outcome and month, mean and paired difference.

    Columns: ``policy, point`` (none for the baseline), one per varied lever, ``outcome, label,
    month, n, mean, low, high, n_pairs, diff, diff_low, diff_high, level``. The difference and its
    interval are paired by future and replicate; the baseline's are empty.
    """
    sub = runs[runs["metric"].isin(list(outcomes)) & runs["month"].isin(list(months))]
    table = _intervals(sub.groupby(["policy", "metric", "month"], sort=False), level).reset_index()
    table = table.rename(columns={"metric": "outcome"})
    base = table["policy"] == baseline
    table.loc[base, ["n_pairs", "diff", "diff_low", "diff_high"]] = np.nan
    table = _with_levers(table, design, baseline)
    table.insert(table.columns.get_loc("outcome") + 1, "label", table["outcome"].map(lambda m: outcome_for(m).label))
    table["level"] = level
    return _ordered(table, design, baseline, outcomes, months)


def lever_table(
    runs: pd.DataFrame,
    design: SweepDesign,
    *,
    baseline: str,
    outcomes: Sequence[str],
    months: Sequence[int],
    level: float = DEFAULT_LEVEL,
) -> pd.DataFrame:
    """Per lever and value: the mean over every policy with that value (and every future), with intervals.

    For each unit (future, replicate), the policies holding the lever at the value are averaged;
    the mean, the paired difference from the baseline and their t intervals are over units.
    Levers sampled continuously (a Latin hypercube over a range) have a value per policy and are
    left out: read them in the point table.

    Columns: ``lever, value, outcome, label, month, policies, n, mean, low, high, n_pairs, diff,
    diff_low, diff_high, level``.
    """
    sub = runs[runs["metric"].isin(list(outcomes)) & runs["month"].isin(list(months)) & (runs["policy"] != baseline)]
    sub = sub.merge(design.policies, on="policy", how="inner")
    frames = []
    for lever in design.levers:
        if lever in design.continuous:  # a value per policy: see the point table
            continue
        per_unit = sub.groupby([lever, "metric", "month", "future", "replicate"], sort=False)[["value", "diff"]].mean()
        per_unit = per_unit.reset_index()
        stats_ = _intervals(per_unit.groupby([lever, "metric", "month"], sort=False), level).reset_index()
        counts = design.policies.groupby(lever).size().rename("policies").reset_index()
        stats_ = stats_.merge(counts, on=lever).rename(columns={lever: "value", "metric": "outcome"})
        stats_.insert(0, "lever", lever)
        frames.append(stats_)
    if not frames:
        return pd.DataFrame()
    table = pd.concat(frames, ignore_index=True)
    table["value"] = table["value"].astype(object)
    table.insert(table.columns.get_loc("outcome") + 1, "label", table["outcome"].map(lambda m: outcome_for(m).label))
    table["level"] = level
    order = {m: i for i, m in enumerate(outcomes)}
    table["_o"] = table["outcome"].map(order)
    table["_l"] = table["lever"].map({lv: i for i, lv in enumerate(design.levers)})
    table["_v"] = [_rank(design.policies[lv], v) for lv, v in zip(table["lever"], table["value"], strict=True)]
    cols = ["lever", "value", "outcome", "label", "month", "policies"]
    cols += ["n", "mean", "low", "high", "n_pairs", "diff", "diff_low", "diff_high", "level"]
    return table.sort_values(["_l", "_o", "month", "_v"]).reset_index(drop=True)[cols]


def by_future(runs: pd.DataFrame) -> pd.DataFrame:
    """Per policy, future, metric and month: the mean over replicates of the value and of the paired difference."""
    return runs.groupby(["policy", "future", "metric", "month"], sort=False)[["value", "diff"]].mean().reset_index()


def regret_table(
    futures: pd.DataFrame, design: SweepDesign, *, baseline: str, outcomes: Sequence[str], months: Sequence[int]
) -> pd.DataFrame:
    """Per policy (the baseline too), outcome and month: mean and worst value over futures, max and mean regret.

    Regret in a future = the best value any policy reached there minus this policy's (by the
    outcome's better direction; outcomes without one are left out). Columns: ``policy, point``,
    the varied levers, ``outcome, label, month, futures, mean, worst, max_regret, mean_regret``.
    """
    rows = []
    for metric in outcomes:
        better = outcome_for(metric).better
        if not better:
            continue
        for month in months:
            block = futures[(futures["metric"] == metric) & (futures["month"] == month)]
            y = block.pivot_table(index="future", columns="policy", values="value", aggfunc="first")
            score = y * better
            regret = score.max(axis=1).to_numpy()[:, None] - score
            worst = (score.min(axis=0) * better).rename("worst")
            part = pd.DataFrame(
                {
                    "futures": y.notna().sum(axis=0),
                    "mean": y.mean(axis=0),
                    "worst": worst,
                    "max_regret": regret.max(axis=0),
                    "mean_regret": regret.mean(axis=0),
                }
            )
            part.index.name = "policy"
            part = part.reset_index().assign(outcome=metric, month=int(month))
            rows.append(part)
    if not rows:
        return pd.DataFrame()
    table = pd.concat(rows, ignore_index=True)
    table = _with_levers(table, design, baseline)
    table.insert(table.columns.get_loc("outcome") + 1, "label", table["outcome"].map(lambda m: outcome_for(m).label))
    cols = [c for c in table.columns if c not in ("futures", "mean", "worst", "max_regret", "mean_regret")]
    table = table[[*cols, "futures", "mean", "worst", "max_regret", "mean_regret"]]
    return _ordered(table, design, baseline, outcomes, months)


def satisficing_table(
    futures: pd.DataFrame, design: SweepDesign, requirements: Sequence[Requirement], *, baseline: str
) -> pd.DataFrame:
    """Per policy (the baseline too) and criterion: the share of futures in which the policy meets it.

    Columns: ``policy, point``, the varied levers, ``criterion, meaning, futures, met, share``.
    """
    rows = []
    for req in requirements:
        block = futures[(futures["metric"] == req.metric) & (futures["month"] == req.month)]
        judged = block["diff"] if req.paired else block["value"]
        met = block.assign(met=req.holds(judged.to_numpy()))
        grouped = met.groupby("policy", sort=False)["met"].agg(["size", "sum"])
        for policy, (size, hits) in grouped.iterrows():
            rows.append(
                {
                    "policy": policy,
                    "criterion": req.text,
                    "meaning": req.describe(),
                    "futures": int(size),
                    "met": int(hits),
                    "share": hits / size if size else np.nan,
                }
            )
    table = _with_levers(pd.DataFrame(rows), design, baseline)
    order = {p: i for i, p in enumerate([baseline, *design.policies["policy"]])}
    crit = {r.text: i for i, r in enumerate(requirements)}
    table = table.assign(_c=table["criterion"].map(crit), _p=table["policy"].map(order))
    return table.sort_values(["_c", "_p"]).drop(columns=["_c", "_p"]).reset_index(drop=True)


# -- helpers ------------------------------------------------------------------------------
def _with_levers(table: pd.DataFrame, design: SweepDesign, baseline: str) -> pd.DataFrame:
    """``table`` (with a ``policy`` column) with the policy's point and lever values after it."""
    if table.empty:
        return table
    merged = table.merge(design.policies, on="policy", how="left")
    merged["point"] = merged["point"].astype("Int64")
    front = ["policy", "point", *design.levers]
    return merged[front + [c for c in merged.columns if c not in front]]


def _ordered(
    table: pd.DataFrame, design: SweepDesign, baseline: str, outcomes: Sequence[str], months: Sequence[int]
) -> pd.DataFrame:
    """Baseline first, then policies in design order; outcomes in the order asked; months ascending."""
    order = {p: i for i, p in enumerate([baseline, *design.policies["policy"]])}
    keys = table.assign(_p=table["policy"].map(order), _o=table["outcome"].map({m: i for i, m in enumerate(outcomes)}))
    return keys.sort_values(["_p", "_o", "month"]).drop(columns=["_p", "_o"]).reset_index(drop=True)


def _rank(values: pd.Series, value: object) -> int:
    """Position of ``value`` among a lever's values in design order (numbers ascending)."""
    seen = list(dict.fromkeys(values.tolist()))
    try:
        seen = sorted(seen)
    except TypeError:
        pass
    return seen.index(value) if value in seen else len(seen)
