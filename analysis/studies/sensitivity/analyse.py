"""Analysis: indices per output and month on the replicate mean, with diagnostics (step 4).

Next to the method's indices: the share of variance that is replicate noise, and a
convergence check that reruns the analysis on the first half of the sample.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from analysis.studies.sensitivity.design import Design, check_method
from analysis.studies.sensitivity.space import ParameterSpace, describe_param

# The index each method ranks factors by.
RANK_INDEX = {"sobol": "ST", "morris": "mu_star", "efast": "ST", "pawn": "median", "delta": "delta"}
# Replicate noise above this share of the analysed output's variance makes indices unreliable.
NOISE_WARN_SHARE = 0.10
DEFAULT_TOP_K = 5


@dataclass
class SensitivityResult:
    """Indices and diagnostics of one analysis.

    Attributes:
        method: the method.
        indices: one row per (metric, month, factor or group) with the method's indices
            (Sobol/eFAST: S1, S1_conf, ST, ST_conf; Morris: mu, mu_star, mu_star_conf, sigma;
            PAWN: minimum, mean, median, maximum, CV; delta (SALib's bootstrap "raw" estimator):
            delta, delta_conf, delta_balanced, S1, S1_conf),
            plus ``noise_share`` and ``rank`` (by :data:`RANK_INDEX`).
        second_order: Sobol S2 per pair (when asked for).
        noise: per (metric, month): variance between design points, within-point (replicate)
            variance, the noise share of the analysed replicate mean, and ``reliable``.
        convergence: per (metric, month): the top-k factors at N/2 and N and whether they agree.
        params: the factors (name, group, bounds, distribution, source).
        warnings: plain-language warnings (noise, non-varying outputs, unstable rankings).
    """

    method: str
    indices: pd.DataFrame
    second_order: pd.DataFrame | None
    noise: pd.DataFrame
    convergence: pd.DataFrame | None
    params: pd.DataFrame
    warnings: list[str] = field(default_factory=list)

    def top(self, metric: str, month: int, k: int = DEFAULT_TOP_K) -> pd.DataFrame:
        """The ``k`` most influential factors for ``metric`` at ``month``."""
        t = self.indices[(self.indices["metric"] == metric) & (self.indices["month"] == month)]
        return t.sort_values("rank").head(k)


def analyse_point(
    method: str,
    space: ParameterSpace,
    design: Design | None,
    y: np.ndarray,
    *,
    x_values: np.ndarray | None = None,
    num_resamples: int = 100,
    conf_level: float = 0.95,
    seed: int = 0,
) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """Indices of one output vector ``y`` (one value per design point).

    Returns a table with one row per factor (or group) and, for Sobol with second order, the
    S2 table. Sobol, eFAST and Morris need the ``design``; PAWN and delta need the factor
    values ``x_values`` (rows × factors) of a given sample.
    """
    from SALib.analyze import delta, fast, morris, pawn, sobol

    check_method(method)
    y = np.asarray(y, dtype=float)
    names = space.group_names if design is not None and design.grouped else space.names
    if _constant(y):
        nan = pd.DataFrame({"parameter": names})
        for col in _INDEX_COLUMNS[method]:
            nan[col] = np.nan
        return nan, None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if method == "sobol":
            assert design is not None
            prob = space.problem(grouped=design.grouped)
            si = sobol.analyze(
                prob,
                y,
                calc_second_order=design.second_order,
                num_resamples=num_resamples,
                conf_level=conf_level,
                seed=seed,
            )
            table = pd.DataFrame(
                {"parameter": names, "S1": si["S1"], "S1_conf": si["S1_conf"], "ST": si["ST"], "ST_conf": si["ST_conf"]}
            )
            s2 = None
            if design.second_order:
                rows = []
                for i in range(len(names)):
                    for j in range(i + 1, len(names)):
                        rows.append(
                            {
                                "parameter": names[i],
                                "parameter_2": names[j],
                                "S2": si["S2"][i, j],
                                "S2_conf": si["S2_conf"][i, j],
                            }
                        )
                s2 = pd.DataFrame(rows)
            return table, s2
        if method == "morris":
            assert design is not None
            prob = space.problem(grouped=design.grouped)
            si = morris.analyze(
                prob,
                design.unit,
                y,
                num_resamples=num_resamples,
                conf_level=conf_level,
                num_levels=design.num_levels,
                seed=seed,
            )
            return pd.DataFrame(
                {
                    "parameter": list(si["names"]),
                    "mu": si["mu"],
                    "mu_star": si["mu_star"],
                    "mu_star_conf": si["mu_star_conf"],
                    "sigma": si["sigma"],
                }
            ), None
        if method == "efast":
            assert design is not None
            si = fast.analyze(
                space.problem(), y, M=design.M, num_resamples=num_resamples, conf_level=conf_level, seed=seed
            )
            return pd.DataFrame(
                {"parameter": names, "S1": si["S1"], "S1_conf": si["S1_conf"], "ST": si["ST"], "ST_conf": si["ST_conf"]}
            ), None
        x = x_values if x_values is not None else (design.values if design is not None else None)
        if x is None:
            raise ValueError("PAWN and delta need the sample's factor values")
        prob = space.value_problem()
        if method == "pawn":
            si = pawn.analyze(prob, x, y, S=10, seed=seed)
            return pd.DataFrame(
                {
                    "parameter": names,
                    "minimum": si["minimum"],
                    "mean": si["mean"],
                    "median": si["median"],
                    "maximum": si["maximum"],
                    "CV": si["CV"],
                }
            ), None
        state = np.random.get_state()  # SALib's delta seeds numpy's global generator and replaces
        fmt = warnings.formatwarning  # the warnings formatter: leave both as they were
        warnings.showwarning = _quiet  # and it resets the filters to "once": silence its notices here
        try:
            sd = delta.analyze(
                prob, x, y, num_resamples=num_resamples, conf_level=conf_level, seed=seed + 1, method="delta"
            )
            s1 = delta.analyze(
                prob, x, y, num_resamples=num_resamples, conf_level=conf_level, seed=seed + 1, method="sobol"
            )
        finally:
            np.random.set_state(state)
            warnings.formatwarning = fmt
        return pd.DataFrame(
            {
                "parameter": names,
                "delta": sd["delta_raw"],
                "delta_conf": sd["delta_raw_conf"],
                "delta_balanced": sd["delta_balanced"],
                "S1": s1["S1"],
                "S1_conf": s1["S1_conf"],
            }
        ), None


def _quiet(*args: Any, **kwargs: Any) -> None:
    """A ``warnings.showwarning`` that shows nothing."""


_INDEX_COLUMNS = {
    "sobol": ["S1", "S1_conf", "ST", "ST_conf"],
    "efast": ["S1", "S1_conf", "ST", "ST_conf"],
    "morris": ["mu", "mu_star", "mu_star_conf", "sigma"],
    "pawn": ["minimum", "mean", "median", "maximum", "CV"],
    "delta": ["delta", "delta_conf", "delta_balanced", "S1", "S1_conf"],
}


def noise_table(
    Y: np.ndarray, months: Sequence[int], metrics: Sequence[str], probe: np.ndarray | None = None
) -> pd.DataFrame:
    """Share of the analysed output's variance that is replicate noise, per metric and month.

    ``Y`` is array[points, replicates, months, metrics]; indices are computed on the
    replicate mean. Replicate r uses the same seed at every point (common random numbers),
    so the part of the noise that every point shares cancels from the comparison between
    points; what is left is the point × replicate interaction of a two-way layout. Its mean
    square (from ``probe``, array[points, seeds, months, metrics], when ``Y`` has one
    replicate), divided by R, is the noise variance of the replicate means:

    * ``noise_share`` = that noise variance / variance of the replicate means across points:
      the part of what the indices decompose that is noise, not parameters (warned about
      above :data:`NOISE_WARN_SHARE`);
    * ``noise_share_single_run`` = mean within-point variance across seeds / variance of all
      single runs: how noisy one run is, before pairing and averaging.
    """
    reps = Y.shape[1]
    mean = Y.mean(axis=1)
    src = Y if reps >= 2 else probe
    rows = []
    for mi, month in enumerate(months):
        for ki, metric in enumerate(metrics):
            ybar = mean[:, mi, ki]
            between = float(np.var(ybar, ddof=1)) if len(ybar) > 1 else float("nan")
            single = float(np.var(Y[:, :, mi, ki], ddof=1)) if Y[:, :, mi, ki].size > 1 else float("nan")
            within = interaction = float("nan")
            if src is not None and src.shape[0] >= 2 and src.shape[1] >= 2:
                z = src[:, :, mi, ki]
                within = float(np.mean(np.var(z, axis=1, ddof=1)))
                resid = z - z.mean(axis=1, keepdims=True) - z.mean(axis=0, keepdims=True) + z.mean()
                interaction = float((resid**2).sum() / ((z.shape[0] - 1) * (z.shape[1] - 1)))
            varies = not _constant(ybar)
            share = min(1.0, (interaction / reps) / between) if varies and between > 0 else float("nan")
            share1 = min(1.0, within / single) if single > 0 and not _constant(Y[:, :, mi, ki]) else float("nan")
            rows.append(
                {
                    "metric": metric,
                    "month": int(month),
                    "reps": reps,
                    "varies": varies,
                    "var_between": between,
                    "var_within": within,
                    "var_interaction": interaction,
                    "noise_share": share,
                    "noise_share_single_run": share1,
                    "reliable": bool(not varies or np.isnan(share) or share <= NOISE_WARN_SHARE),
                }
            )
    return pd.DataFrame(rows)


def _constant(y: np.ndarray) -> bool:
    """True when ``y`` does not vary (beyond floating-point rounding)."""
    y = np.asarray(y, dtype=float)
    if not np.all(np.isfinite(y)):
        return True
    return bool(np.ptp(y) <= 1e-9 * max(1.0, float(np.max(np.abs(y)))))


def rank_table(table: pd.DataFrame, method: str) -> pd.DataFrame:
    """Add ``rank`` (1 = most influential by :data:`RANK_INDEX`) to an indices table."""
    col = RANK_INDEX[method]
    out = table.copy()
    key = (
        out.groupby([c for c in ("metric", "month") if c in out.columns], sort=False)[col]
        if {"metric", "month"} <= set(out.columns)
        else None
    )
    if key is not None:
        out["rank"] = key.rank(ascending=False, method="first", na_option="bottom").astype(int)
    else:
        out["rank"] = out[col].rank(ascending=False, method="first", na_option="bottom").astype(int)
    return out


def half_design(design: Design, space: ParameterSpace) -> tuple[Design, np.ndarray]:
    """The first half of a design as a valid design of size N/2, and the rows it keeps.

    Sobol: the first N/2 blocks of D+2 (or 2D+2) rows (SALib lays out one block per base
    point, and the first N/2 points of a Sobol' sequence are themselves balanced); Morris:
    the first N/2 trajectories; PAWN/delta: the first N/2 rows. eFAST has no nested half.
    """
    if design.method == "efast":
        raise ValueError("eFAST designs have no nested half")
    half = design.N // 2
    rows = np.arange(half * design.block(space))
    return replace(design, unit=design.unit[rows], values=design.values[rows], N=half), rows


def convergence_table(
    method: str,
    space: ParameterSpace,
    design: Design,
    Ybar: np.ndarray,
    months: Sequence[int],
    metrics: Sequence[str],
    full: pd.DataFrame,
    *,
    k: int = DEFAULT_TOP_K,
    seed: int = 0,
    num_resamples: int = 100,
) -> pd.DataFrame | None:
    """Rerun the analysis on the first half of the sample; compare the top-k rankings.

    ``Ybar`` is array[points, months, metrics] (replicate means). Returns one row per metric
    and month: the top-k at N/2 and at N, ``same_set`` (the same k factors), ``same_order``
    and the Spearman correlation of all factors' indices between the two.
    """
    from scipy.stats import spearmanr

    if method == "efast" or design.N < 4:
        return None
    hd, rows = half_design(design, space)
    col = RANK_INDEX[method]
    out = []
    for mi, month in enumerate(months):
        for ki, metric in enumerate(metrics):
            big = full[(full["metric"] == metric) & (full["month"] == month)].set_index("parameter")[col]
            if big.isna().all():
                continue
            small, _ = analyse_point(method, space, hd, Ybar[rows, mi, ki], num_resamples=num_resamples, seed=seed)
            small_s = small.set_index("parameter")[col]
            kk = min(k, len(big))
            top_big = list(big.sort_values(ascending=False).index[:kk])
            top_small = list(small_s.sort_values(ascending=False).index[:kk])
            both = pd.concat([big, small_s], axis=1).dropna()
            rho = float(spearmanr(both.iloc[:, 0], both.iloc[:, 1]).statistic) if len(both) > 2 else float("nan")
            out.append(
                {
                    "metric": metric,
                    "month": int(month),
                    "k": kk,
                    "N_half": hd.N,
                    "N": design.N,
                    "top_half": ", ".join(top_small),
                    "top_full": ", ".join(top_big),
                    "overlap": len(set(top_big) & set(top_small)),
                    "same_set": set(top_big) == set(top_small),
                    "same_order": top_big == top_small,
                    "spearman": rho,
                    "stable": set(top_big) == set(top_small),
                }
            )
    return pd.DataFrame(out, columns=_CONVERGENCE_COLUMNS)


_CONVERGENCE_COLUMNS = [
    "metric",
    "month",
    "k",
    "N_half",
    "N",
    "top_half",
    "top_full",
    "overlap",
    "same_set",
    "same_order",
    "spearman",
    "stable",
]


def analyse(
    method: str,
    space: ParameterSpace,
    design: Design | None,
    Y: np.ndarray,
    *,
    months: Sequence[int],
    metrics: Sequence[str],
    probe: np.ndarray | None = None,
    x_values: np.ndarray | None = None,
    num_resamples: int = 100,
    conf_level: float = 0.95,
    seed: int = 0,
    top_k: int = DEFAULT_TOP_K,
    convergence_months: Sequence[int] | None = None,
) -> SensitivityResult:
    """Indices for every metric and month, on the replicate mean, with diagnostics.

    Args:
        method: one of :data:`METHODS`.
        space: the factors.
        design: the design (None for a given sample, then ``x_values`` is needed).
        Y: array[points, replicates, months, metrics] from :func:`evaluate_design`.
        months: months of ``Y``'s third axis.
        metrics: metrics of ``Y``'s fourth axis.
        probe: extra replicates at a few points (array[points, seeds, months, metrics]) to
            measure replicate noise when ``Y`` has a single replicate.
        x_values: factor values of a given sample (PAWN, delta).
        num_resamples: bootstrap resamples for the confidence intervals.
        conf_level: confidence level of the intervals.
        seed: seed of the bootstrap (same seed, same indices).
        top_k: factors compared by the convergence check.
        convergence_months: months to run the convergence check at (default: all).
    """
    Y = np.asarray(Y, dtype=float)
    if Y.ndim != 4:
        raise ValueError("Y must be array[points, replicates, months, metrics]")
    Ybar = Y.mean(axis=1)
    tables, s2s = [], []
    for mi, month in enumerate(months):
        for ki, metric in enumerate(metrics):
            t, s2 = analyse_point(
                method,
                space,
                design,
                Ybar[:, mi, ki],
                x_values=x_values,
                num_resamples=num_resamples,
                conf_level=conf_level,
                seed=seed,
            )
            t.insert(0, "month", int(month))
            t.insert(0, "metric", metric)
            tables.append(t)
            if s2 is not None:
                s2.insert(0, "month", int(month))
                s2.insert(0, "metric", metric)
                s2s.append(s2)
    indices = pd.concat(tables, ignore_index=True)
    group_of = dict(zip(space.names, space.groups, strict=True))
    indices.insert(3, "group", indices["parameter"].map(lambda p: group_of.get(p, p)))
    indices.insert(3, "label", indices["parameter"].map(lambda p: describe_param(p) if p in group_of else p))
    indices.insert(0, "method", method)
    noise = noise_table(Y, months, metrics, probe)
    indices = indices.merge(noise[["metric", "month", "noise_share"]], on=["metric", "month"], how="left")
    indices = rank_table(indices, method)
    conv = None
    if design is not None:
        cm = list(months) if convergence_months is None else [m for m in months if m in set(convergence_months)]
        idx = [list(months).index(m) for m in cm]
        conv = convergence_table(
            method,
            space,
            design,
            Ybar[:, idx, :],
            cm,
            metrics,
            indices,
            k=top_k,
            seed=seed,
            num_resamples=num_resamples,
        )
    msgs = _warnings(indices, noise, conv, metrics)
    return SensitivityResult(
        method=method,
        indices=indices,
        second_order=pd.concat(s2s, ignore_index=True) if s2s else None,
        noise=noise,
        convergence=conv,
        params=space.table(),
        warnings=msgs,
    )


def _warnings(
    indices: pd.DataFrame, noise: pd.DataFrame, conv: pd.DataFrame | None, metrics: Sequence[str]
) -> list[str]:
    msgs = []
    for _, r in noise[~noise["reliable"]].iterrows():
        msgs.append(
            f"{r['metric']} at month {r['month']}: replicate noise is {r['noise_share']:.0%} of the variance "
            f"the indices decompose (R = {r['reps']}); indices below about {r['noise_share']:.2f} cannot be "
            f"told from noise: add replicates (--reps)."
        )
    for _, r in noise[~noise["varies"]].iterrows():
        if r["month"] > 0:
            msgs.append(f"{r['metric']} at month {r['month']} does not vary across the design: no indices.")
    if conv is not None:
        for _, r in conv[~conv["stable"]].iterrows():
            msgs.append(
                f"{r['metric']} at month {r['month']}: the top {r['k']} factors differ between N/2 = "
                f"{r['N_half']} and N = {r['N']} ({r['overlap']} of {r['k']} shared): use a larger N."
            )
    return msgs


# ---------------------------------------------------------------------------------------
# Whole analyses
# ---------------------------------------------------------------------------------------
