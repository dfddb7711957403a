"""Policy sweeps (``partnersim sweep``): outcomes over a grid or sample of lever values, in many futures.

BehaviorSpace's main use and EMA Workbench's vocabulary: **levers** (policy choices: fields of
a scenario's ``[levers]``) make the *policies*; **uncertainties** (shocks, theory parameters
within their declared ranges) make the *futures*; **outcomes** are the model's metrics at some
months. Every policy runs in every future with the same replicate seeds as the baseline
(common random numbers), through the experiments runner and store.

1. :mod:`~analysis.studies.sweep.factors`: levers and uncertainties as typed factors (values or
   ranges, checked against their bounds and choices).
2. :mod:`~analysis.studies.sweep.spec`: the sweep file and options, validated (:func:`read_sweep`);
   satisficing criteria (:class:`Requirement`).
3. :mod:`~analysis.studies.sweep.design`: policies × futures sampled with EMA Workbench's
   samplers (grid or Latin hypercube) and the runner plan (:func:`sweep_plan`).
4. :mod:`~analysis.studies.sweep.analyse`: per policy and per lever value (mean, interval, paired
   difference), regret and satisficing across futures.
5. :mod:`~analysis.studies.sweep.present` (text) and :mod:`~analysis.studies.sweep.figures`
   (each outcome against each lever, with intervals).
"""

from analysis.studies.sweep.analyse import (
    by_future,
    lever_table,
    paired_runs,
    point_table,
    regret_table,
    satisficing_table,
)
from analysis.studies.sweep.design import SweepDesign, make_design, n_futures, n_policies, n_runs, sweep_plan
from analysis.studies.sweep.factors import Lever, Uncertainty, lever_kinds, shock_kinds
from analysis.studies.sweep.figures import outcome_against_lever
from analysis.studies.sweep.present import format_levers, format_points, format_robustness
from analysis.studies.sweep.spec import Requirement, SweepSpec, read_sweep

__all__ = [
    "Lever",
    "Requirement",
    "SweepDesign",
    "SweepSpec",
    "Uncertainty",
    "by_future",
    "format_levers",
    "format_points",
    "format_robustness",
    "lever_kinds",
    "lever_table",
    "make_design",
    "n_futures",
    "n_policies",
    "n_runs",
    "outcome_against_lever",
    "paired_runs",
    "point_table",
    "read_sweep",
    "regret_table",
    "satisficing_table",
    "shock_kinds",
    "sweep_plan",
]
