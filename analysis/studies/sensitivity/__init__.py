"""Sensitivity analysis over the theory's uncertain parameters (design.md §8).

The parameter space is read from the theory, never written by hand: every declared
quantity whose range is wider than a point (``low < high``) in ``irt.toml`` or
``typology.toml`` becomes a factor named by its theory path
(``edge.governance->culture.weight``, ``mechanism.trust_build``,
``type.merger.effect.governance``…), with its bounds, its distribution and a pathway group.
A parameter added to the theory file therefore appears here with no code change.

The pipeline has four steps, each a plain function in its own module:

1. :func:`parameter_space` (``space``) — factors from the theory (optionally a subset by pattern).
2. :func:`make_design` (``design``) — a SALib design in the unit hypercube, mapped to parameter
   values through each factor's distribution (:meth:`ParameterSpace.to_values`).
3. :func:`evaluate_design` (``evaluate``) — every design point × replicate through one *point
   task* (``task(overrides, seed) -> array[months, outputs]``). :class:`ModelTask` runs the
   model (optionally as a paired difference against a contrast scenario); tests pass a plain
   function (Ishigami) through exactly the same path.
4. :func:`analyse` (``analyse``) — indices per output and month on the replicate mean, the
   share of variance that is replicate noise, and a convergence check on the first half of
   the sample.

:func:`run_analysis` (``pipeline``) runs the four in one call. Then ``figures`` (each takes a
table, returns a Figure) and ``outputs`` (tables, figures, summary and manifest on disk).

Groups (``--groups``) follow the pathways of the theory:

==============  ===============================================================================
structural      edges out of structural domains; structural domains' own dynamics
                (``domain.<structural>.*``); how partnering acts (``partnering.*``) and the
                types' effects on domains (``type.<t>.effect.<d>``)
relational      edges out of relational domains; relational domains' own dynamics
outcome         edges out of outcome domains (feedback, e.g. efficiency → workforce) and
                outcome domains' own dynamics
mechanisms      ``mechanism.*`` (conflict, trust, confidence, faith, risk, inertia)
typology        the other ``type.*`` ratings (integration, organisational change, contract
                strength, approval and transition months)
population      ``population.*`` (correlation of starting levels, ICS spread) and ``start.*`` (the
                partnerships that existed in July 2022)
regulation      ``regulation.*`` and ``band.*`` (special measures, rating bands)
formation       ``formation.*`` (who seeks partners and whom they choose)
==============  ===============================================================================

Distributions (``dist`` in the theory file) map a unit-hypercube coordinate ``u`` to a value:
``uniform`` on [low, high]; ``triangular`` on [low, high] with its mode at ``default``;
``normal`` truncated to [low, high], mean ``default``, s.d. (high − low)/4; ``lognormal``
truncated to [low, high], median ``default``, log-s.d. (ln high − ln low)/4 (needs low > 0).
Integer parameters are rounded after mapping (each whole number of a uniform range is
equally likely). Values are always inside the declared range, as ``Theory.with_values``
requires. Sobol, eFAST and Morris analyse the unit coordinates (Morris elementary effects
are therefore per unit of the factor's *range*, comparable across factors); PAWN and delta
analyse the values.
"""

from analysis.studies.sensitivity.analyse import (
    DEFAULT_TOP_K,
    NOISE_WARN_SHARE,
    RANK_INDEX,
    SensitivityResult,
    analyse,
    analyse_point,
    convergence_table,
    half_design,
    noise_table,
    rank_table,
)
from analysis.studies.sensitivity.design import (
    DEFAULT_N,
    GIVEN_SAMPLE_METHODS,
    METHODS,
    Design,
    check_design,
    check_method,
    design_size,
    estimate_runs,
    make_design,
)
from analysis.studies.sensitivity.evaluate import (
    ExecutorChoice,
    FunctionRun,
    FunctionTask,
    MetricSeries,
    MetricsRun,
    ModelTask,
    PointTask,
    RunFailure,
    evaluate_design,
    metrics_at,
)
from analysis.studies.sensitivity.figures import plot_convergence, plot_morris, plot_sobol, plot_timeline
from analysis.studies.sensitivity.outputs import (
    DEFAULT_AT,
    default_resamples,
    format_summary,
    load_sweep,
    parse_months,
    timeline_months,
    write_figures,
    write_outputs,
    write_table,
)
from analysis.studies.sensitivity.pipeline import Analysis, given_sample, run_analysis
from analysis.studies.sensitivity.space import (
    GROUPS,
    OUTPUT_ALIASES,
    Factor,
    ParameterSpace,
    describe_param,
    output_label,
    parameter_space,
    pathway_group,
    read_patterns,
    resolve_outputs,
    split_patterns,
)

__all__ = [
    "DEFAULT_N",
    "DEFAULT_TOP_K",
    "GIVEN_SAMPLE_METHODS",
    "GROUPS",
    "METHODS",
    "NOISE_WARN_SHARE",
    "OUTPUT_ALIASES",
    "RANK_INDEX",
    "Analysis",
    "Design",
    "ExecutorChoice",
    "Factor",
    "FunctionRun",
    "FunctionTask",
    "MetricSeries",
    "MetricsRun",
    "ModelTask",
    "ParameterSpace",
    "PointTask",
    "RunFailure",
    "SensitivityResult",
    "analyse",
    "analyse_point",
    "check_design",
    "check_method",
    "convergence_table",
    "default_resamples",
    "describe_param",
    "design_size",
    "estimate_runs",
    "evaluate_design",
    "format_summary",
    "given_sample",
    "half_design",
    "load_sweep",
    "make_design",
    "metrics_at",
    "noise_table",
    "output_label",
    "parameter_space",
    "parse_months",
    "DEFAULT_AT",
    "pathway_group",
    "plot_convergence",
    "plot_morris",
    "plot_sobol",
    "plot_timeline",
    "rank_table",
    "read_patterns",
    "resolve_outputs",
    "run_analysis",
    "split_patterns",
    "timeline_months",
    "write_figures",
    "write_outputs",
    "write_table",
]
