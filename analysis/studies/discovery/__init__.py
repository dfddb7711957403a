"""Scenario discovery: under which assumptions does a policy fail? (design.md §8).

Over a sweep of the theory's uncertain parameters, each point is marked a *failure* when
the policy does not meet a criterion (by default: quality at 60 months not above the paired
baseline). Two rule-induction methods then describe the failures as boxes in parameter space:

* **PRIM** (ema_workbench's implementation): peels the space one small slice at a time,
  tracing a trajectory from "all runs" (coverage 1, low density) to small, dense boxes.
  The user picks a box on that coverage/density trade-off (``--box``); by default the
  densest box that still holds at least half of the failures.
* **CART** (scikit-learn's ``DecisionTreeClassifier``): the leaves of a shallow tree that
  predict failure, each a box.

A box is printed in plain words: "the policy fails in 87% of runs when the transition
disruption to efficiency exceeds 0.14 and trust builds slower than 0.031 a month".

Each PRIM limit carries its quasi-p-value, and the chosen box is checked by rerunning PRIM on
bootstrap resamples (:mod:`analysis.studies.discovery.stability`); a sweep with few points per
parameter draws a warning. A sweep where the policy fails everywhere, or nowhere, is a result
(:func:`uniform_result`), not an error.

Terms: *coverage* = share of all failures that fall in the box; *density* = share of the
runs in the box that fail; *mass* = share of all runs in the box.
"""

from analysis.studies.discovery.boxes import (
    Box,
    PrimResult,
    boxes_frame,
    cart,
    choose_box,
    describe_box,
    describe_limit,
    prim,
    restricted_limits,
    trajectory_excerpt,
    uniform_result,
)
from analysis.studies.discovery.criterion import Criterion, outcome_words, parse_criterion
from analysis.studies.discovery.figures import plot_box, plot_tradeoff
from analysis.studies.discovery.stability import (
    COMPARABLE_AGREEMENT,
    DEFAULT_RESAMPLES,
    MIN_POINTS_PER_PARAMETER,
    RESAMPLE_STREAM,
    Stability,
    describe_stability,
    resample_rng,
    resample_stability,
    sparse_warning,
)
from analysis.studies.discovery.sweep import DiscoverySweep, sweep

__all__ = [
    "COMPARABLE_AGREEMENT",
    "DEFAULT_RESAMPLES",
    "MIN_POINTS_PER_PARAMETER",
    "RESAMPLE_STREAM",
    "Box",
    "Criterion",
    "DiscoverySweep",
    "PrimResult",
    "Stability",
    "boxes_frame",
    "cart",
    "choose_box",
    "describe_box",
    "describe_limit",
    "describe_stability",
    "outcome_words",
    "parse_criterion",
    "plot_box",
    "plot_tradeoff",
    "prim",
    "resample_rng",
    "resample_stability",
    "restricted_limits",
    "sparse_warning",
    "sweep",
    "trajectory_excerpt",
    "uniform_result",
]
