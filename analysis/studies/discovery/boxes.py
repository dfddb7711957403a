"""Boxes in parameter space that explain the failures: PRIM (ema_workbench) and CART (scikit-learn).

*Coverage* = share of all failures that fall in the box; *density* = share of the runs in the
box that fail; *mass* = share of all runs in the box. A box is described in plain words.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import numpy as np
import pandas as pd

from analysis.studies.sensitivity import describe_param
from sim import ConfigError


@dataclass
class Box:
    """A box in parameter space: the restricted parameters' limits and its statistics.

    Attributes:
        limits: one row per restricted parameter, columns ``min`` and ``max``
            (and ``qp_low``/``qp_high``, PRIM's quasi-p-values of each limit, when known).
        coverage: share of all failures inside the box.
        density: share of the runs inside the box that fail.
        mass: share of all runs inside the box.
        n: runs inside the box.
        source: ``prim`` or ``cart``; ``index``: position on the PRIM trajectory or CART leaf.
    """

    limits: pd.DataFrame
    coverage: float
    density: float
    mass: float
    n: int
    source: str = "prim"
    index: int = 0

    @property
    def res_dim(self) -> int:
        """Number of restricted parameters."""
        return len(self.limits)


@dataclass
class PrimResult:
    """PRIM's peeling trajectory, every box on it, and the chosen box."""

    trajectory: pd.DataFrame  # box, coverage, density, mass, res_dim, n
    boxes: list[Box] = field(default_factory=list)
    chosen: int = 0

    @property
    def box(self) -> Box:
        """The chosen box."""
        return self.boxes[self.chosen]


def _box_stats(inside: np.ndarray, fails: np.ndarray) -> tuple[float, float, float, int]:
    n_in = int(inside.sum())
    f_in = int((inside & fails).sum())
    total = int(fails.sum())
    return (f_in / total if total else float("nan"), f_in / n_in if n_in else float("nan"), n_in / len(fails), n_in)


def restricted_limits(
    limits: pd.DataFrame, initial: pd.DataFrame, quasi_p: Mapping[str, Sequence[float]] | None = None
) -> pd.DataFrame:
    """Rows of the parameters a box restricts (its ``limits`` differ from the ``initial`` box).

    ``quasi_p`` holds PRIM's quasi-p-values of each parameter's (low, high) limit, when known.
    """
    rows = []
    for col in initial.columns:
        lo, hi = float(limits[col].iloc[0]), float(limits[col].iloc[1])
        ilo, ihi = float(initial[col].iloc[0]), float(initial[col].iloc[1])
        if lo > ilo or hi < ihi:
            row = {"parameter": col, "min": lo, "max": hi, "restrict_low": lo > ilo, "restrict_high": hi < ihi}
            if quasi_p is not None and col in quasi_p:
                p = list(quasi_p[col]) + [np.nan, np.nan]
                row["qp_low"] = p[0] if p[0] is not None and p[0] >= 0 else np.nan
                row["qp_high"] = p[1] if p[1] is not None and p[1] >= 0 else np.nan
            rows.append(row)
    return pd.DataFrame(
        rows, columns=["parameter", "min", "max", "restrict_low", "restrict_high", "qp_low", "qp_high"]
    ).set_index("parameter")


def prim(
    x: pd.DataFrame,
    fails: np.ndarray,
    *,
    peel_alpha: float = 0.05,
    mass_min: float = 0.05,
    box: int | None = None,
    min_coverage: float = 0.5,
) -> PrimResult:
    """PRIM (ema_workbench) on ``x`` (one column per parameter) and boolean ``fails``.

    Returns the whole peeling-and-pasting trajectory with every box on it; ``box`` picks one
    by its index, otherwise the densest box with coverage ≥ ``min_coverage`` is chosen.
    """
    prim_mod = _ema_prim()
    fails = np.asarray(fails, dtype=bool)
    _check_two_classes(fails)
    xf = x.reset_index(drop=True).astype(float)
    with warnings.catch_warnings():  # ema_workbench's own deprecation warnings (pandas 3)
        warnings.simplefilter("ignore")
        p = prim_mod.Prim(xf, fails.astype(int), peel_alpha=peel_alpha, mass_min=mass_min)
        found = p.find_box()
    if found is None:  # pragma: no cover - ema returns None only when no points remain
        raise ConfigError("PRIM found no box", key="--criterion")
    traj = found.peeling_trajectory
    boxes = []
    init = p.box_init
    for i, lims in enumerate(found.box_lims):
        qp = found.p_values[i] if i < len(found.p_values) else None
        limits = restricted_limits(lims, init, qp)
        inside = inside_box(xf, limits)
        cov, dens, mass, n = _box_stats(inside, fails)
        boxes.append(Box(limits, cov, dens, mass, n, "prim", i))
    table = pd.DataFrame(
        {
            "box": range(len(boxes)),
            "coverage": [b.coverage for b in boxes],
            "density": [b.density for b in boxes],
            "mass": [b.mass for b in boxes],
            "res_dim": [b.res_dim for b in boxes],
            "n": [b.n for b in boxes],
        }
    )
    del traj
    if box is not None:
        if not 0 <= box < len(boxes):
            raise ConfigError(f"no such box on the PRIM trajectory (0 … {len(boxes) - 1})", key="--box", value=box)
        chosen = box
    else:
        chosen = choose_box(table, min_coverage)
    return PrimResult(trajectory=table, boxes=boxes, chosen=chosen)


def choose_box(trajectory: pd.DataFrame, min_coverage: float = 0.5) -> int:
    """The densest box with coverage ≥ ``min_coverage`` (ties: the larger coverage)."""
    ok = trajectory[trajectory["coverage"] >= min_coverage]
    if ok.empty:
        ok = trajectory
    best = ok.sort_values(["density", "coverage"], ascending=[False, False]).iloc[0]
    return int(best["box"])


def _ema_prim() -> ModuleType:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from ema_workbench.analysis import prim as prim_mod
    return prim_mod


def _check_two_classes(fails: np.ndarray) -> None:
    if fails.all() or not fails.any():
        raise ConfigError(
            f"the policy {'fails' if fails.all() else 'passes'} the criterion at every point of the "
            "sweep: there is nothing to discover (change the criterion or widen the parameters)",
            key="--criterion",
        )


def uniform_result(fails: np.ndarray, criterion: str, *, identical: bool = False) -> str | None:
    """Plain words for a sweep where the policy fails at every point, or at none; None otherwise.

    Such a sweep is a finding, not an error: within the parameters' ranges no assumption changes
    the verdict, so there is no box to find. ``criterion`` describes the failure ("quality at
    month 60 not above the paired baseline"); ``identical`` says that policy and baseline gave the
    same result at every point (a scenario paired against itself).
    """
    fails = np.asarray(fails, dtype=bool)
    n = len(fails)
    if n and fails.all():
        text = (
            f"The policy fails ({criterion}) at every one of the {n} points: no combination of the "
            "swept assumptions, within their ranges, makes it succeed, so there is no box to find."
        )
        if identical:
            text += (
                " The policy and the baseline gave identical results at every point: is the policy the "
                "baseline itself? (pass --absolute to judge a scenario on its own outputs)"
            )
        return text
    if n and not fails.any():
        return (
            f"The policy never fails ({criterion}) at any of the {n} points: it succeeds whatever the "
            "swept assumptions, within their ranges, so there is no box to find."
        )
    return None


def inside_box(x: pd.DataFrame, limits: pd.DataFrame) -> np.ndarray:
    """True for the rows of ``x`` inside the box with these ``limits`` (one row per restricted parameter)."""
    inside = np.ones(len(x), dtype=bool)
    for name, row in limits.iterrows():
        v = x[name].to_numpy(dtype=float)
        inside &= (v >= row["min"]) & (v <= row["max"])
    return inside


def cart(x: pd.DataFrame, fails: np.ndarray, *, max_depth: int = 3, mass_min: float = 0.05, seed: int = 0) -> list[Box]:
    """Leaves of a CART tree (scikit-learn) that predict failure, densest first."""
    from sklearn.tree import DecisionTreeClassifier

    fails = np.asarray(fails, dtype=bool)
    _check_two_classes(fails)
    if max_depth < 1:
        raise ConfigError("the tree needs a depth of at least 1", key="--cart-depth", value=max_depth)
    xf = x.reset_index(drop=True).astype(float)
    clf = DecisionTreeClassifier(
        max_depth=max_depth, min_samples_leaf=max(1, int(mass_min * len(xf))), random_state=seed
    )
    clf.fit(xf.to_numpy(), fails)
    tree = clf.tree_
    fail_col = list(clf.classes_).index(True)
    lows = xf.min()
    highs = xf.max()
    boxes: list[Box] = []

    def walk(node: int, lo: dict[str, float], hi: dict[str, float]) -> None:
        if tree.children_left[node] == -1:
            counts = tree.value[node][0]
            if counts[fail_col] / counts.sum() <= 0.5:
                return
            rows = [
                {
                    "parameter": c,
                    "min": lo[c],
                    "max": hi[c],
                    "restrict_low": lo[c] > lows[c],
                    "restrict_high": hi[c] < highs[c],
                }
                for c in xf.columns
                if lo[c] > lows[c] or hi[c] < highs[c]
            ]
            limits = pd.DataFrame(rows, columns=["parameter", "min", "max", "restrict_low", "restrict_high"]).set_index(
                "parameter"
            )
            inside = inside_box(xf, limits)
            cov, dens, mass, n = _box_stats(inside, fails)
            boxes.append(Box(limits, cov, dens, mass, n, "cart", node))
            return
        name = xf.columns[tree.feature[node]]
        t = float(tree.threshold[node])
        walk(tree.children_left[node], lo, {**hi, name: min(hi[name], t)})
        walk(tree.children_right[node], {**lo, name: max(lo[name], np.nextafter(t, np.inf))}, hi)

    walk(0, dict(lows), dict(highs))
    return sorted(boxes, key=lambda b: (-b.density, -b.coverage))


# ---------------------------------------------------------------------------------------
# Plain words
# ---------------------------------------------------------------------------------------
def describe_limit(name: str, row: Mapping[str, Any], bounds: Mapping[str, tuple[float, float]] | None = None) -> str:
    """One restriction in words: "the effect of culture on quality (edge.culture->quality.weight) exceeds 0.41"."""
    label = f"{describe_param(name)} ({name})" if describe_param(name) != name else name
    rng = ""
    if bounds and name in bounds:
        rng = f" [range {bounds[name][0]:.3g}–{bounds[name][1]:.3g}]"
    low, high = bool(row.get("restrict_low", True)), bool(row.get("restrict_high", True))
    qp = [_quasi_p(row.get(k)) for k, on in (("qp_low", low), ("qp_high", high)) if on]
    qp_text = f" (quasi-p {' / '.join(qp)})" if qp and all(qp) else ""
    if low and high:
        return f"{label} lies between {row['min']:.3g} and {row['max']:.3g}{rng}{qp_text}"
    if low:
        return f"{label} exceeds {row['min']:.3g}{rng}{qp_text}"
    return f"{label} is below {row['max']:.3g}{rng}{qp_text}"


def _quasi_p(value: Any) -> str:
    """A quasi-p-value for print ("" when unknown)."""
    if value is None or not np.isfinite(float(value)):
        return ""
    return f"{float(value):.2g}" if float(value) >= 1e-4 else "<0.0001"


def describe_box(box: Box, criterion: str, bounds: Mapping[str, tuple[float, float]] | None = None) -> str:
    """A box in plain words, with its density, coverage and mass.

    ``criterion`` describes the failure ("quality at month 60 not above the paired baseline").
    """
    if box.res_dim == 0:
        conds = "whatever the parameters (the box is the whole space)"
    else:
        conds = "when " + ";\n    and ".join(describe_limit(n, r, bounds) for n, r in box.limits.iterrows())
    text = (
        f"The policy fails ({criterion}) in {box.density:.0%} of the runs\n    {conds}.\n"
        f"  This box holds {box.mass:.0%} of all runs ({box.n}) and {box.coverage:.0%} of all failures."
    )
    if "quasi-p" in conds:
        text += (
            "\n  A limit's quasi-p-value (Bryant and Lempert 2010; a one-sided binomial test) is the chance of this "
            "many failures in the box if its failure rate were that of the box without the limit; above 0.05 "
            "the limit may be noise."
        )
    return text


def boxes_frame(boxes: Sequence[Box]) -> pd.DataFrame:
    """Boxes as a table: one row per restricted parameter of each box, with the box's statistics."""
    rows = []
    for b in boxes:
        for name, r in b.limits.iterrows():
            rows.append(
                {
                    "source": b.source,
                    "box": b.index,
                    "coverage": b.coverage,
                    "density": b.density,
                    "mass": b.mass,
                    "n": b.n,
                    "parameter": name,
                    "label": describe_param(str(name)),
                    "min": r["min"],
                    "max": r["max"],
                    "restrict_low": bool(r["restrict_low"]),
                    "restrict_high": bool(r["restrict_high"]),
                    "qp_low": r.get("qp_low", np.nan),
                    "qp_high": r.get("qp_high", np.nan),
                }
            )
    return pd.DataFrame(
        rows,
        columns=[
            "source",
            "box",
            "coverage",
            "density",
            "mass",
            "n",
            "parameter",
            "label",
            "min",
            "max",
            "restrict_low",
            "restrict_high",
            "qp_low",
            "qp_high",
        ],
    )


def trajectory_excerpt(traj: pd.DataFrame, chosen: int, rows: int = 12) -> pd.DataFrame:
    """About ``rows`` boxes spread along the PRIM trajectory, the chosen one marked."""
    idx = sorted(set(np.linspace(0, len(traj) - 1, min(rows, len(traj))).round().astype(int)) | {chosen})
    t = traj.iloc[idx].copy()
    t["chosen"] = np.where(t["box"] == chosen, "<-", "")
    return t.round(3)
