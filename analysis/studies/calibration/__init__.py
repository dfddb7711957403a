"""Calibration: which values of the theory's uncertain parameters reproduce the evidence?

Method: **approximate Bayesian computation by rejection** over a Latin hypercube.

1. Parameters: the uncertain parameters chosen (default :data:`DEFAULT_PARAMS`, the ones the
   quantitative targets depend on most directly; ``["*"]`` = every uncertain parameter),
   each sampled uniformly over its declared [low, high] (the prior; whole numbers rounded).
2. Design: ``budget`` points of a scrambled Latin hypercube (``scipy.stats.qmc``, seeded),
   plus the theory's own defaults as point 0 for reference.
3. Simulation: at each point, the studies the targets need run over ``reps`` replicates with
   common random numbers (the same seeds at every point, so differences between points are
   differences in parameters, not in luck).
4. Distance: each target is a quantitative check of :mod:`analysis.validation`; its distance
   is 0 inside the check's pass band and otherwise the gap to the band in units of the band's
   width. A point's distance is the root mean square over targets.
5. Acceptance: the points at distance 0 (every target met) are accepted; if there are fewer
   than ``min_accept`` of them, the best ``accept_quantile`` of points are accepted instead and
   the tolerance ε (the largest accepted distance) is reported.
6. Narrowing: a parameter's range is narrowed to the accepted points' [min, max] only when the
   accepted values are not consistent with the uniform prior (Kolmogorov–Smirnov p <
   ``ks_alpha``); otherwise the declared range is kept (the targets do not inform it). The new
   defaults of the searched parameters are the accepted point with the smallest distance (among
   equals, the one nearest the accepted median), so the defaults are one jointly consistent set.

The result is written as a new theory file (the base theory's text with the narrowed entries
rewritten, and a header recording method, targets, budget, acceptance and date) and a record
of every point (CSV: parameters, each target's value and distance, accepted or not).
"""

from analysis.studies.calibration.abc import CalibrationResult, accept, calibrate, choose, narrow, refine
from analysis.studies.calibration.design import (
    DEFAULT_BUDGET,
    DEFAULT_PARAMS,
    DEFAULT_REPS,
    SampleTask,
    default_targets,
    evaluate_sample,
    latin_hypercube,
    select_params,
)
from analysis.studies.calibration.write import (
    format_summary,
    header,
    locate,
    rewrite,
    write_record,
    write_theory,
)

__all__ = [
    "DEFAULT_BUDGET",
    "DEFAULT_PARAMS",
    "DEFAULT_REPS",
    "CalibrationResult",
    "SampleTask",
    "accept",
    "calibrate",
    "choose",
    "default_targets",
    "evaluate_sample",
    "format_summary",
    "header",
    "latin_hypercube",
    "locate",
    "narrow",
    "refine",
    "rewrite",
    "select_params",
    "write_record",
    "write_theory",
]
