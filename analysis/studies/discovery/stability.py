"""How far to trust a PRIM box: resampling stability and the points-per-parameter warning.

PRIM tries every parameter at every peel, so with few points per parameter it restricts some
parameters by chance. Two checks say how far a box can be trusted:

* **resampling stability**: PRIM is rerun on bootstrap resamples of the points (drawn from a
  named random stream of the command's seed); for each resample, the box on its trajectory
  nearest the chosen box in coverage and density (as ema_workbench's ``PrimBox.resample`` picks
  it) is compared with the chosen box. The share of resamples in which each parameter is
  restricted, and the share in which a *comparable* box (one holding much the same points of the
  original sample: agreement beyond chance of at least :data:`COMPARABLE_AGREEMENT`) is found,
  are reported;
* a **warning** when the sweep has fewer than :data:`MIN_POINTS_PER_PARAMETER` points per
  parameter PRIM may restrict.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.studies.discovery.boxes import Box, inside_box, prim
from analysis.studies.sensitivity import describe_param

MIN_POINTS_PER_PARAMETER = 10
"""Fewer sample points per parameter than this draw a warning: the usual rule of thumb of rule
induction (about ten cases per candidate variable), below which PRIM readily restricts parameters by chance."""

COMPARABLE_AGREEMENT = 0.6
"""A resample's box is *comparable* to the chosen box when Cohen's kappa of the two boxes' membership of the
original points (agreement beyond chance, so large boxes do not agree by their size alone) is at least this:
where Landis and Koch's "substantial agreement" begins."""

RESAMPLE_STREAM = "discover.resample"
"""The name of the random stream (derived from the command's seed) that draws the bootstrap resamples."""

DEFAULT_RESAMPLES = 20
"""Bootstrap resamples of the stability check (each reruns PRIM)."""


def resample_rng(seed: int) -> np.random.Generator:
    """The generator of the bootstrap resamples: stream :data:`RESAMPLE_STREAM` of ``seed``."""
    seq = np.random.SeedSequence(entropy=int(seed), spawn_key=(zlib.crc32(RESAMPLE_STREAM.encode()),))
    return np.random.Generator(np.random.PCG64(seq))


@dataclass
class Stability:
    """PRIM's chosen box under bootstrap resampling.

    Attributes:
        resamples: bootstrap resamples run.
        comparable: share of resamples in which a comparable box was found.
        dimensions: one row per parameter restricted in the chosen box or in at least one
            resample's box: ``parameter``, ``label``, ``in_box`` (restricted in the chosen box),
            ``share_restricted`` (share of resamples whose nearest box restricts it).
    """

    resamples: int
    comparable: float
    dimensions: pd.DataFrame


def resample_stability(
    x: pd.DataFrame,
    fails: np.ndarray,
    chosen: Box,
    *,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    peel_alpha: float = 0.05,
    mass_min: float = 0.05,
) -> Stability:
    """Rerun PRIM on ``resamples`` bootstrap resamples of (``x``, ``fails``) and compare with ``chosen``.

    A resample holding only failures or only successes finds no box (it counts as not comparable).
    """
    fails = np.asarray(fails, dtype=bool)
    rng = resample_rng(seed)
    counts = dict.fromkeys(x.columns, 0)
    comparable = 0
    target = set(chosen.limits.index)
    xf = x.reset_index(drop=True).astype(float)
    base = inside_box(xf, chosen.limits)
    for _ in range(resamples):
        idx = rng.integers(0, len(x), len(x))
        f = fails[idx]
        if f.all() or not f.any():
            continue
        res = prim(xf.iloc[idx].reset_index(drop=True), f, peel_alpha=peel_alpha, mass_min=mass_min)
        t = res.trajectory
        near = int(np.argmin((t["coverage"] - chosen.coverage) ** 2 + (t["density"] - chosen.density) ** 2))
        box = res.boxes[near]
        dims = set(box.limits.index)
        for d in dims:
            counts[d] += 1
        if agreement(base, inside_box(xf, box.limits)) >= COMPARABLE_AGREEMENT:
            comparable += 1
    n = max(resamples, 1)
    rows = [
        {
            "parameter": d,
            "label": describe_param(str(d)),
            "in_box": d in target,
            "share_restricted": counts[d] / n,
        }
        for d in x.columns
        if counts[d] or d in target
    ]
    table = pd.DataFrame(rows, columns=["parameter", "label", "in_box", "share_restricted"])
    table = table.sort_values(["in_box", "share_restricted"], ascending=[False, False]).reset_index(drop=True)
    return Stability(resamples, comparable / n, table)


def describe_stability(st: Stability, *, rows: int = 8) -> str:
    """The stability check in plain words, the chosen box's parameters first."""
    lines = [
        f"In {st.comparable:.0%} of {st.resamples} bootstrap resamples PRIM finds a comparable box (nearest in "
        f"coverage and density, holding much the same points: Cohen's kappa >= {COMPARABLE_AGREEMENT:g})."
    ]
    for _, r in st.dimensions.head(rows).iterrows():
        mark = "in the box" if r["in_box"] else "not in the box"
        lines.append(f"  {r['label']} ({r['parameter']}, {mark}): restricted in {r['share_restricted']:.0%}")
    if len(st.dimensions) > rows:
        lines.append(f"  … and {len(st.dimensions) - rows} more parameters (see prim_stability)")
    return "\n".join(lines)


def agreement(a: np.ndarray, b: np.ndarray) -> float:
    """Cohen's kappa of two boolean masks: their agreement beyond what their sizes alone give (1 = identical)."""
    a, b = np.asarray(a, dtype=bool), np.asarray(b, dtype=bool)
    observed = float(np.mean(a == b))
    ma, mb = float(a.mean()), float(b.mean())
    chance = ma * mb + (1 - ma) * (1 - mb)
    return (observed - chance) / (1 - chance) if chance < 1 else 1.0


def sparse_warning(points: int, parameters: int) -> str | None:
    """A warning when the sweep has fewer than :data:`MIN_POINTS_PER_PARAMETER` points per parameter."""
    if parameters == 0 or points >= MIN_POINTS_PER_PARAMETER * parameters:
        return None
    return (
        f"{points} points for {parameters} parameters ({points / parameters:.2g} per parameter): PRIM tries "
        "every parameter at every peel, so with few points some restrictions are found by chance (check the "
        "quasi-p-values and the resampling stability). Use at least "
        f"{MIN_POINTS_PER_PARAMETER * parameters} points ({MIN_POINTS_PER_PARAMETER} per parameter: -N), or "
        f"fewer parameters (--params: at most {points // MIN_POINTS_PER_PARAMETER} for {points} points)."
    )
